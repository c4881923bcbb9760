"""Writes of the front desk's schedule: working hours, shifts and their generation, time off, closures.

Lock, then check: every write locks the rows of the therapists it touches
first, in id order, as a booking does (booking.services), so a schedule
write and a booking for one therapist run one after the other on any number
of app processes; the exclusion constraint `shift_no_overlap_per_therapist`
stays the last word, its violation the domain error `ShiftOverlap`.

Time (docs/design.md): working hours are wall-clock times of their
location's zone; a shift is made of them in that zone, so 09:00 stays 09:00
across daylight-saving changes, and a shift whose start or end does not
exist that day (the hour a spring-forward change skips) is not made.

Time off and closures never cancel bookings: their writes return the active
bookings they overlap (`conflicts`) for the front desk to resolve.
"""

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import F, Q, QuerySet

from booking import waitlist
from booking.errors import ShiftHasBookings, ShiftOverlap
from booking.models import ACTIVE_STATUSES, Booking, Closure, Shift, TimeOff, WorkingHours
from clinic.models import Location, Room, Therapist, User

MAX_GENERATE_DAYS = 92
SHIFT_OVERLAP_CONSTRAINT = "shift_no_overlap_per_therapist"


@dataclass(frozen=True)
class GenerateResult:
    created: int
    skipped: int


# --- Shared ---------------------------------------------------------------------


def _lock_therapists(therapist_ids: Iterable[int]) -> None:
    """Lock these therapists' rows, in id order (the order every writer takes them in)."""
    ids = sorted(set(therapist_ids))
    if ids:
        list(Therapist.objects.select_for_update().filter(pk__in=ids).order_by("pk").values_list("pk"))


def _overlapping(qs: QuerySet, starts_at: datetime, ends_at: datetime) -> QuerySet:
    return qs.filter(starts_at__lt=ends_at, ends_at__gt=starts_at)


def _active_bookings_overlapping(starts_at: datetime, ends_at: datetime) -> QuerySet:
    """Active bookings whose occupied range (session plus buffer) meets `[starts_at, ends_at)`.

    The buffer counts, as it does for availability: a session whose turnover
    falls in time off or a closure could not have been booked there.
    """
    return Booking.objects.filter(status__in=ACTIVE_STATUSES, starts_at__lt=ends_at, occupied_until__gt=starts_at)


def _ids(bookings: QuerySet) -> list[int]:
    return list(bookings.order_by("starts_at", "pk").values_list("pk", flat=True))


def _require_span(starts_at: datetime, ends_at: datetime) -> None:
    if ends_at <= starts_at:
        raise ValidationError({"ends_at": ["Must be after starts_at."]})


def _require_works_at(therapist: Therapist, location: Location) -> None:
    if not therapist.locations.filter(pk=location.pk).exists():
        raise ValidationError(
            {
                "location": [
                    f"{therapist.name} does not work at {location.name}. Add the location to the therapist first."
                ]
            }
        )


def _is_shift_overlap(exc: IntegrityError) -> bool:
    return getattr(getattr(exc.__cause__, "diag", None), "constraint_name", None) == SHIFT_OVERLAP_CONSTRAINT


def local_to_utc(day: date, wall_time: time, tz: ZoneInfo) -> datetime | None:
    """The instant of local `day` + `wall_time`, or None when that wall time does
    not exist (skipped by a spring-forward change). An ambiguous time (fall-back)
    means its first occurrence."""
    local = datetime.combine(day, wall_time, tzinfo=tz)
    round_trip = local.astimezone(UTC).astimezone(tz)
    if round_trip.replace(tzinfo=None) != local.replace(tzinfo=None):
        return None
    return local.astimezone(UTC)


# --- Working hours --------------------------------------------------------------


def _require_hours(start_time: time, end_time: time) -> None:
    if end_time <= start_time:
        raise ValidationError({"end_time": ["Must be after start_time."]})


@transaction.atomic
def working_hours_create(
    *, therapist: Therapist, location: Location, weekday: int, start_time: time, end_time: time
) -> WorkingHours:
    """Add a weekly row: `therapist` works at `location` on `weekday` (0 = Monday), local times.

    The therapist must work at that location (else a ValidationError: 400).
    Rows may overlap one another; generation skips the shifts that would.
    """
    _lock_therapists([therapist.pk])
    _require_works_at(therapist, location)
    _require_hours(start_time, end_time)
    return WorkingHours.objects.create(
        therapist=therapist, location=location, weekday=weekday, start_time=start_time, end_time=end_time
    )


