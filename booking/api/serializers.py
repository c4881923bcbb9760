"""Serializers of the booking API: they parse and render, nothing else."""

from datetime import UTC, datetime

from django.core.exceptions import ImproperlyConfigured
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from drf_spectacular.utils import OpenApiExample, extend_schema_field, extend_schema_serializer
from rest_framework import serializers

from booking.availability import EARLIEST_DATE, LATEST_DATE, MAX_RANGE_DAYS
from booking.models import Booking
from clinic.models import Modality, Role, Service, User
from intake.api.serializers import AnswersSerializer, IntakeSerializer

# Examples of the schema (what Swagger UI and generated clients show): one booking, as it would be.
ANSWERS_EXAMPLE = {
    "pressure_preference": "medium",
    "primary_goal": "stress_relief",
    "focus_areas": ["neck", "shoulders"],
    "avoid_areas": [],
    "notes": "Desk job; my shoulders are tight.",
    "consent": True,
}
BOOKING_EXAMPLE = {
    "id": 1042,
    "service": {"id": 3, "name": "Massage, 60 min", "duration_minutes": 60},
    "therapist": {"id": 7, "name": "Ana Silva"},
    "location": {"id": 2, "name": "Midtown"},
    "room": {"id": 5, "name": "Room 2"},
    "starts_at": "2026-12-01T14:00:00Z",
    "ends_at": "2026-12-01T15:00:00Z",
    "price": "90.00",
    "currency": "USD",
    "client": {"id": 318, "name": "Maria Lopez"},
    "status": "confirmed",
    "intake_status": "complete",
    "modality": "therapeutic",
    "suggested_modality": "therapeutic",
    "needs_review": False,
    "flags": [],
    "warnings": [],
    "reviewed_at": None,
    "created_at": "2026-11-24T16:05:12Z",
    "cancelled_at": None,
}

# The largest primary key a BigAutoField holds: a bigger "id" is malformed (400), not an unknown object.
MAX_ID = 2**63 - 1


def person_name(first: str, last: str, email: str) -> str:
    return f"{first} {last}".strip() or email


def id_field(**kwargs) -> serializers.IntegerField:
    """An object id as the API takes it: a positive integer a bigint holds."""
    return serializers.IntegerField(min_value=1, max_value=MAX_ID, **kwargs)


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
        fields["from"] = LocalDateField(help_text="YYYY-MM-DD, a local date of the location.")
        fields["to"] = LocalDateField(help_text="YYYY-MM-DD, a local date of the location; inclusive.")
        return fields

    def validate(self, attrs):
        start, end = attrs["from"], attrs["to"]
        if end < start:
            raise serializers.ValidationError({"to": ["Must be on or after `from`."]})
        if (end - start).days + 1 > self.max_days:
            raise serializers.ValidationError({"to": [f"The range may cover at most {self.max_days} days."]})
        return attrs


def iso_utc(value: datetime) -> str:
    """An aware datetime as DRF's DateTimeField renders it with TIME_ZONE = UTC ("...Z")."""
    text = value.astimezone(UTC).isoformat()
    return text.removesuffix("+00:00") + "Z" if text.endswith("+00:00") else text


# --- Availability ----------------------------------------------------------------


class AvailabilityQuerySerializer(DateRangeSerializer):
    service = id_field(help_text="An active service (GET /api/v1/services/).")
    location = id_field(required=False)
    therapist = id_field(required=False)
    modality = serializers.ChoiceField(
        choices=Modality.choices, required=False, help_text="Only therapists trained for this modality."
    )

    def validate_service(self, value: int) -> Service:
        service = Service.objects.filter(pk=value, active=True).first()
        if service is None:
            raise serializers.ValidationError("No active service with this id. Choose one from GET /api/v1/services/.")
        return service


@extend_schema_serializer(
    examples=[
        OpenApiExample(
            "An offered start",
            value={
                "therapist": 7,
                "therapist_name": "Ana Silva",
                "location": 2,
                "starts_at": "2026-12-01T14:00:00Z",
                "ends_at": "2026-12-01T15:00:00Z",
            },
        )
    ]
)
class OfferedStartSerializer(serializers.Serializer):
    """One start time offered for the service, rendered from an `OfferedStart`.

    The schema of `render_offered_starts`, which renders up to 500 rows a
    page by hand: through DRF's fields they cost half the request
    (bench/README.md, Findings).
    """

    therapist = serializers.IntegerField(source="therapist_id")
    therapist_name = serializers.CharField()
    location = serializers.IntegerField(source="location_id")
    starts_at = serializers.DateTimeField()
    ends_at = serializers.DateTimeField()


