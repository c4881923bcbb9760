"""Serializers of the therapist-facing API: the day sheet and the calendar feed token."""

import datetime as dt

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from booking.models import Booking
from clinic.models import Modality
from intake.api.serializers import ChangedFieldsField, FlagsField


class DaySheetQuerySerializer(serializers.Serializer):
    # Far from datetime's limits, so the day's span and its UTC conversion never overflow.
    EARLIEST = dt.date(1900, 1, 1)
    LATEST = dt.date(9998, 12, 31)

    date = serializers.DateField(
        input_formats=["%Y-%m-%d"],
        help_text="YYYY-MM-DD: the sessions starting on this date, each in its location's time zone.",
    )

    def validate_date(self, value: dt.date) -> dt.date:
        if not self.EARLIEST <= value <= self.LATEST:
            raise serializers.ValidationError(f"Give a date between {self.EARLIEST} and {self.LATEST}.")
        return value


class WarningsField(serializers.ListField):
    """A booking's warnings: codes any role may see (docs/api.md)."""

    child = serializers.ChoiceField(choices=Booking.WarningCode.choices)


class DaySheetClientSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField(source="display_name")


class DaySheetServiceSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()
    duration_minutes = serializers.IntegerField()


class DaySheetLocationSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()
    time_zone = serializers.CharField(help_text="The location's IANA time zone: the session's local day is read in it.")


class DaySheetRoomSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()


class DaySheetReviewSerializer(serializers.Serializer):
    modality = serializers.ChoiceField(choices=Modality.choices, source="reviewed_modality")
    note = serializers.CharField(source="review_note")
    reviewed_at = serializers.DateTimeField()
    stale = serializers.BooleanField(
        source="review_stale", help_text="The client changed the answers after this review."
    )


def _answers(booking) -> dict:
    return booking.intake.answers if booking.intake is not None else {}


class DaySheetBookingSerializer(serializers.Serializer):
    """One session of the day with what the therapist reads to prepare for it.

    While the intake is pending (a front-desk booking the client has not
    completed yet) there is nothing to read: the modalities and
    `changes_since_last` are null, the lists empty, `notes` empty and
    `review` null.
    """

    id = serializers.IntegerField()
    starts_at = serializers.DateTimeField()
    ends_at = serializers.DateTimeField()
    client = DaySheetClientSerializer()
    service = DaySheetServiceSerializer()
    location = DaySheetLocationSerializer()
    room = DaySheetRoomSerializer(allow_null=True, help_text="Null where the location books no rooms.")
    intake_status = serializers.ChoiceField(choices=Booking.IntakeStatus.choices)
    modality = serializers.SerializerMethodField(help_text="The final modality: the review's, else the suggestion.")
    suggested_modality = serializers.SerializerMethodField()
    needs_review = serializers.BooleanField(help_text="The assessment's `needs_review`, or any warning.")
    flags = serializers.SerializerMethodField()
    new_flags = serializers.SerializerMethodField(
        help_text="Flags the client's previous intake did not have (all of them for a first intake)."
    )
    changes_since_last = serializers.SerializerMethodField(
        help_text="The answer fields changed since the client's previous intake, in form order; "
        "null for a first intake (and while pending)."
    )
    warnings = WarningsField()
    focus_areas = serializers.SerializerMethodField()
    avoid_areas = serializers.SerializerMethodField()
    notes = serializers.SerializerMethodField()
    review = serializers.SerializerMethodField()

    @extend_schema_field(serializers.ChoiceField(choices=Modality.choices, allow_null=True))
    def get_modality(self, booking) -> str | None:
        return booking.intake.modality if booking.intake is not None else None

    @extend_schema_field(serializers.ChoiceField(choices=Modality.choices, allow_null=True))
    def get_suggested_modality(self, booking) -> str | None:
        return booking.intake.suggested_modality if booking.intake is not None else None

    @extend_schema_field(serializers.ListField(child=serializers.CharField()))
    def get_flags(self, booking) -> list[str]:
        return list(booking.intake.flags) if booking.intake is not None else []

    @extend_schema_field(FlagsField())
    def get_new_flags(self, booking) -> list[str]:
        return list(booking.intake.new_flags) if booking.intake is not None else []

    @extend_schema_field(ChangedFieldsField())
    def get_changes_since_last(self, booking) -> list[str] | None:
        return booking.intake.changes_since_last if booking.intake is not None else None

    @extend_schema_field(serializers.ListField(child=serializers.CharField()))
    def get_focus_areas(self, booking) -> list[str]:
        return list(_answers(booking).get("focus_areas") or [])

    @extend_schema_field(serializers.ListField(child=serializers.CharField()))
    def get_avoid_areas(self, booking) -> list[str]:
        return list(_answers(booking).get("avoid_areas") or [])

    @extend_schema_field(OpenApiTypes.STR)
    def get_notes(self, booking) -> str:
        return _answers(booking).get("notes") or ""

    @extend_schema_field(DaySheetReviewSerializer(allow_null=True))
    def get_review(self, booking):
        if booking.intake is None or not booking.intake.reviewed_modality:
            return None
        return DaySheetReviewSerializer(booking.intake).data


class DaySheetSerializer(serializers.Serializer):
    date = serializers.DateField(help_text="Each session's start falls on this date in its location's time zone.")
    bookings = DaySheetBookingSerializer(many=True)


class FeedTokenSerializer(serializers.Serializer):
    token = serializers.CharField(help_text="Secret: anyone with it can read the calendar.")
    url = serializers.URLField(help_text="The calendar's address with the token, for a calendar app to subscribe to.")
