"""The booking lifecycle over HTTP (docs/api.md, Bookings): create (a client with their intake, the front
desk without), list and detail scoping, the room, cancel, reschedule, complete and no-show, as every role.

NOW is Tuesday 2026-12-01 10:00 in New York; the clinic asks 2 hours'
notice, books up to 60 days ahead, offers starts every 15 minutes from a
shift's start and lets clients change a booking up to 24 hours before it
starts. Both therapists work at `place` (New York, no rooms) from 08:00 to
20:00 every day of December; `service` is 60 minutes at 90.00.
"""

import json
from datetime import timedelta
from decimal import Decimal

import pytest
from django.core import mail

from booking import services
from booking.mail import CANCELLED, CONFIRMED, INTAKE_REQUEST, RESCHEDULED, REVIEW_NEEDED
from booking.models import Booking
from booking.tests.factories import ClosureFactory, TimeOffFactory
from booking.tests.helpers import (
    BOOKINGS,
    DEEP_TISSUE,
    NEEDS_REVIEW,
    NOW,
    THERAPEUTIC,
    assert_conflict,
    book,
    booked,
    booking_at,
    hour_service,
    iso_z,
    local,
    new_york,
    offered,
    shift_at,
    works,
)
from booking.tests.helpers import frozen as frozen_at
from clinic.models import Location, Room, Therapist
from clinic.tests.factories import ClientFactory, LocationFactory, RoomFactory, TherapistFactory
from config.testing.jobs import pending_jobs, run_jobs
from conftest import ROLES
from intake.models import Intake

pytestmark = pytest.mark.django_db

MINUTE = timedelta(minutes=1)
HOUR = timedelta(hours=1)
WINDOW = timedelta(hours=24)
FRIDAY_9 = local(2026, 12, 4, 9)
# The intake's answers are read at /bookings/{id}/intake/, where every read is audited: a booking
# shows the modality, needs_review and flags, never the answers themselves, to any role.
ANSWER_KEYS = ("answers", "pressure_preference", "primary_goal", "health_screening", "consent")
BOOKING_FIELDS = {
    "id",
    "service",
    "therapist",
    "location",
    "room",
    "starts_at",
    "ends_at",
    "price",
    "currency",
    "client",
    "status",
    "intake_status",
    "modality",
    "suggested_modality",
    "needs_review",
    "flags",
    "warnings",
    "reviewed_at",
    "created_at",
    "cancelled_at",
}


@pytest.fixture(autouse=True)
def _now():
    with frozen_at():
        yield


@pytest.fixture
def place(clinic):
    return new_york(name="Downtown")


@pytest.fixture
def service(clinic):
    return hour_service(name="Massage, 60 min")


# The root conftest's therapists, working at `place` all December.
@pytest.fixture
def therapist(place):
    therapist = TherapistFactory()
    works(therapist, place)
    return therapist


@pytest.fixture
def other_therapist(place, therapist):
    other = TherapistFactory()  # made after `therapist`: a higher id
    works(other, place)
    return other


@pytest.fixture
def booking(client_user, therapist, service):
    """client_user's booking with `therapist` on Friday at 09:00, with a health flag on its intake."""
    return booked(client_user, service, FRIDAY_9, NEEDS_REVIEW, therapist=therapist)


def _url(booking, action: str = "") -> str:
    return f"{BOOKINGS}{booking.pk}/{action + '/' if action else ''}"


def _mail_jobs(booking=None) -> list[tuple[str, int]]:
    """(kind, booking id) of each mail job waiting for the worker, oldest first (of one booking, if given)."""
    jobs = [(job.args["kind"], job.args["booking_id"]) for job in pending_jobs("booking.send_mail")]
    return [job for job in jobs if booking is None or job[1] == booking.pk]


def _snapshot(booking):
    """What a refused change must leave as it was: the row, and no mail job more."""
    row = Booking.objects.get(pk=booking.pk)
    return (
        _mail_jobs(booking),
        row.therapist_id,
        row.location_id,
        row.room_id,
        row.service_id,
        row.starts_at,
        row.ends_at,
        row.occupied_until,
        row.price,
        row.status,
        row.sequence,
        row.intake_id,
        row.warnings,
        row.cancelled_at,
        row.closed_at,
        row.updated_at,
    )


def _nothing_stored(bookings: int = 0) -> None:
    assert Booking.objects.count() == bookings
    assert Intake.objects.count() == Booking.objects.exclude(intake=None).count()


def _assert_shows_no_answers(body: dict) -> None:
    text = json.dumps(body)
    assert [key for key in ANSWER_KEYS if key in text] == [], body


def _deactivate(model, obj) -> int:
    return model.objects.filter(pk=obj.pk).update(active=False)


def _bookable(api, service, therapist, starts_at) -> bool:
    return (therapist.pk, iso_z(starts_at)) in offered(api, service, starts_at, therapist=therapist.pk)


# --- A client books ---------------------------------------------------------------


def test_a_client_books_a_session(as_user, client_user, therapist, place, service):
    response = book(as_user(client_user), service, FRIDAY_9, therapist=therapist)

    assert response.status_code == 201, response.json()
    body = response.json()
    assert set(body) == BOOKING_FIELDS
    assert body["service"] == {"id": service.pk, "name": "Massage, 60 min", "duration_minutes": 60}
    assert body["therapist"] == {"id": therapist.pk, "name": therapist.name}
    assert body["location"] == {"id": place.pk, "name": "Downtown"}
    assert body["room"] is None
    assert (body["starts_at"], body["ends_at"]) == ("2026-12-04T14:00:00Z", "2026-12-04T15:00:00Z")
    assert (body["price"], body["currency"]) == ("90.00", "USD")
    assert body["client"] == {"id": client_user.pk, "name": client_user.display_name}
    assert (body["status"], body["intake_status"]) == ("confirmed", "complete")
    assert (body["modality"], body["suggested_modality"]) == ("therapeutic", "therapeutic")
    assert (body["needs_review"], body["flags"], body["warnings"]) == (False, [], [])
    assert (body["reviewed_at"], body["cancelled_at"]) == (None, None)
    assert body["created_at"] == "2026-12-01T15:00:00Z"
    _assert_shows_no_answers(body)
    stored = Booking.objects.select_related("intake").get(pk=body["id"])
    assert (stored.client, stored.therapist, stored.location, stored.status) == (
        client_user,
        therapist,
        place,
        Booking.Status.CONFIRMED,
    )
    assert (stored.booked_by, stored.price, stored.occupied_until) == (client_user, Decimal("90.00"), stored.ends_at)
    assert stored.intake.client == client_user
    assert stored.intake.answers["pressure_preference"] == "medium"


@pytest.mark.parametrize(
    ("answers", "mails"),
    [
        pytest.param(THERAPEUTIC, [CONFIRMED], id="the-confirmation"),
        pytest.param(NEEDS_REVIEW, [CONFIRMED, REVIEW_NEEDED], id="and-the-therapists-review"),
    ],
)
def test_a_booking_sends_no_mail_itself_and_leaves_its_mail_jobs(
    as_user, client_user, therapist, service, answers, mails
):
    response = book(as_user(client_user), service, FRIDAY_9, answers, therapist=therapist)

    assert response.status_code == 201, response.json()
    booking = Booking.objects.get(pk=response.json()["id"])
    assert mail.outbox == []
    assert _mail_jobs(booking) == [(kind, booking.pk) for kind in mails]
    # the worker sends them
    run_jobs()
    assert [m.to for m in mail.outbox] == [
        [client_user.email] if kind == CONFIRMED else [therapist.user.email] for kind in mails
    ]
    assert _mail_jobs(booking) == []


