"""Properties of the rules and the form over generated answers (hypothesis)."""

import copy
import json

from django.core.exceptions import ValidationError
from hypothesis import given, settings
from hypothesis import strategies as st

from intake import rules
from intake.form import FIELDS, validate_answers

fast = settings(max_examples=200, deadline=None)

text = st.text(st.characters(exclude_categories=("Cs",), exclude_characters="\x00"), max_size=60)


def distinct(values) -> st.SearchStrategy:
    values = list(values)
    return st.lists(st.sampled_from(values), unique=True, max_size=len(values)) if values else st.just([])


@st.composite
def valid_answers(draw) -> dict:
    """Answers the form accepts, with each optional field sometimes left out."""
    answers = {
        "pressure_preference": draw(st.sampled_from(list(rules.PRESSURE_PREFERENCES))),
        "primary_goal": draw(st.sampled_from(list(rules.PRIMARY_GOALS))),
        "consent": True,
    }
    focus = draw(distinct(rules.BODY_AREAS))
    optional = {
        "conditions": draw(distinct(rules.CONDITIONS)),
        "pain_tolerance": draw(st.sampled_from(list(rules.PAIN_TOLERANCES))),
        "health_screening": draw(distinct(rules.HEALTH_SCREENING)),
        "focus_areas": focus,
        "avoid_areas": draw(distinct([area for area in rules.BODY_AREAS if area not in focus])),
        "medications": draw(text),
        "notes": draw(text),
    }
    for name, value in optional.items():
        if draw(st.booleans()):
            answers[name] = value
    return answers


def table_score(answers: dict) -> int:
    """The score as docs/intake.md's table reads, answer by answer."""
    return (
        rules.POINTS["pressure_preference"][answers["pressure_preference"]]
        + rules.POINTS["primary_goal"][answers["primary_goal"]]
        + rules.POINTS["pain_tolerance"][answers.get("pain_tolerance", "medium")]
        + sum(+1 for c in answers.get("conditions", []) if c in rules.DEEP_LEANING_CONDITIONS)
        - sum(1 for c in answers.get("conditions", []) if c in rules.THERAPEUTIC_LEANING_CONDITIONS)
    )


@fast
@given(valid_answers())
def test_generated_answers_are_valid_and_validation_is_idempotent(answers):
    cleaned = validate_answers(answers)

    assert validate_answers(cleaned) == cleaned
    assert rules.assess(cleaned) == rules.assess(answers)


@fast
@given(valid_answers())
def test_score_is_the_sum_of_the_table(answers):
    assessment = rules.assess(answers)

    assert assessment["score"] == table_score(answers)
    assert assessment["score"] == sum(reason["points"] for reason in assessment["reasons"])


@fast
@given(valid_answers())
def test_light_pressure_or_a_contraindication_never_gives_deep_tissue(answers):
    assessment = rules.assess(answers)
    contraindicated = any(item in rules.CONTRAINDICATIONS for item in answers.get("health_screening", []))
    light = answers["pressure_preference"] == "light"

    if contraindicated or light:
        assert assessment["modality"] == rules.THERAPEUTIC
    else:
        expected = rules.DEEP_TISSUE if assessment["score"] >= rules.DEEP_TISSUE_MIN_SCORE else rules.THERAPEUTIC
        assert assessment["modality"] == expected
    codes = {reason["code"] for reason in assessment["reasons"]}
    assert ("rule:contraindicated" in codes) == contraindicated
    assert ("rule:light_pressure" in codes) == light


@fast
@given(valid_answers(), st.sampled_from(list(rules.DEEP_LEANING_CONDITIONS)))
def test_adding_a_deep_leaning_condition_never_lowers_the_score(answers, condition):
    conditions = answers.get("conditions", [])
    more = {**answers, "conditions": conditions + [condition] if condition not in conditions else conditions}

    before, after = rules.assess(answers), rules.assess(more)

    assert after["score"] >= before["score"]
    # and never turns a deep tissue suggestion into therapeutic
    assert not (before["modality"] == rules.DEEP_TISSUE and after["modality"] == rules.THERAPEUTIC)


@fast
@given(valid_answers())
def test_needs_review_iff_flags_and_flags_in_list_order(answers):
    assessment = rules.assess(answers)
    given_items = answers.get("health_screening", [])

    assert assessment["needs_review"] == bool(assessment["flags"])
    assert assessment["flags"] == [item for item in rules.HEALTH_SCREENING if item in given_items]


@fast
@given(valid_answers(), st.randoms(use_true_random=False))
def test_assessment_is_deterministic_whatever_the_list_order(answers, random):
    shuffled = copy.deepcopy(answers)
    for name in ("conditions", "health_screening"):
        if name in shuffled:
            random.shuffle(shuffled[name])

    assert rules.assess(shuffled) == rules.assess(answers) == rules.assess(copy.deepcopy(answers))


# Any text JSON can carry, lone surrogates included.
json_text = st.text(st.characters(categories=["Cs", "L", "N", "P", "Zs", "Cc"]), max_size=20)
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | json_text,
    lambda children: st.lists(children, max_size=5) | st.dictionaries(json_text, children, max_size=5),
    max_leaves=20,
)
field_names = st.sampled_from([spec.name for spec in FIELDS] + ["other"])


@st.composite
def nearly_valid_answers(draw) -> dict:
    """Valid answers with one field replaced by any JSON value."""
    return {**draw(valid_answers()), draw(field_names): draw(json_values)}


@fast
@given(
    st.one_of(
        json_values,
        st.dictionaries(field_names | json_text, json_values),
        nearly_valid_answers(),
    )
)
def test_any_json_is_either_accepted_or_a_validation_error(data):
    try:
        answers = validate_answers(data)
    except ValidationError as exc:
        # hypothesis data: either outcome is valid, and each is checked
        assert all(len(messages) == 1 for messages in exc.message_dict.values())  # noqa: PT017
        # the 400 can always be sent
        json.dumps(exc.message_dict, ensure_ascii=False).encode("utf-8")
    else:
        rules.assess(answers)
        json.dumps(answers, ensure_ascii=False).encode("utf-8")
