"""The form v1 definition and its validation (docs/intake.md, "Validation")."""

import json

import pytest
from django.core.exceptions import ValidationError

from intake import rules
from intake.form import FIELDS, FORM_VERSION, answers_json_schema, form_definition, validate_answers
from intake.tests.cases import INVALID_CASES, VALID_CASES

BASE = {"pressure_preference": "firm", "primary_goal": "relaxation", "consent": True}
MISSING = object()


def errors_of(data) -> dict:
    with pytest.raises(ValidationError) as caught:
        validate_answers(data)
    errors = caught.value.message_dict
    # one message per offending field, always
    assert all(len(messages) == 1 for messages in errors.values()), errors
    return errors


@pytest.mark.parametrize("case", VALID_CASES)
def test_valid_case_is_accepted_with_defaults_filled(case):
    answers = validate_answers(case["answers"])

    assert list(answers) == [spec.name for spec in FIELDS]
    for name, value in case["answers"].items():
        assert answers[name] == value
    for spec in FIELDS:
        if spec.name not in case["answers"]:
            assert answers[spec.name] == spec.default


@pytest.mark.parametrize("case", INVALID_CASES)
def test_invalid_case_names_its_fields(case):
    errors = errors_of(case["answers"])

    assert set(case["error_fields"]) <= set(errors)


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("pressure_preference", MISSING),
        ("pressure_preference", None),
        ("pressure_preference", 3),
        ("pressure_preference", True),
        ("pressure_preference", ["deep"]),
        ("pressure_preference", {"value": "deep"}),
        ("pressure_preference", "DEEP"),
        ("pressure_preference", "deep "),
        ("pressure_preference", ""),
        ("primary_goal", MISSING),
        ("primary_goal", "sleep"),
        ("conditions", "stress"),
        ("conditions", None),
        ("conditions", {"stress": True}),
        ("conditions", [1]),
        ("conditions", [True]),
        ("conditions", [None]),
        ("conditions", [["stress"]]),
        ("conditions", ["stress", "stress"]),
        ("conditions", ["back_ache"]),
        ("conditions", ["stress"] * 100_000),
        ("pain_tolerance", 1),
        ("pain_tolerance", "extreme"),
        ("health_screening", ["pregnancy", "pregnancy"]),
        ("health_screening", ["stress"]),
        ("focus_areas", ["elbow"]),
        ("avoid_areas", "neck"),
        ("medications", "x" * 501),
        ("medications", 123),
        ("medications", ["aspirin"]),
        ("medications", None),
        ("notes", "x" * 2001),
        ("notes", "x" * 1_000_000),
        ("notes", "before\x00after"),
        ("notes", "lone \ud800 surrogate"),
        ("consent", MISSING),
        ("consent", False),
        ("consent", "true"),
        ("consent", 1),
        ("consent", None),
        ("consent", [True]),
    ],
)
def test_a_bad_value_is_an_error_on_its_field_only(field, value):
    data = dict(BASE)
    if value is MISSING:
        data.pop(field)
    else:
        data[field] = value

    errors = errors_of(data)

    assert set(errors) == {field}
    # a huge value makes a small message
    assert len(errors[field][0]) < 400


def test_an_area_both_focused_and_avoided_is_an_error_on_avoid_areas():
    errors = errors_of({**BASE, "focus_areas": ["neck", "feet"], "avoid_areas": ["feet", "hips"]})

    assert set(errors) == {"avoid_areas"}
    assert "feet" in errors["avoid_areas"][0]


def test_unknown_keys_are_rejected_by_name():
    errors = errors_of({**BASE, "favourite_colour": "blue", "": 1, "Consent": True})

    assert set(errors) == {"favourite_colour", "", "Consent"}


def test_unknown_keys_are_named_safely():
    errors = errors_of({**BASE, "\ud800": 1, "k" * 10_000: 2})

    assert set(errors) == {"\\ud800", "k" * 40 + "…"}
    json.dumps(errors, ensure_ascii=False).encode("utf-8")


def test_several_bad_fields_are_all_named():
    errors = errors_of({"pressure_preference": "hard", "conditions": "stress", "consent": False, "x": 1})

    assert set(errors) == {"pressure_preference", "primary_goal", "conditions", "consent", "x"}


@pytest.mark.parametrize("data", [[], [BASE], "answers", "", 3, 1.5, True, None, b"{}"], ids=repr)
def test_a_body_that_is_not_an_object_is_a_non_field_error(data):
    assert set(errors_of(data)) == {"non_field_errors"}


def test_text_limits_are_inclusive_and_unicode_is_welcome():
    start = "Épaule gauche douloureuse 🙂 肩こり "
    notes = start + "x" * (2000 - len(start))

    answers = validate_answers({**BASE, "notes": notes, "medications": "m" * 500})

    assert answers["notes"] == notes


def test_defaults_are_fresh_copies():
    first = validate_answers(BASE)
    first["conditions"].append("stress")

    assert validate_answers(BASE)["conditions"] == []
    assert form_definition()["fields"][2]["default"] == []


def test_validation_is_idempotent_and_keeps_the_clients_list_order():
    answers = validate_answers({**BASE, "focus_areas": ["neck", "head"], "conditions": ["stress", "anxiety"]})

    assert validate_answers(answers) == answers
    assert answers["focus_areas"] == ["neck", "head"]


def test_form_definition_shows_every_field_with_its_values_and_labels():
    definition = form_definition()

    assert definition["version"] == FORM_VERSION == 1
    fields = {f["name"]: f for f in definition["fields"]}
    assert list(fields) == [
        "pressure_preference",
        "primary_goal",
        "conditions",
        "pain_tolerance",
        "health_screening",
        "focus_areas",
        "avoid_areas",
        "medications",
        "notes",
        "consent",
    ]
    assert {c["value"]: c["label"] for c in fields["conditions"]["choices"]} == rules.CONDITIONS
    assert [c["value"] for c in fields["health_screening"]["choices"]] == list(rules.HEALTH_SCREENING)
    assert fields["pain_tolerance"]["default"] == "medium"
    assert fields["notes"]["max_length"] == 2000
    assert fields["medications"]["max_length"] == 500
    assert [name for name, f in fields.items() if f["required"]] == ["pressure_preference", "primary_goal", "consent"]
    json.dumps(definition)  # the endpoint can send it as is


def test_json_schema_is_built_from_the_same_definition():
    schema = answers_json_schema()

    assert schema["additionalProperties"] is False
    assert schema["required"] == ["pressure_preference", "primary_goal", "consent"]
    props = schema["properties"]
    assert list(props) == [spec.name for spec in FIELDS]
    assert props["pressure_preference"]["enum"] == list(rules.PRESSURE_PREFERENCES)
    assert props["conditions"]["items"]["enum"] == list(rules.CONDITIONS)
    assert props["conditions"]["uniqueItems"] is True
    assert props["avoid_areas"]["items"]["enum"] == list(rules.BODY_AREAS)
    assert props["notes"]["maxLength"] == 2000
    assert props["consent"] == {"type": "boolean", "enum": [True], "description": FIELDS[-1].label}