def test_the_price_and_buffer_are_the_services_when_booked(as_user, client_user, therapist):
    ninety = hour_service(duration_minutes=90, buffer_minutes=15, price=Decimal("125.50"))

    body = book(as_user(client_user), ninety, FRIDAY_9, therapist=therapist).json()
    ninety.price = Decimal("200.00")
    ninety.save()

    assert (body["price"], body["ends_at"]) == ("125.50", "2026-12-04T15:30:00Z")
    stored = Booking.objects.get(pk=body["id"])
    assert stored.occupied_until == FRIDAY_9 + timedelta(minutes=105)
    assert as_user(client_user).get(f"{BOOKINGS}{body['id']}/").json()["price"] == "125.50"


def test_without_a_therapist_the_one_with_the_fewest_bookings_that_day_is_chosen(
    as_user, client_user, other_client_user, therapist, other_therapist, service
):
    # equal load: the lowest id
    first = book(as_user(client_user), service, FRIDAY_9).json()
    assert first["therapist"]["id"] == therapist.pk

    # `therapist` now has one booking that local day, `other_therapist` none
    second = book(as_user(other_client_user), service, FRIDAY_9 + 3 * HOUR).json()
    assert second["therapist"]["id"] == other_therapist.pk


def test_without_a_therapist_one_trained_for_the_assessed_modality_is_chosen(as_user, client_user, place, service):
    gentle = TherapistFactory(gives_deep_tissue=False)
    works(gentle, place, [4])
    trained = TherapistFactory()
    works(trained, place, [4])

    body = book(as_user(client_user), service, FRIDAY_9, DEEP_TISSUE).json()

    assert (body["therapist"]["id"], body["modality"]) == (trained.pk, "deep_tissue")


def test_without_a_therapist_and_no_trained_one_free_the_time_is_unavailable(as_user, client_user, place, service):
    works(TherapistFactory(gives_deep_tissue=False), place, [4])

    response = book(as_user(client_user), service, FRIDAY_9, DEEP_TISSUE)

    assert_conflict(response, "slot_unavailable")
    _nothing_stored()


def test_the_room_is_the_free_active_room_with_the_lowest_id(as_user, service):
    rooms_place = new_york(uses_rooms=True)
    RoomFactory(location=rooms_place, active=False)
    first_room, second_room = RoomFactory(location=rooms_place), RoomFactory(location=rooms_place)
    therapists = [TherapistFactory() for _ in range(3)]
    for therapist in therapists:
        works(therapist, rooms_place, [4])

    rooms = [
        book(as_user(ClientFactory()), service, FRIDAY_9, therapist=therapist, location=rooms_place)
        for therapist in therapists
    ]

    assert [r.status_code for r in rooms] == [201, 201, 409]
    assert [r.json()["room"] for r in rooms[:2]] == [
        {"id": first_room.pk, "name": first_room.name},
        {"id": second_room.pk, "name": second_room.name},
    ]
    assert_conflict(rooms[2], "slot_unavailable")  # every active room is taken


def test_the_intake_decides_the_modality_and_flags(as_user, client_user, therapist, service):
    api = as_user(client_user)

    deep = book(api, service, FRIDAY_9, DEEP_TISSUE, therapist=therapist).json()
    flagged = book(api, service, FRIDAY_9 + 2 * HOUR, NEEDS_REVIEW, therapist=therapist).json()

    assert (deep["modality"], deep["suggested_modality"], deep["needs_review"]) == ("deep_tissue", "deep_tissue", False)
    assert (flagged["needs_review"], flagged["flags"]) == (True, ["high_blood_pressure"])


@pytest.mark.parametrize(("role", "status"), [("therapist", 403), ("other_therapist", 403), ("anonymous", 401)])
def test_only_clients_and_the_front_desk_book(api_as, service, role, status):
    response = book(api_as(role), service, FRIDAY_9)

    assert response.status_code == status
    _nothing_stored()


def test_a_taken_time_is_unavailable(as_user, booking, other_client_user, therapist, service):
    jobs = _mail_jobs()

    response = book(as_user(other_client_user), service, FRIDAY_9 + 30 * MINUTE, therapist=therapist)

    assert_conflict(response, "slot_unavailable")
    _nothing_stored(bookings=1)
    assert _mail_jobs() == jobs  # a refused booking leaves no mail job
    run_jobs()
    assert other_client_user.email not in {address for message in mail.outbox for address in message.to}


@pytest.mark.parametrize(
    "when",
    [
        pytest.param(lambda t, place: NOW - 3 * HOUR, id="past"),
        pytest.param(lambda t, place: NOW - 30 * MINUTE, id="running"),
        pytest.param(lambda t, place: NOW + 2 * HOUR - 15 * MINUTE, id="inside-notice"),
        pytest.param(lambda t, place: local(2027, 1, 30, 10, 15), id="beyond-horizon"),
        pytest.param(lambda t, place: FRIDAY_9 + 5 * MINUTE, id="off-the-grid"),
        pytest.param(lambda t, place: local(2026, 12, 4, 19, 30), id="past-the-shift-end"),
        pytest.param(lambda t, place: local(2026, 12, 4, 7), id="before-the-shift"),
        pytest.param(
            lambda t, place: TimeOffFactory(therapist=t, starts_at=FRIDAY_9, ends_at=FRIDAY_9 + HOUR).starts_at,
            id="time-off",
        ),
        pytest.param(
            lambda t, place: ClosureFactory(location=place, starts_at=FRIDAY_9, ends_at=FRIDAY_9 + HOUR).starts_at,
            id="closure",
        ),
        pytest.param(lambda t, place: _deactivate(Therapist, t) and FRIDAY_9, id="inactive-therapist"),
        pytest.param(lambda t, place: _deactivate(Location, place) and FRIDAY_9, id="inactive-location"),
    ],
)
def test_a_start_that_is_not_offered_is_refused(as_user, client_user, therapist, place, service, when):
    starts_at = when(therapist, place)

    response = book(as_user(client_user), service, starts_at, therapist=therapist)

    assert_conflict(response, "slot_unavailable")
    _nothing_stored()


@pytest.mark.parametrize(
    "choice",
    [
        pytest.param({"therapist": 987654}, id="unknown-therapist"),
        pytest.param({"location": 987654}, id="unknown-location"),
        pytest.param({"location": "elsewhere"}, id="a-location-the-therapist-does-not-work-at"),
    ],
)
def test_a_therapist_or_location_that_does_not_fit_is_unavailable(as_user, client_user, therapist, service, choice):
    if choice.get("location") == "elsewhere":
        choice = {"location": LocationFactory().pk, "therapist": therapist.pk}

    response = book(as_user(client_user), service, FRIDAY_9, **choice)

    assert_conflict(response, "slot_unavailable")
    _nothing_stored()


def test_min_notice_edge(as_user, client_user, therapist, service):
    """Exactly now + 2 h may be booked; one step sooner may not."""
    api = as_user(client_user)

    assert_conflict(book(api, service, NOW + 2 * HOUR - 15 * MINUTE, therapist=therapist), "slot_unavailable")
    assert book(api, service, NOW + 2 * HOUR, therapist=therapist).status_code == 201


