"""Reads of the clinic's settings and people."""

from contextlib import contextmanager
from contextvars import ContextVar
from datetime import datetime

from django.conf import settings
from django.db.models import Q, QuerySet
from django.utils import timezone

from clinic.models import Clinic, Location, Room, Service, Therapist

# Within one request the clinic row is read once (see clinic.middleware);
# outside a request every call reads it afresh.
_request_clinic: ContextVar[dict | None] = ContextVar("request_clinic", default=None)


@contextmanager
def clinic_read_once():
    """Within this block `clinic_get()` reads the row at most once."""
    token = _request_clinic.set({})
    try:
        yield
    finally:
        _request_clinic.reset(token)


def clinic_get() -> Clinic:
    """The clinic's single settings row, created from the environment on first use."""
    memo = _request_clinic.get()
    if memo is not None and "clinic" in memo:
        return memo["clinic"]
    clinic, created = Clinic.objects.get_or_create(
        pk=1,
        defaults={
            "name": settings.CLINIC_NAME,
            "time_zone": settings.CLINIC_TIME_ZONE,
            "currency": settings.CLINIC_CURRENCY,
        },
    )
    if created and not Location.objects.exists():
        # The first location takes CLINIC_TIME_ZONE, like the clinic.
        Location.objects.create(name=settings.CLINIC_NAME, time_zone=settings.CLINIC_TIME_ZONE)
    if memo is not None:
        memo["clinic"] = clinic
    return clinic


def therapist_list(
    *, modality: str | None = None, location: Location | None = None, include_inactive: bool = False
) -> QuerySet[Therapist]:
    """Therapists with their user and locations, optionally only those trained for `modality` or at `location`."""
    qs = Therapist.objects.select_related("user").prefetch_related("locations")
    if not include_inactive:
        qs = qs.filter(active=True)
    if modality:
        qs = qs.filter(Therapist.trained_for_q(modality))
    if location is not None:
        qs = qs.filter(locations=location)
    return qs


def location_list(*, include_inactive: bool = False) -> QuerySet[Location]:
    """The clinic's locations in id order; the active ones unless `include_inactive`."""
    qs = Location.objects.all()
    return qs if include_inactive else qs.filter(active=True)


def room_list(*, location: Location | None = None) -> QuerySet[Room]:
    """Rooms, active or not, by location then id; only `location`'s when given."""
    qs = Room.objects.all()
    return qs if location is None else qs.filter(location=location)


def service_list(*, include_inactive: bool = False) -> QuerySet[Service]:
    """What clients can buy, shortest first; the active services unless `include_inactive`."""
    qs = Service.objects.all()
    return qs if include_inactive else qs.filter(active=True)


# --- Bookings that depend on a location, room or therapist --------------------------
# The clinic app does not import the booking app (booking depends on clinic,
# never the reverse): bookings are reached through the reverse relations
# `location.bookings`, `room.bookings`, `therapist.bookings`, and their
# statuses are booking.models.Booking.Status values.

BOOKING_CONFIRMED = "confirmed"
BOOKING_HELD = "held"


def future_active_q(now: datetime | None = None) -> Q:
    """Bookings that still need their therapist, location and room, starting after `now`.

    Confirmed ones, and held ones (a waitlist offer) whose hold has not
    expired: an expired hold no longer counts, whatever its status says.
    """
    now = now or timezone.now()
    return Q(starts_at__gt=now) & (Q(status=BOOKING_CONFIRMED) | Q(status=BOOKING_HELD, hold_expires_at__gt=now))


def needing_modality_q(modality: str) -> Q:
    """Bookings whose intake asks for `modality`: the therapist's review if any, else the suggestion.

    A pending intake (none yet) needs no modality.
    """
    return Q(intake__reviewed_modality=modality) | Q(intake__reviewed_modality="", intake__suggested_modality=modality)


def future_booking_ids(bookings: QuerySet, *filters: Q) -> list[int]:
    """Ids of the active future bookings among `bookings` (a reverse relation's manager or queryset)."""
    return list(bookings.filter(future_active_q(), *filters).order_by("pk").values_list("pk", flat=True))
