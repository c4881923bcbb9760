"""Writes of the front desk's schedule: slots, their generation, time off.

Every write that could create an overlap locks the therapist's row first, so
two schedule writes for one therapist run one after the other on any number
of app processes; the exclusion constraint `slot_no_overlap_per_therapist`
stays the last line on PostgreSQL. Slot rows are locked in primary-key order.
"""

from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from django.db import IntegrityError, transaction

from booking.errors import SlotBooked, SlotHasHistory, SlotOverlap, TimeOffOverlap
from booking.models import Booking, Slot, TimeOff, WorkingHours
from clinic.models import Therapist, User
from clinic.selectors import clinic_get

MAX_GENERATE_DAYS = 92


def _lock_therapists(therapist_ids) -> None:
    list(Therapist.objects.select_for_update().filter(pk__in=therapist_ids).order_by("pk").values_list("pk"))


def _overlapping(qs, starts_at: datetime, ends_at: datetime):
    return qs.filter(starts_at__lt=ends_at, ends_at__gt=starts_at)


@dataclass(frozen=True)
class GenerateResult:
    created: int
    skipped: int


def local_to_utc(day: date, wall_time, tz: ZoneInfo) -> datetime | None:
    """The instant of local `day` + `wall_time`, or None when that wall time does
    not exist (skipped by a spring-forward change). An ambiguous time (fall-back)
    means its first occurrence."""
    local = datetime.combine(day, wall_time, tzinfo=tz)
    round_trip = local.astimezone(ZoneInfo("UTC")).astimezone(tz)
    if round_trip.replace(tzinfo=None) != local.replace(tzinfo=None):
        return None
    return local.astimezone(ZoneInfo("UTC"))


class _BusyTimes:
    """Busy spans per therapist, bucketed by UTC date so an overlap check looks at a few, not thousands."""

    def __init__(self):
        self._buckets = defaultdict(list)

    @staticmethod
    def _days(starts_at: datetime, ends_at: datetime):
        day, last = starts_at.astimezone(ZoneInfo("UTC")).date(), ends_at.astimezone(ZoneInfo("UTC")).date()
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


def _candidates(hours: WorkingHours, day: date, tz: ZoneInfo):
    """(starts_at, ends_at) of each slot the working hours give on `day`; None for a nonexistent local time."""
    step = timedelta(minutes=hours.slot_minutes + hours.buffer_minutes)
    length = timedelta(minutes=hours.slot_minutes)
    start = datetime.combine(day, hours.start_time)
    end = datetime.combine(day, hours.end_time)
    while start + length <= end:
        starts_at = local_to_utc(day, start.time(), tz)
        yield None if starts_at is None else (starts_at, starts_at + length)
        start += step


def slots_generate(*, start: date, end: date, therapist_id: int | None = None) -> GenerateResult:
    """Create the slots that working hours give between local dates `start` and `end` (inclusive).

    Idempotent: a candidate overlapping an existing slot or time off of its
    therapist is skipped, as is one whose local start time does not exist on
    that day. Slots are inserted in bulk.
    """
    clinic = clinic_get()
    tz = clinic.tz
    hours_qs = WorkingHours.objects.filter(therapist__active=True)
    if therapist_id is not None:
        hours_qs = hours_qs.filter(therapist_id=therapist_id)
    with transaction.atomic():
        hours = list(hours_qs.order_by("therapist_id", "weekday", "start_time"))
        therapist_ids = sorted({h.therapist_id for h in hours})
        _lock_therapists(therapist_ids)
        span_start = datetime.combine(start - timedelta(days=1), datetime.min.time(), tzinfo=tz)
        span_end = datetime.combine(end + timedelta(days=2), datetime.min.time(), tzinfo=tz)
        taken = _BusyTimes()
        for model in (Slot, TimeOff):
            rows = model.objects.filter(
                therapist_id__in=therapist_ids, starts_at__lt=span_end, ends_at__gt=span_start
            ).values_list("therapist_id", "starts_at", "ends_at")
            for therapist, s, e in rows:
                taken.add(therapist, s, e)
        by_weekday = defaultdict(list)
        for h in hours:
            by_weekday[h.weekday].append(h)

        new_slots, skipped = [], 0
        day = start
        while day <= end:
            for h in by_weekday[day.weekday()]:
                for candidate in _candidates(h, day, tz):
                    if candidate is None or taken.overlaps(h.therapist_id, *candidate):
                        skipped += 1
                        continue
                    taken.add(h.therapist_id, *candidate)
                    new_slots.append(Slot(therapist_id=h.therapist_id, starts_at=candidate[0], ends_at=candidate[1]))
            day += timedelta(days=1)
        Slot.objects.bulk_create(new_slots, batch_size=1000)
    return GenerateResult(created=len(new_slots), skipped=skipped)