def test_horizon_edge(as_user, client_user, therapist, service):
    """Exactly now + 60 days may be booked; one step later may not."""
    shift_at(therapist, local(2027, 1, 30, 8), hours=12)
    api = as_user(client_user)
    last = NOW + timedelta(days=60)

    assert_conflict(book(api, service, last + 15 * MINUTE, therapist=therapist), "slot_unavailable")
    assert book(api, service, last, therapist=therapist).status_code == 201


def test_deep_tissue_needs_a_therapist_trained_for_it(as_user, client_user, place, service):
    gentle = TherapistFactory(gives_therapeutic=True, gives_deep_tissue=False)
    works(gentle, place, [4])
    api = as_user(client_user)

    refused = book(api, service, FRIDAY_9, DEEP_TISSUE, therapist=gentle)
    assert_conflict(refused, "therapist_not_qualified")
    _nothing_stored()

    accepted = book(api, service, FRIDAY_9, THERAPEUTIC, therapist=gentle)
    assert accepted.status_code == 201
    assert accepted.json()["modality"] == "therapeutic"


def test_a_contraindication_keeps_deep_pressure_from_needing_deep_tissue(as_user, client_user, place, service):
    gentle = TherapistFactory(gives_therapeutic=True, gives_deep_tissue=False)
    works(gentle, place, [4])
    answers = {**DEEP_TISSUE, "health_screening": ["blood_thinners"]}

    response = book(as_user(client_user), service, FRIDAY_9, answers, therapist=gentle)

    assert response.status_code == 201
    assert (response.json()["modality"], response.json()["needs_review"]) == ("therapeutic", True)


@pytest.mark.parametrize(
    ("hour", "minute", "overlaps"),
    [(9, 0, True), (9, 30, True), (8, 15, True), (10, 0, False), (8, 0, False)],
)
def test_a_client_cannot_hold_two_overlapping_bookings(
    as_user, client_user, booking, other_therapist, service, hour, minute, overlaps
):
    # booking: 09:00-10:00 with `therapist`; now another therapist at the same time or near it
    response = book(as_user(client_user), service, local(2026, 12, 4, hour, minute), therapist=other_therapist)

    if overlaps:
        assert_conflict(response, "client_overlap")
        _nothing_stored(bookings=1)
    else:
        assert response.status_code == 201, response.json()


def test_a_cancelled_booking_does_not_count_as_overlap(as_user, client_user, booking, other_therapist, service):
    services.booking_cancel(booking_id=booking.pk, by=client_user)

    response = book(as_user(client_user), service, FRIDAY_9, therapist=other_therapist)

    assert response.status_code == 201


def test_another_clients_booking_at_the_same_time_is_no_overlap(
    as_user, booking, other_client_user, other_therapist, service
):
    response = book(as_user(other_client_user), service, FRIDAY_9, therapist=other_therapist)

    assert response.status_code == 201


def test_invalid_answers_are_a_400_and_store_nothing(as_user, client_user, therapist, service):
    answers = {"pressure_preference": "volcanic", "primary_goal": "relaxation", "consent": False}

    response = book(as_user(client_user), service, FRIDAY_9, answers, therapist=therapist)

    assert response.status_code == 400
    errors = response.json()["intake"]["answers"]
    assert set(errors) == {"pressure_preference", "consent"}
    _nothing_stored()
    assert _bookable(as_user(client_user), service, therapist, FRIDAY_9)


@pytest.mark.parametrize("active", [True, False], ids=["unknown", "inactive"])
def test_a_service_that_is_not_bookable_is_a_400(as_user, client_user, therapist, service, active):
    service_id = 987654
    if not active:
        service.active = False
        service.save()
        service_id = service.pk

    response = book(as_user(client_user), service_id, FRIDAY_9, therapist=therapist)

    assert response.status_code == 400
    assert "service" in response.json()
    _nothing_stored()


def _body(**fields):
    return {"service": "SERVICE", "starts_at": FRIDAY_9.isoformat(), "intake": {"answers": THERAPEUTIC}, **fields}


BAD_BODIES = [
    pytest.param([], id="body-list"),
    pytest.param("service", id="body-string"),
    pytest.param(42, id="body-number"),
    pytest.param(None, id="body-null"),
    pytest.param({}, id="body-empty"),
    pytest.param({"starts_at": FRIDAY_9.isoformat(), "intake": {"answers": THERAPEUTIC}}, id="service-missing"),
    pytest.param(_body(service=None), id="service-null"),
    pytest.param(_body(service="abc"), id="service-string"),
    pytest.param(_body(service=""), id="service-empty-string"),
    pytest.param(_body(service=-1), id="service-negative"),
    pytest.param(_body(service=0), id="service-zero"),
    pytest.param(_body(service=1.5), id="service-fraction"),
    pytest.param(_body(service=10**30), id="service-huge"),
    pytest.param(_body(service=2**63), id="service-just-past-bigint"),
    pytest.param(_body(service=[1]), id="service-list"),
    pytest.param(_body(service={"id": 1}), id="service-object"),
    pytest.param(_body(service=True), id="service-bool"),
    pytest.param({"service": "SERVICE", "intake": {"answers": THERAPEUTIC}}, id="starts-at-missing"),
    pytest.param(_body(starts_at=None), id="starts-at-null"),
    pytest.param(_body(starts_at="2026-12-04T09:00:00"), id="starts-at-without-offset"),
    pytest.param(_body(starts_at="2026-12-04"), id="starts-at-a-date"),
    pytest.param(_body(starts_at="Friday at nine"), id="starts-at-words"),
    pytest.param(_body(starts_at="2026-02-30T09:00:00Z"), id="starts-at-impossible"),
    pytest.param(_body(starts_at=1733320800), id="starts-at-number"),
    pytest.param(_body(therapist="abc"), id="therapist-string"),
    pytest.param(_body(therapist=0), id="therapist-zero"),
    pytest.param(_body(therapist=2**63), id="therapist-past-bigint"),
    pytest.param(_body(location=-5), id="location-negative"),
    pytest.param(_body(location=[1]), id="location-list"),
    pytest.param(_body(client=1), id="a-client-names-a-client"),
    pytest.param({"service": "SERVICE", "starts_at": FRIDAY_9.isoformat()}, id="intake-missing"),
    pytest.param(_body(intake=None), id="intake-null"),
    pytest.param(_body(intake="yes"), id="intake-string"),
    pytest.param(_body(intake=[THERAPEUTIC]), id="intake-list"),
    pytest.param(_body(intake={}), id="answers-missing"),
    pytest.param(_body(intake=THERAPEUTIC), id="answers-not-nested"),
    pytest.param(_body(intake={"answers": None}), id="answers-null"),
    pytest.param(_body(intake={"answers": "medium"}), id="answers-string"),
    pytest.param(_body(intake={"answers": [THERAPEUTIC]}), id="answers-list"),
    pytest.param(_body(intake={"answers": 7}), id="answers-number"),
    pytest.param(_body(intake={"answers": {}}), id="answers-empty"),
    pytest.param(_body(intake={"answers": {**THERAPEUTIC, "notes": "x" * 2001}}), id="answers-notes-too-long"),
    pytest.param(_body(intake={"answers": {**THERAPEUTIC, "notes": "a\x00b"}}), id="answers-nul"),
    pytest.param(_body(intake={"answers": {**THERAPEUTIC, "shoe_size": 44}}), id="answers-unknown-key"),
]


