"""Nothing half-written: after every refused request (400/409/422) the
database holds exactly what it held before.

Each case builds a world, snapshots every table a request could touch, sends
the refused request and checks its status and code, then compares. (The
intake audit log is left out on purpose: a refused read of an intake is
itself logged.)
"""

from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta

import pytest

from booking.models import Booking, Closure, IdempotencyRecord, Shift, TimeOff, WorkingHours
from booking.tests.helpers import (
    BOOKINGS,
    DEEP_TISSUE,
    NOW,
    THERAPEUTIC,
    booking_at,
    booking_body,
    frozen,
    hour_service,
    local,
    new_york,
    works,
)
from clinic.models import Clinic, Location, Room, Service, Therapist, User
from clinic.tests.factories import ClientFactory, StaffFactory, TherapistFactory, clinic_configure
from conftest import api_client_for
from intake.models import Intake

MODELS = [
    Booking,
    Shift,
    TimeOff,
    Closure,
    WorkingHours,
    Intake,
    IdempotencyRecord,
    Therapist,
    Location,
    Room,
    Service,
    Clinic,
    User,
]
FRIDAY_9 = local(2026, 12, 4, 9)


def snapshot() -> dict:
    return {model.__name__: list(model.objects.order_by("pk").values()) for model in MODELS}


@pytest.fixture(autouse=True)
def _now():
    with frozen():
        yield


def world() -> dict:
    """A therapeutic-only therapist and another therapist working at one location all December, and:

    - `booking`: the client's, Friday 09:00, with the therapeutic-only therapist;
    - `tomorrow`: the client's, inside the 24-hour cancellation window;
    - `cancelled`: the client's, cancelled;
    - `started`: the client's, started 30 minutes ago;
    - `pending`: a front-desk booking of another client, its intake pending, Monday 09:00.
    """
    clinic_configure()
    place = new_york()
    gentle = TherapistFactory(gives_deep_tissue=False)
    other = TherapistFactory()
    for therapist in (gentle, other):
        works(therapist, place)
    client, staff = ClientFactory(), StaffFactory()
    service = hour_service()
    return {
        "client": client,
        "staff": staff,
        "therapist": gentle,
        "other_therapist": other,
        "place": place,
        "service": service,
        "booking": booking_at(gentle, FRIDAY_9, client=client, service=service),
        "tomorrow": booking_at(gentle, NOW + timedelta(hours=20), client=client, service=service),
        "cancelled": booking_at(
            other, local(2026, 12, 10, 9), client=client, status="cancelled", cancelled_at=NOW, service=service
        ),
        "started": booking_at(gentle, NOW - timedelta(minutes=30), client=client, service=service),
        "pending": booking_at(
            other,
            local(2026, 12, 7, 9),
            client=ClientFactory(),
            service=service,
            intake=None,
            intake_status=Booking.IntakeStatus.PENDING,
            booked_by=staff,
        ),
    }


@dataclass
class Case:
    name: str
    who: str  # a key of the world, or "therapist_user"
    method: str
    path: str
    body: Callable[[dict], object] | None
    status: int
    code: str | None = None
    prepare: Callable[[dict], None] | None = None  # changes the world before the snapshot


def _at(w, starts_at, answers=THERAPEUTIC, **fields) -> dict:
    return booking_body(w["service"], starts_at, answers, **fields)


def _lower_the_cap(w) -> None:
    clinic_configure(max_active_bookings_per_client=2)


