"""Serializers and query filters of the front desk's schedule API: they parse and render, nothing else.

Rules (overlaps, bookings left outside shifts, a therapist's locations) are
`booking.schedule`'s; these check only what a request says on its own.
"""

import re
from datetime import UTC, datetime, time, timedelta

import django_filters
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db.models import DateField, F, Func, QuerySet
from rest_framework import serializers

from booking.api.serializers import DateRangeSerializer, StrictDateTimeField
from booking.availability import EARLIEST_DATE, LATEST_DATE
from booking.models import Closure, Shift, TimeOff, WorkingHours
from booking.schedule import MAX_GENERATE_DAYS
from clinic.models import Location, Room, Therapist

MAX_SHIFT_LENGTH = timedelta(hours=24)


class SpanSerializer(serializers.ModelSerializer):
    """`starts_at` and `ends_at` with a UTC offset (a time without one → 400), ending after they start."""

    starts_at = StrictDateTimeField()
    ends_at = StrictDateTimeField()
    max_length: timedelta | None = None

    def validate(self, attrs):
        starts_at = attrs.get("starts_at", getattr(self.instance, "starts_at", None))
        ends_at = attrs.get("ends_at", getattr(self.instance, "ends_at", None))
        if starts_at is not None and ends_at is not None:
            if ends_at <= starts_at:
                raise serializers.ValidationError({"ends_at": ["Must be after starts_at."]})
            if self.max_length is not None and ends_at - starts_at > self.max_length:
                hours = int(self.max_length.total_seconds() // 3600)
                raise serializers.ValidationError({"ends_at": [f"May be at most {hours} hours after starts_at."]})
        return attrs


class ConflictsField(serializers.ListField):
    child = serializers.IntegerField()

    def __init__(self, **kwargs):
        kwargs.setdefault("read_only", True)
        kwargs.setdefault(
            "help_text",
            "Ids of the active bookings (confirmed or held) it overlaps, session plus buffer: they are not "
            "cancelled; the front desk moves or cancels each.",
        )
        super().__init__(**kwargs)


# --- Working hours -----------------------------------------------------------------


class LocalTimeField(serializers.TimeField):
    """A wall-clock time of the location ("09:00"): one with a UTC offset says two things, so it is refused.

    (Django's parser would drop the offset without a word.)
    """

    default_error_messages = {"offset": "Give the location's wall-clock time without a UTC offset, e.g. 09:00."}
    _OFFSET = re.compile(r"(?:[zZ]|[+-]\d{2}(?::?\d{2})?)$")

    def to_internal_value(self, value):
        if isinstance(value, str) and self._OFFSET.search(value.strip()):
            self.fail("offset")
        return super().to_internal_value(value)


class WorkingHoursSerializer(serializers.ModelSerializer):
    """A weekly row: wall-clock times of the location's own zone; the therapist must work there."""

    therapist = serializers.PrimaryKeyRelatedField(queryset=Therapist.objects.all())
    location = serializers.PrimaryKeyRelatedField(queryset=Location.objects.all())
    start_time = LocalTimeField(help_text="Local time at the location, e.g. 09:00.")
    end_time = LocalTimeField(help_text="Local time at the location, after start_time (same day).")

    class Meta:
        model = WorkingHours
        fields = ["id", "therapist", "location", "weekday", "start_time", "end_time"]
        extra_kwargs = {"weekday": {"help_text": "0 = Monday … 6 = Sunday."}}

    def validate(self, attrs):
        start = attrs.get("start_time", getattr(self.instance, "start_time", None))
        end = attrs.get("end_time", getattr(self.instance, "end_time", None))
        if start is not None and end is not None and end <= start:
            raise serializers.ValidationError({"end_time": ["Must be after start_time."]})
        return attrs


# --- Shifts ---------------------------------------------------------------------


class ShiftSerializer(SpanSerializer):
    """One shift: a therapist works at a location from `starts_at` to `ends_at` (at most 24 hours)."""

    therapist = serializers.PrimaryKeyRelatedField(queryset=Therapist.objects.all())
    location = serializers.PrimaryKeyRelatedField(queryset=Location.objects.all())
    max_length = MAX_SHIFT_LENGTH

    class Meta:
        model = Shift
        fields = ["id", "therapist", "location", "starts_at", "ends_at"]


class GenerateShiftsSerializer(DateRangeSerializer):
    """Local dates `from`..`to` (inclusive, at most 92 days), optionally for one therapist."""

    max_days = MAX_GENERATE_DAYS
    therapist = serializers.PrimaryKeyRelatedField(queryset=Therapist.objects.all(), required=False)


class GenerateResultSerializer(serializers.Serializer):
    created = serializers.IntegerField(help_text="Shifts made.")
    skipped = serializers.IntegerField(
        help_text="Shifts not made: one like it exists already, it would overlap another shift of the "
        "therapist, or its start or end does not exist that day (a daylight-saving change)."
    )


class LocalDate(Func):
    """The local date of a timestamp in a zone named by another column: `(ts AT TIME ZONE zone)::date`."""

    arg_joiner = " AT TIME ZONE "
    template = "((%(expressions)s)::date)"
    output_field = DateField()


# Local dates lie within a day of their UTC date (zones UTC-12 to UTC+14):
# these bounds let the span index narrow the rows before the exact test.
_DAY = timedelta(days=1)


class ShiftFilter(django_filters.FilterSet):
    """`from` and `to` (inclusive) are dates local to each shift's location: its start's date there."""

    class Meta:
        model = Shift
        fields = ["therapist", "location"]

    @staticmethod
    def _local_date(qs: QuerySet) -> QuerySet:
        return qs.alias(local_date=LocalDate(F("starts_at"), F("location__time_zone")))

    def filter_from(self, qs: QuerySet, name, value) -> QuerySet:
        earliest = datetime.combine(value - _DAY, time.min, tzinfo=UTC)
        return self._local_date(qs.filter(starts_at__gte=earliest)).filter(local_date__gte=value)

    def filter_to(self, qs: QuerySet, name, value) -> QuerySet:
        latest = datetime.combine(value + 2 * _DAY, time.min, tzinfo=UTC)
        return self._local_date(qs.filter(starts_at__lt=latest)).filter(local_date__lte=value)


# `from` is a Python keyword: the two date filters are added after the class is built.
_DATE_VALIDATORS = [MinValueValidator(EARLIEST_DATE), MaxValueValidator(LATEST_DATE)]
ShiftFilter.base_filters["from"] = django_filters.DateFilter(
    method="filter_from",
    label="Shifts starting on or after this date, local to each shift's location (YYYY-MM-DD)",
    validators=_DATE_VALIDATORS,
)
ShiftFilter.base_filters["to"] = django_filters.DateFilter(
    method="filter_to",
    label="Shifts starting on or before this date, local to each shift's location (YYYY-MM-DD)",
    validators=_DATE_VALIDATORS,
)


# --- Time off and closures ------------------------------------------------------------


class TimeOffSerializer(SpanSerializer):
    """A therapist's time off: subtracted from availability, never cancelling bookings."""

    therapist = serializers.PrimaryKeyRelatedField(queryset=Therapist.objects.all())
    reason = serializers.CharField(max_length=200, required=False, allow_blank=True, default="")

    class Meta:
        model = TimeOff
        fields = ["id", "therapist", "starts_at", "ends_at", "reason"]


class TimeOffCreatedSerializer(TimeOffSerializer):
    """The time off just recorded, with the active bookings it overlaps."""

    conflicts = ConflictsField()

    class Meta(TimeOffSerializer.Meta):
        fields = TimeOffSerializer.Meta.fields + ["conflicts"]


class ClosureSerializer(SpanSerializer):
    """A location closed, or only one of its rooms (`room`, of that location)."""

    location = serializers.PrimaryKeyRelatedField(queryset=Location.objects.all())
    room = serializers.PrimaryKeyRelatedField(
        queryset=Room.objects.all(),
        required=False,
        allow_null=True,
        default=None,
        help_text="One room of the location; null or left out: the whole location.",
    )
    reason = serializers.CharField(max_length=200, required=False, allow_blank=True, default="")

    class Meta:
        model = Closure
        fields = ["id", "location", "room", "starts_at", "ends_at", "reason"]

    def validate(self, attrs):
        attrs = super().validate(attrs)
        room = attrs.get("room")
        if room is not None and room.location_id != attrs["location"].pk:
            raise serializers.ValidationError({"room": ["Must be a room of the closure's location."]})
        return attrs


class ClosureCreatedSerializer(ClosureSerializer):
    """The closure just recorded, with the active bookings it overlaps."""

    conflicts = ConflictsField()

    class Meta(ClosureSerializer.Meta):
        fields = ClosureSerializer.Meta.fields + ["conflicts"]