@pytest.mark.parametrize("body", BAD_BODIES)
def test_hostile_bodies_are_a_400_never_a_500(as_user, client_user, therapist, service, body):
    if isinstance(body, dict) and body.get("service") == "SERVICE":
        body = {**body, "service": service.pk}

    response = as_user(client_user).post(BOOKINGS, body, format="json")

    assert response.status_code == 400, response.content
    _nothing_stored()


def test_malformed_json_is_a_400(as_user, client_user):
    response = as_user(client_user).post(BOOKINGS, '{"service": 1, "intake":', content_type="application/json")

    assert response.status_code == 400
    _nothing_stored()


@pytest.mark.parametrize(("length", "status"), [(255, 201), (256, 400)])
def test_idempotency_key_length(as_user, client_user, therapist, service, length, status):
    response = book(as_user(client_user), service, FRIDAY_9, therapist=therapist, HTTP_IDEMPOTENCY_KEY="k" * length)

    assert response.status_code == status, response.content
    _nothing_stored(bookings=1 if status == 201 else 0)


def test_an_empty_idempotency_key_is_a_400(as_user, client_user, therapist, service):
    response = book(as_user(client_user), service, FRIDAY_9, therapist=therapist, HTTP_IDEMPOTENCY_KEY="")

    assert response.status_code == 400
    _nothing_stored()


# --- The front desk books for a client ------------------------------------------------


@pytest.mark.parametrize("role", ["staff", "admin"])
def test_the_front_desk_books_for_a_client_with_the_intake_pending(
    api_as, client_user, therapist, service, role, request
):
    response = book(api_as(role), service, FRIDAY_9, None, therapist=therapist, client=client_user)

    assert response.status_code == 201, response.json()
    body = response.json()
    assert set(body) == BOOKING_FIELDS
    assert body["client"] == {"id": client_user.pk, "name": client_user.display_name}
    assert (body["status"], body["intake_status"]) == ("confirmed", "pending")
    assert (body["modality"], body["suggested_modality"], body["reviewed_at"]) == (None, None, None)
    assert (body["needs_review"], body["flags"], body["warnings"]) == (False, [], [])
    stored = Booking.objects.get(pk=body["id"])
    desk = request.getfixturevalue(f"{role}_user")
    assert (stored.client, stored.booked_by, stored.intake) == (client_user, desk, None)
    # the client is mailed the confirmation and asked for the intake, by the worker
    assert mail.outbox == []
    assert _mail_jobs(stored) == [(CONFIRMED, stored.pk), (INTAKE_REQUEST, stored.pk)]
    run_jobs()
    assert [(m.to, m.subject.split(":")[0]) for m in mail.outbox] == [
        ([client_user.email], "Booking confirmed"),
        ([client_user.email], "Please complete your intake"),
    ]
    # the client sees it among their bookings
    mine = api_as("client").get(BOOKINGS).json()["results"]
    assert [(row["id"], row["intake_status"]) for row in mine] == [(body["id"], "pending")]


@pytest.mark.parametrize(
    ("when", "allowed"),
    [
        pytest.param(NOW + 15 * MINUTE, True, id="inside-the-notice"),
        pytest.param(local(2027, 1, 30, 10, 15), True, id="past-the-horizon"),
        pytest.param(NOW - 15 * MINUTE, False, id="in-the-past"),
        pytest.param(FRIDAY_9 + 5 * MINUTE, False, id="off-the-grid"),
    ],
)
def test_the_front_desk_books_any_future_offered_start(
    as_user, staff_user, client_user, therapist, service, when, allowed
):
    shift_at(therapist, local(2027, 1, 30, 8), hours=12)

    response = book(as_user(staff_user), service, when, None, therapist=therapist, client=client_user)

    if allowed:
        assert response.status_code == 201, response.json()
    else:
        assert_conflict(response, "slot_unavailable")
        _nothing_stored()


@pytest.mark.parametrize(
    ("who", "message_in"),
    [
        ("therapist", "client"),
        ("staff", "client"),
        ("admin", "client"),
        ("unknown", "client"),
        ("missing", "client"),
        ("answers", "intake"),
    ],
)
def test_the_front_desk_books_for_client_accounts_only_and_without_answers(
    as_user, staff_user, client_user, therapist, admin_user, service, who, message_in
):
    client = {
        "therapist": therapist.user.pk,
        "staff": staff_user.pk,
        "admin": admin_user.pk,
        "unknown": 987654,
        "missing": None,
        "answers": client_user.pk,
    }[who]
    answers = THERAPEUTIC if who == "answers" else None

    response = book(as_user(staff_user), service, FRIDAY_9, answers, therapist=therapist, client=client)

    assert response.status_code == 400, response.json()
    assert message_in in response.json()
    _nothing_stored()


def test_a_front_desk_booking_is_idempotent_too(as_user, staff_user, client_user, therapist, service):
    staff = as_user(staff_user)

    first = book(staff, service, FRIDAY_9, None, therapist=therapist, client=client_user, HTTP_IDEMPOTENCY_KEY="desk")
    retry = book(staff, service, FRIDAY_9, None, therapist=therapist, client=client_user, HTTP_IDEMPOTENCY_KEY="desk")

    assert (first.status_code, retry.status_code) == (201, 201)
    assert retry.json() == first.json()
    assert retry["Idempotent-Replayed"] == "true"
    _nothing_stored(bookings=1)


# --- List and detail: who sees what ---------------------------------------------------------


@pytest.fixture
def bookings_of_everyone(booking, other_client_user, other_therapist, service, staff_user):
    """booking (client_user with therapist), one of other_client_user with other_therapist, and a held offer."""
    theirs = booked(other_client_user, service, local(2026, 12, 5, 9), therapist=other_therapist)
    held = booking_at(
        other_therapist,
        local(2026, 12, 6, 9),
        client=other_client_user,
        service=service,
        status=Booking.Status.HELD,
        hold_expires_at=NOW + 30 * MINUTE,
        intake=None,
        intake_status=Booking.IntakeStatus.PENDING,
    )
    return booking, theirs, held


@pytest.mark.parametrize(
    ("role", "sees"),
    [
        ("client", ["mine"]),
        ("other_client", ["theirs"]),
        ("therapist", ["mine"]),
        ("other_therapist", ["theirs"]),
        ("staff", ["mine", "theirs", "held"]),
        ("admin", ["mine", "theirs", "held"]),
    ],
)
def test_the_list_is_scoped_by_role(api_as, bookings_of_everyone, role, sees):
    mine, theirs, held = bookings_of_everyone
    expected = [{"mine": mine.pk, "theirs": theirs.pk, "held": held.pk}[name] for name in sees]

    response = api_as(role).get(BOOKINGS)

    assert response.status_code == 200
    body = response.json()
    assert set(body) == {"count", "next", "previous", "results"}
    assert [row["id"] for row in body["results"]] == expected
    assert body["count"] == len(expected)


def test_the_list_needs_a_login(api, booking):
    assert api.get(BOOKINGS).status_code == 401


