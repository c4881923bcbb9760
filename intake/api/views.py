"""The public intake endpoints: the form, and a preview of its assessment."""

from drf_spectacular.utils import OpenApiExample, OpenApiResponse, extend_schema
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.views import APIView

from config.openapi import VALIDATION_ERROR
from config.parsers import NestingSafeJSONParser
from intake.api.serializers import (
    AnswersSerializer,
    AssessmentSerializer,
    FormDefinitionSerializer,
)
from intake.form import form_definition
from intake.rules import assess


class PublicIntakeView(APIView):
    """Anyone may read the form and preview an assessment, logged in or not.

    No authentication at all, so a stale token or a session without a CSRF
    token never stands between a visitor and the form; the anonymous
    throttle still applies.
    """

    authentication_classes = []
    permission_classes = [AllowAny]
    parser_classes = [NestingSafeJSONParser]


class IntakeFormView(PublicIntakeView):
    @extend_schema(
        operation_id="intake_form",
        summary="The current intake form",
        description="Version, fields, allowed values and their labels. Answers are posted in this shape.",
        responses={200: FormDefinitionSerializer},
    )
    def get(self, request):
        return Response(FormDefinitionSerializer(form_definition()).data)


class IntakeAssessView(PublicIntakeView):
    @extend_schema(
        operation_id="intake_assess",
        summary="Preview the assessment of intake answers",
        description=(
            "The body is the answers object itself. Answers the suggested modality, score, "
            "flags and reasons the rules give; stores nothing."
        ),
        request=AnswersSerializer,
        examples=[
            OpenApiExample(
                "Answers",
                value={
                    "pressure_preference": "firm",
                    "primary_goal": "pain_relief",
                    "conditions": ["lower_back_pain"],
                    "focus_areas": ["lower_back"],
                    "consent": True,
                },
                request_only=True,
            )
        ],
        responses={
            200: AssessmentSerializer,
            400: OpenApiResponse(
                VALIDATION_ERROR.response,
                description="Invalid answers: field → messages (an unknown field under its own name).",
                examples=[
                    OpenApiExample(
                        "Invalid answers",
                        value={
                            "pressure_preference": ["This field is required."],
                            "avoid_areas": ["neck: an area cannot be both a focus and avoided."],
                        },
                    )
                ],
            ),
        },
    )
    def post(self, request):
        answers = AnswersSerializer(data=request.data)
        answers.is_valid(raise_exception=True)
        # assess() already returns plain JSON-ready data in AssessmentSerializer's shape (the schema);
        # copying it through the serializer cost a third of the request (bench/README.md, Findings).
        return Response(assess(answers.validated_data))
