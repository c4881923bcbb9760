"""FHIR search parameters: parsed, checked, and turned into filters. Anything unknown or malformed is a 400.

Common to every search: `_count` (entries a page, 1 to 500, 50 by default;
0 answers the total alone; more than 500 is read as 500), `page` (1, 2, ...)
and `_format` (`json`, `application/json` or `application/fhir+json`; any
other is a 406). A read takes `_format` only.

Appointment: `date`, `practitioner`, `status`, as FHIR defines them:
- a parameter given twice must match both (AND); values separated by a comma
  match either (OR);
- `date` is the start: `[prefix]value`, prefix `eq` (the default), `ne`,
  `gt`, `lt`, `ge`, `le`, `sa`, `eb` (`ap` is not supported); the value a
  year, a month, a day (`2026`, `2026-12`, `2026-12-01`: local dates at
  each booking's location, as everywhere in the API) or a time with its UTC
  offset (`2026-12-01T09:00-05:00`, to the minute or the second);
- `practitioner`: `Practitioner/{id}` or `{id}` (a therapist's id);
- `status`: a code of FHIR's appointment status value set (`booked`,
  `fulfilled`, `noshow`, `cancelled`, `pending`, ...).
Modifiers (`status:not=...`) are not supported: a 400, not silently ignored.
"""

import re
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta

from django.db.models import DateField, DateTimeField, F, Func, Q
from django.db.models.functions import Cast
from django.http import QueryDict
from rest_framework.exceptions import APIException, NotAcceptable

from booking.availability import EARLIEST_DATE, LATEST_DATE
from integrations.fhir.resources import APPOINTMENT_STATUS, APPOINTMENT_STATUS_CODES

DEFAULT_COUNT = 50
MAX_COUNT = 500
COMMON_PARAMETERS = ("_count", "page", "_format")
FORMATS = ("json", "application/json", "application/fhir+json")
# Every zone's offset lies within UTC-12..UTC+14: a local date's sessions start inside
# this margin around the UTC date, so the index on `starts_at` still narrows the scan.
ZONE_MARGIN = timedelta(hours=15)


class BadSearch(APIException):
    """A search (or read) parameter that is unknown, repeated where it may not be, or malformed: 400."""

    status_code = 400
    default_detail = "A search parameter is not valid."
    default_code = "invalid"
    fhir_code = "invalid"


class NotSupported(BadSearch):
    fhir_code = "not-supported"


@dataclass
class Search:
    filters: list[Q] = field(default_factory=list)
    count: int = DEFAULT_COUNT
    page: int = 1


def _single(query: QueryDict, name: str) -> str | None:
    values = query.getlist(name)
    if len(values) > 1:
        raise BadSearch(f"`{name}` may be given once.")
    return values[0] if values else None


def _positive_int(query: QueryDict, name: str, *, minimum: int) -> int | None:
    value = _single(query, name)
    if value is None:
        return None
    if not re.fullmatch(r"[0-9]{1,9}", value) or int(value) < minimum:
        raise BadSearch(f"`{name}` must be a whole number of at least {minimum}, not {value[:40]!r}.")
    return int(value)


def check_format(query: QueryDict) -> None:
    value = _single(query, "_format")
    if value is not None and value.split(";")[0].strip().lower() not in FORMATS:
        raise NotAcceptable(f"`_format` {value[:40]!r}: this server answers JSON only ({', '.join(FORMATS)}).")


def parse(query: QueryDict, parameters: dict, *, search: bool = True) -> Search:
    """The search `query` asks for, with `parameters` (name -> function(value) -> Q) as the type's own.

    Raises BadSearch (400) for an unknown parameter, a modifier, a repeated
    `_count`/`page`, an empty or malformed value; NotAcceptable (406) for a
    `_format` other than JSON.
    """
    known = set(parameters) | set(COMMON_PARAMETERS if search else ("_format",))
    for name in query:
        base, colon, modifier = name.partition(":")
        if colon and base in parameters:
            raise NotSupported(f"The modifier `:{modifier[:40]}` of `{base}` is not supported.")
        if name not in known:
            allowed = ", ".join(f"`{known_name}`" for known_name in sorted(known)) or "none"
            what = "search" if search else "read"
            raise BadSearch(f"Unknown parameter `{name[:40]}` for this {what}; known: {allowed}.")
    check_format(query)
    result = Search()
    if search:
        count = _positive_int(query, "_count", minimum=0)
        result.count = DEFAULT_COUNT if count is None else min(count, MAX_COUNT)
        result.page = _positive_int(query, "page", minimum=1) or 1
    for name, to_q in parameters.items():
        for value in query.getlist(name):  # repeated: AND
            if not value.strip():
                raise BadSearch(f"`{name}` needs a value.")
            either = Q()
            for part in value.split(","):  # comma: OR
                either |= to_q(part.strip())
            result.filters.append(either)
    return result


# --- Appointment's parameters ---------------------------------------------------------------


class _AtTimeZone(Func):
    """PostgreSQL's `timezone(zone, timestamptz)`: the wall-clock time in `zone` (a column)."""

    function = "timezone"
    output_field = DateTimeField()


LOCAL_START_DATE = Cast(_AtTimeZone(F("location__time_zone"), F("starts_at")), DateField())

