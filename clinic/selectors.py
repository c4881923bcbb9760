"""Reads of the clinic's settings and people."""

from django.conf import settings
from django.db.models import QuerySet

from clinic.models import Clinic, Therapist


def clinic_get() -> Clinic:
    """The clinic's single settings row, created from the environment on first use."""
    clinic, _ = Clinic.objects.get_or_create(
        pk=1, defaults={"name": settings.CLINIC_NAME, "time_zone": settings.CLINIC_TIME_ZONE}
    )
    return clinic


def therapist_list(*, modality: str | None = None, include_inactive: bool = False) -> QuerySet[Therapist]:
    """Therapists with their user, optionally only those trained for `modality`."""
    qs = Therapist.objects.select_related("user")
    if not include_inactive:
        qs = qs.filter(active=True)
    if modality:
        qs = qs.filter(Therapist.trained_for_q(modality))
    return qs
