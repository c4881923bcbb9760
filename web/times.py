"""A week of offered start times, as the pages show them: by local day, at one location.

The times are `booking.availability.offered_starts`, the rule the API's
availability list and the booking services share, so what a page offers
is what can be booked.
"""

from dataclasses import dataclass
from datetime import date, datetime, timedelta

from django.utils import timezone
from django.utils.dateparse import parse_datetime

from booking.availability import EARLIEST_DATE, LATEST_DATE, offered_starts
from clinic.models import Location, Service
from clinic.selectors import clinic_get

DAYS_SHOWN = 7


@dataclass
class Time:
    """One offered start: when (aware), its local words, with whom (None: any therapist), and the page to pick it."""

    starts_at: datetime
    therapist_id: int | None
    therapist_name: str
    day_label: str
    time_label: str
    url: str = ""

    @property
    def value(self) -> str:
        """The start as a page sends it back: ISO 8601 with its UTC offset."""
        return self.starts_at.isoformat()


def day_label(day: date) -> str:
    return f"{day:%A} {day.day} {day:%B}"


def local_words(moment: datetime, location: Location) -> tuple[str, str]:
    """(day, time) of an instant in the location's zone, e.g. ("Monday 3 August", "09:30")."""
    local = moment.astimezone(location.tz)
    return day_label(local.date()), f"{local:%H:%M}"


def when_label(moment: datetime, location: Location) -> str:
    day, clock = local_words(moment, location)
    return f"{day}, {clock}"


def local_today(location: Location) -> date:
    return timezone.now().astimezone(location.tz).date()


def parse_day(raw: str | None, location: Location) -> date:
    """A `YYYY-MM-DD` from a query string, else today at the location; kept between today and the horizon."""
    today = local_today(location)
    try:
        day = date.fromisoformat(raw) if raw else today
    except ValueError:
        day = today
    latest = today + timedelta(days=clinic_get().booking_horizon_days)
    return min(max(day, today, EARLIEST_DATE), latest, LATEST_DATE)


def parse_start(raw: str | None) -> datetime | None:
    """An offered start as a page sent it (ISO 8601 with a UTC offset), or None if it is not one."""
    if not raw or len(raw) > 64:
        return None
    try:
        moment = parse_datetime(raw.strip())
    except ValueError:
        return None
    if moment is None or timezone.is_naive(moment):
        return None
    # Beyond these dates a day's bounds (and converting the time to another zone) do not exist.
    if not EARLIEST_DATE <= moment.date() <= LATEST_DATE:
        return None
    return moment


def offered(
    *,
    service: Service,
    location: Location,
    first_day: date,
    days: int = DAYS_SHOWN,
    therapist_id: int | None = None,
    modality: str | None = None,
) -> list[dict]:
    """`days` local days from `first_day`, each `{date, label, times}`.

    With no therapist chosen ("any therapist") each start is listed once:
    the booking then goes to a therapist offered it (the service picks).
    """
    last_day = min(first_day + timedelta(days=days - 1), LATEST_DATE)
    _, starts = offered_starts(
        service=service,
        from_date=first_day,
        to_date=last_day,
        location_id=location.pk,
        therapist_id=therapist_id,
        modality=modality,
    )
    by_day: dict[date, list[Time]] = {}
    seen: set[datetime] = set()
    for start in starts:
        if therapist_id is None:
            if start.starts_at in seen:
                continue
            seen.add(start.starts_at)
        local = start.starts_at.astimezone(location.tz)
        day, clock = local_words(start.starts_at, location)
        by_day.setdefault(local.date(), []).append(
            Time(
                starts_at=start.starts_at,
                therapist_id=start.therapist_id if therapist_id is not None else None,
                therapist_name=start.therapist_name if therapist_id is not None else "",
                day_label=day,
                time_label=clock,
            )
        )
    result = []
    day = first_day
    while day <= last_day:
        result.append({"date": day, "label": day_label(day), "times": by_day.get(day, [])})
        day += timedelta(days=1)
    return result


def fresh_times(
    *,
    service: Service,
    location: Location,
    near: datetime,
    therapist_id: int | None = None,
    modality: str | None = None,
) -> list[Time]:
    """What is offered now on the local day of `near` (a time that was just taken, say)."""
    day = near.astimezone(location.tz).date()
    days = offered(
        service=service, location=location, first_day=day, days=1, therapist_id=therapist_id, modality=modality
    )
    return days[0]["times"] if days else []
