"""What may be booked: the start times offered for a service, computed in PostgreSQL.

One definition serves the availability list and the booking services, so
what is listed is what can be booked. A start `t` is offered for a service
of length `d` and buffer `b` with a therapist at a location when
(docs/api.md, Availability):

1. `[t, t+d)` lies inside one of the therapist's shifts at that location;
2. `t` is the shift's start plus a multiple of the clinic's
   `booking_step_minutes`, or the end of one of the therapist's occupied
   ranges inside that shift (a booking's or a hold's end plus its buffer,
   the end of time off or of a closure), so time next to a booking is not
   lost to the grid;
3. `[t, t+d+b)` overlaps none of the therapist's active bookings or holds
   (each with its buffer) nor their time off; a hold past its expiry no
   longer counts (booking.waitlist expires it);
4. the location does not use rooms, or one of its active rooms is free for
   `[t, t+d+b)` (no booking, hold or closure of that room); the location
   is not closed over `[t, t+d+b)`;
5. for clients, `t` is at least `min_notice_hours` from now and at most
   `booking_horizon_days` ahead (for staff: in the future); the therapist,
   their account and the location are active, the therapist works there
   and, with `modality`, is trained for it.

The whole rule is one SQL statement: the candidates come from
`generate_series` over the shifts and the ends of occupied ranges; each
shift's busy time (its therapist's bookings and holds with their buffers,
time off, the location's closures) and each room's are gathered once as a
`tstzmultirange`, so a candidate is one multirange test rather than an
index probe per candidate and room; the exact count rides along as a
window function. A page is one query, whatever the span or the number of
therapists, rooms or bookings (bench/README.md measures it). A booking's
check (`offers_at`) is the same statement with the one start asked for as
its only candidate.
"""

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from django.db import connection
from django.utils import timezone

from clinic.models import Clinic, Modality, Service
from clinic.selectors import clinic_get

MAX_RANGE_DAYS = 31

# The local dates the API accepts: wider than any real schedule, and far
# enough from the ends of Python's calendar (years 1 and 9999) that a day's
# bounds, and shift generation's margin of a day or two, always exist.
EARLIEST_DATE = date(1900, 1, 1)
LATEST_DATE = date(9998, 12, 31)

ACTIVE = ["confirmed", "held"]


@dataclass(frozen=True)
class BookingWindow:
    """The span of start times a caller may book at `now`: a client's, or the front desk's (any future time)."""

    earliest: datetime
    latest: datetime | None
    # The moment the window is of: a hold past its expiry by then no longer counts.
    now: datetime | None = None

    @classmethod
    def of(cls, clinic: Clinic, now: datetime | None = None, *, for_staff: bool = False) -> "BookingWindow":
        now = now or timezone.now()
        if for_staff:
            return cls(earliest=now, latest=None, now=now)
        return cls(
            earliest=now + timedelta(hours=clinic.min_notice_hours),
            latest=now + timedelta(days=clinic.booking_horizon_days),
            now=now,
        )


@dataclass(frozen=True)
class OfferedStart:
    therapist_id: int
    therapist_name: str
    location_id: int
    starts_at: datetime
    ends_at: datetime


def local_day_bounds(day: date, tz: ZoneInfo) -> tuple[datetime, datetime]:
    """[local midnight of `day`, local midnight of the next day) as aware datetimes.

    Correct across daylight-saving changes: a spring-forward day is 23 hours long.
    """
    start = datetime.combine(day, time.min, tzinfo=tz)
    end = datetime.combine(day + timedelta(days=1), time.min, tzinfo=tz)
    return start, end


