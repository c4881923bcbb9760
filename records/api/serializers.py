"""Serializers of the clinical record: they parse and render, nothing else."""

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from booking.api.serializers import id_field
from booking.models import Booking
from clinic.models import Modality
from records.models import BODY_AREAS, PRESSURES, SOAP_MAX_LENGTH, TreatmentNote


class NoteAuthorSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField(source="display_name")


class HistoryRefSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()


class TreatmentNoteSerializer(serializers.ModelSerializer):
    """A treatment note as its readers see it (its therapist, admins; its client in their export)."""

    author = NoteAuthorSerializer()
    status = serializers.SerializerMethodField(help_text="`draft` until signed; a signed note never changes.")
    areas_treated = serializers.ListField(child=serializers.ChoiceField(choices=BODY_AREAS))
    amends = serializers.IntegerField(
        source="amends_id", allow_null=True, help_text="The signed note this one amends, if any."
    )
    amended_by = serializers.SerializerMethodField(help_text="Ids of the notes amending this one, oldest first.")

    class Meta:
        model = TreatmentNote
        fields = [
            "id",
            "booking",
            "author",
            "status",
            "subjective",
            "objective",
            "assessment",
            "plan",
            "areas_treated",
            "pressure_used",
            "modality_given",
            "amends",
            "amended_by",
            "signed_at",
            "created_at",
            "updated_at",
        ]
        read_only_fields = fields

    @extend_schema_field(serializers.ChoiceField(choices=["draft", "signed"]))
    def get_status(self, note: TreatmentNote) -> str:
        return "signed" if note.is_signed else "draft"

    @extend_schema_field(serializers.ListField(child=serializers.IntegerField()))
    def get_amended_by(self, note: TreatmentNote) -> list[int]:
        return sorted(amendment.pk for amendment in note.amendments.all())


class StrictSerializer(serializers.Serializer):
    """Refuses keys it does not know (400), so a misspelt or read-only field is never silently dropped."""

    def validate(self, attrs):
        unknown = set(getattr(self, "initial_data", {}) or {}) - set(self.fields)
        if unknown:
            raise serializers.ValidationError({name: ["Unknown field."] for name in sorted(map(str, unknown))[:20]})
        return attrs


class AreasField(serializers.ListField):
    child = serializers.ChoiceField(choices=BODY_AREAS)

    def __init__(self, **kwargs):
        kwargs.setdefault("allow_empty", False)
        kwargs.setdefault("max_length", len(BODY_AREAS))
        kwargs.setdefault("help_text", "Body areas of the intake form, each once; at least one.")
        super().__init__(**kwargs)

    def to_internal_value(self, data):
        values = super().to_internal_value(data)
        if len(set(values)) != len(values):
            raise serializers.ValidationError("Each area may be listed only once.")
        return values


def _soap(help_text: str) -> serializers.CharField:
    return serializers.CharField(
        required=False, allow_blank=True, max_length=SOAP_MAX_LENGTH, trim_whitespace=False, help_text=help_text
    )


class NoteFieldsSerializer(StrictSerializer):
    subjective = _soap("What the client reported.")
    objective = _soap("What the therapist found.")
    assessment = _soap("The therapist's assessment.")
    plan = _soap("What comes next.")
    areas_treated = AreasField()
    pressure_used = serializers.ChoiceField(choices=PRESSURES, help_text="A pressure value of the intake form.")
    modality_given = serializers.ChoiceField(choices=Modality.choices)


class NoteCreateSerializer(NoteFieldsSerializer):
    """A new draft note; `amends` names the signed note of this booking it corrects."""

    amends = id_field(required=False, allow_null=True, help_text="A signed note of this booking, to amend.")


class NoteUpdateSerializer(NoteFieldsSerializer):
    """A draft's new values: any of its fields (the others stay)."""


class HistorySessionSerializer(serializers.ModelSerializer):
    """One session of a client's history, with its signed treatment notes."""

    service = HistoryRefSerializer()
    therapist = HistoryRefSerializer()
    location = HistoryRefSerializer()
    modality = serializers.SerializerMethodField(help_text="The session's modality; null while the intake is pending.")
    notes = TreatmentNoteSerializer(source="signed_notes", many=True, help_text="Its signed notes, oldest first.")

    class Meta:
        model = Booking
        fields = ["id", "starts_at", "ends_at", "status", "service", "therapist", "location", "modality", "notes"]
        read_only_fields = fields

    @extend_schema_field(serializers.ChoiceField(choices=Modality.choices, allow_null=True))
    def get_modality(self, booking: Booking) -> str | None:
        return booking.intake.modality if booking.intake is not None else None