@transaction.atomic
def working_hours_update(*, working_hours_id: int, **changes) -> WorkingHours:
    """Change a row's therapist, location, weekday or times; shifts already made keep theirs.

    Locks the old and the new therapist (in id order), then the row.
    """
    therapist = changes.get("therapist")
    current = WorkingHours.objects.values_list("therapist_id", flat=True).get(pk=working_hours_id)
    _lock_therapists([current] + ([therapist.pk] if therapist else []))
    row = (
        WorkingHours.objects.select_for_update().select_related("therapist__user", "location").get(pk=working_hours_id)
    )
    for field, value in changes.items():
        setattr(row, field, value)
    if "therapist" in changes or "location" in changes:
        _require_works_at(row.therapist, row.location)
    _require_hours(row.start_time, row.end_time)
    row.save()
    return row


@transaction.atomic
def working_hours_delete(*, working_hours_id: int) -> None:
    """Delete a row; the shifts it made stay (delete those one by one)."""
    therapist_id = WorkingHours.objects.values_list("therapist_id", flat=True).get(pk=working_hours_id)
    _lock_therapists([therapist_id])
    WorkingHours.objects.filter(pk=working_hours_id).delete()


# --- Generating shifts -------------------------------------------------------------


class _BusyTimes:
    """Each therapist's shifts, bucketed by UTC date so an overlap check looks at a few, not thousands."""

    def __init__(self):
        self._buckets = defaultdict(list)

    @staticmethod
    def _days(starts_at: datetime, ends_at: datetime):
        day, last = starts_at.astimezone(UTC).date(), ends_at.astimezone(UTC).date()
        while day <= last:
            yield day
            day += timedelta(days=1)

    def add(self, therapist_id: int, starts_at: datetime, ends_at: datetime) -> None:
        for day in self._days(starts_at, ends_at):
            self._buckets[therapist_id, day].append((starts_at, ends_at))

    def overlaps(self, therapist_id: int, starts_at: datetime, ends_at: datetime) -> bool:
        return any(
            s < ends_at and starts_at < e
            for day in self._days(starts_at, ends_at)
            for s, e in self._buckets[therapist_id, day]
        )


def _generating_hours() -> QuerySet:
    """Working hours that still make shifts: an active therapist at an active location they work at."""
    return WorkingHours.objects.filter(
        therapist__active=True, location__active=True, therapist__locations=F("location")
    )


@transaction.atomic
def shifts_generate(*, start: date, end: date, therapist_id: int | None = None) -> GenerateResult:
    """Make the shifts that working hours give on local dates `start` to `end` (inclusive, at most 92 days).

    One shift per working-hours row per date of its weekday, from its start
    to its end time at that date in its location's zone. Skipped (and counted
    in `skipped`): a shift that would overlap another shift of its therapist
    (an identical one made before included, so generating twice makes nothing
    new), and one whose start or end does not exist that day. Time off is not
    carved out: availability subtracts it.

    Locks the therapists first (id order), then reads their shifts in the
    span once and inserts the new ones in bulk.
    """
    if end < start:
        raise ValidationError({"to": ["Must be on or after `from`."]})
    if (end - start).days + 1 > MAX_GENERATE_DAYS:
        raise ValidationError({"to": [f"The range may cover at most {MAX_GENERATE_DAYS} days."]})
    hours_qs = _generating_hours()
    if therapist_id is not None:
        hours_qs = hours_qs.filter(therapist_id=therapist_id)
    therapist_ids = sorted(set(hours_qs.values_list("therapist_id", flat=True)))
    _lock_therapists(therapist_ids)
    # Read again under the locks: rows added meanwhile for a therapist not locked wait for the next run.
    hours = list(
        hours_qs.filter(therapist_id__in=therapist_ids)
        .select_related("location")
        .order_by("therapist_id", "weekday", "start_time", "pk")
    )

    # Local dates of every zone (UTC-12 to UTC+14) lie within a day of the UTC date.
    span_start = datetime.combine(start - timedelta(days=1), time.min, tzinfo=UTC)
    span_end = datetime.combine(end + timedelta(days=2), time.min, tzinfo=UTC)
    taken = _BusyTimes()
    existing = _overlapping(Shift.objects.filter(therapist_id__in=therapist_ids), span_start, span_end)
    for therapist, starts_at, ends_at in existing.values_list("therapist_id", "starts_at", "ends_at"):
        taken.add(therapist, starts_at, ends_at)

    by_weekday = defaultdict(list)
    for row in hours:
        by_weekday[row.weekday].append(row)
    zones: dict[int, ZoneInfo] = {}
    new_shifts, skipped = [], 0
    day = start
    while day <= end:
        for row in by_weekday[day.weekday()]:
            tz = zones.get(row.location_id) or zones.setdefault(row.location_id, row.location.tz)
            starts_at, ends_at = local_to_utc(day, row.start_time, tz), local_to_utc(day, row.end_time, tz)
            if starts_at is None or ends_at is None or taken.overlaps(row.therapist_id, starts_at, ends_at):
                skipped += 1
                continue
            taken.add(row.therapist_id, starts_at, ends_at)
            new_shifts.append(
                Shift(therapist_id=row.therapist_id, location_id=row.location_id, starts_at=starts_at, ends_at=ends_at)
            )
        day += timedelta(days=1)
    try:
        with transaction.atomic():
            Shift.objects.bulk_create(new_shifts, batch_size=1000)
    except IntegrityError as exc:
        # Only a writer that skipped the therapist lock (a raw insert) can get here.
        if _is_shift_overlap(exc):
            raise ShiftOverlap() from exc
        raise
    if new_shifts:
        # One job offers the waitlist what the new shifts open, once they are committed.
        waitlist.waitlist_match_later(
            starts_at=min(shift.starts_at for shift in new_shifts),
            ends_at=max(shift.ends_at for shift in new_shifts),
            therapist_id=therapist_id,
        )
    return GenerateResult(created=len(new_shifts), skipped=skipped)


