"""Slot generation across daylight-saving changes in three zones of both hemispheres.

On each change day a therapist works 00:00-06:00 in 30-minute slots (the
change falls inside) and 09:00-10:00. Expected: 09:00 stays 09:00 local on
either side of the change; no slot starts in the hour that does not exist;
none starts twice, nor in the repeated hour's second pass; slots never overlap.
"""

from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from booking.models import Slot, WorkingHours
from booking.schedule import local_to_utc, slots_generate
from clinic.tests.factories import TherapistFactory, clinic_configure

UTC = ZoneInfo("UTC")

# (zone, change day, "spring" = an hour is skipped / "fall" = an hour repeats)
CHANGES = [
    ("America/New_York", date(2026, 3, 8), "spring"),
    ("America/New_York", date(2026, 11, 1), "fall"),
    ("Europe/London", date(2026, 3, 29), "spring"),
    ("Europe/London", date(2026, 10, 25), "fall"),
    ("Australia/Sydney", date(2026, 10, 4), "spring"),
    ("Australia/Sydney", date(2026, 4, 5), "fall"),
]


def _wall_times(day: date, start: time, end: time, minutes: int):
    t = datetime.combine(day, start)
    while t + timedelta(minutes=minutes) <= datetime.combine(day, end):
        yield t.time()
        t += timedelta(minutes=minutes)


@pytest.mark.django_db
@pytest.mark.parametrize(("zone", "day", "kind"), CHANGES, ids=[f"{z} {d} {k}" for z, d, k in CHANGES])
def test_generation_across_a_daylight_saving_change(zone, day, kind):
    # given
    tz = ZoneInfo(zone)
    clinic_configure(time_zone=zone)
    therapist = TherapistFactory()
    for weekday in {(day + timedelta(days=d)).weekday() for d in (-1, 0, 1)}:
        WorkingHours.objects.create(
            therapist=therapist, weekday=weekday, start_time=time(0), end_time=time(6), slot_minutes=30
        )
        WorkingHours.objects.create(therapist=therapist, weekday=weekday, start_time=time(9), end_time=time(10))
    # the change really is on that day, of that kind
    offsets = {datetime.combine(day, time(h), tzinfo=tz).utcoffset() for h in (0, 12)}
    assert len(offsets) == 2
    missing = [t for t in _wall_times(day, time(0), time(6), 30) if local_to_utc(day, t, tz) is None]
    assert bool(missing) == (kind == "spring")

    # when
    result = slots_generate(start=day - timedelta(days=1), end=day + timedelta(days=1))

    # then
    slots = list(Slot.objects.filter(therapist=therapist).order_by("starts_at"))
    assert result.created == len(slots)
    assert result.skipped == len(missing)
    for earlier, later in zip(slots, slots[1:], strict=False):
        assert earlier.ends_at <= later.starts_at, "slots overlap"

    on_the_day = [s.starts_at.astimezone(tz) for s in slots if s.starts_at.astimezone(tz).date() == day]
    walls = [local.replace(tzinfo=None).time() for local in on_the_day]
    assert len(walls) == len(set(walls)), "a wall time was used twice"
    assert walls == sorted(walls), "wall times out of step with real time"
    assert not set(walls) & set(missing), "a slot in the hour that does not exist"
    if kind == "fall":
        # Each repeated wall time is used once, at its first occurrence (fold=0).
        assert all(local.fold == 0 for local in on_the_day)
        repeated = [
            local
            for local in on_the_day
            if datetime.combine(day, local.time(), tzinfo=tz).replace(fold=1).utcoffset() != local.utcoffset()
        ]
        assert repeated, "the test day should have slots in the repeated hour"

    nine = [s.starts_at.astimezone(tz) for s in slots if s.starts_at.astimezone(tz).time() == time(9)]
    assert [local.date() for local in nine] == [day - timedelta(days=1), day, day + timedelta(days=1)]
    utc_hours = {local.astimezone(UTC).hour for local in nine}
    assert len(utc_hours) == 2, "09:00 local is a different UTC hour on either side of the change"
