"""The clinic's objects as FHIR R4 resources, built and validated with `fhir.resources.R4B` (FHIR 4.3).

Pure mapping: each function takes what the selectors loaded (relations
joined) and returns a validated R4B model; it reads no database row of its
own and decides nothing about who may see what (integrations/fhir/selectors.py
does). An invalid resource is a programming error: the model raises.

| clinic | FHIR | id |
|---|---|---|
| a booking | `Appointment` (no health data: no answers, flags or notes) | the booking's id |
| a booking's intake | `QuestionnaireResponse` | the booking's id |
| the intake form (`intake/form.py`) | `Questionnaire`, `version` = the form's | `intake` |
| a therapist | `Practitioner` | the therapist's id |
| a location | `Location` (its IANA zone in the `timezone` extension) | the location's id |
| a service | `HealthcareService` | the service's id |
| a therapist at a location | `Schedule` (horizon: their shifts there not ended) | `{therapist}-{location}` |

FHIR strings may not be empty: empty values are left out (`_pruned`).
"""

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from fhir.resources.R4B.appointment import Appointment
from fhir.resources.R4B.bundle import Bundle
from fhir.resources.R4B.healthcareservice import HealthcareService
from fhir.resources.R4B.location import Location as FhirLocation
from fhir.resources.R4B.operationoutcome import OperationOutcome
from fhir.resources.R4B.practitioner import Practitioner
from fhir.resources.R4B.questionnaire import Questionnaire
from fhir.resources.R4B.questionnaireresponse import QuestionnaireResponse
from fhir.resources.R4B.resource import Resource
from fhir.resources.R4B.schedule import Schedule

from booking.models import Booking
from clinic.models import Location, Modality, Service, Therapist
from intake.form import FIELDS, FIELDS_BY_NAME, FORM_VERSION, FormField
from intake.models import Intake

# Booking.Status -> Appointment.status (http://hl7.org/fhir/R4B/valueset-appointmentstatus.html).
# A held booking (time kept for a waitlist offer its client has not accepted) is `pending`.
APPOINTMENT_STATUS = {
    Booking.Status.CONFIRMED: "booked",
    Booking.Status.COMPLETED: "fulfilled",
    Booking.Status.NO_SHOW: "noshow",
    Booking.Status.CANCELLED: "cancelled",
    Booking.Status.HELD: "pending",
}
# Every code of the value set: a search by one the clinic never uses matches nothing (not a 400).
APPOINTMENT_STATUS_CODES = (
    "proposed",
    "pending",
    "booked",
    "arrived",
    "fulfilled",
    "cancelled",
    "noshow",
    "entered-in-error",
    "checked-in",
    "waitlist",
)

QUESTIONNAIRE_ID = "intake"
TIMEZONE_EXTENSION = "http://hl7.org/fhir/StructureDefinition/timezone"
ITEM_CONTROL_EXTENSION = "http://hl7.org/fhir/StructureDefinition/questionnaire-itemControl"
PARTICIPATION_TYPE = "http://terminology.hl7.org/CodeSystem/v3-ParticipationType"

# The form's kinds of question -> Questionnaire item type (and whether it repeats).
ITEM_TYPES = {
    "choice": ("choice", False),
    "choices": ("choice", True),
    "text": ("text", False),
    "consent": ("boolean", False),
}


def instant(value: datetime) -> str:
    """An aware datetime as a FHIR instant in UTC (`2026-12-01T14:00:00Z`), as the rest of the API writes times."""
    return value.astimezone(UTC).isoformat().replace("+00:00", "Z")


def _pruned(value: Any) -> Any:
    """`value` without empty strings, lists, dicts and Nones, at any depth (FHIR allows no empty values)."""
    if isinstance(value, dict):
        kept = {key: _pruned(item) for key, item in value.items()}
        return {key: item for key, item in kept.items() if item not in (None, "", [], {})}
    if isinstance(value, list):
        kept = [_pruned(item) for item in value]
        return [item for item in kept if item not in (None, "", [], {})]
    return value


def _ref(resource_type: str, pk: Any, display: str = "") -> dict:
    return {"reference": f"{resource_type}/{pk}", "display": display}


def _modality_concept(modality: str) -> dict:
    return {"text": Modality(modality).label}


# --- Appointment ----------------------------------------------------------------------------


