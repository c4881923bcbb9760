"""The booking lifecycle over HTTP (docs/api.md, Bookings): create, list and detail
scoping, cancel, reschedule, complete and no-show, as every role.

NOW is Tuesday 2026-12-01 10:00 in New York; the clinic asks 2 hours'
notice, books up to 60 days ahead and lets clients change a booking up to
24 hours before it starts.
"""

import json
from datetime import timedelta

import pytest

from booking import services
from booking.models import Booking, Slot
from booking.tests.factories import BookingFactory
from booking.tests.helpers import (
    AVAILABILITY,
    BOOKINGS,
    DEEP_TISSUE,
    NEEDS_REVIEW,
    NOW,
    THERAPEUTIC,
    assert_conflict,
    book,
    frozen,
    local,
    slot_at,
)
from clinic.tests.factories import ClientFactory, TherapistFactory
from conftest import ROLES
from intake.models import Intake

pytestmark = pytest.mark.django_db

MINUTE = timedelta(minutes=1)
HOUR = timedelta(hours=1)
WINDOW = timedelta(hours=24)
# The intake's answers are read at /bookings/{id}/intake/, where every read is audited: a booking
# shows the modality, needs_review and flags, never the answers themselves, to any role.
ANSWER_KEYS = ("answers", "pressure_preference", "primary_goal", "health_screening", "consent")


@pytest.fixture(autouse=True)
def _now():
    with frozen():
        yield


@pytest.fixture
def slot(therapist):
    """A free slot three days ahead: bookable and outside the cancellation window."""
    return slot_at(therapist, local(2026, 12, 4, 9))


@pytest.fixture
def booking(clinic, client_user, slot):
    """client_user's booking of `slot`, with a health flag on its intake."""
    return services.booking_create(client=client_user, slot_id=slot.pk, answers=NEEDS_REVIEW)


def _url(booking, action: str = "") -> str:
    return f"{BOOKINGS}{booking.pk}/{action + '/' if action else ''}"


def _snapshot(booking):
    """What a refused change must leave as it was."""
    row = Booking.objects.get(pk=booking.pk)
    return (row.slot_id, row.status, row.sequence, row.intake_id, row.cancelled_at, row.closed_at, row.updated_at)


def _nothing_stored(bookings: int = 0) -> None:
    assert Booking.objects.count() == bookings
    assert Intake.objects.count() == bookings


def _assert_shows_no_answers(body: dict) -> None:
    text = json.dumps(body)
    assert [key for key in ANSWER_KEYS if key in text] == [], body


def _bookable(api, slot) -> bool:
    day = slot.starts_at.astimezone(NOW.tzinfo).date().isoformat()
    ids = [row["id"] for row in api.get(AVAILABILITY, {"from": day, "to": day}).json()["results"]]
    return slot.pk in ids


# --- Create ----------------------------------------------------------------------


def test_a_client_books_a_slot(as_user, clinic, client_user, therapist, slot):
    response = book(as_user(client_user), slot)

    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["slot"] == {
        "id": slot.pk,
        "therapist": therapist.pk,
        "therapist_name": therapist.name,
        "starts_at": "2026-12-04T14:00:00Z",
        "ends_at": "2026-12-04T15:00:00Z",
    }
    assert body["client"] == {"id": client_user.pk, "name": client_user.display_name}
    assert body["status"] == "confirmed"
    assert (body["modality"], body["suggested_modality"]) == ("therapeutic", "therapeutic")
    assert (body["needs_review"], body["flags"]) == (False, [])
    assert body["reviewed_at"] is None
    assert body["cancelled_at"] is None
    assert body["created_at"] == "2026-12-01T15:00:00Z"
    _assert_shows_no_answers(body)
    stored = Booking.objects.select_related("intake").get(pk=body["id"])
    assert (stored.client, stored.slot, stored.status) == (client_user, slot, Booking.Status.CONFIRMED)
    assert stored.intake.client == client_user
    assert stored.intake.answers["pressure_preference"] == "medium"


