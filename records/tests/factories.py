"""Factories for the clinical record."""

from datetime import timedelta

import factory
from django.utils import timezone

from booking.tests.factories import BookingFactory
from records.models import TreatmentNote


class StartedBookingFactory(BookingFactory):
    """A confirmed booking that started an hour ago: notes may be written on it."""

    starts_at = factory.LazyFunction(lambda: (timezone.now() - timedelta(hours=1)).replace(second=0, microsecond=0))


class TreatmentNoteFactory(factory.django.DjangoModelFactory):
    """A draft note by the booking's therapist; `signed_at=...` makes it signed."""

    class Meta:
        model = TreatmentNote

    booking = factory.SubFactory(StartedBookingFactory)
    author = factory.LazyAttribute(lambda o: o.booking.therapist.user)
    subjective = "Tight shoulders after a week of desk work."
    objective = "Hypertonic upper trapezius, both sides."
    assessment = "Muscle tension, no contraindication found."
    plan = "Stretches daily; come back in two weeks."
    areas_treated = factory.LazyFunction(lambda: ["neck", "shoulders"])
    pressure_used = "medium"
    modality_given = "therapeutic"
    signed_at = None
