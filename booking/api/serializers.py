"""Serializers of the booking API: they parse and render, nothing else."""

from datetime import UTC, datetime, timedelta

from django.utils import timezone
from django.utils.dateparse import parse_datetime
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from booking.availability import EARLIEST_DATE, LATEST_DATE, MAX_RANGE_DAYS
from booking.models import Booking, Slot, TimeOff, WorkingHours
from booking.schedule import MAX_GENERATE_DAYS
from clinic.models import Modality, Role, Therapist
from intake.api.serializers import AnswersSerializer, IntakeSerializer

# The largest primary key a BigAutoField holds: a bigger "id" is malformed (400), not an unknown slot (409).
MAX_ID = 2**63 - 1


def person_name(first: str, last: str, email: str) -> str:
    return f"{first} {last}".strip() or email


class StrictDateTimeField(serializers.DateTimeField):
    """A datetime that must carry a UTC offset: a naive time is ambiguous, so it is refused."""

    default_error_messages = {
        "naive": "Give the time with a UTC offset, e.g. 2026-12-01T09:00:00-05:00 or 2026-12-01T14:00:00Z.",
    }

    def to_internal_value(self, value):
        # Parse before DRF does: DRF makes a naive time aware in the current
        # zone (UTC) before we could see that it had no offset.
        if isinstance(value, str):
            try:
                parsed = parse_datetime(value)
            except ValueError:
                parsed = None
            if parsed is not None and timezone.is_naive(parsed):
                self.fail("naive")
        return super().to_internal_value(value)


class LocalDateField(serializers.DateField):
    """A local date between EARLIEST_DATE and LATEST_DATE (beyond them a day's bounds do not exist)."""

    default_error_messages = {
        "out_of_range": f"Give a date between {EARLIEST_DATE.isoformat()} and {LATEST_DATE.isoformat()}.",
    }

    def to_internal_value(self, value):
        day = super().to_internal_value(value)
        if not EARLIEST_DATE <= day <= LATEST_DATE:
            self.fail("out_of_range")
        return day


class DateRangeSerializer(serializers.Serializer):
    """`from` and `to` local dates (inclusive), at most `max_days` apart."""

    max_days = MAX_RANGE_DAYS

    def get_fields(self):
        fields = super().get_fields()
        fields["from"] = LocalDateField()
        fields["to"] = LocalDateField()
        return fields

    def validate(self, attrs):
        start, end = attrs["from"], attrs["to"]
        if end < start:
            raise serializers.ValidationError({"to": ["Must be on or after `from`."]})
        if (end - start).days + 1 > self.max_days:
            raise serializers.ValidationError({"to": [f"The range may cover at most {self.max_days} days."]})
        return attrs


class AvailabilityQuerySerializer(DateRangeSerializer):
    therapist = serializers.IntegerField(required=False, min_value=1)
    modality = serializers.ChoiceField(choices=Modality.choices, required=False)


def iso_utc(value: datetime) -> str:
    """An aware datetime as DRF's DateTimeField renders it with TIME_ZONE = UTC ("...Z")."""
    text = value.astimezone(UTC).isoformat()
    return text.removesuffix("+00:00") + "Z" if text.endswith("+00:00") else text


class AvailableSlotSerializer(serializers.Serializer):
    """One bookable slot, rendered from a `values()` row.

    The schema of `render_available_slots`, which renders up to 500 rows a
    page by hand: through DRF's fields they cost half the request
    (bench/README.md, Findings).
    """

    id = serializers.IntegerField()
    therapist = serializers.IntegerField(source="therapist_id")
    therapist_name = serializers.SerializerMethodField()
    starts_at = serializers.DateTimeField()
    ends_at = serializers.DateTimeField()

    def get_therapist_name(self, row) -> str:
        return person_name(
            row["therapist__user__first_name"], row["therapist__user__last_name"], row["therapist__user__email"]
        )


def render_available_slots(rows) -> list[dict]:
    """`AvailableSlotSerializer(rows, many=True).data`, the same JSON, at a fraction of the cost."""
    return [
        {
            "id": row["id"],
            "therapist": row["therapist_id"],
            "therapist_name": person_name(
                row["therapist__user__first_name"], row["therapist__user__last_name"], row["therapist__user__email"]
            ),
            "starts_at": iso_utc(row["starts_at"]),
            "ends_at": iso_utc(row["ends_at"]),
        }
        for row in rows
    ]


# --- Schedules -------------------------------------------------------------------


class WorkingHoursSerializer(serializers.ModelSerializer):
    therapist = serializers.PrimaryKeyRelatedField(queryset=Therapist.objects.all())
    slot_minutes = serializers.IntegerField(min_value=5, max_value=480, default=60)
    buffer_minutes = serializers.IntegerField(min_value=0, max_value=240, default=0)

    class Meta:
        model = WorkingHours
        fields = ["id", "therapist", "weekday", "start_time", "end_time", "slot_minutes", "buffer_minutes"]

    def validate(self, attrs):
        start = attrs.get("start_time", getattr(self.instance, "start_time", None))
        end = attrs.get("end_time", getattr(self.instance, "end_time", None))
        if start is not None and end is not None and end <= start:
            raise serializers.ValidationError({"end_time": ["Must be after start_time."]})
        return attrs