# --- One shift -----------------------------------------------------------------


def _require_no_other_shift(therapist_id: int, starts_at: datetime, ends_at: datetime, *, exclude=None) -> None:
    others = _overlapping(Shift.objects.filter(therapist_id=therapist_id), starts_at, ends_at)
    if exclude is not None:
        others = others.exclude(pk=exclude)
    if others.exists():
        raise ShiftOverlap()


def _saved(shift: Shift) -> Shift:
    """Save `shift`; a lost race on the exclusion constraint is a ShiftOverlap."""
    try:
        with transaction.atomic():
            shift.save()
    except IntegrityError as exc:
        if _is_shift_overlap(exc):
            raise ShiftOverlap() from exc
        raise
    return shift


def _stranded(shift: Shift, *, becomes: Shift | None) -> list[int]:
    """Ids of the active bookings inside `shift` (as stored) that `becomes` (None: deleted) would not cover.

    A booking lies inside one shift of its therapist at its location, and
    shifts of a therapist never overlap, so the bookings inside this shift
    have no other shift to fall back on.
    """
    inside = Booking.objects.filter(
        therapist_id=shift.therapist_id,
        location_id=shift.location_id,
        status__in=ACTIVE_STATUSES,
        starts_at__gte=shift.starts_at,
        ends_at__lte=shift.ends_at,
    )
    if becomes is not None and becomes.therapist_id == shift.therapist_id and becomes.location_id == shift.location_id:
        inside = inside.exclude(starts_at__gte=becomes.starts_at, ends_at__lte=becomes.ends_at)
    return _ids(inside)


def _lock_shift(shift_id: int, *also_therapists: int) -> Shift:
    """The shift, locked after its therapist's row and `also_therapists` (in id order)."""
    while True:
        therapist_id = Shift.objects.values_list("therapist_id", flat=True).get(pk=shift_id)
        _lock_therapists([therapist_id, *also_therapists])
        shift = Shift.objects.select_for_update().get(pk=shift_id)
        if shift.therapist_id == therapist_id:  # else it moved to another therapist meanwhile: lock theirs
            return shift


@transaction.atomic
def shift_create(*, therapist: Therapist, location: Location, starts_at: datetime, ends_at: datetime) -> Shift:
    """One shift of `therapist` at `location` (where they must work).

    Overlapping another shift of the therapist, at any location → ShiftOverlap.
    """
    _lock_therapists([therapist.pk])
    _require_span(starts_at, ends_at)
    _require_works_at(therapist, location)
    _require_no_other_shift(therapist.pk, starts_at, ends_at)
    shift = _saved(Shift(therapist=therapist, location=location, starts_at=starts_at, ends_at=ends_at))
    waitlist.waitlist_match_later(
        starts_at=starts_at, ends_at=ends_at, therapist_id=therapist.pk, location_id=location.pk
    )
    return shift