def render_offered_starts(rows) -> list[dict]:
    """`OfferedStartSerializer(rows, many=True).data`, the same JSON, at a fraction of the cost."""
    return [
        {
            "therapist": row.therapist_id,
            "therapist_name": row.therapist_name,
            "location": row.location_id,
            "starts_at": iso_utc(row.starts_at),
            "ends_at": iso_utc(row.ends_at),
        }
        for row in rows
    ]


# --- Bookings --------------------------------------------------------------------


class NamedRefSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()


class ServiceRefSerializer(NamedRefSerializer):
    duration_minutes = serializers.IntegerField()


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


NULLABLE_MODALITY = serializers.ChoiceField(choices=Modality.choices, allow_null=True)


@extend_schema_serializer(examples=[OpenApiExample("A booking", value=BOOKING_EXAMPLE, response_only=True)])
class BookingSerializer(serializers.Serializer):
    """A booking: never the intake's answers.

    Front-desk staff see `flags` as `[]`. While the intake is pending (a
    front-desk booking), `modality`, `suggested_modality` and `reviewed_at`
    are null and `flags` empty.
    """

    # Render bookings loaded by `booking.selectors.booking_list_for`: their relations come in the same query.

    id = serializers.IntegerField()
    service = ServiceRefSerializer()
    therapist = NamedRefSerializer()
    location = NamedRefSerializer()
    room = NamedRefSerializer(allow_null=True, help_text="Null where the location books no rooms.")
    starts_at = serializers.DateTimeField()
    ends_at = serializers.DateTimeField()
    price = serializers.DecimalField(
        max_digits=9, decimal_places=2, help_text="The service's price when booked, a decimal string."
    )
    currency = serializers.CharField(help_text="ISO 4217 code of the price.")
    client = PersonSerializer()
    status = serializers.ChoiceField(choices=Booking.Status.choices)
    intake_status = serializers.ChoiceField(
        choices=Booking.IntakeStatus.choices,
        help_text="`pending`: booked by the front desk, the client has not completed the intake yet.",
    )
    modality = serializers.SerializerMethodField(help_text="The final modality: the review's, else the suggestion.")
    suggested_modality = serializers.SerializerMethodField()
    needs_review = serializers.BooleanField(help_text="The assessment's `needs_review`, or any warning.")
    flags = serializers.SerializerMethodField(help_text="Health flags of the intake; `[]` for front-desk staff.")
    warnings = WarningsField()
    reviewed_at = serializers.SerializerMethodField()
    created_at = serializers.DateTimeField()
    cancelled_at = serializers.DateTimeField(allow_null=True)

    @extend_schema_field(NULLABLE_MODALITY)
    def get_modality(self, booking: Booking) -> str | None:
        return booking.intake.modality if booking.intake is not None else None

    @extend_schema_field(NULLABLE_MODALITY)
    def get_suggested_modality(self, booking: Booking) -> str | None:
        return booking.intake.suggested_modality if booking.intake is not None else None

    @extend_schema_field(serializers.ListField(child=serializers.CharField()))
    def get_flags(self, booking: Booking) -> list[str]:
        request = self.context.get("request")
        if booking.intake is None or (request is not None and request.user.role == Role.STAFF):
            return []
        return list(booking.intake.flags)

    @extend_schema_field(serializers.DateTimeField(allow_null=True))
    def get_reviewed_at(self, booking: Booking) -> str | None:
        if booking.intake is None or booking.intake.reviewed_at is None:
            return None
        return _DATETIME.to_representation(booking.intake.reviewed_at)

    def to_representation(self, booking: Booking) -> dict:
        """The fields above, as DRF renders them, built directly: DRF's field-by-field rendering (a deep
        copy of the fields per serializer, a lookup per attribute) was 12 % of a booking's CPU and most of
        a list page's (bench/README.md, finding 7). The same keys in the same order (checked below), the
        same values: DRF's own field classes render the dates and the price."""
        service, therapist, location, room, client = (
            booking.service,
            booking.therapist,
            booking.location,
            booking.room,
            booking.client,
        )
        return {
            "id": booking.id,
            "service": {"id": service.id, "name": str(service.name), "duration_minutes": service.duration_minutes},
            "therapist": {"id": therapist.id, "name": str(therapist.name)},
            "location": {"id": location.id, "name": str(location.name)},
            "room": None if room is None else {"id": room.id, "name": str(room.name)},
            "starts_at": _DATETIME.to_representation(booking.starts_at),
            "ends_at": _DATETIME.to_representation(booking.ends_at),
            "price": _PRICE.to_representation(booking.price),
            "currency": str(booking.currency),
            "client": {"id": client.id, "name": str(client.display_name)},
            "status": str(booking.status),
            "intake_status": str(booking.intake_status),
            "modality": self.get_modality(booking),
            "suggested_modality": self.get_suggested_modality(booking),
            "needs_review": bool(booking.needs_review),
            "flags": self.get_flags(booking),
            "warnings": [str(code) for code in booking.warnings],
            "reviewed_at": self.get_reviewed_at(booking),
            "created_at": _DATETIME.to_representation(booking.created_at),
            "cancelled_at": None if booking.cancelled_at is None else _DATETIME.to_representation(booking.cancelled_at),
        }


