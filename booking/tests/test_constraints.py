"""The invariants PostgreSQL enforces whatever the code does (docs/design.md, Invariants).

These go around the services on purpose: straight through the ORM, the
database must still refuse a double booking or an overlapping slot.
"""

from datetime import timedelta

import pytest
from django.db import IntegrityError, transaction

from booking.models import Booking, Slot
from booking.tests.factories import BookingFactory
from booking.tests.helpers import frozen, local

pytestmark = pytest.mark.django_db

NINE = local(2026, 12, 10, 9)
HOUR = timedelta(hours=1)


@pytest.fixture(autouse=True)
def _now():
    with frozen():
        yield


def _violated(exc_info) -> str:
    return exc_info.value.__cause__.diag.constraint_name


def test_two_confirmed_bookings_on_one_slot_are_refused(therapist):
    # given
    slot = Slot.objects.create(therapist=therapist, starts_at=NINE, ends_at=NINE + HOUR)
    BookingFactory(slot=slot)

    # when / then
    with pytest.raises(IntegrityError) as exc_info, transaction.atomic():
        BookingFactory(slot=slot)
    assert _violated(exc_info) == "booking_one_confirmed_per_slot"
    assert Booking.objects.filter(slot=slot).count() == 1


def test_a_cancelled_booking_leaves_room_for_a_confirmed_one(therapist):
    slot = Slot.objects.create(therapist=therapist, starts_at=NINE, ends_at=NINE + HOUR)
    BookingFactory(slot=slot, status=Booking.Status.CANCELLED, cancelled_at=NINE - 5 * HOUR)

    BookingFactory(slot=slot)

    assert list(Booking.objects.filter(slot=slot).values_list("status", flat=True).order_by("id")) == [
        "cancelled",
        "confirmed",
    ]


@pytest.mark.parametrize(
    ("starts", "ends"),
    [
        (NINE + timedelta(minutes=30), NINE + timedelta(minutes=90)),  # overlaps the end
        (NINE - timedelta(minutes=30), NINE + timedelta(minutes=30)),  # overlaps the start
        (NINE + timedelta(minutes=15), NINE + timedelta(minutes=45)),  # inside
        (NINE - HOUR, NINE + 2 * HOUR),  # around
        (NINE, NINE + HOUR),  # the same span
    ],
)
def test_overlapping_slots_of_one_therapist_are_refused(therapist, starts, ends):
    Slot.objects.create(therapist=therapist, starts_at=NINE, ends_at=NINE + HOUR)

    with pytest.raises(IntegrityError) as exc_info, transaction.atomic():
        Slot.objects.create(therapist=therapist, starts_at=starts, ends_at=ends)

    assert _violated(exc_info) == "slot_no_overlap_per_therapist"
    assert Slot.objects.filter(therapist=therapist).count() == 1


def test_back_to_back_slots_are_allowed(therapist):
    Slot.objects.create(therapist=therapist, starts_at=NINE, ends_at=NINE + HOUR)

    Slot.objects.create(therapist=therapist, starts_at=NINE + HOUR, ends_at=NINE + 2 * HOUR)
    Slot.objects.create(therapist=therapist, starts_at=NINE - HOUR, ends_at=NINE)

    assert Slot.objects.filter(therapist=therapist).count() == 3


def test_overlapping_slots_of_two_therapists_are_allowed(therapist, other_therapist):
    Slot.objects.create(therapist=therapist, starts_at=NINE, ends_at=NINE + HOUR)

    Slot.objects.create(therapist=other_therapist, starts_at=NINE, ends_at=NINE + HOUR)

    assert Slot.objects.count() == 2


@pytest.mark.parametrize("length", [timedelta(0), -HOUR], ids=["zero-length", "ends-before-start"])
def test_a_slot_ends_after_it_starts(therapist, length):
    with pytest.raises(IntegrityError) as exc_info, transaction.atomic():
        Slot.objects.create(therapist=therapist, starts_at=NINE, ends_at=NINE + length)

    assert _violated(exc_info) == "slot_ends_after_start"
