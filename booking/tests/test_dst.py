"""Shift generation across daylight-saving changes, at locations in three zones of both hemispheres.

The clinic itself is in Tokyo (no daylight saving): each shift follows its
location's zone, not the clinic's. Around each change day four therapists
work at the location, one row each on the day before, the day and the day after:

- "day" 09:00-17:00: stays 09:00-17:00 local on either side of the change;
- "night" 00:00-06:00: spans the change, so it lasts 5 hours (spring) or 7 (fall) that day;
- "from the odd hour": starts at the first wall time the change skips (spring:
  not made that day, as a start that does not exist) or repeats (fall: made,
  from its first occurrence);
- "into the odd hour": ends half an hour into it (the same, for its end).
"""

from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from booking.models import Shift, WorkingHours
from booking.schedule import GenerateResult, local_to_utc, shifts_generate
from clinic.tests.factories import LocationFactory, TherapistFactory, clinic_configure

pytestmark = pytest.mark.django_db

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
CHANGE_IDS = [f"{zone} {day} {kind}" for zone, day, kind in CHANGES]


def _half_hours(day: date, start: time, end: time):
    t = datetime.combine(day, start)
    while t < datetime.combine(day, end):
        yield t.time()
        t += timedelta(minutes=30)


def _odd_times(day: date, tz: ZoneInfo, kind: str) -> list[time]:
    """The wall times (by the half hour, before 06:00) that the change skips (spring) or repeats (fall)."""
    if kind == "spring":
        return [t for t in _half_hours(day, time(0), time(6)) if local_to_utc(day, t, tz) is None]
    return [
        t
        for t in _half_hours(day, time(0), time(6))
        if datetime.combine(day, t, tzinfo=tz).utcoffset()
        != datetime.combine(day, t, tzinfo=tz).replace(fold=1).utcoffset()
    ]


def _plus(wall: time, minutes: int) -> time:
    return (datetime.combine(date.min, wall) + timedelta(minutes=minutes)).time()


def _shifts(therapist) -> list[Shift]:
    return list(Shift.objects.filter(therapist=therapist).order_by("starts_at"))


def _local(shift: Shift, tz: ZoneInfo) -> tuple[datetime, datetime]:
    return shift.starts_at.astimezone(tz), shift.ends_at.astimezone(tz)


@pytest.mark.parametrize(("zone", "day", "kind"), CHANGES, ids=CHANGE_IDS)
def test_local_to_utc_skips_what_does_not_exist_and_takes_the_first_of_what_repeats(zone, day, kind):
    tz = ZoneInfo(zone)
    # the change really is on that day, of that kind
    assert (
        datetime.combine(day, time(0), tzinfo=tz).utcoffset() != datetime.combine(day, time(12), tzinfo=tz).utcoffset()
    )
    odd = _odd_times(day, tz, kind)
    assert len(odd) == 2, odd  # one hour, by the half hour

    for wall in odd:
        instant = local_to_utc(day, wall, tz)
        if kind == "spring":
            assert instant is None
        else:
            # fold=0 is the first occurrence (compared in UTC: Python never calls an ambiguous time
            # equal to a time in another zone)
            first, second = (datetime.combine(day, wall, tzinfo=tz).replace(fold=f).astimezone(UTC) for f in (0, 1))
            assert instant == first
            assert first < second


