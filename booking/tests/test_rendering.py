"""The hand-written renderers give exactly what their serializers would."""

from datetime import UTC, datetime, timedelta, timezone

import pytest

from booking.api.serializers import OfferedStartSerializer, iso_utc, render_offered_starts
from booking.availability import offered_starts
from booking.tests.factories import ShiftFactory
from clinic.tests.factories import LocationFactory, ServiceFactory, TherapistFactory


@pytest.mark.django_db
def test_offered_starts_render_as_the_serializer_would(clinic):
    # given: a therapist without a name, and shifts at two locations, one starting off the second
    new_york = LocationFactory(time_zone="America/New_York")
    los_angeles = LocationFactory(time_zone="America/Los_Angeles")
    nameless = TherapistFactory(
        user__first_name="", user__last_name="", user__email="nameless@example.com", locations=[new_york]
    )
    named = TherapistFactory(locations=[los_angeles])
    ShiftFactory(therapist=nameless, location=new_york)
    starts_at = datetime.now(UTC).replace(microsecond=123456) + timedelta(days=4)
    ShiftFactory(therapist=named, location=los_angeles, starts_at=starts_at, ends_at=starts_at + timedelta(hours=2))
    service = ServiceFactory(duration_minutes=45, buffer_minutes=5)
    today = datetime.now(UTC).date()
    # when
    count, rows = offered_starts(service=service, from_date=today, to_date=today + timedelta(days=10))
    # then
    assert count == len(rows)
    assert {row.therapist_id for row in rows} == {nameless.pk, named.pk}
    assert render_offered_starts(rows) == OfferedStartSerializer(rows, many=True).data


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
