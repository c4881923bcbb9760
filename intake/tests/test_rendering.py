"""`POST /intake/assess/` answers assess()'s own dict: it must be exactly what the documented serializer renders."""

import json
from pathlib import Path

import pytest

from intake.api.serializers import AssessmentSerializer
from intake.form import validate_answers
from intake.rules import assess

CASES = json.loads((Path(__file__).resolve().parents[3] / "shared" / "intake_cases.json").read_text())["valid"]


@pytest.mark.parametrize("case", CASES, ids=[c["name"] for c in CASES])
def test_assessment_is_already_in_the_serializer_shape(case):
    assessment = assess(validate_answers(case["answers"]))
    assert json.loads(json.dumps(assessment)) == AssessmentSerializer(assessment).data