@pytest.mark.parametrize(("zone", "day", "kind"), CHANGES, ids=CHANGE_IDS)
def test_generation_across_a_daylight_saving_change(zone, day, kind):
    # given
    clinic_configure(time_zone="Asia/Tokyo")
    tz = ZoneInfo(zone)
    location = LocationFactory(time_zone=zone)
    odd = _odd_times(day, tz, kind)[0]
    rows = {
        "day": (time(9), time(17)),
        "night": (time(0), time(6)),
        "from the odd hour": (odd, _plus(odd, 120)),
        "into the odd hour": (time(0), _plus(odd, 30)),
    }
    days = [day - timedelta(days=1), day, day + timedelta(days=1)]
    therapists = {name: TherapistFactory(locations=[location]) for name in rows}
    for name, (start, end) in rows.items():
        for d in days:
            WorkingHours.objects.create(
                therapist=therapists[name], location=location, weekday=d.weekday(), start_time=start, end_time=end
            )

    # when
    result = shifts_generate(start=days[0], end=days[-1])

    # then: on a spring day the two shifts with a start or end in the skipped hour are not made
    not_made = 2 if kind == "spring" else 0
    assert result == GenerateResult(created=12 - not_made, skipped=not_made)

    # every shift is its row's wall-clock times, on its own date
    for name, (start, end) in rows.items():
        made = [_local(shift, tz) for shift in _shifts(therapists[name])]
        expected_days = [d for d in days if not (kind == "spring" and d == day and name.endswith("odd hour"))]
        assert [s.date() for s, _ in made] == expected_days, name
        assert all((s.time(), e.time(), e.date()) == (start, end, s.date()) for s, e in made), name
        assert all(s.fold == 0 for s, _ in made), f"{name}: a repeated wall time means its first occurrence"

    # 09:00 stays 09:00: a different UTC hour on either side of the change, eight real hours each day
    day_shifts = _shifts(therapists["day"])
    assert day_shifts[0].starts_at.astimezone(UTC).hour != day_shifts[-1].starts_at.astimezone(UTC).hour
    assert all(s.ends_at - s.starts_at == timedelta(hours=8) for s in day_shifts)

    # the night that spans the change is an hour shorter (spring) or longer (fall) in real time
    night = {s.starts_at.astimezone(tz).date(): s.ends_at - s.starts_at for s in _shifts(therapists["night"])}
    assert night[days[0]] == night[days[-1]] == timedelta(hours=6)
    assert night[day] == timedelta(hours=5 if kind == "spring" else 7)

    if kind == "fall":
        # the shift from the repeated hour starts at its first pass, before the clocks go back
        from_odd = next(s for s in _shifts(therapists["from the odd hour"]) if s.starts_at.astimezone(tz).date() == day)
        before_change = datetime.combine(day, time(0), tzinfo=tz).utcoffset()
        assert from_odd.starts_at.astimezone(tz).utcoffset() == before_change


@pytest.mark.parametrize(("zone", "day", "kind"), CHANGES, ids=CHANGE_IDS)
def test_generating_across_a_change_twice_makes_nothing_new(zone, day, kind):
    clinic_configure()
    location = LocationFactory(time_zone=zone)
    therapist = TherapistFactory(locations=[location])
    for weekday in range(7):
        WorkingHours.objects.create(
            therapist=therapist, location=location, weekday=weekday, start_time=time(0), end_time=time(12)
        )
    span = {"start": day - timedelta(days=3), "end": day + timedelta(days=3)}

    first = shifts_generate(**span)
    second = shifts_generate(**span)

    assert first == GenerateResult(created=7, skipped=0)
    assert second == GenerateResult(created=0, skipped=7)
    shifts = _shifts(therapist)
    assert all(earlier.ends_at <= later.starts_at for earlier, later in zip(shifts, shifts[1:], strict=False))


def test_the_api_generates_across_spring_forward_in_london(as_user, staff_user):
    # London springs forward at 01:00 on Sunday 2026-03-29: 09:00 is 09:00 UTC before, 08:00 UTC after
    clinic_configure()
    london = LocationFactory(time_zone="Europe/London")
    therapist = TherapistFactory(locations=[london])
    for weekday in range(7):
        WorkingHours.objects.create(
            therapist=therapist, location=london, weekday=weekday, start_time=time(9), end_time=time(10)
        )
    # 01:30 does not exist on the 29th
    WorkingHours.objects.create(
        therapist=therapist, location=london, weekday=6, start_time=time(1, 30), end_time=time(2, 30)
    )

    response = as_user(staff_user).post(
        "/api/v1/shifts/generate/", {"from": "2026-03-28", "to": "2026-03-30"}, format="json"
    )

    assert response.status_code == 200, response.json()
    assert response.json() == {"created": 3, "skipped": 1}
    starts = as_user(staff_user).get("/api/v1/shifts/", {"therapist": therapist.pk}).json()["results"]
    assert [row["starts_at"] for row in starts] == [
        "2026-03-28T09:00:00Z",
        "2026-03-29T08:00:00Z",
        "2026-03-30T08:00:00Z",
    ]