def test_the_intake_decides_the_modality_and_flags(as_user, clinic, client_user, therapist):
    api = as_user(client_user)

    deep = book(api, slot_at(therapist, local(2026, 12, 4, 9)), DEEP_TISSUE).json()
    flagged = book(api, slot_at(therapist, local(2026, 12, 4, 11)), NEEDS_REVIEW).json()

    assert (deep["modality"], deep["suggested_modality"], deep["needs_review"]) == ("deep_tissue", "deep_tissue", False)
    assert (flagged["needs_review"], flagged["flags"]) == (True, ["high_blood_pressure"])


@pytest.mark.parametrize(
    ("role", "status"),
    [("therapist", 403), ("other_therapist", 403), ("staff", 403), ("admin", 403), ("anonymous", 401)],
)
def test_only_clients_book(api_as, clinic, slot, role, status):
    response = book(api_as(role), slot)

    assert response.status_code == status
    _nothing_stored()


def test_a_booked_slot_is_unavailable(as_user, clinic, booking, other_client_user, slot):
    response = book(as_user(other_client_user), slot)

    assert_conflict(response, "slot_unavailable")
    _nothing_stored(bookings=1)


@pytest.mark.parametrize(
    "make_slot",
    [
        pytest.param(lambda t: slot_at(t, local(2026, 12, 4, 9), status=Slot.Status.BLOCKED), id="blocked"),
        pytest.param(lambda t: slot_at(t, NOW - 3 * HOUR), id="past"),
        pytest.param(lambda t: slot_at(t, NOW - 30 * MINUTE), id="running"),
        pytest.param(lambda t: slot_at(t, NOW + 2 * HOUR - MINUTE), id="inside-notice"),
        pytest.param(lambda t: slot_at(t, NOW + timedelta(days=60) + MINUTE), id="beyond-horizon"),
        pytest.param(lambda t: slot_at(TherapistFactory(active=False), local(2026, 12, 4, 9)), id="inactive-therapist"),
    ],
)
def test_a_slot_that_is_not_bookable_is_refused(as_user, clinic, client_user, therapist, make_slot):
    slot = make_slot(therapist)

    response = book(as_user(client_user), slot)

    assert_conflict(response, "slot_unavailable")
    _nothing_stored()


def test_an_unknown_slot_is_unavailable(as_user, clinic, client_user):
    response = book(as_user(client_user), 987654)

    assert_conflict(response, "slot_unavailable")
    _nothing_stored()


def test_min_notice_edge(as_user, clinic, client_user, therapist):
    """Exactly now + 2 h may be booked; one minute sooner may not."""
    api = as_user(client_user)
    too_soon = slot_at(therapist, NOW + 2 * HOUR - MINUTE, minutes=1)
    just_in_time = slot_at(therapist, NOW + 2 * HOUR)

    assert_conflict(book(api, too_soon), "slot_unavailable")
    assert book(api, just_in_time).status_code == 201


def test_horizon_edge(as_user, clinic, client_user, therapist):
    """Exactly now + 60 days may be booked; one minute later may not."""
    api = as_user(client_user)
    last = slot_at(therapist, NOW + timedelta(days=60), minutes=1)
    beyond = slot_at(therapist, NOW + timedelta(days=60) + MINUTE)

    assert_conflict(book(api, beyond), "slot_unavailable")
    assert book(api, last).status_code == 201


def test_deep_tissue_needs_a_therapist_trained_for_it(as_user, clinic, client_user):
    gentle = TherapistFactory(gives_therapeutic=True, gives_deep_tissue=False)
    slot = slot_at(gentle, local(2026, 12, 4, 9))
    api = as_user(client_user)

    refused = book(api, slot, DEEP_TISSUE)
    assert_conflict(refused, "therapist_not_qualified")
    _nothing_stored()

    accepted = book(api, slot, THERAPEUTIC)
    assert accepted.status_code == 201
    assert accepted.json()["modality"] == "therapeutic"


def test_a_contraindication_keeps_deep_pressure_from_needing_deep_tissue(as_user, clinic, client_user):
    gentle = TherapistFactory(gives_therapeutic=True, gives_deep_tissue=False)
    answers = {**DEEP_TISSUE, "health_screening": ["blood_thinners"]}

    response = book(as_user(client_user), slot_at(gentle, local(2026, 12, 4, 9)), answers)

    assert response.status_code == 201
    assert (response.json()["modality"], response.json()["needs_review"]) == ("therapeutic", True)