CASES = [
    # Booking
    Case("invalid answers", "client", "post", BOOKINGS, lambda w: _at(w, FRIDAY_9, {"consent": False}), 400),
    Case(
        "a time without its offset",
        "client",
        "post",
        BOOKINGS,
        lambda w: {**_at(w, FRIDAY_9), "starts_at": "2026-12-04T09:00:00"},
        400,
    ),
    Case("unknown service", "client", "post", BOOKINGS, lambda w: {**_at(w, FRIDAY_9), "service": 987654}, 400),
    Case(
        "the front desk books a therapist",
        "staff",
        "post",
        BOOKINGS,
        lambda w: _at(w, FRIDAY_9, None, client=w["therapist"].user),
        400,
    ),
    Case(
        "the front desk sends answers",
        "staff",
        "post",
        BOOKINGS,
        lambda w: _at(w, FRIDAY_9 + timedelta(hours=2), THERAPEUTIC, client=w["client"]),
        400,
    ),
    Case(
        "time taken",
        "staff",
        "post",
        BOOKINGS,
        lambda w: _at(w, FRIDAY_9, None, therapist=w["therapist"], client=w["pending"].client),
        409,
        "slot_unavailable",
    ),
    Case(
        "not qualified",
        "client",
        "post",
        BOOKINGS,
        lambda w: _at(w, FRIDAY_9 + timedelta(hours=3), DEEP_TISSUE, therapist=w["therapist"]),
        409,
        "therapist_not_qualified",
    ),
    Case(
        "client overlap",
        "client",
        "post",
        BOOKINGS,
        lambda w: _at(w, FRIDAY_9 + timedelta(minutes=30), therapist=w["other_therapist"]),
        409,
        "client_overlap",
    ),
    Case(
        "too many bookings",
        "client",
        "post",
        BOOKINGS,
        lambda w: _at(w, local(2026, 12, 11, 9)),
        409,
        "too_many_bookings",
        prepare=_lower_the_cap,
    ),
    # Changing a booking
    Case("cancel twice", "client", "post", BOOKINGS + "{cancelled}/cancel/", lambda w: {}, 409, "booking_not_active"),
    Case("late cancel", "client", "post", BOOKINGS + "{tomorrow}/cancel/", lambda w: {}, 409, "late_cancellation"),
    Case("a reason too long", "client", "post", BOOKINGS + "{booking}/cancel/", lambda w: {"reason": "x" * 501}, 400),
    Case(
        "reschedule onto a taken time",
        "staff",
        "post",
        BOOKINGS + "{tomorrow}/reschedule/",
        lambda w: {"starts_at": w["pending"].starts_at.isoformat(), "therapist": w["other_therapist"].pk},
        409,
        "slot_unavailable",
    ),
    Case(
        "late reschedule",
        "client",
        "post",
        BOOKINGS + "{tomorrow}/reschedule/",
        lambda w: {"starts_at": local(2026, 12, 9, 9).isoformat()},
        409,
        "late_cancellation",
    ),
    Case(
        "reschedule to a therapist not trained for the intake",
        "client",
        "post",
        BOOKINGS + "{pending_reviewed_deep}/reschedule/",
        lambda w: {"starts_at": local(2026, 12, 9, 9).isoformat(), "therapist": w["therapist"].pk},
        409,
        "therapist_not_qualified",
    ),
    Case("reschedule without a start", "staff", "post", BOOKINGS + "{booking}/reschedule/", lambda w: {}, 400),
    Case(
        "reschedule to a time without its offset",
        "staff",
        "post",
        BOOKINGS + "{booking}/reschedule/",
        lambda w: {"starts_at": "2026-12-09T09:00:00"},
        400,
    ),
    Case(
        "reschedule a cancelled booking",
        "staff",
        "post",
        BOOKINGS + "{cancelled}/reschedule/",
        lambda w: {"starts_at": local(2026, 12, 9, 9).isoformat()},
        409,
        "booking_not_active",
    ),
    Case("complete too early", "staff", "post", BOOKINGS + "{booking}/complete/", None, 409, "too_early"),
    Case("no-show twice", "staff", "post", BOOKINGS + "{cancelled}/no-show/", None, 409, "booking_not_active"),
    Case(
        "a room at a location without rooms",
        "staff",
        "patch",
        BOOKINGS + "{booking}/",
        lambda w: {"room": 1},
        409,
        "room_unavailable",
    ),
    Case("a room that is not an id", "staff", "patch", BOOKINGS + "{booking}/", lambda w: {"room": "blue"}, 400),
    # The intake
    Case(
        "intake invalid", "client", "put", BOOKINGS + "{booking}/intake/", lambda w: {"pressure_preference": "x"}, 400
    ),
    Case(
        "intake changed after the start",
        "client",
        "put",
        BOOKINGS + "{started}/intake/",
        lambda w: THERAPEUTIC,
        409,
        "intake_locked",
    ),
    Case(
        "a pending intake by its therapist before the start",
        "pending_therapist",
        "put",
        BOOKINGS + "{pending}/intake/",
        lambda w: THERAPEUTIC,
        409,
        "too_early",
    ),
    Case(
        "a review into a modality the therapist does not give",
        "therapist_user",
        "post",
        BOOKINGS + "{booking}/review/",
        lambda w: {"modality": "deep_tissue"},
        409,
        "therapist_not_qualified",
    ),
    Case(
        "a review of a pending intake",
        "pending_therapist",
        "post",
        BOOKINGS + "{pending}/review/",
        lambda w: {"modality": "therapeutic"},
        409,
        "intake_pending",
    ),
    Case(
        "a review without a modality",
        "therapist_user",
        "post",
        BOOKINGS + "{booking}/review/",
        lambda w: {"note": "x"},
        400,
    ),
    # The schedule the bookings stand on
    Case(
        "a shift overlapping another",
        "staff",
        "post",
        "/api/v1/shifts/",
        lambda w: {
            "therapist": w["therapist"].pk,
            "location": w["place"].pk,
            "starts_at": FRIDAY_9.isoformat(),
            "ends_at": (FRIDAY_9 + timedelta(hours=1)).isoformat(),
        },
        409,
        "shift_overlap",
    ),
    Case(
        "a shift that holds bookings deleted",
        "staff",
        "delete",
        "/api/v1/shifts/{booking_shift}/",
        None,
        409,
        "shift_has_bookings",
    ),
    Case(
        "generate too long",
        "staff",
        "post",
        "/api/v1/shifts/generate/",
        lambda w: {"from": "2027-01-01", "to": "2027-06-01"},
        400,
    ),
    Case(
        "time off backwards",
        "staff",
        "post",
        "/api/v1/time-off/",
        lambda w: {
            "therapist": w["therapist"].pk,
            "starts_at": FRIDAY_9.isoformat(),
            "ends_at": (FRIDAY_9 - timedelta(hours=1)).isoformat(),
        },
        400,
    ),
    Case(
        "a cap of no bookings",
        "staff",
        "patch",
        "/api/v1/clinic/",
        lambda w: {"max_active_bookings_per_client": 0},
        400,
    ),
]


