"""The FHIR API in the OpenAPI schema: its answers as `application/fhir+json`, with light schemas of each resource.

The schemas name the elements this server writes (and allow any other:
FHIR's own definitions are the full contract, linked from each). Errors are
OperationOutcomes; the 413 of the body-size guard (config/middleware.py),
which answers before any view, stays the API's JSON.
"""

from collections.abc import Callable

from drf_spectacular.extensions import OpenApiSerializerExtension
from drf_spectacular.plumbing import ResolvedComponent
from drf_spectacular.utils import OpenApiExample, OpenApiResponse
from rest_framework import serializers

from config.openapi import AutoSchema
from integrations.fhir.resources import APPOINTMENT_STATUS_CODES

SPEC = "https://hl7.org/fhir/R4B"
STRING = {"type": "string"}
INSTANT = {"type": "string", "format": "date-time"}
BOOLEAN = {"type": "boolean"}


def _object(properties: dict, *, required: tuple = (), description: str = "") -> dict:
    schema = {"type": "object", "properties": properties, "additionalProperties": True}
    if required:
        schema["required"] = list(required)
    if description:
        schema["description"] = description
    return schema


def _exactly(value: str) -> dict:
    # A pattern, not a one-value enum: drf-spectacular would make an enum component of each.
    return {"type": "string", "pattern": f"^{value}$", "example": value}


def _array(items: dict) -> dict:
    return {"type": "array", "items": items}


def _resource(resource_type: str, properties: dict, *, required: tuple = (), page: str) -> dict:
    return _object(
        {"resourceType": _exactly(resource_type), "id": STRING, **properties},
        required=("resourceType", *required),
        description=f"A FHIR R4 {resource_type} (validated against R4B, FHIR 4.3): {SPEC}/{page}.html",
    )


# Each component's schema, given `ref(name)` (a reference to another component, registered on use).
SCHEMAS: dict[str, Callable[[Callable[[str], dict]], dict]] = {
    "FhirReference": lambda ref: _object({"reference": STRING, "display": STRING}),
    "FhirCodeableConcept": lambda ref: _object({"coding": _array(_object({})), "text": STRING}),
    "FhirMeta": lambda ref: _object({"lastUpdated": INSTANT}),
    "FhirAppointment": lambda ref: _resource(
        "Appointment",
        {
            "meta": ref("FhirMeta"),
            "status": {"type": "string", "enum": list(APPOINTMENT_STATUS_CODES)},
            "serviceType": _array(ref("FhirCodeableConcept")),
            "description": STRING,
            "supportingInformation": _array(ref("FhirReference")),
            "start": INSTANT,
            "end": INSTANT,
            "minutesDuration": {"type": "integer"},
            "created": INSTANT,
            "participant": _array(
                _object(
                    {
                        "type": _array(ref("FhirCodeableConcept")),
                        "actor": ref("FhirReference"),
                        "required": STRING,
                        "status": STRING,
                    },
                    required=("status",),
                )
            ),
        },
        required=("status", "participant"),
        page="appointment",
    ),
    "FhirPractitioner": lambda ref: _resource(
        "Practitioner",
        {
            "active": BOOLEAN,
            "name": _array(_object({"text": STRING, "family": STRING, "given": _array(STRING)})),
            "qualification": _array(_object({"code": ref("FhirCodeableConcept")}, required=("code",))),
        },
        page="practitioner",
    ),
    "FhirLocation": lambda ref: _resource(
        "Location",
        {
            "extension": _array(_object({"url": STRING, "valueCode": STRING}, required=("url",))),
            "status": {"type": "string", "enum": ["active", "suspended", "inactive"]},
            "name": STRING,
            "mode": STRING,
            "address": _object({"text": STRING}),
        },
        page="location",
    ),
    "FhirHealthcareService": lambda ref: _resource(
        "HealthcareService",
        {
            "active": BOOLEAN,
            "location": _array(ref("FhirReference")),
            "name": STRING,
            "comment": STRING,
            "extraDetails": STRING,
            "appointmentRequired": BOOLEAN,
        },
        page="healthcareservice",
    ),
    "FhirSchedule": lambda ref: _resource(
        "Schedule",
        {
            "active": BOOLEAN,
            "serviceType": _array(ref("FhirCodeableConcept")),
            "actor": _array(ref("FhirReference")),
            "planningHorizon": _object({"start": INSTANT, "end": INSTANT}),
            "comment": STRING,
        },
        required=("actor",),
        page="schedule",
    ),
    "FhirQuestionnaire": lambda ref: _resource(
        "Questionnaire",
        {
            "url": STRING,
            "version": STRING,
            "name": STRING,
            "title": STRING,
            "status": STRING,
            "item": _array(
                _object(
                    {
                        "linkId": STRING,
                        "text": STRING,
                        "type": STRING,
                        "required": BOOLEAN,
                        "repeats": BOOLEAN,
                        "maxLength": {"type": "integer"},
                        "answerOption": _array(_object({"valueCoding": _object({"code": STRING, "display": STRING})})),
                        "initial": _array(_object({})),
                        "item": _array(_object({})),
                    },
                    required=("linkId", "type"),
                )
            ),
        },
        required=("status",),
        page="questionnaire",
    ),
    "FhirQuestionnaireResponse": lambda ref: _resource(
        "QuestionnaireResponse",
        {
            "meta": ref("FhirMeta"),
            "questionnaire": STRING,
            "status": STRING,
            "subject": ref("FhirReference"),
            "authored": INSTANT,
            "item": _array(
                _object({"linkId": STRING, "text": STRING, "answer": _array(_object({}))}, required=("linkId",))
            ),
        },
        required=("status",),
        page="questionnaireresponse",
    ),
    "FhirOperationOutcome": lambda ref: _resource(
        "OperationOutcome",
        {
            "issue": _array(
                _object(
                    {
                        "severity": {"type": "string", "enum": ["fatal", "error", "warning", "information"]},
                        "code": STRING,
                        "diagnostics": STRING,
                    },
                    required=("severity", "code"),
                )
            )
        },
        required=("issue",),
        page="operationoutcome",
    ),
}


