"""What each caller may read through the FHIR API: the same scopes as the JSON API's.

| resource | who sees what (any other id is a 404) |
|---|---|
| Appointment | a client their own bookings, a therapist theirs, the front desk all (`booking_list_for`) |
| Practitioner, Location, HealthcareService, Schedule | anyone signed in the active ones; the front desk all |
| Questionnaire | any signed-in user (the form is public in the JSON API) |
| QuestionnaireResponse | the intake endpoint's decision and audit row (`booking_intake_read` below) |

(The front desk sees inactive therapists, locations and services with `active: false`, as in the JSON API.)

Every queryset here loads what `integrations.fhir.resources` renders in
its own query (relations joined), so a page of any size costs the same.
"""

from django.db.models import OuterRef, QuerySet, Subquery
from django.utils import timezone
from rest_framework.exceptions import NotFound, PermissionDenied

from booking.api import intake_views
from booking.models import Booking, Shift
from booking.selectors import booking_list_for
from clinic import selectors as clinic_selectors
from clinic.models import Location, Service, Therapist, User
from intake.models import IntakeAccess

TherapistLocation = Therapist.locations.through


def appointments_for(user: User) -> QuerySet[Booking]:
    """The bookings `user` may see, in start order (the booking API's scope)."""
    return booking_list_for(user)


def practitioners_for(user: User) -> QuerySet[Therapist]:
    return clinic_selectors.therapist_list(include_inactive=user.is_front_desk).prefetch_related(None).order_by("pk")


def locations_for(user: User) -> QuerySet[Location]:
    return clinic_selectors.location_list(include_inactive=user.is_front_desk).order_by("pk")


def services_for(user: User) -> QuerySet[Service]:
    return clinic_selectors.service_list(include_inactive=user.is_front_desk).order_by("duration_minutes", "pk")


def bookable_locations() -> list[Location]:
    """Where every service is offered: the active locations (a service is not tied to one)."""
    return list(clinic_selectors.location_list())


def schedules_for(user: User) -> QuerySet:
    """Each therapist at each location they work at (`Therapist.locations` rows), with the span of their shifts
    there that have not ended (`horizon_start`, `horizon_end`; None without any)."""
    now = timezone.now()
    shifts = Shift.objects.filter(
        therapist_id=OuterRef("therapist_id"), location_id=OuterRef("location_id"), ends_at__gt=now
    )
    rows = TherapistLocation.objects.select_related("therapist__user", "location").annotate(
        horizon_start=Subquery(shifts.order_by("starts_at").values("starts_at")[:1]),
        horizon_end=Subquery(shifts.order_by("-ends_at").values("ends_at")[:1]),
    )
    if not user.is_front_desk:
        rows = rows.filter(therapist__active=True, location__active=True)
    return rows.order_by("therapist_id", "location_id")


def booking_intake_read(*, booking_id: int, request) -> Booking:
    """The booking whose intake `request.user` reads as a QuestionnaireResponse, audited; else 403 or 404.

    The decision and the audit row are the intake endpoint's
    (`GET /api/v1/bookings/{id}/intake/`, booking/api/intake_views.py): its
    `_authorize` with the readers FHIR allows (the booking's therapist and
    admins: its client reads the intake there, staff never), and its
    `_log`, which writes kind `intake`, channel `api`, the caller's address,
    `allowed` or `denied`. So a refused attempt is logged like one on the
    endpoint (403 to staff and to the booking's client, 404 to anyone else),
    and a pending intake is a 404 with no row.
    """
    booking = intake_views._booking(booking_id)
    try:
        intake_views._authorize(request.user, booking, {intake_views.THERAPIST, intake_views.ADMIN})
    except (NotFound, PermissionDenied):
        intake_views.BookingIntakeView._log(request, booking, IntakeAccess.Outcome.DENIED)
        raise
    if booking.intake is None:
        raise NotFound("The client has not completed the intake for this booking yet.")
    intake_views.BookingIntakeView._log(request, booking, IntakeAccess.Outcome.ALLOWED)
    return booking
