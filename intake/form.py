"""The intake form, version 1, as data: its questions, what each accepts, and their check.

One definition (`FIELDS`) drives three things so they cannot drift apart:
`validate_answers` (what is accepted), `form_definition` (what
`GET /api/v1/intake/form/` shows a client app) and `answers_json_schema`
(what the OpenAPI schema documents). The allowed values are the rule
module's own tables: a value the rules do not know cannot be accepted.
"""

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.core.exceptions import ValidationError

from intake import rules

FORM_VERSION = 1


# The lists answers are chosen from: the rule module's own tables, by name.
# Fields sharing a list share its name (both area fields use `body_area`).
CHOICE_SETS: dict[str, dict[str, str]] = {
    "pressure_preference": rules.PRESSURE_PREFERENCES,
    "primary_goal": rules.PRIMARY_GOALS,
    "pain_tolerance": rules.PAIN_TOLERANCES,
    "condition": rules.CONDITIONS,
    "health_screening": rules.HEALTH_SCREENING,
    "body_area": rules.BODY_AREAS,
}


@dataclass(frozen=True)
class FormField:
    """One question of the form.

    `kind` is `choice` (one string of the `choice_set`), `choices` (a list of
    distinct strings of the `choice_set`), `text` (a string of at most
    `max_length` characters) or `consent` (a boolean that must be true).
    """

    name: str
    kind: str
    label: str
    required: bool = False
    default: Any = None
    choice_set: str | None = None
    max_length: int | None = None
    help_text: str = ""

    @property
    def choices(self) -> dict[str, str]:
        """Allowed value -> label (empty for text and consent)."""
        return CHOICE_SETS[self.choice_set] if self.choice_set else {}

    def default_value(self) -> Any:
        """The default, copied, so whoever changes the answers never changes the form."""
        return list(self.default) if isinstance(self.default, list) else self.default


FIELDS: tuple[FormField, ...] = (
    FormField("pressure_preference", "choice", "Pressure you prefer", required=True, choice_set="pressure_preference"),
    FormField("primary_goal", "choice", "Main goal of the session", required=True, choice_set="primary_goal"),
    FormField("conditions", "choices", "What you are dealing with", default=[], choice_set="condition"),
    FormField("pain_tolerance", "choice", "Your pain tolerance", default="medium", choice_set="pain_tolerance"),
    FormField(
        "health_screening",
        "choices",
        "Health screening: tick all that apply",
        default=[],
        choice_set="health_screening",
        help_text="Some of these rule out deep pressure; the therapist reviews every one.",
    ),
    FormField("focus_areas", "choices", "Areas to focus on", default=[], choice_set="body_area"),
    FormField("avoid_areas", "choices", "Areas to avoid", default=[], choice_set="body_area"),
    FormField("medications", "text", "Medications you take", default="", max_length=500),
    FormField("notes", "text", "Anything else the therapist should know", default="", max_length=2000),
    FormField(
        "consent",
        "consent",
        "I consent to massage treatment and confirm these answers are true",
        required=True,
    ),
)
FIELDS_BY_NAME = {f.name: f for f in FIELDS}

# Client input is echoed in messages only this far, so a huge value makes a small error.
_ECHO_CHARS = 40


def _echo(value: str) -> str:
    return repr(value if len(value) <= _ECHO_CHARS else value[:_ECHO_CHARS] + "…")


def _unknown_key(key: Any) -> str:
    """An unknown key as the error's key: short, and UTF-8 even if the client sent a lone surrogate."""
    name = str(key).encode("utf-8", "backslashreplace").decode("utf-8")
    return name if len(name) <= _ECHO_CHARS else name[:_ECHO_CHARS] + "…"


def _not_a_choice(value: str, spec: FormField) -> str:
    return f"{_echo(value)} is not a valid choice. Choose from: {', '.join(spec.choices)}."


def _check_choice(value: Any, spec: FormField) -> str | None:
    if not isinstance(value, str):
        return f"Must be a string, one of: {', '.join(spec.choices)}."
    if value not in spec.choices:
        return _not_a_choice(value, spec)
    return None


def _check_choices(value: Any, spec: FormField) -> str | None:
    if not isinstance(value, list):
        return "Must be a list of strings."
    # A longer list must repeat or invent a value; refusing it first keeps huge lists cheap.
    if len(value) > len(spec.choices):
        return f"At most {len(spec.choices)} items, each listed once."
    seen = set()
    for item in value:
        if not isinstance(item, str):
            return "Every item must be a string."
        if item not in spec.choices:
            return _not_a_choice(item, spec)
        if item in seen:
            return f"{_echo(item)} is listed more than once."
        seen.add(item)
    return None