# Parameters: see `_params`. Dates are compared in each location's own zone. The candidates are
# filled in below: a list's (every grid point and occupied end) or a booking's (the start asked for).
_OFFERED_SQL = """
WITH shift AS (
    SELECT s.id, s.therapist_id, s.location_id, s.starts_at, s.ends_at, l.uses_rooms,
           COALESCE(NULLIF(TRIM(u.first_name || ' ' || u.last_name), ''), u.email) AS therapist_name
    FROM booking_shift s
    JOIN clinic_location l ON l.id = s.location_id AND l.active
    JOIN clinic_therapist t ON t.id = s.therapist_id AND t.active
    JOIN clinic_user u ON u.id = t.user_id AND u.is_active
    JOIN clinic_therapist_locations tl ON tl.therapist_id = t.id AND tl.location_id = l.id
    WHERE s.starts_at < %(span_end)s AND s.ends_at > %(span_start)s
      AND s.ends_at > %(earliest)s
      AND (%(location_id)s::bigint IS NULL OR s.location_id = %(location_id)s)
      AND (%(therapist_id)s::bigint IS NULL OR s.therapist_id = %(therapist_id)s)
      AND (%(needs_therapeutic)s = false OR t.gives_therapeutic)
      AND (%(needs_deep_tissue)s = false OR t.gives_deep_tissue)
      AND s.starts_at < ((%(to_date)s::date + 1)::timestamp AT TIME ZONE l.time_zone)
      AND s.ends_at > (%(from_date)s::date::timestamp AT TIME ZONE l.time_zone)
),
-- Each shift's busy time as one multirange (its therapist's bookings and holds with their buffers,
-- time off, the location's closures), and each room's over the span: a candidate is then one
-- multirange test, not an index probe per candidate (per room).
shift_busy AS MATERIALIZED (
    SELECT sh.*, COALESCE((
        SELECT range_agg(x.r) FROM (
            SELECT tstzrange(b.starts_at, b.occupied_until) AS r FROM booking_booking b
            WHERE b.therapist_id = sh.therapist_id AND b.status = ANY(%(active)s)
              AND (b.status <> 'held' OR b.hold_expires_at > %(now)s)
              AND tstzrange(b.starts_at, b.occupied_until) && tstzrange(sh.starts_at, sh.ends_at + %(occupied)s)
              AND (%(exclude_booking_id)s::bigint IS NULL OR b.id <> %(exclude_booking_id)s)
            UNION ALL
            SELECT tstzrange(o.starts_at, o.ends_at) FROM booking_timeoff o
            WHERE o.therapist_id = sh.therapist_id
              AND tstzrange(o.starts_at, o.ends_at) && tstzrange(sh.starts_at, sh.ends_at + %(occupied)s)
            UNION ALL
            SELECT tstzrange(z.starts_at, z.ends_at) FROM booking_closure z
            WHERE z.location_id = sh.location_id AND z.room_id IS NULL
              AND tstzrange(z.starts_at, z.ends_at) && tstzrange(sh.starts_at, sh.ends_at + %(occupied)s)
        ) x), '{}'::tstzmultirange) AS busy
    FROM shift sh
),
room_busy AS MATERIALIZED (
    SELECT r.id, r.location_id, COALESCE((
        SELECT range_agg(x.r) FROM (
            SELECT tstzrange(b.starts_at, b.occupied_until) AS r FROM booking_booking b
            WHERE b.room_id = r.id AND b.status = ANY(%(active)s)
              AND (b.status <> 'held' OR b.hold_expires_at > %(now)s)
              AND tstzrange(b.starts_at, b.occupied_until) && tstzrange(%(span_start)s, %(span_end)s + %(occupied)s)
              AND (%(exclude_booking_id)s::bigint IS NULL OR b.id <> %(exclude_booking_id)s)
            UNION ALL
            SELECT tstzrange(z.starts_at, z.ends_at) FROM booking_closure z
            WHERE z.room_id = r.id
              AND tstzrange(z.starts_at, z.ends_at) && tstzrange(%(span_start)s, %(span_end)s + %(occupied)s)
        ) x), '{}'::tstzmultirange) AS busy
    FROM clinic_room r
    WHERE r.active AND r.location_id IN (SELECT location_id FROM shift WHERE uses_rooms)
),
candidate AS (
/*candidates*/
),
offered AS (
    SELECT c.therapist_id, c.therapist_name, c.location_id, c.t AS starts_at, c.t + %(duration)s AS ends_at
    FROM candidate c
    JOIN clinic_location l ON l.id = c.location_id
    WHERE c.t >= %(earliest)s
      AND (%(latest)s::timestamptz IS NULL OR c.t <= %(latest)s)
      AND c.t >= (%(from_date)s::date::timestamp AT TIME ZONE l.time_zone)
      AND c.t < ((%(to_date)s::date + 1)::timestamp AT TIME ZONE l.time_zone)
      AND NOT (c.busy && tstzrange(c.t, c.t + %(occupied)s))
      AND (
          NOT c.uses_rooms
          OR EXISTS (
              SELECT 1 FROM room_busy rb
              WHERE rb.location_id = c.location_id AND NOT (rb.busy && tstzrange(c.t, c.t + %(occupied)s))
          )
      )
)
SELECT therapist_id, therapist_name, location_id, starts_at, ends_at, COUNT(*) OVER () AS total
FROM offered
ORDER BY starts_at, therapist_id, location_id
LIMIT %(limit)s OFFSET %(offset)s
"""

