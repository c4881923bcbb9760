"""HTTP shapes of the intake: the answers (in), the assessment, the form and a stored intake (out).

The answers have one definition, `intake.form.FIELDS`: `AnswersSerializer`
validates through `intake.form.validate_answers` and its OpenAPI schema is
`intake.form.answers_json_schema()`, so the check, the form endpoint and
the schema cannot drift.
"""

from django.core.exceptions import ValidationError as DjangoValidationError
from drf_spectacular.extensions import OpenApiSerializerExtension, OpenApiSerializerFieldExtension
from drf_spectacular.plumbing import ResolvedComponent
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from clinic.models import Modality
from intake.changes import COMPARED_FIELDS
from intake.form import CHOICE_SETS, FIELDS, answers_json_schema, validate_answers
from intake.models import Intake
from intake.selectors import intake_assessment


class AnswersSerializer(serializers.Serializer):
    """Intake answers (docs/intake.md). Validated data: the normalized answers, defaults filled.

    Use it at the top level (`AnswersSerializer(data=request.data)`) or
    nested as a field, e.g. the booking's `{"intake": {"answers": {...}}}`:
    errors then nest as `{"intake": {"answers": {field: [message]}}}`.
    """

    def to_internal_value(self, data):
        try:
            return validate_answers(data)
        except DjangoValidationError as exc:
            raise serializers.ValidationError(exc.message_dict) from None

    def to_representation(self, instance):
        return dict(instance)


def _choice_set_ref(auto_schema, choice_set: str) -> dict:
    """A reference to the named schema component of one of the form's choice sets.

    One component per list (`BodyArea` for both area fields, `HealthScreening`
    for the answers and the flags), where drf-spectacular would otherwise
    name a copy after every field that uses it.
    """
    name = "".join(word.capitalize() for word in choice_set.split("_"))
    component = ResolvedComponent(
        name=name,
        type=ResolvedComponent.SCHEMA,
        object=f"intake.form.CHOICE_SETS[{choice_set}]",
        schema={"type": "string", "enum": list(CHOICE_SETS[choice_set])},
    )
    auto_schema.registry.register_on_missing(component)
    return component.ref


class AnswersSerializerSchema(OpenApiSerializerExtension):
    """Documents `AnswersSerializer` with the JSON Schema built from the form definition."""

    target_class = AnswersSerializer

    def get_name(self, auto_schema, direction):
        return "IntakeAnswers"

    def map_serializer(self, auto_schema, direction):
        return answers_json_schema(lambda choice_set: _choice_set_ref(auto_schema, choice_set))


class FlagsField(serializers.ListField):
    """The assessment's flags: health-screening values, contraindications first."""

    child = serializers.CharField()


class FlagsFieldSchema(OpenApiSerializerFieldExtension):
    target_class = FlagsField

    def map_serializer_field(self, auto_schema, direction):
        return {"type": "array", "items": _choice_set_ref(auto_schema, "health_screening")}


class ChangedFieldsField(serializers.ListField):
    """`changes_since_last`: the answer fields that differ from the client's previous intake, in form order."""

    child = serializers.ChoiceField(choices=list(COMPARED_FIELDS))

    def __init__(self, **kwargs):
        kwargs.setdefault("allow_null", True)
        kwargs.setdefault(
            "help_text",
            "The answer fields that differ from the client's previous intake, in form order; "
            "`[]` when nothing changed, null for their first intake.",
        )
        super().__init__(**kwargs)


class ReasonSerializer(serializers.Serializer):
    code = serializers.CharField(help_text="e.g. `pressure_preference:deep`, `rule:contraindicated`")
    label = serializers.CharField(help_text="For the therapist to read.")
    points = serializers.IntegerField(help_text="Points added to the score (0 for a rule).")


class AssessmentSerializer(serializers.Serializer):
    """What the rules make of the answers: the suggestion, its score, reasons and flags."""

    modality = serializers.ChoiceField(choices=Modality.choices, help_text="The suggested modality.")
    score = serializers.IntegerField(help_text="Positive leans to deep tissue, negative to therapeutic.")
    needs_review = serializers.BooleanField(help_text="True when there is at least one flag.")
    flags = FlagsField(help_text="Every health-screening answer given, contraindications first.")
    reasons = ReasonSerializer(many=True)
    rules_version = serializers.IntegerField(help_text="The version of the rules that made this assessment.")


class ChoiceOptionSerializer(serializers.Serializer):
    value = serializers.CharField()
    label = serializers.CharField()


class FormFieldSerializer(serializers.Serializer):
    name = serializers.CharField()
    label = serializers.CharField()
    type = serializers.ChoiceField(
        choices=sorted({spec.kind for spec in FIELDS}),
        help_text="choice: one of `choices`; choices: a list of distinct `choices`; "
        "text: a string up to `max_length`; consent: a boolean that must be true.",
    )
    required = serializers.BooleanField()
    default = serializers.JSONField(allow_null=True, help_text="Used when the answer is left out.")
    choices = ChoiceOptionSerializer(many=True)
    max_length = serializers.IntegerField(allow_null=True)
    help_text = serializers.CharField(allow_blank=True)


class FormDefinitionSerializer(serializers.Serializer):
    version = serializers.IntegerField()
    fields = FormFieldSerializer(many=True)


class ReviewSerializer(serializers.Serializer):
    """The treating therapist's final word on an intake."""

    modality = serializers.ChoiceField(source="reviewed_modality", choices=Modality.choices)
    note = serializers.CharField(source="review_note", allow_blank=True)
    reviewed_by = serializers.CharField(source="reviewed_by.display_name", allow_null=True)
    reviewed_at = serializers.DateTimeField()
    stale = serializers.BooleanField(source="review_stale", help_text="The answers changed after this review was made.")


class LatestIntakeSerializer(serializers.Serializer):
    """A client's latest intake, to prefill the next: its answers, their form version and when they were given."""

    form_version = serializers.IntegerField(help_text="The form the answers were given on.")
    answers = AnswersSerializer(read_only=True)
    created_at = serializers.DateTimeField(help_text="When the answers were given.")


class IntakeSerializer(serializers.Serializer):
    """A stored intake: answers, assessment, what changed since the last one, and review (null until reviewed).

    Renders health answers: only for readers allowed to see them (the caller
    checks and logs the read). Fetch with `intake.selectors.intake_get` so the
    reviewer comes in the same query.
    """

    form_version = serializers.IntegerField(read_only=True)
    answers = AnswersSerializer(read_only=True)
    assessment = serializers.SerializerMethodField()
    changes_since_last = ChangedFieldsField(read_only=True)
    new_flags = FlagsField(
        read_only=True, help_text="Flags the client's previous intake did not have; all of them for a first intake."
    )
    review = serializers.SerializerMethodField()

    @extend_schema_field(AssessmentSerializer)
    def get_assessment(self, intake: Intake) -> dict:
        return AssessmentSerializer(intake_assessment(intake)).data

    @extend_schema_field(ReviewSerializer(allow_null=True))
    def get_review(self, intake: Intake) -> dict | None:
        return ReviewSerializer(intake).data if intake.reviewed_modality else None
