"""The worked cases of the intake rules (docs/intake.md), from the project's test data.

`data/intake_cases.json` holds answers with their expected assessment (and
answers that must be refused); `data/change_cases.json` holds pairs of a
client's previous and current answers with the expected
`changes_since_last` and `new_flags`.
"""

import json
from pathlib import Path

import pytest

DATA_DIR = Path(__file__).resolve().parent / "data"
CASES_PATH = DATA_DIR / "intake_cases.json"
CHANGE_CASES_PATH = DATA_DIR / "change_cases.json"
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


CHANGE_CASES = [
    pytest.param(pair, id=pair["name"]) for pair in json.loads(CHANGE_CASES_PATH.read_text(encoding="utf-8"))["pairs"]
]