def _check_text(value: Any, spec: FormField) -> str | None:
    if not isinstance(value, str):
        return "Must be a string."
    if len(value) > spec.max_length:
        return f"At most {spec.max_length} characters (this has {len(value)})."
    # PostgreSQL's JSON cannot hold NUL, and a lone surrogate is not UTF-8:
    # refuse them here rather than fail on save.
    if "\x00" in value:
        return "Must not contain NUL characters."
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return "Must be valid Unicode text."
    return None


def _check_consent(value: Any, spec: FormField) -> str | None:
    if value is not True:
        return "You must consent (true) to book a massage."
    return None


_CHECKS = {"choice": _check_choice, "choices": _check_choices, "text": _check_text, "consent": _check_consent}


def validate_answers(data: Any) -> dict:
    """The answers, checked and normalized (defaults filled), in the form's field order.

    Raises Django's `ValidationError` with `{field: [message]}`, one message
    per offending field (unknown keys are keyed by their own name), or
    `{"non_field_errors": [...]}` when `data` is not an object. Never raises
    anything else, whatever `data` holds.
    """
    if not isinstance(data, dict):
        raise ValidationError({"non_field_errors": ["The answers must be a JSON object."]})

    errors: dict[str, list[str]] = {}
    for key in data:
        if key not in FIELDS_BY_NAME:
            errors[_unknown_key(key)] = ["Unknown field: the form has no such question."]

    answers = {}
    for spec in FIELDS:
        if spec.name not in data:
            if spec.required:
                errors[spec.name] = ["This field is required."]
            else:
                answers[spec.name] = spec.default_value()
            continue
        value = data[spec.name]
        message = "This field may not be null." if value is None else _CHECKS[spec.kind](value, spec)
        if message:
            errors[spec.name] = [message]
        else:
            answers[spec.name] = list(value) if isinstance(value, list) else value

    if "focus_areas" in answers and "avoid_areas" in answers:
        both = [area for area in answers["avoid_areas"] if area in answers["focus_areas"]]
        if both:
            errors["avoid_areas"] = [f"{', '.join(both)}: an area cannot be both a focus and avoided."]

    if errors:
        raise ValidationError(errors)
    return answers


def form_definition() -> dict:
    """The form as `GET /api/v1/intake/form/` shows it: version, fields, allowed values, labels."""
    return {
        "version": FORM_VERSION,
        "fields": [
            {
                "name": spec.name,
                "label": spec.label,
                "type": spec.kind,
                "required": spec.required,
                "default": spec.default_value(),
                "choices": [{"value": value, "label": label} for value, label in spec.choices.items()],
                "max_length": spec.max_length,
                "help_text": spec.help_text,
            }
            for spec in FIELDS
        ],
    }


def _inline_enum(choice_set: str) -> dict:
    return {"type": "string", "enum": list(CHOICE_SETS[choice_set])}


def _field_json_schema(spec: FormField, enum_schema: Callable[[str], dict]) -> dict:
    description = spec.label + (f". {spec.help_text}" if spec.help_text else "")
    if spec.kind == "choice":
        value_schema = enum_schema(spec.choice_set)
        # OpenAPI 3.0 ignores keys beside a $ref; allOf keeps the description and default.
        schema = {"allOf": [value_schema]} if "$ref" in value_schema else dict(value_schema)
    elif spec.kind == "choices":
        schema = {
            "type": "array",
            "items": enum_schema(spec.choice_set),
            "uniqueItems": True,
            "maxItems": len(spec.choices),
        }
    elif spec.kind == "text":
        schema = {"type": "string", "maxLength": spec.max_length}
    else:  # consent
        schema = {"type": "boolean", "enum": [True]}
    if not spec.required:
        schema["default"] = spec.default_value()
    return {**schema, "description": description}


def answers_json_schema(enum_schema: Callable[[str], dict] = _inline_enum) -> dict:
    """The JSON Schema of the answers object, for the OpenAPI schema.

    `enum_schema(choice_set)` gives the schema of one value of a choice set:
    inline by default; the OpenAPI layer passes one that refers to a named
    component instead.
    """
    return {
        "type": "object",
        "description": (
            f"Answers to intake form v{FORM_VERSION}. Unknown fields are rejected; "
            "an area may not be in both focus_areas and avoid_areas."
        ),
        "properties": {spec.name: _field_json_schema(spec, enum_schema) for spec in FIELDS},
        "required": [spec.name for spec in FIELDS if spec.required],
        "additionalProperties": False,
    }
