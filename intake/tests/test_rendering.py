"""`POST /intake/assess/` answers assess()'s own dict: it must be exactly what the documented serializer renders."""

import json

import pytest

from intake.api.serializers import AssessmentSerializer
from intake.form import validate_answers
from intake.rules import assess
from intake.tests.cases import VALID_CASES


@pytest.mark.parametrize("case", VALID_CASES)
def test_assessment_is_already_in_the_serializer_shape(case):
    assessment = assess(validate_answers(case["answers"]))
    assert json.loads(json.dumps(assessment)) == AssessmentSerializer(assessment).data