class GenerateSlotsSerializer(DateRangeSerializer):
    max_days = MAX_GENERATE_DAYS
    therapist = serializers.PrimaryKeyRelatedField(queryset=Therapist.objects.all(), required=False)


class GenerateResultSerializer(serializers.Serializer):
    created = serializers.IntegerField()
    skipped = serializers.IntegerField()


class SlotSerializer(serializers.ModelSerializer):
    booking = serializers.IntegerField(source="active_booking_id", read_only=True, allow_null=True)

    class Meta:
        model = Slot
        fields = ["id", "therapist", "starts_at", "ends_at", "status", "booking"]
        read_only_fields = fields


MAX_SLOT_LENGTH = timedelta(hours=8)


class SlotCreateSerializer(serializers.Serializer):
    therapist = serializers.PrimaryKeyRelatedField(queryset=Therapist.objects.all())
    starts_at = StrictDateTimeField()
    ends_at = StrictDateTimeField()

    def validate(self, attrs):
        if attrs["ends_at"] <= attrs["starts_at"]:
            raise serializers.ValidationError({"ends_at": ["Must be after starts_at."]})
        if attrs["ends_at"] - attrs["starts_at"] > MAX_SLOT_LENGTH:
            raise serializers.ValidationError({"ends_at": ["A slot may last at most 8 hours."]})
        return attrs


class SlotStatusSerializer(serializers.Serializer):
    status = serializers.ChoiceField(choices=Slot.Status.choices)


class TimeOffSerializer(serializers.ModelSerializer):
    therapist = serializers.PrimaryKeyRelatedField(queryset=Therapist.objects.all())
    starts_at = StrictDateTimeField()
    ends_at = StrictDateTimeField()
    reason = serializers.CharField(max_length=200, required=False, allow_blank=True, default="")

    class Meta:
        model = TimeOff
        fields = ["id", "therapist", "starts_at", "ends_at", "reason"]

    def validate(self, attrs):
        if attrs["ends_at"] <= attrs["starts_at"]:
            raise serializers.ValidationError({"ends_at": ["Must be after starts_at."]})
        return attrs


# --- Bookings --------------------------------------------------------------------


class BookingSlotSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    therapist = serializers.IntegerField(source="therapist_id")
    therapist_name = serializers.CharField(source="therapist.name")
    starts_at = serializers.DateTimeField()
    ends_at = serializers.DateTimeField()


class PersonSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField(source="display_name")


class WarningsField(serializers.ListField):
    """A booking's warnings: codes any role may see (docs/api.md)."""

    child = serializers.ChoiceField(choices=Booking.WarningCode.choices)

    def __init__(self, **kwargs):
        kwargs.setdefault(
            "help_text",
            "Codes any role may see. `therapist_not_qualified`: the intake (as answered, or as last "
            "changed) asks for a modality the booking's therapist is not trained in; the booking needs "
            "review until the answers, a review or a move to another therapist settle it.",
        )
        super().__init__(**kwargs)


class BookingSerializer(serializers.ModelSerializer):
    """The booking as docs/api.md shows it. Front-desk staff see `flags` as `[]` (Privacy)."""

    slot = BookingSlotSerializer()
    client = PersonSerializer()
    modality = serializers.ChoiceField(source="intake.modality", choices=Modality.choices)
    suggested_modality = serializers.ChoiceField(source="intake.suggested_modality", choices=Modality.choices)
    needs_review = serializers.BooleanField(help_text="The assessment's `needs_review`, or any warning.")
    flags = serializers.SerializerMethodField()
    warnings = WarningsField()
    reviewed_at = serializers.DateTimeField(source="intake.reviewed_at", allow_null=True)

    class Meta:
        model = Booking
        fields = [
            "id",
            "slot",
            "client",
            "status",
            "modality",
            "suggested_modality",
            "needs_review",
            "flags",
            "warnings",
            "reviewed_at",
            "created_at",
            "cancelled_at",
        ]
        read_only_fields = fields

    @extend_schema_field(serializers.ListField(child=serializers.CharField()))
    def get_flags(self, booking) -> list[str]:
        request = self.context.get("request")
        if request is not None and request.user.role == Role.STAFF:
            return []
        return list(booking.intake.flags)


class BookingIntakeSerializer(IntakeSerializer):
    """A booking's intake as its endpoints show it, with the booking's `warnings`.

    Render with `context={"booking": booking}`.
    """

    warnings = serializers.SerializerMethodField()

    @extend_schema_field(WarningsField())
    def get_warnings(self, intake) -> list[str]:
        return list(self.context["booking"].warnings)


class IntakeAnswersInputSerializer(serializers.Serializer):
    """`{"answers": {...}}`: the answers, validated by the intake form (see GET /api/v1/intake/form/)."""

    answers = AnswersSerializer()


class BookingCreateSerializer(serializers.Serializer):
    slot = serializers.IntegerField(min_value=1, max_value=MAX_ID)
    intake = IntakeAnswersInputSerializer()


class BookingCancelSerializer(serializers.Serializer):
    reason = serializers.CharField(max_length=500, required=False, allow_blank=True, default="")


class BookingRescheduleSerializer(serializers.Serializer):
    slot = serializers.IntegerField(min_value=1, max_value=MAX_ID)


class BookingReviewSerializer(serializers.Serializer):
    modality = serializers.ChoiceField(choices=Modality.choices)
    note = serializers.CharField(max_length=2000, required=False, allow_blank=True, default="")
