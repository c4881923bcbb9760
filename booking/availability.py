"""What a client may book: the one definition of "bookable", shared by the
availability list and the booking services.

A slot is bookable when it is open, has no confirmed booking, belongs to an
active therapist, and starts inside the booking window: no earlier than
`now + min_notice_hours` and no later than `now + booking_horizon_days`.
"""

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from django.db.models import Exists, OuterRef, QuerySet
from django.utils import timezone

from booking.models import Booking, Slot
from clinic.models import Clinic, Therapist

MAX_RANGE_DAYS = 31

# The local dates the API accepts: wider than any real schedule, and far
# enough from the ends of Python's calendar (years 1 and 9999) that a day's
# bounds, and slot generation's margin of a day or two, always exist.
EARLIEST_DATE = date(1900, 1, 1)
LATEST_DATE = date(9998, 12, 31)


@dataclass(frozen=True)
class BookingWindow:
    """The span of start times a client may book at `now`."""

    earliest: datetime
    latest: datetime

    @classmethod
    def of(cls, clinic: Clinic, now: datetime | None = None) -> "BookingWindow":
        now = now or timezone.now()
        return cls(
            earliest=now + timedelta(hours=clinic.min_notice_hours),
            latest=now + timedelta(days=clinic.booking_horizon_days),
        )

    def contains(self, starts_at: datetime) -> bool:
        return self.earliest <= starts_at <= self.latest


def local_day_bounds(day: date, tz: ZoneInfo) -> tuple[datetime, datetime]:
    """[local midnight of `day`, local midnight of the next day) as aware datetimes.

    Correct across daylight-saving changes: a spring-forward day is 23 hours long.
    """
    start = datetime.combine(day, time.min, tzinfo=tz)
    end = datetime.combine(day + timedelta(days=1), time.min, tzinfo=tz)
    return start, end


def active_booking_exists() -> Exists:
    """`Exists(...)` of a confirmed booking on the outer slot."""
    return Exists(Booking.objects.filter(slot=OuterRef("pk"), status=Booking.Status.CONFIRMED))


def slot_is_bookable(slot: Slot, *, window: BookingWindow) -> bool:
    """Whether a (locked) slot may be booked now; the caller checks it has no confirmed booking."""
    return slot.status == Slot.Status.OPEN and slot.therapist.active and window.contains(slot.starts_at)


def availability(
    *,
    clinic: Clinic,
    start: date,
    end: date,
    therapist_id: int | None = None,
    modality: str | None = None,
    now: datetime | None = None,
) -> QuerySet:
    """The bookable slots whose local start date is in [start, end] (`end` inclusive).

    Returns plain rows (`values()`), ordered by start time then therapist, so
    one page costs one query whatever its size. The query runs on the partial
    index `slot_open_start_idx` (open slots by start time) and probes
    `booking_one_confirmed_per_slot` for the NOT EXISTS.
    """
    window = BookingWindow.of(clinic, now)
    range_start, _ = local_day_bounds(start, clinic.tz)
    _, range_end = local_day_bounds(end, clinic.tz)
    qs = Slot.objects.filter(
        status=Slot.Status.OPEN,
        starts_at__gte=max(range_start, window.earliest),
        starts_at__lt=range_end,
        starts_at__lte=window.latest,
        therapist__active=True,
    ).filter(~active_booking_exists())
    if therapist_id is not None:
        qs = qs.filter(therapist_id=therapist_id)
    if modality:
        qs = qs.filter(Therapist.trained_for_q(modality, prefix="therapist__"))
    return qs.order_by("starts_at", "therapist_id", "id").values(
        "id",
        "therapist_id",
        "therapist__user__first_name",
        "therapist__user__last_name",
        "therapist__user__email",
        "starts_at",
        "ends_at",
    )
