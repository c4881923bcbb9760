"""The public intake endpoints through the real URL conf, and their OpenAPI schema."""

import json

import pytest
from django.urls import include, path
from drf_spectacular.drainage import GENERATOR_STATS, reset_generator_stats
from drf_spectacular.generators import SchemaGenerator
from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.views import APIView

from intake import rules
from intake.api.serializers import AnswersSerializer, IntakeSerializer
from intake.form import FIELDS, form_definition
from intake.models import Intake
from intake.tests.cases import INVALID_CASES, VALID_CASES, assert_matches_expected

FORM_URL = "/api/v1/intake/form/"
ASSESS_URL = "/api/v1/intake/assess/"
BASE = {"pressure_preference": "firm", "primary_goal": "relaxation", "consent": True}

pytestmark = pytest.mark.django_db


def post_raw(api, body: str, content_type: str = "application/json"):
    return api.generic("POST", ASSESS_URL, body.encode("utf-8", "surrogatepass"), content_type=content_type)


def test_anyone_reads_the_form(api):
    response = api.get(FORM_URL)

    assert response.status_code == 200
    assert response.json() == form_definition()


def test_the_form_ignores_a_stale_token(api):
    api.credentials(HTTP_AUTHORIZATION="Token not-a-real-token")

    assert api.get(FORM_URL).status_code == 200
    assert api.post(ASSESS_URL, BASE, format="json").status_code == 200


def test_a_logged_in_user_may_preview_too(as_user, client_user):
    assert as_user(client_user).post(ASSESS_URL, BASE, format="json").status_code == 200


@pytest.mark.parametrize("case", VALID_CASES)
def test_assess_a_worked_case(api, case):
    response = api.post(ASSESS_URL, case["answers"], format="json")

    assert response.status_code == 200
    body = response.json()
    assert set(body) == {"modality", "score", "needs_review", "flags", "reasons", "rules_version"}
    assert_matches_expected(body, case["expected"])
    assert body == rules.assess(case["answers"])
    assert Intake.objects.count() == 0  # a preview stores nothing


@pytest.mark.parametrize("case", INVALID_CASES)
def test_assess_refuses_an_invalid_case_naming_its_fields(api, case):
    response = api.post(ASSESS_URL, case["answers"], format="json")

    assert response.status_code == 400
    assert set(case["error_fields"]) <= set(response.json())


@pytest.mark.parametrize(
    "body",
    [
        "[]",
        '["pressure_preference"]',
        '"answers"',
        "42",
        "true",
        "null",
        "{",
        '{"consent": NaN}',
        '{"pressure_preference": {"$gt": ""}, "primary_goal": [[[]]], "consent": {"yes": true}}',
        '{"pressure_preference": null, "primary_goal": null, "consent": null}',
        '{"pressure_preference": "3", "primary_goal": 3, "consent": "true"}',
        '{"pressure_preference": "ｄｅｅｐ", "primary_goal": "relaxation", "consent": true}',
        '{"pressure_preference": "deep", "primary_goal": "relaxation", "consent": true, "conditions": '
        + json.dumps(["stress"] * 20_000)
        + "}",
        '{"pressure_preference": "deep", "primary_goal": "relaxation", "consent": true, "notes": "'
        + "é" * 100_000
        + '"}',
        '{"pressure_preference": "deep", "primary_goal": "relaxation", "consent": true, "notes": "a\\u0000b"}',
        '{"pressure_preference": "deep", "primary_goal": "relaxation", "consent": true, "notes": "\\ud800"}',
        '{"\\u00fcnknown": 1, "pressure_preference": "deep", "primary_goal": "relaxation", "consent": true}',
        '{"\\ud800": 1, "pressure_preference": "\\udfff", "primary_goal": "relaxation", "consent": true}',
        "[" * 50_000 + "]" * 50_000,
        '{"a":' * 20_000 + "1" + "}" * 20_000,
    ],
    ids=lambda body: body[:40],
)
def test_hostile_bodies_get_a_400(api, body):
    response = post_raw(api, body)

    assert response.status_code == 400
    assert isinstance(response.json(), dict)
    assert Intake.objects.count() == 0