# The candidate starts: every grid point and occupied end of each shift, for a list of what is offered ...
_LISTED_CANDIDATES = """
    SELECT sh.*, g.t
    FROM shift_busy sh
    CROSS JOIN LATERAL generate_series(sh.starts_at, sh.ends_at - %(duration)s, %(step)s) AS g(t)
    WHERE %(exact)s::timestamptz IS NULL
    UNION
    SELECT sh.*, e.t
    FROM shift_busy sh
    CROSS JOIN LATERAL (
        SELECT b.occupied_until FROM booking_booking b
        WHERE b.therapist_id = sh.therapist_id AND b.status = ANY(%(active)s)
          AND (b.status <> 'held' OR b.hold_expires_at > %(now)s)
          AND tstzrange(b.starts_at, b.occupied_until) && tstzrange(sh.starts_at, sh.ends_at, '[]')
          AND (%(exclude_booking_id)s::bigint IS NULL OR b.id <> %(exclude_booking_id)s)
        UNION ALL
        SELECT o.ends_at FROM booking_timeoff o WHERE o.therapist_id = sh.therapist_id
        UNION ALL
        SELECT c.ends_at FROM booking_closure c WHERE c.location_id = sh.location_id
    ) AS e(t)
    WHERE e.t > sh.starts_at AND e.t <= sh.ends_at - %(duration)s AND %(exact)s::timestamptz IS NULL
"""

# ... or the one start asked for (a booking): it is offered if it fits a shift by the grid or an occupied end.
_ASKED_CANDIDATE = """
    SELECT sh.*, %(exact)s::timestamptz AS t
    FROM shift_busy sh
    WHERE %(exact)s::timestamptz IS NOT NULL
      AND %(exact)s::timestamptz >= sh.starts_at AND %(exact)s::timestamptz <= sh.ends_at - %(duration)s
      AND (
          extract(epoch FROM %(exact)s::timestamptz - sh.starts_at)::bigint %% %(step_seconds)s = 0
          OR EXISTS (
              SELECT 1 FROM booking_booking b
              WHERE b.therapist_id = sh.therapist_id AND b.status = ANY(%(active)s)
                AND (b.status <> 'held' OR b.hold_expires_at > %(now)s)
                AND b.occupied_until = %(exact)s::timestamptz
                AND (%(exclude_booking_id)s::bigint IS NULL OR b.id <> %(exclude_booking_id)s)
          )
          OR EXISTS (
              SELECT 1 FROM booking_timeoff o
              WHERE o.therapist_id = sh.therapist_id AND o.ends_at = %(exact)s::timestamptz
          )
          OR EXISTS (
              SELECT 1 FROM booking_closure c
              WHERE c.location_id = sh.location_id AND c.ends_at = %(exact)s::timestamptz
          )
      )
"""

# Two statements of one rule, each with only its own candidates: PostgreSQL plans a third less
# (bench/README.md, finding 7), and a booking's check runs ~25 % faster.
_OFFERED_LIST_SQL = _OFFERED_SQL.replace("/*candidates*/", _LISTED_CANDIDATES.strip("\n"))
_OFFERED_AT_SQL = _OFFERED_SQL.replace("/*candidates*/", _ASKED_CANDIDATE.strip("\n"))

# The free active rooms of a location for one span, lowest id first (a booking takes the first).
_FREE_ROOMS_SQL = """
SELECT r.id FROM clinic_room r
WHERE r.location_id = %(location_id)s AND r.active
  AND NOT EXISTS (
      SELECT 1 FROM booking_booking b
      WHERE b.room_id = r.id AND b.status = ANY(%(active)s)
        AND (b.status <> 'held' OR b.hold_expires_at > %(now)s)
        AND tstzrange(b.starts_at, b.occupied_until) && tstzrange(%(start)s, %(until)s)
        AND (%(exclude_booking_id)s::bigint IS NULL OR b.id <> %(exclude_booking_id)s)
  )
  AND NOT EXISTS (
      SELECT 1 FROM booking_closure z
      WHERE z.room_id = r.id AND tstzrange(z.starts_at, z.ends_at) && tstzrange(%(start)s, %(until)s)
  )
ORDER BY r.id
"""