@pytest.mark.parametrize(
    ("role", "status"),
    [
        ("client", 200),
        ("therapist", 200),
        ("staff", 200),
        ("admin", 200),
        ("other_client", 404),
        ("other_therapist", 404),
        ("anonymous", 401),
    ],
)
def test_the_detail_is_scoped_by_role(api_as, booking, role, status):
    response = api_as(role).get(_url(booking))

    assert response.status_code == status
    if status == 200:
        body = response.json()
        assert (body["id"], body["status"], body["needs_review"]) == (booking.pk, "confirmed", True)
        assert (body["therapist"]["id"], body["client"]["id"]) == (booking.therapist_id, booking.client_id)
        _assert_shows_no_answers(body)


@pytest.mark.parametrize(("role", "status"), [("other_client", 404), ("other_therapist", 404), ("staff", 200)])
def test_a_held_offer_is_only_the_front_desks_to_see(api_as, bookings_of_everyone, role, status):
    _, _, held = bookings_of_everyone

    response = api_as(role).get(_url(held))

    assert response.status_code == status
    if status == 200:
        assert response.json()["status"] == "held"


def test_a_booking_that_does_not_exist_is_a_404_like_anothers(as_user, client_user):
    assert as_user(client_user).get(f"{BOOKINGS}987654/").status_code == 404
    assert as_user(client_user).get(f"{BOOKINGS}{10**30}/").status_code == 404
    assert as_user(client_user).get(f"{BOOKINGS}abc/").status_code == 404


@pytest.mark.parametrize(
    ("role", "flags"),
    [
        ("client", ["high_blood_pressure"]),
        ("therapist", ["high_blood_pressure"]),
        ("admin", ["high_blood_pressure"]),
        ("staff", []),
    ],
)
def test_only_the_front_desk_is_kept_from_the_flags(api_as, booking, role, flags):
    api = api_as(role)

    detail = api.get(_url(booking)).json()
    listed = api.get(BOOKINGS).json()["results"]

    assert detail["flags"] == flags
    assert [row["flags"] for row in listed if row["id"] == booking.pk] == [flags]
    assert detail["needs_review"] is True  # everyone may know that a review is due


def test_list_filters(as_user, staff_user, client_user, therapist, other_therapist, place, service):
    # given bookings at two locations: New York, and Los Angeles (three hours behind)
    los_angeles = LocationFactory(time_zone="America/Los_Angeles")
    shift_at(other_therapist, local(2026, 12, 5, 21), hours=5, location=los_angeles)  # after their New York shift
    early = booked(client_user, service, local(2026, 12, 3, 9), therapist=therapist)
    flagged = booked(client_user, service, local(2026, 12, 4, 9), NEEDS_REVIEW, therapist=other_therapist)
    # 01:00 on Dec 6 in New York is still Dec 5 in Los Angeles
    west = booked(client_user, service, local(2026, 12, 6, 1), therapist=other_therapist, location=los_angeles)
    late = booked(client_user, service, local(2026, 12, 7, 9), therapist=therapist)
    services.booking_cancel(booking_id=late.pk, by=client_user)
    pending = booked(client_user, service, local(2026, 12, 8, 9), therapist=therapist, by=staff_user)
    staff = as_user(staff_user)

    def ids(**params):
        response = staff.get(BOOKINGS, params)
        assert response.status_code == 200, response.json()
        return [row["id"] for row in response.json()["results"]]

    everything = [early.pk, flagged.pk, west.pk, late.pk, pending.pk]
    assert ids() == everything  # by start time
    assert ids(status="cancelled") == [late.pk]
    assert ids(status="confirmed") == [early.pk, flagged.pk, west.pk, pending.pk]
    assert ids(therapist=other_therapist.pk) == [flagged.pk, west.pk]
    assert ids(location=los_angeles.pk) == [west.pk]
    assert ids(location=place.pk) == [early.pk, flagged.pk, late.pk, pending.pk]
    assert ids(needs_review="true") == [flagged.pk]
    assert ids(needs_review="false") == [early.pk, west.pk, late.pk, pending.pk]
    assert ids(intake_status="pending") == [pending.pk]
    assert ids(intake_status="complete") == [early.pk, flagged.pk, west.pk, late.pk]
    # local dates, each at the booking's own location; `to` inclusive
    assert ids(**{"from": "2026-12-04"}) == [flagged.pk, west.pk, late.pk, pending.pk]
    assert ids(to="2026-12-05") == [early.pk, flagged.pk, west.pk]
    assert ids(**{"from": "2026-12-05", "to": "2026-12-05"}) == [west.pk]
    assert ids(**{"from": "2026-12-06", "to": "2026-12-06"}) == []


@pytest.mark.parametrize(
    "params",
    [
        {"status": "lost"},
        {"intake_status": "half"},
        {"from": "2026-02-30"},
        {"to": "soon"},
        {"therapist": "x"},
        {"location": "downtown"},
        {"to": "9999-12-31"},
    ],
)
def test_bad_list_filters_are_a_400(as_user, staff_user, params):
    assert as_user(staff_user).get(BOOKINGS, params).status_code == 400


