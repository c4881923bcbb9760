"""What each caller may read through the FHIR API: the same scopes as the JSON API's.

| resource | who sees what (any other id is a 404) |
|---|---|
| Appointment | a client their own bookings, a therapist theirs, the front desk all (`booking_list_for`) |
| Practitioner, Location, HealthcareService, Schedule | anyone signed in the active ones; the front desk all |
| Questionnaire | any signed-in user (the form is public in the JSON API) |
| QuestionnaireResponse | the intake endpoint's decision and audit row, channel `fhir` (`booking_intake_read` below) |

(The front desk sees inactive therapists, locations and services with `active: false`, as in the JSON API.)

Every queryset here loads what `integrations.fhir.resources` renders in
its own query (relations joined), so a page of any size costs the same.
"""

from django.db.models import OuterRef, QuerySet, Subquery
from django.utils import timezone
from rest_framework.exceptions import NotFound, PermissionDenied

from booking import intake_access
from booking.models import Booking, Shift
from booking.selectors import booking_list_for
from clinic import selectors as clinic_selectors
from clinic.models import Location, Service, Therapist, User
from config.security import client_ip
from intake.models import IntakeAccess

TherapistLocation = Therapist.locations.through

# Who reads a booking's intake as a QuestionnaireResponse: its client reads it at the intake endpoint.
FHIR_INTAKE_READERS = frozenset({intake_access.THERAPIST, intake_access.ADMIN})


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
    (`booking.intake_access.booking_intake_read`), with the readers FHIR
    allows (the booking's therapist and admins: its client reads the intake
    there, staff never) and channel `fhir`: each read writes kind `intake`,
    the caller's address, `allowed`; a refused attempt is logged `denied`
    as one on the endpoint is (403 to staff and to the booking's client,
    404 to anyone else), and a pending intake is a 404 with no row. The
    view turns the 403 and 404 into OperationOutcomes.
    """
    try:
        return intake_access.booking_intake_read(
            booking_id=booking_id,
            user=request.user,
            remote_addr=client_ip(request),
            channel=IntakeAccess.Channel.FHIR,
            readers=FHIR_INTAKE_READERS,
        )
    except intake_access.BookingNotFound as error:
        raise NotFound(error.detail) from error
    except intake_access.IntakeAccessRefused as error:
        raise PermissionDenied(error.detail) from error