def _prepare_world(w: dict) -> None:
    """What some cases need beyond the basic world."""
    # a booking whose therapist reviewed it into deep tissue: the therapeutic-only one may not take it over
    reviewed = booking_at(
        w["other_therapist"],
        local(2026, 12, 8, 9),
        client=w["client"],
        service=w["service"],
        intake__reviewed_modality="deep_tissue",
        intake__reviewed_at=NOW,
    )
    w["pending_reviewed_deep"] = reviewed


@pytest.mark.django_db
@pytest.mark.parametrize("case", CASES, ids=[case.name for case in CASES])
def test_a_refused_request_changes_nothing(case):
    # given
    w = world()
    _prepare_world(w)
    if case.prepare is not None:
        case.prepare(w)
    users = {
        **w,
        "therapist_user": w["therapist"].user,
        "pending_therapist": w["pending"].therapist.user,
    }
    api = api_client_for(users[case.who])
    url = case.path.format(
        booking=w["booking"].pk,
        tomorrow=w["tomorrow"].pk,
        cancelled=w["cancelled"].pk,
        started=w["started"].pk,
        pending=w["pending"].pk,
        pending_reviewed_deep=w["pending_reviewed_deep"].pk,
        booking_shift=Shift.objects.get(therapist=w["therapist"], starts_at__lte=FRIDAY_9, ends_at__gt=FRIDAY_9).pk,
    )
    before = snapshot()
    # when
    response = getattr(api, case.method)(url, None if case.body is None else case.body(w), format="json")
    # then
    assert response.status_code == case.status, response.content[:300]
    if case.code is not None:
        assert response.json()["code"] == case.code
    assert snapshot() == before


@pytest.mark.django_db
def test_a_reused_idempotency_key_changes_nothing():
    w = world()
    api = api_client_for(w["client"])
    headers = {"HTTP_IDEMPOTENCY_KEY": "key-1"}
    first = api.post(BOOKINGS, booking_body(w["service"], local(2026, 12, 9, 9)), format="json", **headers)
    assert first.status_code == 201, first.json()
    before = snapshot()

    response = api.post(BOOKINGS, booking_body(w["service"], local(2026, 12, 9, 11)), format="json", **headers)

    assert response.status_code == 422
    assert response.json()["code"] == "idempotency_key_reused"
    assert snapshot() == before


@pytest.mark.django_db
def test_a_key_still_in_use_changes_nothing():
    w = world()
    api = api_client_for(w["client"])
    body = booking_body(w["service"], local(2026, 12, 9, 9))
    assert api.post(BOOKINGS, body, format="json", HTTP_IDEMPOTENCY_KEY="key-2").status_code == 201
    # as if that first request were still running
    IdempotencyRecord.objects.filter(key="key-2").update(response_status=None, response_body=None)
    before = snapshot()

    response = api.post(BOOKINGS, body, format="json", HTTP_IDEMPOTENCY_KEY="key-2")

    assert response.status_code == 409
    assert response.json()["code"] == "idempotency_key_in_use"
    assert snapshot() == before