def _bundle(resource_component: str) -> Callable:
    def schema(ref):
        return _resource(
            "Bundle",
            {
                "type": _exactly("searchset"),
                "timestamp": INSTANT,
                "total": {"type": "integer", "minimum": 0},
                "link": _array(_object({"relation": STRING, "url": STRING}, required=("relation", "url"))),
                "entry": _array(
                    _object(
                        {
                            "fullUrl": STRING,
                            "resource": ref(resource_component),
                            "search": _object({"mode": STRING}),
                        }
                    )
                ),
            },
            required=("type",),
            page="bundle",
        )

    return schema


for _name in [name for name in SCHEMAS if name not in ("FhirReference", "FhirCodeableConcept", "FhirMeta")]:
    if _name != "FhirOperationOutcome":
        SCHEMAS[f"{_name}Bundle"] = _bundle(_name)


class FhirBody(serializers.Serializer):
    """Documentation only: a FHIR resource's JSON, whose schema is `SCHEMAS[component]` (`FhirBodySchema`)."""

    component = ""


_BODIES: dict[str, type[FhirBody]] = {}


def fhir_body(component: str) -> type[FhirBody]:
    """The (documentation) serializer of one of SCHEMAS' components."""
    assert component in SCHEMAS, component
    if component not in _BODIES:
        _BODIES[component] = type(f"{component}Body", (FhirBody,), {"__module__": __name__, "component": component})
    return _BODIES[component]


class FhirBodySchema(OpenApiSerializerExtension):
    target_class = FhirBody
    match_subclasses = True

    def get_name(self, auto_schema, direction):
        return self.target.component

    def map_serializer(self, auto_schema, direction):
        def ref(name: str) -> dict:
            component = ResolvedComponent(
                name=name, type=ResolvedComponent.SCHEMA, object=fhir_body(name), schema=SCHEMAS[name](ref)
            )
            auto_schema.registry.register_on_missing(component)
            return component.ref

        return SCHEMAS[self.target.component](ref)


def outcome(description: str, *examples: tuple[str, str, str]) -> OpenApiResponse:
    """An error answer: an OperationOutcome; `examples` are (name, issue code, diagnostics)."""
    return OpenApiResponse(
        fhir_body("FhirOperationOutcome"),
        description=description,
        examples=[
            OpenApiExample(
                name,
                value={
                    "resourceType": "OperationOutcome",
                    "issue": [{"severity": "error", "code": code, "diagnostics": diagnostics}],
                },
            )
            for name, code, diagnostics in examples
        ],
    )


UNAUTHENTICATED = outcome(
    "No valid credentials: no token, or one that expired or was revoked (issue `login`).",
    ("login", "login", "Authentication credentials were not provided."),
)
NOT_ACCEPTABLE = outcome(
    "The request accepts neither application/fhir+json nor application/json, or asks another `_format` "
    "(issue `not-supported`).",
    ("not-acceptable", "not-supported", "This server answers application/fhir+json only."),
)
BAD_READ = outcome(
    "A query parameter a read does not take (issue `invalid`).",
    ("unknown-parameter", "invalid", "Unknown parameter `_summary` for this read; known: `_format`."),
)
BAD_SEARCH = outcome(
    "An unknown parameter, a modifier, a repeated `_count` or `page`, or a malformed value "
    "(issue `invalid`, or `not-supported` for a modifier or the `ap` prefix).",
    ("unknown-parameter", "invalid", "Unknown parameter `name` for this search; known: `_count`, `page`."),
)
PAGE_NOT_FOUND = outcome(
    "`page` is past the last page of the results (issue `not-found`).",
    ("page", "not-found", "Page 4 is past the last page (3) of these results."),
)
NOT_FOUND = outcome(
    "No such resource, or not one you may see (issue `not-found`).",
    ("not-found", "not-found", "Not found."),
)
FORBIDDEN = outcome(
    "Your role may not read this (issue `forbidden`).",
    ("forbidden", "forbidden", "Your role may not do this with this booking's intake."),
)
THROTTLED = outcome(
    "Too many requests; retry after `Retry-After` seconds (issue `throttled`).",
    ("throttled", "throttled", "Request was throttled. Expected available in 42 seconds."),
)
UNAVAILABLE = outcome(
    "The database (or the shared cache) does not answer; retry after `Retry-After` seconds (issue `transient`).",
    ("unavailable", "transient", "The service is briefly unavailable; please try again shortly."),
)
ERRORS = {401: UNAUTHENTICATED, 406: NOT_ACCEPTABLE, 429: THROTTLED, 503: UNAVAILABLE}


def search_responses(component: str) -> dict:
    return {200: fhir_body(f"{component}Bundle"), 400: BAD_SEARCH, 404: PAGE_NOT_FOUND, **ERRORS}


def read_responses(component: str) -> dict:
    return {200: fhir_body(component), 400: BAD_READ, 404: NOT_FOUND, **ERRORS}


class FhirAutoSchema(AutoSchema):
    """The project's schema for the FHIR views: every answer `application/fhir+json` but the middleware's 413."""

    def _get_response_for_code(self, serializer, status_code, media_types=None, direction="response"):
        if str(status_code) == "413":
            media_types = ["application/json"]
        return super()._get_response_for_code(serializer, status_code, media_types, direction)