def _bulk_bookings(count: int, place) -> None:
    therapists = [TherapistFactory(locations=[place]) for _ in range(3)]
    for i in range(count):
        booking_at(therapists[i % 3], local(2026, 12, 3, 8) + HOUR * (i // 3))


def test_the_staff_list_costs_the_same_few_queries_for_1_or_30_bookings(
    as_user, staff_user, place, django_assert_max_num_queries
):
    api = as_user(staff_user)
    _bulk_bookings(1, place)
    with django_assert_max_num_queries(6) as one:
        assert api.get(BOOKINGS).json()["count"] == 1
    _bulk_bookings(29, place)

    with django_assert_max_num_queries(6) as thirty:
        response = api.get(BOOKINGS)

    assert len(response.json()["results"]) == 30
    assert len(thirty) == len(one)


# --- The room (front desk) -----------------------------------------------------------


@pytest.fixture
def rooms_place(clinic):
    return new_york(name="Uptown", uses_rooms=True)


JANUARY_5_9 = local(2027, 1, 5, 9)


@pytest.fixture
def in_a_room(rooms_place, client_user, therapist, service):
    """client_user's booking on 5 January at 09:00 in the first of Uptown's two rooms."""
    RoomFactory(location=rooms_place, name="Blue")
    RoomFactory(location=rooms_place, name="Green")
    shift_at(therapist, JANUARY_5_9, hours=4, location=rooms_place)
    return booked(client_user, service, JANUARY_5_9, therapist=therapist, location=rooms_place)


def _room(name: str) -> Room:
    return Room.objects.get(name=name)


@pytest.mark.parametrize(
    ("role", "status"),
    [
        ("staff", 200),
        ("admin", 200),
        ("client", 403),
        ("therapist", 403),
        ("other_client", 404),
        ("other_therapist", 404),
        ("anonymous", 401),
    ],
)
def test_the_front_desk_moves_a_booking_to_another_room(api_as, in_a_room, role, status):
    assert in_a_room.room == _room("Blue")
    before = _snapshot(in_a_room)

    response = api_as(role).patch(_url(in_a_room), {"room": _room("Green").pk}, format="json")

    assert response.status_code == status
    if status == 200:
        assert response.json()["room"] == {"id": _room("Green").pk, "name": "Green"}
        assert Booking.objects.get(pk=in_a_room.pk).room == _room("Green")
        assert _mail_jobs(in_a_room)[-1] == (RESCHEDULED, in_a_room.pk)
    else:
        assert _snapshot(in_a_room) == before


@pytest.mark.parametrize("target", ["taken", "inactive", "elsewhere", "unknown"])
def test_a_room_that_is_not_free_at_the_location_is_refused(
    as_user, staff_user, in_a_room, other_client_user, other_therapist, rooms_place, service, target
):
    if target == "taken":
        shift_at(other_therapist, JANUARY_5_9, hours=4, location=rooms_place)
        booked(other_client_user, service, JANUARY_5_9 + 30 * MINUTE, therapist=other_therapist, location=rooms_place)
        room_id = _room("Green").pk
    elif target == "inactive":
        room_id = RoomFactory(location=rooms_place, active=False).pk
    elif target == "elsewhere":
        room_id = RoomFactory(location=new_york(uses_rooms=True)).pk
    else:
        room_id = 987654
    before = _snapshot(in_a_room)

    response = as_user(staff_user).patch(_url(in_a_room), {"room": room_id}, format="json")

    assert_conflict(response, "room_unavailable")
    assert _snapshot(in_a_room) == before


@pytest.mark.parametrize("body", [{}, {"room": None}, {"room": "blue"}, {"room": 0}, {"room": 2**63}, [], "room"])
def test_a_bad_room_body_is_a_400(as_user, staff_user, in_a_room, body):
    before = _snapshot(in_a_room)

    response = as_user(staff_user).patch(_url(in_a_room), body, format="json")

    assert response.status_code == 400, response.content
    assert _snapshot(in_a_room) == before


# --- Cancel ----------------------------------------------------------------------


def test_a_client_cancels_their_booking(as_user, client_user, booking, therapist, service, api):
    assert not _bookable(api, service, therapist, FRIDAY_9)

    response = as_user(client_user).post(_url(booking, "cancel"), {"reason": "Feeling better"}, format="json")

    assert response.status_code == 200, response.json()
    body = response.json()
    assert (body["id"], body["status"], body["cancelled_at"]) == (booking.pk, "cancelled", "2026-12-01T15:00:00Z")
    stored = Booking.objects.get(pk=booking.pk)
    assert (stored.cancelled_by, stored.cancel_reason) == (client_user, "Feeling better")
    assert _bookable(api, service, therapist, FRIDAY_9)
    assert _mail_jobs(booking)[-1] == (CANCELLED, booking.pk)
    # the booking's earlier mails, still waiting, no longer apply: only the cancellation is sent
    run_jobs()
    assert [m.subject.split(":")[0] for m in mail.outbox] == ["Booking cancelled"]


def test_a_cancelled_time_can_be_booked_again_at_once(as_user, client_user, other_client_user, booking, service):
    as_user(client_user).post(_url(booking, "cancel"), {}, format="json")

    response = book(as_user(other_client_user), service, FRIDAY_9, therapist=booking.therapist)

    assert response.status_code == 201
    assert list(
        Booking.objects.filter(therapist=booking.therapist, starts_at=FRIDAY_9)
        .order_by("id")
        .values_list("status", flat=True)
    ) == ["cancelled", "confirmed"]


@pytest.mark.parametrize(
    ("role", "status"),
    [
        ("client", 200),
        ("staff", 200),
        ("admin", 200),
        ("therapist", 403),
        ("other_client", 404),
        ("other_therapist", 404),
        ("anonymous", 401),
    ],
)
def test_who_may_cancel(api_as, booking, role, status):
    before = _snapshot(booking)

    response = api_as(role).post(_url(booking, "cancel"), {}, format="json")

    assert response.status_code == status
    if status == 200:
        assert response.json()["status"] == "cancelled"
    else:
        assert _snapshot(booking) == before


@pytest.mark.parametrize(("before_start", "allowed"), [(WINDOW, True), (WINDOW - MINUTE, False), (HOUR, False)])
def test_a_client_may_cancel_until_24_hours_before(as_user, client_user, therapist, service, before_start, allowed):
    booking = booked(client_user, service, local(2026, 12, 10, 9), therapist=therapist)

    with frozen_at(booking.starts_at - before_start):
        response = as_user(client_user).post(_url(booking, "cancel"), {}, format="json")

    if allowed:
        assert response.status_code == 200
    else:
        assert_conflict(response, "late_cancellation")
        assert Booking.objects.get(pk=booking.pk).status == Booking.Status.CONFIRMED


@pytest.mark.parametrize("role", ["staff", "admin"])
@pytest.mark.parametrize(
    "before_start", [WINDOW - MINUTE, MINUTE, -HOUR], ids=["inside-window", "about-to-start", "started"]
)
def test_the_front_desk_may_always_cancel(api_as, booking, role, before_start):
    with frozen_at(booking.starts_at - before_start):
        response = api_as(role).post(_url(booking, "cancel"), {"reason": "Therapist ill"}, format="json")

    assert response.status_code == 200
    assert response.json()["status"] == "cancelled"


@pytest.mark.parametrize("status", [Booking.Status.CANCELLED, Booking.Status.COMPLETED, Booking.Status.NO_SHOW])
@pytest.mark.parametrize("role", ["client", "staff"])
def test_only_an_active_booking_can_be_cancelled(api_as, client_user, therapist, status, role):
    booking = booking_at(
        therapist,
        FRIDAY_9,
        client=client_user,
        status=status,
        cancelled_at=NOW if status == Booking.Status.CANCELLED else None,
    )

    response = api_as(role).post(_url(booking, "cancel"), {}, format="json")

    assert_conflict(response, "booking_not_active")


@pytest.mark.parametrize("body", [{"reason": "x" * 501}, {"reason": None}, [], "stop"])
def test_a_bad_cancel_body_is_a_400(as_user, client_user, booking, body):
    response = as_user(client_user).post(_url(booking, "cancel"), body, format="json")

    assert response.status_code == 400
    assert Booking.objects.get(pk=booking.pk).status == Booking.Status.CONFIRMED


# --- Reschedule ------------------------------------------------------------------

TUESDAY_14 = local(2026, 12, 8, 14)


def _move(api, booking, starts_at, **choices):
    body = {"starts_at": starts_at.isoformat(), **{name: getattr(v, "pk", v) for name, v in choices.items()}}
    return api.post(_url(booking, "reschedule"), body, format="json")


def test_a_client_reschedules_their_booking(as_user, api, client_user, booking, therapist, other_therapist, service):
    intake_id = booking.intake_id

    response = _move(as_user(client_user), booking, TUESDAY_14, therapist=other_therapist)

    assert response.status_code == 200, response.json()
    body = response.json()
    assert (body["id"], body["status"], body["starts_at"]) == (booking.pk, "confirmed", "2026-12-08T19:00:00Z")
    assert body["therapist"]["id"] == other_therapist.pk
    stored = Booking.objects.get(pk=booking.pk)
    assert (stored.therapist, stored.starts_at, stored.intake_id, stored.sequence) == (
        other_therapist,
        TUESDAY_14,
        intake_id,
        1,
    )
    assert Intake.objects.count() == 1
    assert _bookable(api, service, therapist, FRIDAY_9)
    assert not _bookable(api, service, other_therapist, TUESDAY_14)
    assert _mail_jobs(booking)[-1] == (RESCHEDULED, booking.pk)
    run_jobs()
    [moved] = [m for m in mail.outbox if m.subject.startswith("Booking moved:")]
    assert (moved.to, other_therapist.name in moved.body) == ([client_user.email], True)
    assert "Tuesday 8 December 2026, 14:00–15:00 (America/New_York)" in moved.body


def test_what_is_left_out_is_kept(as_user, client_user, booking, therapist, place):
    response = _move(as_user(client_user), booking, TUESDAY_14)

    assert response.status_code == 200, response.json()
    stored = Booking.objects.get(pk=booking.pk)
    assert (stored.therapist, stored.location, stored.service_id, stored.starts_at) == (
        therapist,
        place,
        booking.service_id,
        TUESDAY_14,
    )


def test_another_service_brings_its_length_and_price(as_user, client_user, booking):
    ninety = hour_service(duration_minutes=90, buffer_minutes=10, price=Decimal("120.00"))

    response = _move(as_user(client_user), booking, FRIDAY_9, service=ninety)

    assert response.status_code == 200, response.json()
    body = response.json()
    assert (body["service"]["id"], body["price"], body["ends_at"]) == (ninety.pk, "120.00", "2026-12-04T15:30:00Z")
    assert Booking.objects.get(pk=booking.pk).occupied_until == FRIDAY_9 + timedelta(minutes=100)


def test_a_booking_may_move_to_a_time_overlapping_its_own(as_user, client_user, booking, therapist):
    response = _move(as_user(client_user), booking, FRIDAY_9 + 30 * MINUTE)

    assert response.status_code == 200, response.json()
    assert Booking.objects.get(pk=booking.pk).starts_at == FRIDAY_9 + 30 * MINUTE


def test_a_new_therapist_drops_the_old_review(as_user, client_user, booking, therapist, other_therapist):
    services.booking_review(booking_id=booking.pk, reviewer=therapist.user, modality="therapeutic", note="ok")

    body = _move(as_user(client_user), booking, TUESDAY_14, therapist=other_therapist).json()

    assert body["reviewed_at"] is None
    assert Intake.objects.get(pk=booking.intake_id).reviewed_modality == ""


@pytest.mark.parametrize(
    ("role", "status"),
    [
        ("client", 200),
        ("staff", 200),
        ("admin", 200),
        ("therapist", 403),
        ("other_client", 404),
        ("other_therapist", 404),
        ("anonymous", 401),
    ],
)
def test_who_may_reschedule(api_as, booking, role, status):
    before = _snapshot(booking)

    response = _move(api_as(role), booking, TUESDAY_14)

    assert response.status_code == status
    if status == 200:
        assert Booking.objects.get(pk=booking.pk).starts_at == TUESDAY_14
    else:
        assert _snapshot(booking) == before


@pytest.mark.parametrize(("before_start", "allowed"), [(WINDOW, True), (WINDOW - MINUTE, False)])
def test_a_client_may_reschedule_until_24_hours_before(as_user, client_user, booking, before_start, allowed):
    before = _snapshot(booking)

    with frozen_at(booking.starts_at - before_start):
        response = _move(as_user(client_user), booking, TUESDAY_14)

    if allowed:
        assert response.status_code == 200
    else:
        assert_conflict(response, "late_cancellation")
        assert _snapshot(booking) == before


def test_the_front_desk_may_reschedule_inside_the_window(as_user, staff_user, booking):
    with frozen_at(booking.starts_at - HOUR):
        response = _move(as_user(staff_user), booking, TUESDAY_14)

    assert response.status_code == 200
    assert response.json()["flags"] == []


@pytest.mark.parametrize(
    "make_target",
    [
        pytest.param(lambda t, b: {"starts_at": NOW - 3 * HOUR}, id="past"),
        pytest.param(lambda t, b: {"starts_at": NOW + 2 * HOUR - 15 * MINUTE}, id="inside-notice"),
        pytest.param(lambda t, b: {"starts_at": local(2027, 1, 30, 10, 15)}, id="beyond-horizon"),
        pytest.param(lambda t, b: {"starts_at": TUESDAY_14 + 5 * MINUTE}, id="off-the-grid"),
        pytest.param(lambda t, b: {"starts_at": local(2026, 12, 8, 22)}, id="outside-every-shift"),
        pytest.param(
            lambda t, b: {
                "starts_at": TUESDAY_14,
                "therapist": _deactivate(Therapist, t) and t.pk,
            },
            id="inactive-therapist",
        ),
        pytest.param(
            lambda t, b: {
                "starts_at": booking_at(t, TUESDAY_14, client=ClientFactory()).starts_at,
                "therapist": t.pk,
            },
            id="taken",
        ),
        pytest.param(lambda t, b: {"starts_at": b.starts_at}, id="its-own-time"),
        pytest.param(lambda t, b: {"starts_at": TUESDAY_14, "therapist": 987654}, id="unknown-therapist"),
        pytest.param(lambda t, b: {"starts_at": TUESDAY_14, "location": 987654}, id="unknown-location"),
    ],
)
def test_reschedule_to_a_start_that_is_not_offered_changes_nothing(
    as_user, client_user, booking, other_therapist, make_target
):
    target = make_target(other_therapist, booking)
    before = _snapshot(booking)

    response = _move(as_user(client_user), booking, target.pop("starts_at"), **target)

    assert_conflict(response, "slot_unavailable")
    assert _snapshot(booking) == before


def test_reschedule_keeps_the_rule_on_deep_tissue(as_user, client_user, therapist, place, service):
    booking = booked(client_user, service, FRIDAY_9, DEEP_TISSUE, therapist=therapist)
    gentle = TherapistFactory(gives_therapeutic=True, gives_deep_tissue=False)
    works(gentle, place, [8])
    before = _snapshot(booking)

    response = _move(as_user(client_user), booking, TUESDAY_14, therapist=gentle)

    assert_conflict(response, "therapist_not_qualified")
    assert _snapshot(booking) == before


def test_reschedule_checks_the_therapists_final_modality(as_user, client_user, therapist, booking, place):
    # the suggestion was therapeutic; the therapist's review says deep tissue
    services.booking_review(booking_id=booking.pk, reviewer=therapist.user, modality="deep_tissue")
    gentle = TherapistFactory(gives_therapeutic=True, gives_deep_tissue=False)
    works(gentle, place, [8])

    response = _move(as_user(client_user), booking, TUESDAY_14, therapist=gentle)

    assert_conflict(response, "therapist_not_qualified")


def test_reschedule_onto_the_time_of_another_booking_of_the_client(
    as_user, client_user, booking, other_therapist, therapist, service
):
    booked(client_user, service, TUESDAY_14, therapist=therapist)
    before = _snapshot(booking)

    response = _move(as_user(client_user), booking, TUESDAY_14 + 30 * MINUTE, therapist=other_therapist)

    assert_conflict(response, "client_overlap")
    assert _snapshot(booking) == before


@pytest.mark.parametrize("status", [Booking.Status.CANCELLED, Booking.Status.COMPLETED, Booking.Status.NO_SHOW])
def test_only_an_active_booking_can_be_rescheduled(as_user, client_user, therapist, status):
    booking = booking_at(
        therapist,
        FRIDAY_9,
        client=client_user,
        status=status,
        cancelled_at=NOW if status == Booking.Status.CANCELLED else None,
    )

    response = _move(as_user(client_user), booking, TUESDAY_14)

    assert_conflict(response, "booking_not_active")
    assert Booking.objects.get(pk=booking.pk).starts_at == FRIDAY_9


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"starts_at": None},
        {"starts_at": "abc"},
        {"starts_at": "2026-12-08T14:00:00"},
        {"starts_at": TUESDAY_14.isoformat(), "service": "abc"},
        {"starts_at": TUESDAY_14.isoformat(), "therapist": -3},
        {"starts_at": TUESDAY_14.isoformat(), "location": 10**30},
        {"starts_at": TUESDAY_14.isoformat(), "service": 987654},
        {"service": 1},
        [],
        "starts_at",
    ],
)
def test_a_bad_reschedule_body_is_a_400(as_user, client_user, booking, body):
    before = _snapshot(booking)

    response = as_user(client_user).post(_url(booking, "reschedule"), body, format="json")

    assert response.status_code == 400, response.content
    assert _snapshot(booking) == before