def appointment(booking: Booking) -> Appointment:
    """A booking as an Appointment: who, where, what, when; never its intake's answers, flags or notes.

    The booking needs `therapist__user`, `client`, `location`, `room`,
    `service` and `intake` loaded (`booking.selectors.BOOKING_RELATED`).
    `serviceType` is the final modality, as the front desk sees it; a
    completed intake is pointed to (`supportingInformation`), not shown.
    """
    where = booking.location.name + (f" · {booking.room.name}" if booking.room_id else "")
    client_status = "needs-action" if booking.status == Booking.Status.HELD else "accepted"
    participants = [
        {
            "type": [{"coding": [{"system": PARTICIPATION_TYPE, "code": "PPRF", "display": "primary performer"}]}],
            "actor": _ref("Practitioner", booking.therapist_id, booking.therapist.user.display_name),
            "required": "required",
            "status": "accepted",
        },
        {"actor": {"display": booking.client.display_name}, "required": "required", "status": client_status},
        {"actor": _ref("Location", booking.location_id, where), "required": "required", "status": "accepted"},
        {"actor": _ref("HealthcareService", booking.service_id, booking.service.name), "status": "accepted"},
    ]
    data = {
        "resourceType": "Appointment",
        "id": str(booking.pk),
        "meta": {"lastUpdated": instant(booking.updated_at)},
        "status": APPOINTMENT_STATUS[booking.status],
        "serviceType": [_modality_concept(booking.intake.modality)] if booking.intake is not None else [],
        "description": booking.service.name,
        "supportingInformation": [_ref("QuestionnaireResponse", booking.pk, "Intake")] if booking.intake_id else [],
        "start": instant(booking.starts_at),
        "end": instant(booking.ends_at),
        "minutesDuration": int((booking.ends_at - booking.starts_at).total_seconds() // 60),
        "created": instant(booking.created_at),
        "participant": participants,
    }
    return Appointment.model_validate(_pruned(data))


# --- Practitioner, Location, HealthcareService, Schedule -------------------------------------


def practitioner(therapist: Therapist) -> Practitioner:
    """A therapist: name, whether active, and the modalities they are trained in (`qualification`)."""
    user = therapist.user
    data = {
        "resourceType": "Practitioner",
        "id": str(therapist.pk),
        "active": therapist.active,
        "name": [{"use": "official", "text": user.display_name, "family": user.last_name, "given": [user.first_name]}],
        "qualification": [{"code": _modality_concept(modality)} for modality in therapist.modalities],
    }
    return Practitioner.model_validate(_pruned(data))


def location(place: Location) -> FhirLocation:
    """A location: name, address and its IANA time zone (the `timezone` extension); rooms are not shown."""
    data = {
        "resourceType": "Location",
        "id": str(place.pk),
        "extension": [{"url": TIMEZONE_EXTENSION, "valueCode": place.time_zone}],
        "status": "active" if place.active else "inactive",
        "name": place.name,
        "mode": "instance",
        "address": {"text": place.address},
    }
    return FhirLocation.model_validate(_pruned(data))


def healthcare_service(service: Service, *, currency: str, locations: list[Location]) -> HealthcareService:
    """A service: its name, description, length, buffer and price, bookable at `locations` (the active ones)."""
    price = Decimal(service.price).quantize(Decimal("0.01"))
    details = f"{service.duration_minutes} minutes"
    if service.buffer_minutes:
        details += f", then {service.buffer_minutes} minutes before the next session"
    data = {
        "resourceType": "HealthcareService",
        "id": str(service.pk),
        "active": service.active,
        "location": [_ref("Location", place.pk, place.name) for place in locations],
        "name": service.name,
        "comment": service.description.strip(),
        "extraDetails": f"{details}. {price} {currency}.",
        "appointmentRequired": True,
    }
    return HealthcareService.model_validate(_pruned(data))


def schedule_id(therapist_id: int, location_id: int) -> str:
    return f"{therapist_id}-{location_id}"


def schedule(
    therapist: Therapist, place: Location, *, horizon_start: datetime | None, horizon_end: datetime | None
) -> Schedule:
    """A therapist's schedule at one location; its planning horizon spans their shifts there not yet ended."""
    data = {
        "resourceType": "Schedule",
        "id": schedule_id(therapist.pk, place.pk),
        "active": therapist.active and place.active,
        "serviceType": [_modality_concept(modality) for modality in therapist.modalities],
        "actor": [
            _ref("Practitioner", therapist.pk, therapist.user.display_name),
            _ref("Location", place.pk, place.name),
        ],
        "planningHorizon": {
            "start": instant(horizon_start) if horizon_start else None,
            "end": instant(horizon_end) if horizon_end else None,
        },
        "comment": f"{therapist.user.display_name} at {place.name}",
    }
    return Schedule.model_validate(_pruned(data))


# --- Questionnaire and QuestionnaireResponse ------------------------------------------------


def _coding(spec: FormField, value: str) -> dict:
    return {"code": value, "display": spec.choices.get(value)}


def _question(spec: FormField) -> dict:
    item_type, repeats = ITEM_TYPES[spec.kind]
    default = spec.default_value()
    item = {
        "linkId": spec.name,
        "text": spec.label,
        "type": item_type,
        "required": spec.required,
        "repeats": repeats,
        "maxLength": spec.max_length,
        "answerOption": [{"valueCoding": _coding(spec, value)} for value in spec.choices],
        "initial": [{"valueCoding": _coding(spec, default)}] if spec.kind == "choice" and default else [],
    }
    if spec.help_text:
        item["item"] = [
            {
                "extension": [
                    {
                        "url": ITEM_CONTROL_EXTENSION,
                        "valueCodeableConcept": {
                            "coding": [{"system": "http://hl7.org/fhir/questionnaire-item-control", "code": "help"}]
                        },
                    }
                ],
                "linkId": f"{spec.name}.help",
                "text": spec.help_text,
                "type": "display",
            }
        ]
    return item


def questionnaire(*, url: str) -> Questionnaire:
    """The intake form of `intake/form.py` as a Questionnaire of the same version.

    One item per question, `linkId` its key: `choice` (one coded answer of
    `answerOption`), `choices` (the same, repeating), `text` (with
    `maxLength`), `consent` (a required boolean, which must be true).
    `url` is its canonical URL (where it is read).
    """
    data = {
        "resourceType": "Questionnaire",
        "id": QUESTIONNAIRE_ID,
        "url": url,
        "version": str(FORM_VERSION),
        "name": "MassageIntakeForm",
        "title": "Massage intake form",
        "status": "active",
        "subjectType": ["Patient"],
        "description": "What a client answers before a massage: pressure, goal, conditions, health "
        "screening, areas to focus on or avoid. The answers suggest the modality (therapeutic or deep tissue).",
        "item": [_question(spec) for spec in FIELDS],
    }
    return Questionnaire.model_validate(_pruned(data))


def _answer(spec: FormField | None, value: Any) -> dict | None:
    if isinstance(value, bool):
        return {"valueBoolean": value}
    if not isinstance(value, str) or not value.strip():
        return None
    if spec is not None and spec.choice_set:
        return {"valueCoding": _coding(spec, value)}
    return {"valueString": value}


def _answered_item(name: str, value: Any) -> dict:
    spec = FIELDS_BY_NAME.get(name)
    values = value if isinstance(value, list) else [value]
    return {
        "linkId": name,
        "text": spec.label if spec is not None else None,
        "answer": [answer for answer in (_answer(spec, item) for item in values) if answer],
    }


def questionnaire_response(booking: Booking, intake: Intake, *, questionnaire_url: str) -> QuestionnaireResponse:
    """A booking's intake: its answers to the form version they were given on. Health data: the caller audits.

    Items follow the form's order; a question left empty (no areas, no
    notes) has no item. Answers given on another form version keep their
    keys as `linkId`.
    """
    answers = dict(intake.answers)
    names = [spec.name for spec in FIELDS if spec.name in answers] + [
        name for name in answers if name not in FIELDS_BY_NAME
    ]
    data = {
        "resourceType": "QuestionnaireResponse",
        "id": str(booking.pk),
        "meta": {"lastUpdated": instant(intake.updated_at)},
        "questionnaire": f"{questionnaire_url}|{intake.form_version}",
        "status": "completed",
        "subject": {"display": booking.client.display_name},
        "authored": instant(intake.updated_at),
        "item": [item for item in (_answered_item(name, answers[name]) for name in names) if item["answer"]],
    }
    return QuestionnaireResponse.model_validate(_pruned(data))


# --- Bundle and OperationOutcome ------------------------------------------------------------


def searchset(*, total: int, links: list[tuple[str, str]], entries: list[tuple[str, Resource]]) -> Bundle:
    """A `searchset` Bundle: the matches' `total`, paging `links` (relation, url) and `entries` (fullUrl, resource)."""
    data = {
        "resourceType": "Bundle",
        "type": "searchset",
        "timestamp": instant(datetime.now(UTC)),
        "total": total,
        "link": [{"relation": relation, "url": url} for relation, url in links],
        "entry": [{"fullUrl": url, "resource": resource, "search": {"mode": "match"}} for url, resource in entries],
    }
    return Bundle.model_validate(_pruned(data))


def operation_outcome(*, code: str, diagnostics: str, severity: str = "error") -> OperationOutcome:
    """An error (or warning) as FHIR answers it: one issue, with its code and a sentence for a person."""
    issue = {"severity": severity, "code": code, "diagnostics": diagnostics.strip() or code}
    return OperationOutcome.model_validate({"resourceType": "OperationOutcome", "issue": [issue]})
