"""The FHIR R4 read API: `GET /api/v1/fhir/{type}` (search) and `GET /api/v1/fhir/{type}/{id}` (read).

Types: Appointment, Practitioner, Location, HealthcareService, Schedule,
Questionnaire (search and read) and QuestionnaireResponse (read: a
booking's intake, by the booking's id). Every answer is an R4B resource or
a `searchset` Bundle, `application/fhir+json`, errors as OperationOutcomes
(integrations/fhir/outcome.py). Who sees what: integrations/fhir/selectors.py;
the mapping: integrations/fhir/resources.py; parameters and paging:
integrations/fhir/search.py. Every caller must be signed in (401).
"""

from django.db.models import QuerySet
from django.urls import reverse
from drf_spectacular.utils import OpenApiExample, OpenApiParameter, extend_schema, extend_schema_view
from rest_framework.exceptions import NotFound
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response
from rest_framework.views import APIView

from clinic.selectors import clinic_get
from intake.form import FORM_VERSION
from integrations.fhir import resources, schema, search, selectors
from integrations.fhir.outcome import outcome_for
from integrations.fhir.rendering import FhirContentNegotiation, FhirJSONRenderer

ID_PATTERN = r"^[A-Za-z0-9\-.]{1,64}$"
ID = OpenApiParameter("id", str, OpenApiParameter.PATH, pattern=ID_PATTERN, description="The resource's id.")
FORMAT = OpenApiParameter(
    "_format", str, enum=list(search.FORMATS), description="JSON only: another value is a 406 (as an `Accept` is)."
)
PAGING = [
    OpenApiParameter(
        "_count",
        {"type": "integer", "minimum": 0},
        description=f"Entries a page ({search.DEFAULT_COUNT} by default, at most {search.MAX_COUNT}: more is read as "
        f"{search.MAX_COUNT}); 0 answers the `total` alone.",
    ),
    OpenApiParameter(
        "page",
        {"type": "integer", "minimum": 1},
        description="The page, from 1; follow the Bundle's `next` and `previous` links.",
    ),
    FORMAT,
]
SEARCH_HELP = (
    " A `searchset` Bundle with `total` and `self`, `first`, `last`, `next` and `previous` links "
    "(`_count`, `page`). An unknown parameter or a malformed value is a 400 OperationOutcome."
)


TYPES = (
    "Appointment",
    "Practitioner",
    "Location",
    "HealthcareService",
    "Schedule",
    "Questionnaire",
    "QuestionnaireResponse",
)


def _int_id(value: str) -> int | None:
    return int(value) if value.isascii() and value.isdigit() and len(value) <= 18 else None


class FhirView(APIView):
    """What every FHIR endpoint shares: sign-in, FHIR JSON in every answer, errors as OperationOutcomes."""

    permission_classes = [IsAuthenticated]
    renderer_classes = [FhirJSONRenderer]
    content_negotiation_class = FhirContentNegotiation
    metadata_class = None  # OPTIONS is a 405 like any method but GET: its answer would be no FHIR resource
    schema = schema.FhirAutoSchema()
    resource_type = ""

    def handle_exception(self, exc):
        # The project's handler decides the status and headers (WWW-Authenticate, Retry-After);
        # its body becomes an OperationOutcome.
        response = super().handle_exception(exc)
        response.data = outcome_for(response.status_code, response.data, code=getattr(exc, "fhir_code", None))
        return response

    def resource_url(self, resource_id) -> str:
        return self.request.build_absolute_uri(reverse(f"fhir-{self.resource_type.lower()}-read", args=[resource_id]))