@pytest.mark.parametrize(
    ("hour", "minute", "overlaps"),
    [(9, 0, True), (9, 30, True), (8, 30, True), (10, 0, False), (8, 0, False)],
)
def test_a_client_cannot_hold_two_overlapping_bookings(
    as_user, clinic, client_user, booking, other_therapist, hour, minute, overlaps
):
    # booking: 09:00-10:00 with `therapist`; now a slot with another therapist
    other = slot_at(other_therapist, local(2026, 12, 4, hour, minute))

    response = book(as_user(client_user), other)

    if overlaps:
        assert_conflict(response, "client_overlap")
        _nothing_stored(bookings=1)
    else:
        assert response.status_code == 201


def test_a_cancelled_booking_does_not_count_as_overlap(as_user, clinic, client_user, booking, other_therapist):
    services.booking_cancel(booking_id=booking.pk, by=client_user)

    response = book(as_user(client_user), slot_at(other_therapist, local(2026, 12, 4, 9)))

    assert response.status_code == 201


def test_another_clients_booking_at_the_same_time_is_no_overlap(
    as_user, clinic, booking, other_client_user, other_therapist
):
    response = book(as_user(other_client_user), slot_at(other_therapist, local(2026, 12, 4, 9)))

    assert response.status_code == 201


def test_invalid_answers_are_a_400_and_store_nothing(as_user, clinic, client_user, slot):
    response = book(
        as_user(client_user), slot, {"pressure_preference": "volcanic", "primary_goal": "relaxation", "consent": False}
    )

    assert response.status_code == 400
    errors = response.json()["intake"]["answers"]
    assert set(errors) == {"pressure_preference", "consent"}
    _nothing_stored()
    assert _bookable(as_user(client_user), slot)


BAD_BODIES = [
    pytest.param([], id="body-list"),
    pytest.param("slot", id="body-string"),
    pytest.param(42, id="body-number"),
    pytest.param(None, id="body-null"),
    pytest.param({}, id="body-empty"),
    pytest.param({"intake": {"answers": THERAPEUTIC}}, id="slot-missing"),
    pytest.param({"slot": None, "intake": {"answers": THERAPEUTIC}}, id="slot-null"),
    pytest.param({"slot": "abc", "intake": {"answers": THERAPEUTIC}}, id="slot-string"),
    pytest.param({"slot": "", "intake": {"answers": THERAPEUTIC}}, id="slot-empty-string"),
    pytest.param({"slot": -1, "intake": {"answers": THERAPEUTIC}}, id="slot-negative"),
    pytest.param({"slot": 0, "intake": {"answers": THERAPEUTIC}}, id="slot-zero"),
    pytest.param({"slot": 1.5, "intake": {"answers": THERAPEUTIC}}, id="slot-fraction"),
    pytest.param({"slot": 10**30, "intake": {"answers": THERAPEUTIC}}, id="slot-huge"),
    pytest.param({"slot": 2**63, "intake": {"answers": THERAPEUTIC}}, id="slot-just-past-bigint"),
    pytest.param({"slot": [1], "intake": {"answers": THERAPEUTIC}}, id="slot-list"),
    pytest.param({"slot": {"id": 1}, "intake": {"answers": THERAPEUTIC}}, id="slot-object"),
    pytest.param({"slot": True, "intake": {"answers": THERAPEUTIC}}, id="slot-bool"),
    pytest.param({"slot": "SLOT"}, id="intake-missing"),
    pytest.param({"slot": "SLOT", "intake": None}, id="intake-null"),
    pytest.param({"slot": "SLOT", "intake": "yes"}, id="intake-string"),
    pytest.param({"slot": "SLOT", "intake": [THERAPEUTIC]}, id="intake-list"),
    pytest.param({"slot": "SLOT", "intake": {}}, id="answers-missing"),
    pytest.param({"slot": "SLOT", "intake": THERAPEUTIC}, id="answers-not-nested"),
    pytest.param({"slot": "SLOT", "intake": {"answers": None}}, id="answers-null"),
    pytest.param({"slot": "SLOT", "intake": {"answers": "medium"}}, id="answers-string"),
    pytest.param({"slot": "SLOT", "intake": {"answers": [THERAPEUTIC]}}, id="answers-list"),
    pytest.param({"slot": "SLOT", "intake": {"answers": 7}}, id="answers-number"),
    pytest.param({"slot": "SLOT", "intake": {"answers": {}}}, id="answers-empty"),
    pytest.param(
        {"slot": "SLOT", "intake": {"answers": {**THERAPEUTIC, "notes": "x" * 2001}}}, id="answers-notes-too-long"
    ),
    pytest.param({"slot": "SLOT", "intake": {"answers": {**THERAPEUTIC, "notes": "a\x00b"}}}, id="answers-nul"),
    pytest.param({"slot": "SLOT", "intake": {"answers": {**THERAPEUTIC, "shoe_size": 44}}}, id="answers-unknown-key"),
]


