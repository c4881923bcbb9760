"""What the booking tests share: a fixed clock, intake answers, slots and bookings (roles: the root conftest)."""

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import time_machine

from booking.models import Booking, Slot
from booking.tests.factories import BookingFactory, SlotFactory

NEW_YORK = ZoneInfo("America/New_York")
UTC = ZoneInfo("UTC")

# The tests' "now": a Tuesday morning in the clinic's zone (EST, UTC-5).
NOW = datetime(2026, 12, 1, 10, 0, tzinfo=NEW_YORK)

THERAPEUTIC = {"pressure_preference": "medium", "primary_goal": "relaxation", "consent": True}
DEEP_TISSUE = {"pressure_preference": "deep", "primary_goal": "pain_relief", "consent": True}
NEEDS_REVIEW = {**THERAPEUTIC, "health_screening": ["high_blood_pressure"]}

BOOKINGS = "/api/v1/bookings/"
AVAILABILITY = "/api/v1/availability/"


def frozen(at: datetime = NOW):
    """The clock stopped at `at` (an aware datetime) for everything in the process, threads included."""
    return time_machine.travel(at, tick=False)


def local(year, month, day, hour=0, minute=0) -> datetime:
    """An aware datetime at that wall-clock time in the clinic's zone."""
    return datetime(year, month, day, hour, minute, tzinfo=NEW_YORK)


def slot_at(therapist, starts_at: datetime, *, minutes: int = 60, **fields) -> Slot:
    return SlotFactory(
        therapist=therapist, starts_at=starts_at, ends_at=starts_at + timedelta(minutes=minutes), **fields
    )


def booking_at(therapist, starts_at: datetime, *, minutes: int = 60, **fields) -> Booking:
    """A booking (confirmed unless `fields` say otherwise) of a new slot, made in the database: no API, no rules."""
    return BookingFactory(slot=slot_at(therapist, starts_at, minutes=minutes), **fields)


def booking_body(slot, answers=THERAPEUTIC) -> dict:
    return {"slot": slot.pk if isinstance(slot, Slot) else slot, "intake": {"answers": answers}}


def book(api, slot, answers=THERAPEUTIC, **headers):
    """`api` books `slot` through the API (POST /bookings/) with these intake answers."""
    return api.post(BOOKINGS, booking_body(slot, answers), format="json", **headers)


def assert_conflict(response, code: str, status: int = 409) -> None:
    """A refusal by a clinic rule: its status, its stable code and a sentence a person can act on."""
    body = response.json()
    assert response.status_code == status, body
    assert body["code"] == code, body
    assert isinstance(body["detail"], str), body
    assert body["detail"], body