def test_a_body_over_the_size_limit_is_refused(api, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1024

    response = post_raw(api, json.dumps({**BASE, "notes": "x" * 2000}))

    assert response.status_code == 413


def test_assess_speaks_json_only(api):
    response = post_raw(api, "pressure_preference=deep&consent=true", "application/x-www-form-urlencoded")

    assert response.status_code == 415


def test_assess_is_post_only(api):
    assert api.get(ASSESS_URL).status_code == 405


def test_errors_are_field_to_messages(api):
    response = api.post(ASSESS_URL, {**BASE, "focus_areas": ["neck"], "avoid_areas": ["neck"], "x": 1}, format="json")

    assert response.status_code == 400
    body = response.json()
    assert set(body) == {"avoid_areas", "x"}
    assert all(isinstance(messages, list) and len(messages) == 1 for messages in body.values())


def test_answers_nest_in_a_booking_like_serializer():
    class IntakeInput(serializers.Serializer):
        answers = AnswersSerializer()

    class BookingInput(serializers.Serializer):
        service = serializers.IntegerField()
        starts_at = serializers.DateTimeField()
        intake = IntakeInput()

    session = {"service": 1, "starts_at": "2026-12-01T10:00:00-05:00"}
    good = BookingInput(data={**session, "intake": {"answers": BASE}})
    bad = BookingInput(data={**session, "intake": {"answers": {**BASE, "consent": False}}})
    not_an_object = BookingInput(data={**session, "intake": {"answers": ["x"]}})
    missing = BookingInput(data={**session, "intake": {}})

    assert good.is_valid(), good.errors
    assert good.validated_data["intake"]["answers"]["pain_tolerance"] == "medium"
    assert not bad.is_valid()
    assert set(bad.errors["intake"]["answers"]) == {"consent"}
    assert not not_an_object.is_valid()
    assert set(not_an_object.errors["intake"]["answers"]) == {"non_field_errors"}
    assert not missing.is_valid()
    assert "answers" in missing.errors["intake"]


# --- OpenAPI ----------------------------------------------------------------


class _IntakeReadView(APIView):
    """Stands in for the booking app's intake endpoint, to document IntakeSerializer."""

    @extend_schema(operation_id="example_intake", summary="An intake", responses=IntakeSerializer)
    def get(self, request):
        raise NotImplementedError


def intake_schema() -> dict:
    patterns = [
        path("api/v1/", include("intake.api.urls")),
        path("api/v1/example-intake/", _IntakeReadView.as_view()),
    ]
    reset_generator_stats()
    schema = SchemaGenerator(patterns=patterns).get_schema(request=None, public=True)
    assert not GENERATOR_STATS, "schema generation warned"
    return schema


def resolve(schema: dict, node: dict) -> dict:
    while "$ref" in node or "allOf" in node:
        node = node["allOf"][0] if "allOf" in node else node
        if "$ref" in node:
            node = schema["components"]["schemas"][node["$ref"].rsplit("/", 1)[1]]
    return node


def test_schema_documents_the_endpoints():
    schema = intake_schema()

    form = schema["paths"][FORM_URL]["get"]
    assess = schema["paths"][ASSESS_URL]["post"]
    assert form["responses"]["200"]["content"]["application/json"]["schema"]["$ref"].endswith("/FormDefinition")
    assert assess["requestBody"]["content"]["application/json"]["schema"]["$ref"].endswith("/IntakeAnswersRequest")
    assert list(assess["requestBody"]["content"]) == ["application/json"]
    assert assess["responses"]["200"]["content"]["application/json"]["schema"]["$ref"].endswith("/Assessment")
    assert "400" in assess["responses"]
    assert "security" not in assess  # no credentials needed


def test_schema_of_the_answers_is_the_form_definition():
    schema = intake_schema()

    answers = schema["components"]["schemas"]["IntakeAnswersRequest"]
    assert answers["additionalProperties"] is False
    assert answers["required"] == [spec.name for spec in FIELDS if spec.required]
    for spec in FIELDS:
        prop = answers["properties"][spec.name]
        if spec.kind == "choice":
            assert resolve(schema, prop)["enum"] == list(spec.choices)
        elif spec.kind == "choices":
            assert resolve(schema, prop["items"])["enum"] == list(spec.choices)
            assert prop["uniqueItems"] is True
        elif spec.kind == "text":
            assert prop["maxLength"] == spec.max_length
    # both area fields share one list, the answers and the flags share another
    components = schema["components"]["schemas"]
    assert components["BodyArea"]["enum"] == list(rules.BODY_AREAS)
    flags = components["Assessment"]["properties"]["flags"]["items"]
    assert flags == {"$ref": "#/components/schemas/HealthScreening"}


def test_schema_of_a_stored_intake():
    schema = intake_schema()

    intake = schema["components"]["schemas"]["Intake"]
    assert set(intake["properties"]) == {
        "form_version",
        "answers",
        "assessment",
        "changes_since_last",
        "new_flags",
        "review",
    }
    review = intake["properties"]["review"]
    assert review.get("nullable") is True
    review_props = resolve(schema, review)["properties"]
    assert set(review_props) == {"modality", "note", "reviewed_by", "reviewed_at", "stale"}