@pytest.mark.parametrize("body", BAD_BODIES)
def test_hostile_bodies_are_a_400_never_a_500(as_user, clinic, client_user, slot, body):
    if isinstance(body, dict) and body.get("slot") == "SLOT":
        body = {**body, "slot": slot.pk}

    response = as_user(client_user).post(BOOKINGS, body, format="json")

    assert response.status_code == 400, response.content
    _nothing_stored()


def test_malformed_json_is_a_400(as_user, clinic, client_user):
    response = as_user(client_user).post(BOOKINGS, '{"slot": 1, "intake":', content_type="application/json")

    assert response.status_code == 400
    _nothing_stored()


@pytest.mark.parametrize(("length", "status"), [(255, 201), (256, 400)])
def test_idempotency_key_length(as_user, clinic, client_user, slot, length, status):
    response = book(as_user(client_user), slot, HTTP_IDEMPOTENCY_KEY="k" * length)

    assert response.status_code == status, response.content
    _nothing_stored(bookings=1 if status == 201 else 0)


def test_an_empty_idempotency_key_is_a_400(as_user, clinic, client_user, slot):
    assert book(as_user(client_user), slot, HTTP_IDEMPOTENCY_KEY="").status_code == 400
    _nothing_stored()


# --- List and detail: who sees what ---------------------------------------------------------


@pytest.fixture
def bookings_of_everyone(booking, other_client_user, other_therapist):
    """booking (client_user with therapist) plus one of other_client_user with other_therapist."""
    theirs = services.booking_create(
        client=other_client_user, slot_id=slot_at(other_therapist, local(2026, 12, 5, 9)).pk, answers=THERAPEUTIC
    )
    return booking, theirs


@pytest.mark.parametrize(
    ("role", "sees"),
    [
        ("client", ["mine"]),
        ("other_client", ["theirs"]),
        ("therapist", ["mine"]),
        ("other_therapist", ["theirs"]),
        ("staff", ["mine", "theirs"]),
        ("admin", ["mine", "theirs"]),
    ],
)
def test_the_list_is_scoped_by_role(api_as, clinic, bookings_of_everyone, role, sees):
    mine, theirs = bookings_of_everyone
    expected = [{"mine": mine.pk, "theirs": theirs.pk}[name] for name in sees]

    response = api_as(role).get(BOOKINGS)

    assert response.status_code == 200
    body = response.json()
    assert set(body) == {"count", "next", "previous", "results"}
    assert [row["id"] for row in body["results"]] == expected
    assert body["count"] == len(expected)


def test_the_list_needs_a_login(api, clinic, booking):
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
def test_the_detail_is_scoped_by_role(api_as, clinic, booking, role, status):
    response = api_as(role).get(_url(booking))

    assert response.status_code == status
    if status == 200:
        body = response.json()
        assert (body["id"], body["status"], body["needs_review"]) == (booking.pk, "confirmed", True)
        assert (body["slot"]["id"], body["client"]["id"]) == (booking.slot_id, booking.client_id)
        _assert_shows_no_answers(body)