def slot_create(*, therapist: Therapist, starts_at: datetime, ends_at: datetime) -> Slot:
    """Create one open slot; refuses an overlap with another slot or time off of that therapist."""
    try:
        with transaction.atomic():
            _lock_therapists([therapist.pk])
            if _overlapping(Slot.objects.filter(therapist=therapist), starts_at, ends_at).exists():
                raise SlotOverlap()
            if _overlapping(TimeOff.objects.filter(therapist=therapist), starts_at, ends_at).exists():
                raise TimeOffOverlap()
            return Slot.objects.create(therapist=therapist, starts_at=starts_at, ends_at=ends_at)
    except IntegrityError as exc:
        if getattr(getattr(exc.__cause__, "diag", None), "constraint_name", None) == "slot_no_overlap_per_therapist":
            raise SlotOverlap() from exc
        raise


def slot_set_status(*, slot_id: int, status: str) -> Slot:
    """Open or block a slot. Blocking a booked slot keeps its booking."""
    with transaction.atomic():
        slot = Slot.objects.select_for_update().get(pk=slot_id)
        slot.status = status
        slot.save(update_fields=["status"])
    return slot


def slot_delete(*, slot_id: int) -> None:
    """Delete a slot that never had a booking; history is never deleted."""
    with transaction.atomic():
        slot = Slot.objects.select_for_update().get(pk=slot_id)
        statuses = set(Booking.objects.filter(slot=slot).values_list("status", flat=True))
        if Booking.Status.CONFIRMED in statuses:
            raise SlotBooked()
        if statuses:
            raise SlotHasHistory()
        slot.delete()


def time_off_create(
    *, therapist: Therapist, starts_at: datetime, ends_at: datetime, reason: str = "", by: User | None = None
) -> tuple[TimeOff, list[Booking]]:
    """Record time off, block the open slots it overlaps, and return the active
    bookings it overlaps: they are reported to the front desk, not cancelled."""
    with transaction.atomic():
        _lock_therapists([therapist.pk])
        time_off = TimeOff.objects.create(
            therapist=therapist, starts_at=starts_at, ends_at=ends_at, reason=reason, created_by=by
        )
        overlapped = _overlapping(Slot.objects.filter(therapist=therapist), starts_at, ends_at)
        to_block = list(
            overlapped.filter(status=Slot.Status.OPEN).select_for_update().order_by("pk").values_list("pk", flat=True)
        )
        Slot.objects.filter(pk__in=to_block).update(status=Slot.Status.BLOCKED)
        conflicts = list(
            Booking.objects.filter(slot__in=overlapped, status=Booking.Status.CONFIRMED)
            .select_related("slot__therapist__user", "client", "intake")
            .order_by("slot__starts_at")
        )
    return time_off, conflicts


def time_off_delete(*, time_off_id: int) -> None:
    """Delete time off. Slots it blocked stay blocked: the front desk reopens
    them on purpose (a slot may also have been blocked for another reason)."""
    TimeOff.objects.filter(pk=time_off_id).delete()