def _params(
    *,
    service: Service,
    clinic: Clinic,
    from_date: date,
    to_date: date,
    location_id: int | None,
    therapist_id: int | None,
    modality: str | None,
    window: BookingWindow,
    exact: datetime | None,
    exclude_booking_id: int | None,
    limit: int | None,
    offset: int,
) -> dict:
    duration = timedelta(minutes=service.duration_minutes)
    step = timedelta(minutes=clinic.booking_step_minutes)
    # A loose UTC span around the local dates (zones are within ±14 h); each location's exact bounds are in SQL.
    span_start = datetime.combine(from_date, time.min, tzinfo=ZoneInfo("UTC")) - timedelta(days=1)
    span_end = datetime.combine(to_date, time.min, tzinfo=ZoneInfo("UTC")) + timedelta(days=2)
    return {
        "duration": duration,
        "occupied": duration + timedelta(minutes=service.buffer_minutes),
        "step": step,
        "step_seconds": int(step.total_seconds()),
        "from_date": from_date,
        "to_date": to_date,
        "span_start": span_start,
        "span_end": span_end,
        "earliest": window.earliest,
        "latest": window.latest,
        "location_id": location_id,
        "therapist_id": therapist_id,
        "needs_therapeutic": modality == Modality.THERAPEUTIC,
        "needs_deep_tissue": modality == Modality.DEEP_TISSUE,
        "exact": exact,
        "exclude_booking_id": exclude_booking_id,
        "active": ACTIVE,
        "now": window.now or timezone.now(),
        "limit": limit,
        "offset": offset,
    }


def offered_starts(
    *,
    service: Service,
    from_date: date,
    to_date: date,
    location_id: int | None = None,
    therapist_id: int | None = None,
    modality: str | None = None,
    for_staff: bool = False,
    now: datetime | None = None,
    limit: int | None = None,
    offset: int = 0,
) -> tuple[int, list[OfferedStart]]:
    """The start times offered for `service` on the local dates `from_date`..`to_date`: (exact count, one page).

    Ordered by start, then therapist. `limit`/`offset` pick the page; the
    count is of every offered start. One query.
    """
    clinic = clinic_get()
    params = _params(
        service=service,
        clinic=clinic,
        from_date=from_date,
        to_date=to_date,
        location_id=location_id,
        therapist_id=therapist_id,
        modality=modality,
        window=BookingWindow.of(clinic, now, for_staff=for_staff),
        exact=None,
        exclude_booking_id=None,
        limit=limit,
        offset=offset,
    )
    return _run(params)


def _run(params: dict) -> tuple[int, list[OfferedStart]]:
    sql = _OFFERED_LIST_SQL if params["exact"] is None else _OFFERED_AT_SQL
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        rows = cursor.fetchall()
    total = rows[0][5] if rows else 0
    if not rows and params["offset"]:
        # A page past the end still says how many there are.
        with connection.cursor() as cursor:
            cursor.execute(sql, {**params, "limit": 1, "offset": 0})
            first = cursor.fetchone()
        total = first[5] if first else 0
    return total, [OfferedStart(*row[:5]) for row in rows]


def offers_at(
    *,
    service: Service,
    starts_at: datetime,
    clinic: Clinic,
    location_id: int | None = None,
    therapist_id: int | None = None,
    modality: str | None = None,
    for_staff: bool = False,
    now: datetime | None = None,
    exclude_booking_id: int | None = None,
) -> list[OfferedStart]:
    """Who is offered exactly `starts_at` for `service` (therapist and location pairs), by the same rule.

    For the booking services: `exclude_booking_id` is a booking being moved,
    which is not in its own way.
    """
    local_dates = {starts_at.astimezone(ZoneInfo(zone)).date() for zone in ("Pacific/Kiritimati", "Etc/GMT+12")}
    params = _params(
        service=service,
        clinic=clinic,
        from_date=min(local_dates),
        to_date=max(local_dates),
        location_id=location_id,
        therapist_id=therapist_id,
        modality=modality,
        window=BookingWindow.of(clinic, now, for_staff=for_staff),
        exact=starts_at,
        exclude_booking_id=exclude_booking_id,
        limit=None,
        offset=0,
    )
    return _run(params)[1]


def free_rooms(
    *,
    location_id: int,
    starts_at: datetime,
    occupied_until: datetime,
    exclude_booking_id: int | None = None,
    now: datetime | None = None,
) -> list[int]:
    """Ids of the location's active rooms free over `[starts_at, occupied_until)` at `now`, lowest first."""
    with connection.cursor() as cursor:
        cursor.execute(
            _FREE_ROOMS_SQL,
            {
                "location_id": location_id,
                "start": starts_at,
                "until": occupied_until,
                "exclude_booking_id": exclude_booking_id,
                "active": ACTIVE,
                "now": now or timezone.now(),
            },
        )
        return [row[0] for row in cursor.fetchall()]