def test_a_booking_that_does_not_exist_is_a_404_like_anothers(as_user, clinic, client_user):
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
def test_only_the_front_desk_is_kept_from_the_flags(api_as, clinic, booking, role, flags):
    api = api_as(role)

    detail = api.get(_url(booking)).json()
    listed = api.get(BOOKINGS).json()["results"]

    assert detail["flags"] == flags
    assert [row["flags"] for row in listed if row["id"] == booking.pk] == [flags]
    assert detail["needs_review"] is True  # everyone may know that a review is due


def test_list_filters(as_user, staff_user, clinic, client_user, therapist, other_therapist):
    api = as_user(client_user)
    early = book(api, slot_at(therapist, local(2026, 12, 3, 9))).json()
    flagged = book(api, slot_at(other_therapist, local(2026, 12, 4, 23), minutes=30), NEEDS_REVIEW).json()
    late = book(api, slot_at(therapist, local(2026, 12, 6, 9))).json()
    services.booking_cancel(booking_id=late["id"], by=client_user)
    staff = as_user(staff_user)

    def ids(**params):
        response = staff.get(BOOKINGS, params)
        assert response.status_code == 200, response.json()
        return [row["id"] for row in response.json()["results"]]

    assert ids() == [early["id"], flagged["id"], late["id"]]  # by start time
    assert ids(status="cancelled") == [late["id"]]
    assert ids(status="confirmed") == [early["id"], flagged["id"]]
    assert ids(therapist=other_therapist.pk) == [flagged["id"]]
    assert ids(needs_review="true") == [flagged["id"]]
    assert ids(needs_review="false") == [early["id"], late["id"]]
    assert ids(**{"from": "2026-12-04"}) == [flagged["id"], late["id"]]
    assert ids(to="2026-12-04") == [early["id"], flagged["id"]]  # inclusive, local dates
    assert ids(**{"from": "2026-12-04", "to": "2026-12-04"}) == [flagged["id"]]


@pytest.mark.parametrize(
    "params", [{"status": "lost"}, {"from": "2026-02-30"}, {"to": "soon"}, {"therapist": "x"}, {"to": "9999-12-31"}]
)
def test_bad_list_filters_are_a_400(as_user, staff_user, clinic, params):
    assert as_user(staff_user).get(BOOKINGS, params).status_code == 400


