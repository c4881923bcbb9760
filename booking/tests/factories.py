"""Factories for the schedule and bookings."""

from datetime import time, timedelta

import factory
from django.utils import timezone

from booking.models import Booking, Slot, TimeOff, WorkingHours
from clinic.tests.factories import TherapistFactory
from intake.tests.factories import IntakeFactory


class WorkingHoursFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = WorkingHours

    therapist = factory.SubFactory(TherapistFactory)
    weekday = 0
    start_time = time(9, 0)
    end_time = time(17, 0)
    slot_minutes = 60
    buffer_minutes = 0


class SlotFactory(factory.django.DjangoModelFactory):
    """A one-hour open slot, by default three days from now on the hour."""

    class Meta:
        model = Slot

    therapist = factory.SubFactory(TherapistFactory)
    starts_at = factory.LazyFunction(
        lambda: (timezone.now() + timedelta(days=3)).replace(minute=0, second=0, microsecond=0)
    )
    ends_at = factory.LazyAttribute(lambda o: o.starts_at + timedelta(hours=1))
    status = Slot.Status.OPEN


class TimeOffFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = TimeOff

    therapist = factory.SubFactory(TherapistFactory)
    starts_at = factory.LazyFunction(lambda: timezone.now() + timedelta(days=5))
    ends_at = factory.LazyAttribute(lambda o: o.starts_at + timedelta(hours=4))
    reason = "Training"


class BookingFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Booking

    slot = factory.SubFactory(SlotFactory)
    client = factory.SubFactory("clinic.tests.factories.ClientFactory")
    intake = factory.SubFactory(IntakeFactory, client=factory.SelfAttribute("..client"))
    status = Booking.Status.CONFIRMED
