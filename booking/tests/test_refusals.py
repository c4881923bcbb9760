"""Nothing half-written: after every refused request (400/409/422) the
database holds exactly what it held before.

Each case builds a world, snapshots every table a request could touch, sends
the refused request and compares. (The intake audit log is left out on
purpose: a refused read of an intake is itself logged.)
"""

from datetime import timedelta

import pytest
from django.utils import timezone

from booking.models import Booking, IdempotencyRecord, Slot, TimeOff, WorkingHours
from booking.tests.factories import BookingFactory, SlotFactory
from clinic.models import Clinic, Therapist, User
from clinic.tests.factories import ClientFactory, StaffFactory, TherapistFactory, clinic_configure
from conftest import api_client_for
from intake.models import Intake

THERAPEUTIC = {"pressure_preference": "medium", "primary_goal": "relaxation", "consent": True}
DEEP = {"pressure_preference": "deep", "primary_goal": "pain_relief", "consent": True}
MODELS = [Booking, Slot, Intake, TimeOff, WorkingHours, IdempotencyRecord, Therapist, Clinic, User]


def snapshot() -> dict:
    return {model.__name__: list(model.objects.order_by("pk").values()) for model in MODELS}


def world():
    clinic_configure()
    therapeutic_only = TherapistFactory(gives_deep_tissue=False)
    client = ClientFactory()
    soon = (timezone.now() + timedelta(days=3)).replace(minute=0, second=0, microsecond=0)
    return {
        "client": client,
        "staff": StaffFactory(),
        "therapist": therapeutic_only,
        "booking": BookingFactory(client=client, slot=SlotFactory(therapist=therapeutic_only, starts_at=soon)),
        "tomorrow": BookingFactory(
            client=client, slot=SlotFactory(therapist=therapeutic_only, starts_at=soon - timedelta(days=2, hours=12))
        ),
        "cancelled": BookingFactory(client=client, status="cancelled", cancelled_at=timezone.now()),
        "free": SlotFactory(therapist=therapeutic_only, starts_at=soon + timedelta(days=1)),
        "other_free_same_time": SlotFactory(starts_at=soon),
        "soon": soon,
    }


def booking_body(slot, answers=THERAPEUTIC):
    return {"slot": slot.pk, "intake": {"answers": answers}}


# (name, who, method, path, body, expected status)
CASES = [
    (
        "invalid answers",
        "client",
        "post",
        "/api/v1/bookings/",
        lambda w: booking_body(w["free"], {"consent": False}),
        400,
    ),
    ("slot taken", "client", "post", "/api/v1/bookings/", lambda w: booking_body(w["booking"].slot), 409),
    ("not qualified", "client", "post", "/api/v1/bookings/", lambda w: booking_body(w["free"], DEEP), 409),
    ("client overlap", "client", "post", "/api/v1/bookings/", lambda w: booking_body(w["other_free_same_time"]), 409),
    ("cancel twice", "client", "post", "/api/v1/bookings/{cancelled}/cancel/", lambda w: {}, 409),
    ("late cancel", "client", "post", "/api/v1/bookings/{tomorrow}/cancel/", lambda w: {}, 409),
    (
        "reschedule onto a taken slot",
        "client",
        "post",
        "/api/v1/bookings/{tomorrow}/reschedule/",
        lambda w: {"slot": w["booking"].slot.pk},
        409,
    ),
    ("reschedule without a slot", "staff", "post", "/api/v1/bookings/{booking}/reschedule/", lambda w: {}, 400),
    ("complete too early", "staff", "post", "/api/v1/bookings/{booking}/complete/", None, 409),
    (
        "intake invalid",
        "client",
        "put",
        "/api/v1/bookings/{booking}/intake/",
        lambda w: {"pressure_preference": "x"},
        400,
    ),
    (
        "slot overlap",
        "staff",
        "post",
        "/api/v1/slots/",
        lambda w: {
            "therapist": w["therapist"].pk,
            "starts_at": w["soon"].isoformat(),
            "ends_at": (w["soon"] + timedelta(minutes=30)).isoformat(),
        },
        409,
    ),
    (
        "naive slot time",
        "staff",
        "post",
        "/api/v1/slots/",
        lambda w: {
            "therapist": w["therapist"].pk,
            "starts_at": "2027-01-05T09:00:00",
            "ends_at": "2027-01-05T10:00:00",
        },
        400,
    ),
    ("delete a booked slot", "staff", "delete", "/api/v1/slots/{booking_slot}/", None, 409),
    (
        "time off backwards",
        "staff",
        "post",
        "/api/v1/time-off/",
        lambda w: {
            "therapist": w["therapist"].pk,
            "starts_at": w["soon"].isoformat(),
            "ends_at": (w["soon"] - timedelta(hours=1)).isoformat(),
        },
        400,
    ),
    (
        "working hours backwards",
        "staff",
        "post",
        "/api/v1/working-hours/",
        lambda w: {"therapist": w["therapist"].pk, "weekday": 1, "start_time": "12:00", "end_time": "09:00"},
        400,
    ),
    (
        "generate too long",
        "staff",
        "post",
        "/api/v1/slots/generate/",
        lambda w: {"from": "2027-01-01", "to": "2027-06-01"},
        400,
    ),
    ("clinic bad time zone", "staff", "patch", "/api/v1/clinic/", lambda w: {"time_zone": "Mars/Olympus"}, 400),
]


@pytest.mark.django_db
@pytest.mark.parametrize(("name", "who", "method", "path", "body", "expected"), CASES, ids=[c[0] for c in CASES])
def test_a_refused_request_changes_nothing(name, who, method, path, body, expected):
    # given
    w = world()
    api = api_client_for(w[who])
    url = path.format(
        booking=w["booking"].pk,
        tomorrow=w["tomorrow"].pk,
        cancelled=w["cancelled"].pk,
        booking_slot=w["booking"].slot.pk,
    )
    before = snapshot()
    # when
    response = getattr(api, method)(url, None if body is None else body(w), format="json")
    # then
    assert response.status_code == expected, response.content[:300]
    assert snapshot() == before


@pytest.mark.django_db
def test_a_reused_idempotency_key_changes_nothing():
    w = world()
    api = api_client_for(w["client"])
    headers = {"HTTP_IDEMPOTENCY_KEY": "key-1"}
    assert api.post("/api/v1/bookings/", booking_body(w["free"]), format="json", **headers).status_code == 201
    before = snapshot()
    response = api.post("/api/v1/bookings/", booking_body(w["other_free_same_time"]), format="json", **headers)
    assert response.status_code == 422
    assert response.json()["code"] == "idempotency_key_reused"
    assert snapshot() == before
