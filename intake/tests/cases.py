"""The worked cases of INTAKE_RULES.md, from the shared folder beside the repository."""

import json
from pathlib import Path

import pytest

CASES_PATH = Path(__file__).resolve().parents[3] / "shared" / "intake_cases.json"
_CASES = json.loads(CASES_PATH.read_text(encoding="utf-8"))

VALID_CASES = [pytest.param(case, id=case["name"]) for case in _CASES["valid"]]
INVALID_CASES = [pytest.param(case, id=case["name"]) for case in _CASES["invalid"]]


def assert_matches_expected(assessment: dict, expected: dict) -> None:
    """The assessment is exactly the case's: modality, score, needs_review, flags in order, reason codes."""
    assert assessment["modality"] == expected["modality"]
    assert assessment["score"] == expected["score"]
    assert assessment["needs_review"] is expected["needs_review"]
    assert assessment["flags"] == expected["flags"]
    assert {reason["code"] for reason in assessment["reasons"]} == set(expected["reason_codes"])