_DATETIME = serializers.DateTimeField()
_PRICE = serializers.DecimalField(max_digits=9, decimal_places=2)
_RENDERED = (
    "id service therapist location room starts_at ends_at price currency client status intake_status modality "
    "suggested_modality needs_review flags warnings reviewed_at created_at cancelled_at"
).split()
if list(BookingSerializer._declared_fields) != _RENDERED:
    raise ImproperlyConfigured("BookingSerializer.to_representation renders other fields than it declares.")


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


class _PlaceSerializer(serializers.Serializer):
    """Where and when a session goes: a service, a start, and optionally the therapist and location."""

    service = id_field(help_text="An active service (GET /api/v1/services/).")
    starts_at = StrictDateTimeField(help_text="An offered start (GET /api/v1/availability/), with its UTC offset.")
    therapist = id_field(required=False, help_text="Left out: the server picks one to whom the start is offered.")
    location = id_field(required=False)

    # A field the other kind of booking takes, sent anyway → 400 (who books for whom is not guessed).
    refused_fields: dict[str, str] = {}

    def validate(self, attrs):
        sent = self.initial_data if isinstance(self.initial_data, dict) else {}
        errors = {name: [message] for name, message in self.refused_fields.items() if name in sent}
        if errors:
            raise serializers.ValidationError(errors)
        return attrs


class BookingCreateSerializer(_PlaceSerializer):
    """A client's booking: the session and their intake answers."""

    intake = IntakeAnswersInputSerializer()

    refused_fields = {"client": "Clients book for themselves: leave out `client`."}


class StaffBookingCreateSerializer(_PlaceSerializer):
    """A front-desk booking for a client (by phone or at the desk): no answers, the intake stays pending."""

    client = id_field(help_text="The user id of a client account.")

    refused_fields = {
        "intake": "The front desk books without answers: the client is asked to complete the intake.",
    }

    def validate_client(self, value: int) -> User:
        client = User.objects.filter(pk=value, role=Role.CLIENT).first()
        if client is None:
            raise serializers.ValidationError("No client account with this id.")
        return client


@extend_schema_serializer(examples=[OpenApiExample("A reason", value={"reason": "Flu; I will book again next week."})])
class BookingCancelSerializer(serializers.Serializer):
    reason = serializers.CharField(max_length=500, required=False, allow_blank=True, default="")


@extend_schema_serializer(
    examples=[
        OpenApiExample("Another start", value={"starts_at": "2026-12-02T09:30:00-05:00"}),
        OpenApiExample(
            "Another service and therapist", value={"starts_at": "2026-12-02T14:30:00Z", "service": 4, "therapist": 9}
        ),
    ]
)
class BookingRescheduleSerializer(serializers.Serializer):
    """The new start; a service, therapist or location left out keeps the booking's."""

    starts_at = StrictDateTimeField(help_text="An offered start for the (new) service, with its UTC offset.")
    service = id_field(required=False, help_text="Left out: the booking's service.")
    therapist = id_field(required=False, help_text="Left out: the booking's therapist.")
    location = id_field(required=False, help_text="Left out: the booking's location.")


@extend_schema_serializer(examples=[OpenApiExample("Room 3", value={"room": 6})])
class BookingRoomSerializer(serializers.Serializer):
    """Move the booking to another room: `room` is required."""

    room = id_field(help_text="A free active room of the booking's location.")

    # Never partial. drf-spectacular documents a PATCH body as partial (every field
    # optional), as DRF's UpdateModelMixin would parse it; this PATCH names the room or is a 400.
    @property
    def partial(self) -> bool:
        return False

    @partial.setter
    def partial(self, value: bool) -> None:
        pass


@extend_schema_serializer(
    examples=[OpenApiExample("Deep tissue", value={"modality": "deep_tissue", "note": "Chronic upper-back tension."})]
)
class BookingReviewSerializer(serializers.Serializer):
    modality = serializers.ChoiceField(choices=Modality.choices)
    note = serializers.CharField(max_length=2000, required=False, allow_blank=True, default="")
