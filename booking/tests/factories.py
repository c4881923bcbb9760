"""Factories for the schedule and bookings (v2)."""

from datetime import time, timedelta

import factory
from django.utils import timezone

from booking.models import Booking, Closure, Shift, TimeOff, WorkingHours
from clinic.tests.factories import LocationFactory, ServiceFactory, TherapistFactory
from intake.tests.factories import IntakeFactory


def _three_days_ahead():
    return (timezone.now() + timedelta(days=3)).replace(minute=0, second=0, microsecond=0)


class WorkingHoursFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = WorkingHours

    therapist = factory.SubFactory(TherapistFactory)
    location = factory.SubFactory(LocationFactory)
    weekday = 0
    start_time = time(9, 0)
    end_time = time(17, 0)


class ShiftFactory(factory.django.DjangoModelFactory):
    """An eight-hour shift, by default starting three days from now on the hour."""

    class Meta:
        model = Shift

    therapist = factory.SubFactory(TherapistFactory)
    location = factory.SubFactory(LocationFactory)
    starts_at = factory.LazyFunction(_three_days_ahead)
    ends_at = factory.LazyAttribute(lambda o: o.starts_at + timedelta(hours=8))


class TimeOffFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = TimeOff

    therapist = factory.SubFactory(TherapistFactory)
    starts_at = factory.LazyFunction(lambda: timezone.now() + timedelta(days=5))
    ends_at = factory.LazyAttribute(lambda o: o.starts_at + timedelta(hours=4))
    reason = "Training"


class ClosureFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Closure

    location = factory.SubFactory(LocationFactory)
    room = None
    starts_at = factory.LazyFunction(lambda: timezone.now() + timedelta(days=5))
    ends_at = factory.LazyAttribute(lambda o: o.starts_at + timedelta(hours=4))
    reason = "Holiday"


class BookingFactory(factory.django.DjangoModelFactory):
    """A confirmed booking of a service, straight in the database (no availability check).

    Times follow the service: `ends_at` = start + duration, `occupied_until`
    = end + buffer; price and currency are the service's. Give `therapist`,
    `location`, `room`, `starts_at` to place it. `intake=None,
    intake_status="pending"` makes a front-desk booking awaiting its intake.
    """

    class Meta:
        model = Booking

    client = factory.SubFactory("clinic.tests.factories.ClientFactory")
    therapist = factory.SubFactory(TherapistFactory)
    location = factory.SubFactory(LocationFactory)
    room = None
    service = factory.SubFactory(ServiceFactory)
    starts_at = factory.LazyFunction(_three_days_ahead)
    ends_at = factory.LazyAttribute(lambda o: o.starts_at + timedelta(minutes=o.service.duration_minutes))
    occupied_until = factory.LazyAttribute(lambda o: o.ends_at + timedelta(minutes=o.service.buffer_minutes))
    price = factory.LazyAttribute(lambda o: o.service.price)
    currency = "USD"
    intake = factory.SubFactory(IntakeFactory, client=factory.SelfAttribute("..client"))
    intake_status = Booking.IntakeStatus.COMPLETE
    status = Booking.Status.CONFIRMED