# --- Complete and no-show ------------------------------------------------------------


@pytest.fixture
def started(client_user, therapist):
    """client_user's confirmed booking with `therapist` that started 30 minutes ago."""
    return booking_at(therapist, NOW - 30 * MINUTE, client=client_user)


CLOSE = [("complete", "completed"), ("no-show", "no_show")]


@pytest.mark.parametrize(("action", "status"), CLOSE)
@pytest.mark.parametrize(
    ("role", "code"),
    [
        ("therapist", 200),
        ("staff", 200),
        ("admin", 200),
        ("client", 403),
        ("other_client", 404),
        ("other_therapist", 404),
        ("anonymous", 401),
    ],
)
def test_who_may_close_a_session(api_as, started, action, status, role, code):
    response = api_as(role).post(_url(started, action), format="json")

    assert response.status_code == code
    stored = Booking.objects.get(pk=started.pk)
    if code == 200:
        assert response.json()["status"] == status
        assert (stored.status, stored.closed_at) == (status, NOW)
    else:
        assert stored.status == Booking.Status.CONFIRMED


@pytest.mark.parametrize(("action", "status"), CLOSE)
@pytest.mark.parametrize(("offset", "allowed"), [(timedelta(0), True), (-MINUTE, False), (-timedelta(days=2), False)])
def test_a_session_is_closed_after_its_start_only(as_user, therapist, action, status, offset, allowed):
    booking = booking_at(therapist, local(2026, 12, 3, 9))

    with frozen_at(booking.starts_at + offset):
        response = as_user(therapist.user).post(_url(booking, action), format="json")

    if allowed:
        assert response.status_code == 200
        assert response.json()["status"] == status
    else:
        assert_conflict(response, "too_early")
        assert Booking.objects.get(pk=booking.pk).status == Booking.Status.CONFIRMED


