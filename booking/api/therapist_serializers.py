"""Serializers of the therapist-facing API: the day sheet and the calendar feed token."""

import datetime as dt

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from booking.api.serializers import WarningsField
from clinic.models import Modality


class DaySheetQuerySerializer(serializers.Serializer):
    # Far from datetime's limits, so the day's span and its UTC conversion never overflow.
    EARLIEST = dt.date(1900, 1, 1)
    LATEST = dt.date(9998, 12, 31)

    date = serializers.DateField(input_formats=["%Y-%m-%d"], help_text="A day in the clinic's time zone, YYYY-MM-DD.")

    def validate_date(self, value: dt.date) -> dt.date:
        if not self.EARLIEST <= value <= self.LATEST:
            raise serializers.ValidationError(f"Give a date between {self.EARLIEST} and {self.LATEST}.")
        return value


class DaySheetClientSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField(source="display_name")


class DaySheetReviewSerializer(serializers.Serializer):
    modality = serializers.ChoiceField(choices=Modality.choices, source="reviewed_modality")
    note = serializers.CharField(source="review_note")
    reviewed_at = serializers.DateTimeField()
    stale = serializers.BooleanField(
        source="review_stale", help_text="The client changed the answers after this review."
    )


class DaySheetBookingSerializer(serializers.Serializer):
    """One booking of the day with what the therapist reads to prepare for it."""

    id = serializers.IntegerField()
    starts_at = serializers.DateTimeField(source="slot.starts_at")
    ends_at = serializers.DateTimeField(source="slot.ends_at")
    client = DaySheetClientSerializer()
    modality = serializers.ChoiceField(
        choices=Modality.choices,
        source="intake.modality",
        help_text="The final modality: the review's, else the suggestion.",
    )
    suggested_modality = serializers.ChoiceField(choices=Modality.choices, source="intake.suggested_modality")
    needs_review = serializers.BooleanField(help_text="The assessment's `needs_review`, or any warning.")
    flags = serializers.ListField(child=serializers.CharField(), source="intake.flags")
    warnings = WarningsField()
    focus_areas = serializers.SerializerMethodField()
    avoid_areas = serializers.SerializerMethodField()
    notes = serializers.SerializerMethodField()
    review = serializers.SerializerMethodField()

    @extend_schema_field(serializers.ListField(child=serializers.CharField()))
    def get_focus_areas(self, booking) -> list[str]:
        return list(booking.intake.answers.get("focus_areas") or [])

    @extend_schema_field(serializers.ListField(child=serializers.CharField()))
    def get_avoid_areas(self, booking) -> list[str]:
        return list(booking.intake.answers.get("avoid_areas") or [])

    @extend_schema_field(OpenApiTypes.STR)
    def get_notes(self, booking) -> str:
        return booking.intake.answers.get("notes") or ""

    @extend_schema_field(DaySheetReviewSerializer(allow_null=True))
    def get_review(self, booking):
        if not booking.intake.reviewed_modality:
            return None
        return DaySheetReviewSerializer(booking.intake).data


class DaySheetSerializer(serializers.Serializer):
    date = serializers.DateField()
    time_zone = serializers.CharField(help_text="The clinic's IANA time zone the date is read in.")
    bookings = DaySheetBookingSerializer(many=True)


class FeedTokenSerializer(serializers.Serializer):
    token = serializers.CharField(help_text="Secret: anyone with it can read the calendar.")
    url = serializers.URLField(help_text="The calendar's address with the token, for a calendar app to subscribe to.")
