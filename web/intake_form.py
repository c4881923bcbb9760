"""The intake form as HTML: built from the form's definition (intake.form.FIELDS), read back into answers.

The page shows every question of `FIELDS` with its label, help and choices;
what was posted becomes the answers object the API takes, checked by
`intake.form.validate_answers`, whose messages appear beside their fields.
The live suggestion is `intake.rules.assess` of the answers so far: the
logic of `POST /api/v1/intake/assess/`, run on the server.
"""

from dataclasses import dataclass, field
from typing import Any

from django.core.exceptions import ValidationError

from clinic.models import Modality
from intake import rules
from intake.form import FIELDS, FIELDS_BY_NAME, validate_answers

# Every input's id starts with this, so no question's name can collide with the page's own ids.
ID_PREFIX = "q-"


@dataclass
class Question:
    """One question as the template renders it: its definition, the value to show and its errors."""

    spec: Any
    value: Any
    errors: list[str] = field(default_factory=list)

    @property
    def name(self) -> str:
        return self.spec.name

    @property
    def id(self) -> str:
        return ID_PREFIX + self.spec.name

    @property
    def error_id(self) -> str:
        return f"{self.id}-error"

    @property
    def help_id(self) -> str:
        return f"{self.id}-help"

    @property
    def described_by(self) -> str:
        ids = []
        if self.spec.help_text:
            ids.append(self.help_id)
        if self.errors:
            ids.append(self.error_id)
        return " ".join(ids)

    @property
    def chosen_labels(self) -> list[str]:
        """The labels of the chosen values (for showing answers that can no longer be changed)."""
        chosen = self.value if isinstance(self.value, list) else [self.value]
        return [label for value, label in self.spec.choices.items() if value in chosen]

    @property
    def options(self) -> list[dict]:
        """The choices with their ids and whether each is selected."""
        chosen = self.value if isinstance(self.value, list) else [self.value]
        return [
            {"value": value, "label": label, "id": f"{self.id}-{value}", "checked": value in chosen}
            for value, label in self.spec.choices.items()
        ]


def questions(values: dict | None = None, errors: dict[str, list[str]] | None = None) -> list[Question]:
    """The form's questions in order, showing `values` (else each question's default) and `errors`."""
    values = values or {}
    errors = errors or {}
    return [
        Question(spec=spec, value=values.get(spec.name, spec.default_value()), errors=list(errors.get(spec.name, [])))
        for spec in FIELDS
    ]


def posted_answers(data) -> dict:
    """The answers object from a posted form (a QueryDict): only the form's own questions.

    A question left unanswered is left out (a required one is then "This
    field is required.", others take their default); consent is true when
    ticked and false when not, so an unticked box gets the API's sentence.
    """
    answers: dict[str, Any] = {}
    for spec in FIELDS:
        if spec.kind == "choices":
            answers[spec.name] = data.getlist(spec.name)
        elif spec.kind == "consent":
            answers[spec.name] = data.get(spec.name) == "true"
        elif spec.kind == "choice":
            value = data.get(spec.name, "")
            if value != "":
                answers[spec.name] = value
        else:
            answers[spec.name] = data.get(spec.name, "")
    return answers


def prefill(previous_answers: dict | None) -> dict:
    """A returning client's last answers, to start the new form from: known questions only, consent not given.

    Consent is given for each session afresh, so it is never carried over.
    """
    if not previous_answers:
        return {}
    return {name: value for name, value in previous_answers.items() if name in FIELDS_BY_NAME and name != "consent"}


def check(answers: dict) -> tuple[dict | None, dict[str, list[str]]]:
    """(the validated answers, {}) or (None, {field: [messages]}) from `validate_answers`."""
    try:
        return validate_answers(answers), {}
    except ValidationError as exc:
        return None, exc.message_dict


def suggestion(answers: dict) -> dict | None:
    """The suggested modality for the answers so far, as the assess endpoint gives it, with words to show.

    Consent is not needed for a preview. None while a question the rules
    need is unanswered or an answer is invalid (the fragment then says what
    is missing).
    """
    cleaned, errors = check({**answers, "consent": True})
    if cleaned is None:
        return None
    assessment = rules.assess(cleaned)
    return {
        **assessment,
        "modality_label": Modality(assessment["modality"]).label,
        "flag_labels": [rules.HEALTH_SCREENING[flag] for flag in assessment["flags"]],
    }


def missing_for_suggestion(answers: dict) -> list[str]:
    """The labels of the questions still keeping a suggestion from being made."""
    _, errors = check({**answers, "consent": True})
    return [FIELDS_BY_NAME[name].label for name in errors if name in FIELDS_BY_NAME]
