"""Reads of the clinic's settings and people."""

from contextlib import contextmanager
from contextvars import ContextVar

from django.conf import settings
from django.db.models import QuerySet

from clinic.models import Clinic, Location, Therapist

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


def therapist_list(*, modality: str | None = None, include_inactive: bool = False) -> QuerySet[Therapist]:
    """Therapists with their user, optionally only those trained for `modality`."""
    qs = Therapist.objects.select_related("user")
    if not include_inactive:
        qs = qs.filter(active=True)
    if modality:
        qs = qs.filter(Therapist.trained_for_q(modality))
    return qs