class FhirSearchView(FhirView):
    """`GET /fhir/{type}`: the caller's scope of the type (`get_queryset`), filtered, a page at a time."""

    parameters: dict = {}

    def get_queryset(self) -> QuerySet:
        raise NotImplementedError

    def filtered(self, queryset: QuerySet, query: search.Search) -> QuerySet:
        return queryset

    def to_resources(self, rows: list) -> list:
        raise NotImplementedError

    def get(self, request):
        query = search.parse(request.query_params, self.parameters)
        rows = self.filtered(self.get_queryset(), query)
        if query.count == 0:
            return Response(resources.searchset(total=rows.count(), links=[("self", self._url())], entries=[]))
        offset = (query.page - 1) * query.count
        page = list(rows[offset : offset + query.count])
        # A first page shorter than `_count` is every match: no COUNT query.
        total = len(page) if query.page == 1 and len(page) < query.count else rows.count()
        last = max(1, -(-total // query.count))
        if query.page > last:
            raise NotFound(f"Page {query.page} is past the last page ({last}) of these results.")
        links = [("self", self._url()), ("first", self._url(page=1))]
        if query.page > 1:
            links.append(("previous", self._url(page=query.page - 1)))
        if query.page < last:
            links.append(("next", self._url(page=query.page + 1)))
        links.append(("last", self._url(page=last)))
        entries = [(self.resource_url(resource.id), resource) for resource in self.to_resources(page)]
        return Response(resources.searchset(total=total, links=links, entries=entries))

    def _url(self, **changes) -> str:
        params = self.request.query_params.copy()
        for name, value in changes.items():
            params[name] = str(value)
        query = params.urlencode()
        return self.request.build_absolute_uri(self.request.path + (f"?{query}" if query else ""))


class FhirReadView(FhirView):
    """`GET /fhir/{type}/{id}`: one resource of the caller's scope, else a 404."""

    def get_resource(self, resource_id: str):
        raise NotImplementedError

    def get(self, request, pk: str):
        search.parse(request.query_params, {}, search=False)
        resource = self.get_resource(pk)
        if resource is None:
            raise NotFound(f"No {self.resource_type} with id {pk[:64]!r} that you may see.")
        return Response(resource)


def _search_schema(resource_type: str, summary: str, description: str, parameters=(), examples=()):
    return extend_schema(
        operation_id=f"fhir_{_snake(resource_type)}_search",
        summary=summary,
        description=description + SEARCH_HELP,
        parameters=[*parameters, *PAGING],
        responses=schema.search_responses(f"Fhir{resource_type}"),
        examples=list(examples),
    )


def _read_schema(resource_type: str, summary: str, description: str, extra: dict | None = None):
    return extend_schema(
        operation_id=f"fhir_{_snake(resource_type)}_read",
        summary=summary,
        description=description,
        parameters=[ID, FORMAT],
        responses={**schema.read_responses(f"Fhir{resource_type}"), **(extra or {})},
    )


def _snake(name: str) -> str:
    return "".join(f"_{c.lower()}" if c.isupper() else c for c in name).lstrip("_")


# --- Appointment ----------------------------------------------------------------------------

APPOINTMENT_SCOPE = (
    "A client sees their own bookings, a therapist theirs, the front desk all. No health data: the final "
    "modality is `serviceType`; the intake is the QuestionnaireResponse of the same id. Status: confirmed → "
    "`booked`, completed → `fulfilled`, no_show → `noshow`, cancelled → `cancelled` (held for a waitlist offer → "
    "`pending`)."
)
APPOINTMENT_EXAMPLE = {
    "resourceType": "Appointment",
    "id": "1042",
    "meta": {"lastUpdated": "2026-11-24T16:05:12Z"},
    "status": "booked",
    "serviceType": [{"text": "Therapeutic massage"}],
    "description": "Massage, 60 min",
    "supportingInformation": [{"reference": "QuestionnaireResponse/1042", "display": "Intake"}],
    "start": "2026-12-01T14:00:00Z",
    "end": "2026-12-01T15:00:00Z",
    "minutesDuration": 60,
    "created": "2026-11-24T16:05:12Z",
    "participant": [
        {
            "actor": {"reference": "Practitioner/7", "display": "Ana Silva"},
            "required": "required",
            "status": "accepted",
        },
        {"actor": {"display": "Maria Lopez"}, "required": "required", "status": "accepted"},
        {
            "actor": {"reference": "Location/2", "display": "Midtown · Room 2"},
            "required": "required",
            "status": "accepted",
        },
        {"actor": {"reference": "HealthcareService/3", "display": "Massage, 60 min"}, "status": "accepted"},
    ],
}


@extend_schema_view(
    get=_search_schema(
        "Appointment",
        "Search appointments (bookings) by date, practitioner and status",
        APPOINTMENT_SCOPE + " In start order. `date`: the start, `[prefix]YYYY[-MM[-DD]]` (local dates at each "
        "booking's location) or a time with its UTC offset; prefixes eq, ne, gt, lt, ge, le, sa, eb. `practitioner`: "
        "`Practitioner/{id}` or `{id}`. `status`: FHIR appointment status codes. Repeat a parameter to match both "
        "(AND); separate values with commas to match either (OR).",
        parameters=[
            OpenApiParameter(
                "date",
                str,
                many=True,
                pattern=r"^(eq|ne|gt|lt|ge|le|sa|eb)?\d{4}(-\d{2}(-\d{2}(T\d{2}:\d{2}(:\d{2})?(Z|[+-]\d{2}:\d{2}))?)?)?$",
                description="The start: e.g. `2026-12-01`, `ge2026-12-01`, `lt2026-12-01T12:00:00Z`.",
            ),
            OpenApiParameter(
                "practitioner", str, many=True, pattern=r"^(Practitioner/)?\d+$", description="e.g. `Practitioner/7`."
            ),
            OpenApiParameter(
                "status", str, many=True, enum=list(resources.APPOINTMENT_STATUS_CODES), description="e.g. `booked`."
            ),
        ],
        examples=[
            OpenApiExample(
                "A page of one",
                response_only=True,
                value={
                    "resourceType": "Bundle",
                    "type": "searchset",
                    "timestamp": "2026-12-01T15:00:00Z",
                    "total": 1,
                    "link": [
                        {"relation": "self", "url": "http://127.0.0.1:8000/api/v1/fhir/Appointment?date=2026-12-01"}
                    ],
                    "entry": [
                        {
                            "fullUrl": "http://127.0.0.1:8000/api/v1/fhir/Appointment/1042",
                            "resource": APPOINTMENT_EXAMPLE,
                            "search": {"mode": "match"},
                        }
                    ],
                },
            )
        ],
    )
)
class AppointmentSearchView(FhirSearchView):
    resource_type = "Appointment"
    parameters = search.APPOINTMENT_PARAMETERS

    def get_queryset(self):
        return selectors.appointments_for(self.request.user)

    def filtered(self, queryset, query):
        return search.appointments_filtered(queryset, query)

    def to_resources(self, rows):
        return [resources.appointment(booking) for booking in rows]


@extend_schema_view(
    get=_read_schema("Appointment", "Read an appointment (a booking)", APPOINTMENT_SCOPE + " Anyone else: 404.")
)
class AppointmentReadView(FhirReadView):
    resource_type = "Appointment"

    def get_resource(self, resource_id):
        pk = _int_id(resource_id)
        booking = selectors.appointments_for(self.request.user).filter(pk=pk).first() if pk else None
        return resources.appointment(booking) if booking else None


# --- Practitioner, Location, HealthcareService, Schedule -------------------------------------

DIRECTORY_SCOPE = (
    "Any signed-in user sees the active ones; the front desk also the inactive ones (`active: false`), as in the "
    "JSON API."
)


@extend_schema_view(
    get=_search_schema(
        "Practitioner",
        "Search practitioners (therapists)",
        "Therapists, with the modalities they are trained in (`qualification`). " + DIRECTORY_SCOPE,
    )
)
class PractitionerSearchView(FhirSearchView):
    resource_type = "Practitioner"

    def get_queryset(self):
        return selectors.practitioners_for(self.request.user)

    def to_resources(self, rows):
        return [resources.practitioner(therapist) for therapist in rows]


@extend_schema_view(get=_read_schema("Practitioner", "Read a practitioner (a therapist)", DIRECTORY_SCOPE))
class PractitionerReadView(FhirReadView):
    resource_type = "Practitioner"

    def get_resource(self, resource_id):
        pk = _int_id(resource_id)
        therapist = selectors.practitioners_for(self.request.user).filter(pk=pk).first() if pk else None
        return resources.practitioner(therapist) if therapist else None


@extend_schema_view(
    get=_search_schema(
        "Location",
        "Search locations",
        "The clinic's locations, with their address and IANA time zone (extension "
        f"`{resources.TIMEZONE_EXTENSION}`). " + DIRECTORY_SCOPE,
    )
)
class LocationSearchView(FhirSearchView):
    resource_type = "Location"

    def get_queryset(self):
        return selectors.locations_for(self.request.user)

    def to_resources(self, rows):
        return [resources.location(place) for place in rows]


@extend_schema_view(get=_read_schema("Location", "Read a location", DIRECTORY_SCOPE))
class LocationReadView(FhirReadView):
    resource_type = "Location"

    def get_resource(self, resource_id):
        pk = _int_id(resource_id)
        place = selectors.locations_for(self.request.user).filter(pk=pk).first() if pk else None
        return resources.location(place) if place else None


@extend_schema_view(
    get=_search_schema(
        "HealthcareService",
        "Search healthcare services (what clients book)",
        "The services: a session's length, the buffer after it and the price (`extraDetails`), offered at every "
        "active location. " + DIRECTORY_SCOPE,
    )
)
class HealthcareServiceSearchView(FhirSearchView):
    resource_type = "HealthcareService"

    def get_queryset(self):
        return selectors.services_for(self.request.user)

    def to_resources(self, rows):
        if not rows:
            return []
        currency, places = clinic_get().currency, selectors.bookable_locations()
        return [resources.healthcare_service(service, currency=currency, locations=places) for service in rows]


@extend_schema_view(get=_read_schema("HealthcareService", "Read a healthcare service", DIRECTORY_SCOPE))
class HealthcareServiceReadView(FhirReadView):
    resource_type = "HealthcareService"

    def get_resource(self, resource_id):
        pk = _int_id(resource_id)
        service = selectors.services_for(self.request.user).filter(pk=pk).first() if pk else None
        if service is None:
            return None
        return resources.healthcare_service(
            service, currency=clinic_get().currency, locations=selectors.bookable_locations()
        )


SCHEDULE_HELP = (
    "A therapist's schedule at one location they work at, id `{therapist}-{location}`; its `planningHorizon` "
    "spans their shifts there that have not ended (none: no horizon). " + DIRECTORY_SCOPE
)


def _schedule(row):
    return resources.schedule(row.therapist, row.location, horizon_start=row.horizon_start, horizon_end=row.horizon_end)


@extend_schema_view(get=_search_schema("Schedule", "Search schedules (a therapist at a location)", SCHEDULE_HELP))
class ScheduleSearchView(FhirSearchView):
    resource_type = "Schedule"

    def get_queryset(self):
        return selectors.schedules_for(self.request.user)

    def to_resources(self, rows):
        return [_schedule(row) for row in rows]


@extend_schema_view(get=_read_schema("Schedule", "Read a schedule (a therapist at a location)", SCHEDULE_HELP))
class ScheduleReadView(FhirReadView):
    resource_type = "Schedule"

    def get_resource(self, resource_id):
        therapist_id, _, location_id = resource_id.partition("-")
        therapist_pk, location_pk = _int_id(therapist_id), _int_id(location_id)
        if not (therapist_pk and location_pk):
            return None
        rows = selectors.schedules_for(self.request.user)
        row = rows.filter(therapist_id=therapist_pk, location_id=location_pk).first()
        return _schedule(row) if row else None


# --- Questionnaire and QuestionnaireResponse ------------------------------------------------

QUESTIONNAIRE_HELP = (
    f"The intake form as a Questionnaire, id `{resources.QUESTIONNAIRE_ID}`, `version` the form's (now "
    f"{FORM_VERSION}): one item per question, `linkId` its key (as in the answers), choices as `answerOption` "
    "codes. Any signed-in user."
)


def _questionnaire_url(request) -> str:
    return request.build_absolute_uri(reverse("fhir-questionnaire-read", args=[resources.QUESTIONNAIRE_ID]))


@extend_schema_view(get=_search_schema("Questionnaire", "Search questionnaires (the intake form)", QUESTIONNAIRE_HELP))
class QuestionnaireSearchView(FhirSearchView):
    resource_type = "Questionnaire"

    def get_queryset(self):
        return _OneRow([resources.questionnaire(url=_questionnaire_url(self.request))])

    def to_resources(self, rows):
        return rows


class _OneRow(list):
    """A list that pages like a queryset (the Questionnaire search has one row, and no table)."""

    def count(self) -> int:
        return len(self)


@extend_schema_view(get=_read_schema("Questionnaire", "Read the intake form as a questionnaire", QUESTIONNAIRE_HELP))
class QuestionnaireReadView(FhirReadView):
    resource_type = "Questionnaire"

    def get_resource(self, resource_id):
        if resource_id != resources.QUESTIONNAIRE_ID:
            return None
        return resources.questionnaire(url=_questionnaire_url(self.request))


@extend_schema_view(
    get=_read_schema(
        "QuestionnaireResponse",
        "Read a booking's intake as a questionnaire response",
        "The answers of a booking's intake, id the booking's (its Appointment's): health data, for the booking's "
        "therapist and admins only, audit-logged like every read of an intake (kind `intake`, with the caller's "
        "address), refused attempts too. Front-desk staff and the booking's client: 403 (the client reads their "
        "intake at GET /api/v1/bookings/{id}/intake/); anyone else, or an intake still pending: 404. There is no "
        "search: read each by its Appointment's id.",
        extra={403: schema.FORBIDDEN},
    )
)
class QuestionnaireResponseReadView(FhirReadView):
    resource_type = "QuestionnaireResponse"

    def get_resource(self, resource_id):
        pk = _int_id(resource_id)
        if pk is None:
            return None
        booking = selectors.booking_intake_read(booking_id=pk, request=self.request)
        return resources.questionnaire_response(
            booking, booking.intake, questionnaire_url=_questionnaire_url(self.request)
        )


@extend_schema(exclude=True)  # not an operation: nothing is served here
class UnknownView(FhirView):
    """Anything else under /fhir/: an unknown type, a type without search, a malformed path. 404."""

    def get(self, request, rest: str = ""):
        resource_type = rest.split("/")[0]
        if resource_type == "QuestionnaireResponse" and "/" not in rest:
            raise NotFound(
                "QuestionnaireResponse has no search: read one at QuestionnaireResponse/{id}, the id of its "
                "Appointment."
            )
        if resource_type in TYPES:
            raise NotFound(f"No {resource_type} at {rest[:100]!r}: use /api/v1/fhir/{resource_type}[/{{id}}].")
        raise NotFound(
            f"Unknown resource type {resource_type[:64]!r}. This server reads {', '.join(TYPES)}, "
            "at /api/v1/fhir/{type}[/{id}]."
        )