def _bulk_bookings(count: int) -> None:
    therapists = [TherapistFactory() for _ in range(3)]
    for i in range(count):
        BookingFactory(slot=slot_at(therapists[i % 3], local(2026, 12, 3, 8) + HOUR * (i // 3)))


def test_the_staff_list_costs_the_same_few_queries_for_1_or_30_bookings(
    as_user, staff_user, clinic, django_assert_max_num_queries
):
    api = as_user(staff_user)
    _bulk_bookings(1)
    with django_assert_max_num_queries(6) as one:
        assert api.get(BOOKINGS).json()["count"] == 1
    _bulk_bookings(29)

    with django_assert_max_num_queries(6) as thirty:
        response = api.get(BOOKINGS)

    assert len(response.json()["results"]) == 30
    assert len(thirty) == len(one)


# --- Cancel ----------------------------------------------------------------------


def test_a_client_cancels_their_booking(as_user, clinic, client_user, booking, slot, api):
    response = as_user(client_user).post(_url(booking, "cancel"), {"reason": "Feeling better"}, format="json")

    assert response.status_code == 200, response.json()
    body = response.json()
    assert (body["id"], body["status"], body["cancelled_at"]) == (booking.pk, "cancelled", "2026-12-01T15:00:00Z")
    stored = Booking.objects.get(pk=booking.pk)
    assert (stored.cancelled_by, stored.cancel_reason) == (client_user, "Feeling better")
    assert _bookable(api, slot)


def test_a_cancelled_slot_can_be_booked_again_at_once(as_user, clinic, client_user, other_client_user, booking, slot):
    as_user(client_user).post(_url(booking, "cancel"), {}, format="json")

    response = book(as_user(other_client_user), slot)

    assert response.status_code == 201
    assert list(Booking.objects.filter(slot=slot).values_list("status", flat=True).order_by("id")) == [
        "cancelled",
        "confirmed",
    ]


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
def test_who_may_cancel(api_as, clinic, booking, role, status):
    before = _snapshot(booking)

    response = api_as(role).post(_url(booking, "cancel"), {}, format="json")

    assert response.status_code == status
    if status == 200:
        assert response.json()["status"] == "cancelled"
    else:
        assert _snapshot(booking) == before


@pytest.mark.parametrize(("before_start", "allowed"), [(WINDOW, True), (WINDOW - MINUTE, False), (HOUR, False)])
def test_a_client_may_cancel_until_24_hours_before(as_user, clinic, client_user, therapist, before_start, allowed):
    slot = slot_at(therapist, local(2026, 12, 10, 9))
    booking = services.booking_create(client=client_user, slot_id=slot.pk, answers=THERAPEUTIC)

    with frozen(slot.starts_at - before_start):
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
def test_the_front_desk_may_always_cancel(api_as, clinic, booking, slot, role, before_start):
    with frozen(slot.starts_at - before_start):
        response = api_as(role).post(_url(booking, "cancel"), {"reason": "Therapist ill"}, format="json")

    assert response.status_code == 200
    assert response.json()["status"] == "cancelled"


@pytest.mark.parametrize("status", [Booking.Status.CANCELLED, Booking.Status.COMPLETED, Booking.Status.NO_SHOW])
@pytest.mark.parametrize("role", ["client", "staff"])
def test_only_an_active_booking_can_be_cancelled(api_as, client_user, clinic, therapist, status, role):
    booking = BookingFactory(
        slot=slot_at(therapist, local(2026, 12, 4, 9)),
        client=client_user,
        status=status,
        cancelled_at=NOW if status == Booking.Status.CANCELLED else None,
    )

    response = api_as(role).post(_url(booking, "cancel"), {}, format="json")

    assert_conflict(response, "booking_not_active")


@pytest.mark.parametrize("body", [{"reason": "x" * 501}, {"reason": None}, [], "stop"])
def test_a_bad_cancel_body_is_a_400(as_user, clinic, client_user, booking, body):
    response = as_user(client_user).post(_url(booking, "cancel"), body, format="json")

    assert response.status_code == 400
    assert Booking.objects.get(pk=booking.pk).status == Booking.Status.CONFIRMED


# --- Reschedule ------------------------------------------------------------------


@pytest.fixture
def new_slot(other_therapist):
    return slot_at(other_therapist, local(2026, 12, 8, 14))


def test_a_client_reschedules_their_booking(as_user, api, clinic, client_user, booking, slot, new_slot):
    intake_id = booking.intake_id

    response = as_user(client_user).post(_url(booking, "reschedule"), {"slot": new_slot.pk}, format="json")

    assert response.status_code == 200, response.json()
    body = response.json()
    assert (body["id"], body["status"]) == (booking.pk, "confirmed")
    assert body["slot"]["id"] == new_slot.pk
    assert body["slot"]["therapist"] == new_slot.therapist_id
    stored = Booking.objects.get(pk=booking.pk)
    assert (stored.slot_id, stored.intake_id, stored.sequence) == (new_slot.pk, intake_id, 1)
    assert Intake.objects.count() == 1
    assert _bookable(api, slot)
    assert not _bookable(api, new_slot)


def test_a_booking_may_move_to_a_slot_overlapping_its_own(as_user, clinic, client_user, booking, other_therapist):
    same_time = slot_at(other_therapist, local(2026, 12, 4, 9, 30))

    response = as_user(client_user).post(_url(booking, "reschedule"), {"slot": same_time.pk}, format="json")

    assert response.status_code == 200
    assert Booking.objects.get(pk=booking.pk).slot_id == same_time.pk


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
def test_who_may_reschedule(api_as, clinic, booking, new_slot, role, status):
    before = _snapshot(booking)

    response = api_as(role).post(_url(booking, "reschedule"), {"slot": new_slot.pk}, format="json")

    assert response.status_code == status
    if status == 200:
        assert Booking.objects.get(pk=booking.pk).slot_id == new_slot.pk
    else:
        assert _snapshot(booking) == before


@pytest.mark.parametrize(("before_start", "allowed"), [(WINDOW, True), (WINDOW - MINUTE, False)])
def test_a_client_may_reschedule_until_24_hours_before(
    as_user, clinic, client_user, booking, slot, new_slot, before_start, allowed
):
    before = _snapshot(booking)

    with frozen(slot.starts_at - before_start):
        response = as_user(client_user).post(_url(booking, "reschedule"), {"slot": new_slot.pk}, format="json")

    if allowed:
        assert response.status_code == 200
    else:
        assert_conflict(response, "late_cancellation")
        assert _snapshot(booking) == before


def test_the_front_desk_may_reschedule_inside_the_window(as_user, staff_user, clinic, booking, slot, new_slot):
    with frozen(slot.starts_at - HOUR):
        response = as_user(staff_user).post(_url(booking, "reschedule"), {"slot": new_slot.pk}, format="json")

    assert response.status_code == 200
    assert response.json()["flags"] == []


@pytest.mark.parametrize(
    "make_target",
    [
        pytest.param(lambda t, b: slot_at(t, local(2026, 12, 8, 9), status=Slot.Status.BLOCKED), id="blocked"),
        pytest.param(lambda t, b: slot_at(t, NOW - 3 * HOUR), id="past"),
        pytest.param(lambda t, b: slot_at(t, NOW + 2 * HOUR - MINUTE, minutes=1), id="inside-notice"),
        pytest.param(lambda t, b: slot_at(t, NOW + timedelta(days=60) + MINUTE), id="beyond-horizon"),
        pytest.param(
            lambda t, b: slot_at(TherapistFactory(active=False), local(2026, 12, 8, 9)), id="inactive-therapist"
        ),
        pytest.param(
            lambda t, b: BookingFactory(slot=slot_at(t, local(2026, 12, 8, 9)), client=ClientFactory()).slot,
            id="booked",
        ),
        pytest.param(lambda t, b: b.slot, id="its-own-slot"),
        pytest.param(lambda t, b: Slot(pk=987654), id="unknown"),
    ],
)
def test_reschedule_to_a_slot_that_is_not_bookable_changes_nothing(
    as_user, clinic, client_user, booking, other_therapist, make_target
):
    target = make_target(other_therapist, booking)
    before = _snapshot(booking)

    response = as_user(client_user).post(_url(booking, "reschedule"), {"slot": target.pk}, format="json")

    assert_conflict(response, "slot_unavailable")
    assert _snapshot(booking) == before


def test_reschedule_keeps_the_rule_on_deep_tissue(as_user, clinic, client_user, therapist):
    booking = services.booking_create(
        client=client_user, slot_id=slot_at(therapist, local(2026, 12, 4, 9)).pk, answers=DEEP_TISSUE
    )
    gentle = TherapistFactory(gives_therapeutic=True, gives_deep_tissue=False)
    before = _snapshot(booking)

    response = as_user(client_user).post(
        _url(booking, "reschedule"), {"slot": slot_at(gentle, local(2026, 12, 8, 9)).pk}, format="json"
    )

    assert_conflict(response, "therapist_not_qualified")
    assert _snapshot(booking) == before


def test_reschedule_checks_the_therapists_final_modality(as_user, clinic, client_user, therapist, booking):
    # the suggestion was therapeutic; the therapist's review says deep tissue
    services.booking_review(booking_id=booking.pk, reviewer=therapist.user, modality="deep_tissue")
    gentle = TherapistFactory(gives_therapeutic=True, gives_deep_tissue=False)

    response = as_user(client_user).post(
        _url(booking, "reschedule"), {"slot": slot_at(gentle, local(2026, 12, 8, 9)).pk}, format="json"
    )

    assert_conflict(response, "therapist_not_qualified")


def test_reschedule_onto_the_time_of_another_booking_of_the_client(
    as_user, clinic, client_user, booking, other_therapist, therapist
):
    services.booking_create(
        client=client_user, slot_id=slot_at(therapist, local(2026, 12, 8, 9)).pk, answers=THERAPEUTIC
    )
    clashing = slot_at(other_therapist, local(2026, 12, 8, 9, 30))
    before = _snapshot(booking)

    response = as_user(client_user).post(_url(booking, "reschedule"), {"slot": clashing.pk}, format="json")

    assert_conflict(response, "client_overlap")
    assert _snapshot(booking) == before


@pytest.mark.parametrize("status", [Booking.Status.CANCELLED, Booking.Status.COMPLETED, Booking.Status.NO_SHOW])
def test_only_an_active_booking_can_be_rescheduled(as_user, clinic, client_user, therapist, new_slot, status):
    booking = BookingFactory(
        slot=slot_at(therapist, local(2026, 12, 4, 9)),
        client=client_user,
        status=status,
        cancelled_at=NOW if status == Booking.Status.CANCELLED else None,
    )

    response = as_user(client_user).post(_url(booking, "reschedule"), {"slot": new_slot.pk}, format="json")

    assert_conflict(response, "booking_not_active")
    assert Booking.objects.get(pk=booking.pk).slot_id == booking.slot_id


@pytest.mark.parametrize(
    "body", [{}, {"slot": None}, {"slot": "abc"}, {"slot": -3}, {"slot": 10**30}, {"slot": 2**63}, [], "slot"]
)
def test_a_bad_reschedule_body_is_a_400(as_user, clinic, client_user, booking, body):
    before = _snapshot(booking)

    response = as_user(client_user).post(_url(booking, "reschedule"), body, format="json")

    assert response.status_code == 400, response.content
    assert _snapshot(booking) == before


# --- Complete and no-show ------------------------------------------------------------


@pytest.fixture
def started(clinic, client_user, therapist):
    """client_user's confirmed booking with `therapist` that started 30 minutes ago."""
    return BookingFactory(slot=slot_at(therapist, NOW - 30 * MINUTE), client=client_user)


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
def test_a_session_is_closed_after_its_start_only(as_user, clinic, therapist, action, status, offset, allowed):
    booking = BookingFactory(slot=slot_at(therapist, local(2026, 12, 3, 9)))

    with frozen(booking.slot.starts_at + offset):
        response = as_user(therapist.user).post(_url(booking, action), format="json")

    if allowed:
        assert response.status_code == 200
        assert response.json()["status"] == status
    else:
        assert_conflict(response, "too_early")
        assert Booking.objects.get(pk=booking.pk).status == Booking.Status.CONFIRMED


@pytest.mark.parametrize("action", ["complete", "no-show"])
@pytest.mark.parametrize("status", [Booking.Status.CANCELLED, Booking.Status.COMPLETED, Booking.Status.NO_SHOW])
def test_only_an_active_session_is_closed(as_user, staff_user, clinic, therapist, action, status):
    booking = BookingFactory(
        slot=slot_at(therapist, NOW - 2 * HOUR),
        status=status,
        cancelled_at=NOW - 3 * HOUR if status == Booking.Status.CANCELLED else None,
    )

    response = as_user(staff_user).post(_url(booking, action), format="json")

    assert_conflict(response, "booking_not_active")
    assert Booking.objects.get(pk=booking.pk).status == status


def test_a_closed_session_can_no_longer_be_cancelled_or_moved(as_user, staff_user, started, other_therapist):
    staff = as_user(staff_user)
    assert staff.post(_url(started, "complete"), format="json").status_code == 200

    assert_conflict(staff.post(_url(started, "cancel"), {}, format="json"), "booking_not_active")
    assert_conflict(
        staff.post(
            _url(started, "reschedule"), {"slot": slot_at(other_therapist, local(2026, 12, 8, 9)).pk}, format="json"
        ),
        "booking_not_active",
    )


@pytest.mark.parametrize("role", ROLES)
def test_no_role_may_delete_or_edit_a_booking_directly(api_as, clinic, booking, role):
    # Anonymous must log in first; every user is told the method does not exist, for their own booking,
    # another's or none at all alike (it tells nobody whether a booking exists).
    api = api_as(role)
    expected = 401 if role == "anonymous" else 405

    for method in ("put", "patch", "delete"):
        response = getattr(api, method)(_url(booking), {"status": "cancelled"}, format="json")
        missing = getattr(api, method)(f"{BOOKINGS}987654/", {"status": "cancelled"}, format="json")
        assert (response.status_code, missing.status_code) == (expected, expected), method
    assert Booking.objects.get(pk=booking.pk).status == Booking.Status.CONFIRMED