@transaction.atomic
def shift_update(*, shift_id: int, **changes) -> Shift:
    """Move, stretch or shorten a shift, or give it to another therapist or location.

    → ShiftOverlap when it would overlap another shift of its therapist;
    → ShiftHasBookings (with their ids) when an active booking inside it
    would be left outside it. Locks the old and the new therapist (id order),
    then the shift.
    """
    therapist = changes.get("therapist")
    shift = _lock_shift(shift_id, *([therapist.pk] if therapist else []))
    before = Shift(
        pk=shift.pk,
        therapist_id=shift.therapist_id,
        location_id=shift.location_id,
        starts_at=shift.starts_at,
        ends_at=shift.ends_at,
    )
    for field, value in changes.items():
        setattr(shift, field, value)
    _require_span(shift.starts_at, shift.ends_at)
    if "therapist" in changes or "location" in changes:
        _require_works_at(shift.therapist, shift.location)
    _require_no_other_shift(shift.therapist_id, shift.starts_at, shift.ends_at, exclude=shift.pk)
    stranded = _stranded(before, becomes=shift)
    if stranded:
        raise ShiftHasBookings(conflicts=stranded)
    shift = _saved(shift)
    # A shift moved or stretched may open time: the waitlist is offered it by a job.
    waitlist.waitlist_match_later(
        starts_at=shift.starts_at, ends_at=shift.ends_at, therapist_id=shift.therapist_id, location_id=shift.location_id
    )
    return shift


@transaction.atomic
def shift_delete(*, shift_id: int) -> None:
    """Delete a shift; with active bookings inside it → ShiftHasBookings (with their ids)."""
    shift = _lock_shift(shift_id)
    stranded = _stranded(shift, becomes=None)
    if stranded:
        raise ShiftHasBookings(conflicts=stranded)
    shift.delete()


# --- Time off ----------------------------------------------------------------------


@transaction.atomic
def time_off_create(
    *, therapist: Therapist, starts_at: datetime, ends_at: datetime, reason: str = "", by: User | None = None
) -> tuple[TimeOff, list[int]]:
    """Record time off; returns it and the ids of the therapist's active bookings it overlaps.

    Those bookings are not cancelled: the front desk resolves each. Locking
    the therapist first means no booking slips in unreported meanwhile.
    """
    _lock_therapists([therapist.pk])
    _require_span(starts_at, ends_at)
    time_off = TimeOff.objects.create(
        therapist=therapist, starts_at=starts_at, ends_at=ends_at, reason=reason, created_by=by
    )
    conflicts = _ids(_active_bookings_overlapping(starts_at, ends_at).filter(therapist=therapist))
    return time_off, conflicts


@transaction.atomic
def time_off_delete(*, time_off_id: int) -> None:
    """Delete time off: that time is bookable again (the waitlist is offered it by a job)."""
    therapist_id, starts_at, ends_at = TimeOff.objects.values_list("therapist_id", "starts_at", "ends_at").get(
        pk=time_off_id
    )
    _lock_therapists([therapist_id])
    TimeOff.objects.filter(pk=time_off_id).delete()
    waitlist.waitlist_match_later(starts_at=starts_at, ends_at=ends_at, therapist_id=therapist_id)


# --- Closures ---------------------------------------------------------------------


def _therapists_at(location: Location, starts_at: datetime, ends_at: datetime) -> set[int]:
    """Whoever could be booked at `location` in the span: its therapists, and any with a shift there then."""
    placed = set(location.therapists.values_list("pk", flat=True))
    on_shift = _overlapping(Shift.objects.filter(location=location), starts_at, ends_at)
    return placed | set(on_shift.values_list("therapist_id", flat=True))


@transaction.atomic
def closure_create(
    *,
    location: Location,
    starts_at: datetime,
    ends_at: datetime,
    room: Room | None = None,
    reason: str = "",
    by: User | None = None,
) -> tuple[Closure, list[int]]:
    """Close a location, or one of its rooms, for a span; returns it and the ids of the active bookings it overlaps.

    Those bookings (at the location, or in that room) are not cancelled.
    Locks the therapists who could be booked there then (id order), so no
    booking slips in unreported meanwhile.
    """
    if room is not None and room.location_id != location.pk:
        raise ValidationError({"room": [f"{room.name} is not a room of {location.name}."]})
    _require_span(starts_at, ends_at)
    _lock_therapists(_therapists_at(location, starts_at, ends_at))
    closure = Closure.objects.create(
        location=location, room=room, starts_at=starts_at, ends_at=ends_at, reason=reason, created_by=by
    )
    where = Q(room=room) if room is not None else Q(location=location)
    conflicts = _ids(_active_bookings_overlapping(starts_at, ends_at).filter(where))
    return closure, conflicts


@transaction.atomic
def closure_delete(*, closure_id: int) -> None:
    """Delete a closure: that time is bookable again (the waitlist is offered it by a job)."""
    closure = Closure.objects.filter(pk=closure_id).first()
    if closure is None:
        return
    closure.delete()
    waitlist.waitlist_match_later(starts_at=closure.starts_at, ends_at=closure.ends_at, location_id=closure.location_id)