_DATE = re.compile(
    r"(?P<prefix>eq|ne|gt|lt|ge|le|sa|eb|ap)?"
    r"(?P<year>[0-9]{4})(?:-(?P<month>[0-9]{2})(?:-(?P<day>[0-9]{2})"
    r"(?:T(?P<hour>[0-9]{2}):(?P<minute>[0-9]{2})(?::(?P<second>[0-9]{2})(?P<fraction>\.[0-9]{1,6})?)?"
    r"(?P<zone>Z|[+-][0-9]{2}:[0-9]{2})?)?)?)?"
)


def _bad_date(value: str, why: str) -> BadSearch:
    return BadSearch(
        f"`date` {value[:40]!r}: {why} Give [prefix]YYYY, YYYY-MM, YYYY-MM-DD (a local date) or "
        "YYYY-MM-DDThh:mm[:ss]+hh:mm (a time with its UTC offset); prefixes eq, ne, gt, lt, ge, le, sa, eb."
    )


def _next_month(day: date) -> date:
    return date(day.year + day.month // 12, day.month % 12 + 1, 1)


def _date_range(value: str, match: re.Match) -> tuple[date, date]:
    year, month, day = match["year"], match["month"], match["day"]
    try:
        start = date(int(year), int(month or 1), int(day or 1))
    except ValueError:
        raise _bad_date(value, "not a date.") from None
    if not EARLIEST_DATE <= start <= LATEST_DATE:
        raise _bad_date(value, f"out of range ({EARLIEST_DATE.year} to {LATEST_DATE.year}).")
    if day:
        return start, start + timedelta(days=1)
    if month:
        return start, _next_month(start)
    return start, date(start.year + 1, 1, 1)


def _time_range(value: str, match: re.Match) -> tuple[datetime, datetime]:
    if not match["zone"]:
        raise _bad_date(value, "a time needs its UTC offset (a time without one is ambiguous).")
    try:
        start = datetime.fromisoformat(value[len(match["prefix"] or "") :])
    except ValueError:
        raise _bad_date(value, "not a valid time.") from None
    try:
        in_range = EARLIEST_DATE <= start.astimezone(UTC).date() <= LATEST_DATE
    except OverflowError:  # 9999-12-31T23:00-05:00 and 0001-01-01T00:30+05:00 have no UTC time
        in_range = False
    if not in_range:
        raise _bad_date(value, f"out of range ({EARLIEST_DATE.year} to {LATEST_DATE.year}).")
    step = timedelta(microseconds=1) if match["fraction"] else timedelta(seconds=1 if match["second"] else 60)
    return start, start + step


def date_q(value: str) -> Q:
    """`date=[prefix]value` on the start: [L, U) the value's range, T the start; eq L<=T<U, ne not eq,
    gt and sa T>=U, lt and eb T<L, ge T>=L, le T<U."""
    match = _DATE.fullmatch(value)
    if match is None:
        # A `+` sent unencoded in a query string arrives as a space.
        raise _bad_date(value, "not a FHIR date (send a + offset as %2B)." if " " in value else "not a FHIR date.")
    prefix = match["prefix"] or "eq"
    if prefix == "ap":
        raise NotSupported("The `ap` (approximately) prefix of `date` is not supported.")
    if match["hour"] is not None:
        low, high = _time_range(value, match)
        at_least, below = Q(starts_at__gte=low), Q(starts_at__lt=high)
        after, before = Q(starts_at__gte=high), Q(starts_at__lt=low)
    else:
        first, end = _date_range(value, match)
        utc_first = datetime.combine(first, time(0), tzinfo=UTC)
        utc_end = datetime.combine(end, time(0), tzinfo=UTC)
        # The local date decides; the UTC bounds (a zone's width apart) let the index narrow the rows.
        at_least = Q(fhir_local_date__gte=first, starts_at__gte=utc_first - ZONE_MARGIN)
        below = Q(fhir_local_date__lt=end, starts_at__lt=utc_end + ZONE_MARGIN)
        after = Q(fhir_local_date__gte=end, starts_at__gte=utc_end - ZONE_MARGIN)
        before = Q(fhir_local_date__lt=first, starts_at__lt=utc_first + ZONE_MARGIN)
    return {
        "eq": at_least & below,
        "ne": ~(at_least & below),
        "gt": after,
        "sa": after,
        "lt": before,
        "eb": before,
        "ge": at_least,
        "le": below,
    }[prefix]


def practitioner_q(value: str) -> Q:
    match = re.fullmatch(r"(?:Practitioner/)?([0-9]{1,18})", value)
    if match is None:
        raise BadSearch(f"`practitioner` {value[:40]!r}: give Practitioner/{{id}} or {{id}}, a therapist's id.")
    return Q(therapist_id=int(match[1]))


# FHIR status -> the booking statuses it stands for (none for the codes the clinic never uses).
_BOOKING_STATUSES = {
    code: [s for s, fhir in APPOINTMENT_STATUS.items() if fhir == code] for code in APPOINTMENT_STATUS_CODES
}


def status_q(value: str) -> Q:
    if value not in _BOOKING_STATUSES:
        raise BadSearch(
            f"`status` {value[:40]!r} is not an appointment status; give one of {', '.join(APPOINTMENT_STATUS_CODES)}."
        )
    return Q(status__in=_BOOKING_STATUSES[value])


APPOINTMENT_PARAMETERS = {"date": date_q, "practitioner": practitioner_q, "status": status_q}


def appointments_filtered(bookings, search: Search):
    """`bookings` narrowed by the search's filters (the local date of each start is at its location's zone)."""
    if not search.filters:
        return bookings
    return bookings.alias(fhir_local_date=LOCAL_START_DATE).filter(*search.filters)