@pytest.mark.parametrize("action", ["complete", "no-show"])
@pytest.mark.parametrize("status", [Booking.Status.CANCELLED, Booking.Status.COMPLETED, Booking.Status.NO_SHOW])
def test_only_an_active_session_is_closed(as_user, staff_user, therapist, action, status):
    booking = booking_at(
        therapist,
        NOW - 2 * HOUR,
        status=status,
        cancelled_at=NOW - 3 * HOUR if status == Booking.Status.CANCELLED else None,
    )

    response = as_user(staff_user).post(_url(booking, action), format="json")

    assert_conflict(response, "booking_not_active")
    assert Booking.objects.get(pk=booking.pk).status == status


def test_a_closed_session_can_no_longer_be_cancelled_or_moved(as_user, staff_user, started):
    staff = as_user(staff_user)
    assert staff.post(_url(started, "complete"), format="json").status_code == 200

    assert_conflict(staff.post(_url(started, "cancel"), {}, format="json"), "booking_not_active")
    assert_conflict(_move(staff, started, TUESDAY_14), "booking_not_active")


@pytest.mark.parametrize("role", ROLES)
def test_no_role_may_replace_or_delete_a_booking(api_as, booking, role):
    # Anonymous must log in first; every user is told the method does not exist, for their own booking,
    # another's or none at all alike (it tells nobody whether a booking exists).
    api = api_as(role)
    expected = 401 if role == "anonymous" else 405

    for method in ("put", "delete"):
        response = getattr(api, method)(_url(booking), {"status": "cancelled"}, format="json")
        missing = getattr(api, method)(f"{BOOKINGS}987654/", {"status": "cancelled"}, format="json")
        assert (response.status_code, missing.status_code) == (expected, expected), method
    assert Booking.objects.get(pk=booking.pk).status == Booking.Status.CONFIRMED


@pytest.mark.parametrize("role", [r for r in ROLES if r != "anonymous"])
def test_a_patch_changes_the_room_only(api_as, booking, role):
    before = _snapshot(booking)

    response = api_as(role).patch(_url(booking), {"status": "cancelled", "starts_at": NOW.isoformat()}, format="json")

    assert response.status_code in (400, 403, 404)
    assert response.status_code == {"staff": 400, "admin": 400, "client": 403, "therapist": 403}.get(role, 404)
    assert _snapshot(booking) == before


# --- The schema ----------------------------------------------------------------------


SCHEMA_ANSWERS = {
    ("get", "/api/v1/availability/"): {"200", "400", "404"},
    ("get", "/api/v1/bookings/"): {"200", "400", "401", "404"},
    ("post", "/api/v1/bookings/"): {"201", "400", "401", "403", "409", "422"},
    ("get", "/api/v1/bookings/{id}/"): {"200", "401", "404"},
    ("patch", "/api/v1/bookings/{id}/"): {"200", "400", "401", "403", "404", "409"},
    ("post", "/api/v1/bookings/{id}/cancel/"): {"200", "400", "401", "403", "404", "409", "422"},
    ("post", "/api/v1/bookings/{id}/reschedule/"): {"200", "400", "401", "403", "404", "409", "422"},
    ("post", "/api/v1/bookings/{id}/complete/"): {"200", "400", "401", "403", "404", "409", "422"},
    ("post", "/api/v1/bookings/{id}/no-show/"): {"200", "400", "401", "403", "404", "409", "422"},
    ("get", "/api/v1/bookings/{id}/intake/"): {"200", "401", "403", "404"},
    ("put", "/api/v1/bookings/{id}/intake/"): {"200", "400", "401", "403", "404", "409"},
    ("post", "/api/v1/bookings/{id}/review/"): {"200", "400", "401", "403", "404", "409"},
    ("get", "/api/v1/bookings/{id}/intake/access-log/"): {"200", "401", "403", "404"},
}


def test_the_schema_documents_every_answer_and_both_bodies(api):
    schema = api.get("/api/schema/", {"format": "json"}).json()
    components = schema["components"]["schemas"]

    for (method, path), answers in SCHEMA_ANSWERS.items():
        assert answers <= set(schema["paths"][path][method]["responses"]), (method, path)
    create = schema["paths"][BOOKINGS]["post"]
    body = create["requestBody"]["content"]["application/json"]["schema"]["$ref"].rsplit("/", 1)[1]
    shapes = [ref["$ref"].rsplit("/", 1)[1] for ref in components[body]["oneOf"]]
    assert shapes == ["BookingCreateRequest", "StaffBookingCreateRequest"]
    assert set(components["BookingCreateRequest"]["required"]) == {"service", "starts_at", "intake"}
    assert set(components["StaffBookingCreateRequest"]["required"]) == {"client", "service", "starts_at"}
    assert "Idempotency-Key" in [p["name"] for p in create["parameters"]]
    assert components["BookingRoomRequest"]["required"] == ["room"]
    assert set(components["Booking"]["required"]) == BOOKING_FIELDS
    for code in ("slot_unavailable", "therapist_not_qualified", "client_overlap", "too_many_bookings"):
        assert code in create["responses"]["409"]["description"]
