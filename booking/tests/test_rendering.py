"""The hand-written renderers give exactly what their serializers would."""

from datetime import UTC, datetime, timedelta, timezone

import pytest

from booking.api.serializers import AvailableSlotSerializer, iso_utc, render_available_slots
from booking.availability import availability
from booking.tests.factories import SlotFactory
from clinic.tests.factories import TherapistFactory


@pytest.mark.django_db
def test_available_slots_render_as_the_serializer_would(clinic):
    therapist = TherapistFactory(user__first_name="", user__last_name="", user__email="nameless@example.com")
    SlotFactory(therapist=therapist)
    SlotFactory(starts_at=datetime.now(UTC).replace(microsecond=123456) + timedelta(days=4))
    today = datetime.now(UTC).date()
    rows = list(availability(clinic=clinic, start=today, end=today + timedelta(days=10)))
    assert len(rows) == 2
    assert render_available_slots(rows) == AvailableSlotSerializer(rows, many=True).data


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (datetime(2026, 12, 1, 14, 0, tzinfo=UTC), "2026-12-01T14:00:00Z"),
        (datetime(2026, 12, 1, 9, 0, tzinfo=timezone(timedelta(hours=-5))), "2026-12-01T14:00:00Z"),
        (datetime(2026, 12, 1, 14, 0, 0, 5, tzinfo=UTC), "2026-12-01T14:00:00.000005Z"),
    ],
)
def test_iso_utc(value, text):
    assert iso_utc(value) == text
