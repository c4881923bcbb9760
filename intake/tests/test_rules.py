"""The pure modality rules against docs/intake.md and its worked cases."""

import ast
import copy
import re
import time
from pathlib import Path

import pytest

from intake import rules
from intake.form import validate_answers
from intake.tests.cases import VALID_CASES, assert_matches_expected


@pytest.mark.parametrize("case", VALID_CASES)
def test_worked_case(case):
    assessment = rules.assess(case["answers"])

    assert_matches_expected(assessment, case["expected"])
    assert assessment["rules_version"] == rules.RULES_VERSION


@pytest.mark.parametrize("case", VALID_CASES)
def test_worked_case_after_validation(case):
    # given the answers as the form normalizes them (defaults filled)
    answers = validate_answers(case["answers"])

    # then the assessment is the same as on the raw answers
    assert_matches_expected(rules.assess(answers), case["expected"])


@pytest.mark.parametrize("case", VALID_CASES)
def test_reasons_are_sorted_by_code_and_carry_the_tables_points(case):
    reasons = rules.assess(case["answers"])["reasons"]

    codes = [reason["code"] for reason in reasons]
    assert codes == sorted(set(codes))
    for reason in reasons:
        assert set(reason) == {"code", "label", "points"}
        assert reason["label"]
        kind, value = reason["code"].split(":")
        if kind == "rule":
            assert reason["points"] == 0
        else:
            answer = "conditions" if kind == "condition" else kind
            assert reason["points"] == rules.POINTS[answer][value] != 0


def test_reason_wording_matches_the_contract_example():
    answers = {"pressure_preference": "deep", "primary_goal": "mobility", "consent": True}

    reasons = rules.assess(answers)["reasons"]

    assert {"code": "pressure_preference:deep", "label": "Prefers deep pressure", "points": 3} in reasons


def test_flags_follow_the_lists_order_not_the_clients():
    answers = {
        "pressure_preference": "medium",
        "primary_goal": "relaxation",
        "health_screening": ["high_blood_pressure", "skin_condition", "pregnancy", "blood_thinners"],
        "consent": True,
    }

    assessment = rules.assess(answers)

    assert assessment["flags"] == ["blood_thinners", "pregnancy", "skin_condition", "high_blood_pressure"]
    assert assessment["needs_review"] is True


def test_score_is_computed_even_when_a_rule_decides():
    answers = {
        "pressure_preference": "deep",
        "primary_goal": "injury_recovery",
        "conditions": ["chronic_pain", "sports_injury"],
        "health_screening": ["pregnancy"],
        "consent": True,
    }

    assessment = rules.assess(answers)

    assert assessment["modality"] == rules.THERAPEUTIC
    assert assessment["score"] == 3 + 1 + 1 + 1


def test_assess_leaves_the_answers_alone_and_returns_fresh_lists():
    answers = {
        "pressure_preference": "firm",
        "primary_goal": "pain_relief",
        "conditions": ["muscle_tension"],
        "health_screening": ["skin_condition"],
        "consent": True,
    }
    before = copy.deepcopy(answers)

    first = rules.assess(answers)
    first["flags"].append("tampered")
    first["reasons"][0]["points"] = 99

    assert answers == before
    assert rules.assess(answers)["flags"] == ["skin_condition"]
    assert all(reason["points"] != 99 for reason in rules.assess(answers)["reasons"])


def test_the_tables_cover_every_allowed_value():
    assert set(rules.POINTS["pressure_preference"]) == set(rules.PRESSURE_PREFERENCES)
    assert set(rules.POINTS["primary_goal"]) == set(rules.PRIMARY_GOALS)
    assert set(rules.POINTS["pain_tolerance"]) == set(rules.PAIN_TOLERANCES)
    assert set(rules.POINTS["conditions"]) == set(rules.CONDITIONS)
    assert all(rules.POINTS["conditions"][c] == +1 for c in rules.DEEP_LEANING_CONDITIONS)
    assert all(rules.POINTS["conditions"][c] == -1 for c in rules.THERAPEUTIC_LEANING_CONDITIONS)
    assert all(rules.POINTS["conditions"][c] == 0 for c in rules.NEUTRAL_CONDITIONS)
    # a value belongs to one list only
    assert len(rules.CONDITIONS) == sum(
        map(len, (rules.THERAPEUTIC_LEANING_CONDITIONS, rules.DEEP_LEANING_CONDITIONS, rules.NEUTRAL_CONDITIONS))
    )
    assert len(rules.HEALTH_SCREENING) == len(rules.CONTRAINDICATIONS) + len(rules.REVIEW_FLAGS)


def test_rules_table_lists_every_weight():
    table = rules.rules_table()

    assert len(table) == sum(len(points) for points in rules.POINTS.values())
    assert {"answer": "pressure_preference", "value": "light", "label": "Light", "points": -3} in table


def test_rules_module_is_pure():
    source = Path(rules.__file__).read_text(encoding="utf-8")
    imported = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            imported.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            imported.add(node.module or "")

    assert not {name for name in imported if name.split(".")[0] in {"django", "rest_framework", "intake", "clinic"}}


def test_assess_takes_well_under_a_millisecond():
    answers = validate_answers(
        {
            "pressure_preference": "firm",
            "primary_goal": "pain_relief",
            "conditions": list(rules.CONDITIONS),
            "pain_tolerance": "low",
            "health_screening": list(rules.HEALTH_SCREENING),
            "focus_areas": ["neck"],
            "consent": True,
        }
    )
    runs = 2000

    started = time.perf_counter()
    for _ in range(runs):
        rules.assess(answers)
    per_call = (time.perf_counter() - started) / runs

    assert per_call < 0.001


def test_docs_score_table_is_the_codes():
    doc = (Path(__file__).resolve().parents[2] / "docs" / "intake.md").read_text(encoding="utf-8")
    rows = [f"| `{row['answer']}` | `{row['value']}` | {row['points']:+d} |" for row in rules.rules_table()]

    score_rows = re.compile(r"^\| `\w+` \| `\w+` \| [+-]\d+ \|$")

    assert [line for line in doc.splitlines() if score_rows.match(line)] == rows
