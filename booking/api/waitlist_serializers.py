"""Serializers of the waitlist API: they parse and render, nothing else (the rules are booking.waitlist's)."""

import django_filters
from drf_spectacular.utils import OpenApiExample, extend_schema_field, extend_schema_serializer
from rest_framework import serializers

from booking.api.serializers import (
    ANSWERS_EXAMPLE,
    IntakeAnswersInputSerializer,
    LocalDateField,
    NamedRefSerializer,
    PersonSerializer,
    ServiceRefSerializer,
    id_field,
)
from booking.models import WaitlistEntry, WaitlistOffer

OFFER_EXAMPLE = {
    "id": 1077,
    "therapist": {"id": 7, "name": "Ana Silva"},
    "location": {"id": 2, "name": "Midtown"},
    "room": {"id": 5, "name": "Room 2"},
    "starts_at": "2026-12-03T14:00:00Z",
    "ends_at": "2026-12-03T15:00:00Z",
    "price": "90.00",
    "currency": "USD",
    "expires_at": "2026-12-01T15:30:00Z",
}
ENTRY_EXAMPLE = {
    "id": 52,
    "client": {"id": 318, "name": "Maria Lopez"},
    "service": {"id": 3, "name": "Massage, 60 min", "duration_minutes": 60},
    "location": {"id": 2, "name": "Midtown"},
    "therapist": None,
    "from": "2026-12-02",
    "to": "2026-12-06",
    "earliest_time": "09:00:00",
    "latest_time": "13:00:00",
    "status": "offered",
    "offer": OFFER_EXAMPLE,
    "booking": None,
    "created_at": "2026-11-28T10:12:00Z",
}


class LocalTimeField(serializers.TimeField):
    """A local time of day at the location (`HH:MM[:SS]`): one with a UTC offset or `Z` is refused, not dropped."""

    default_error_messages = {
        "offset": "Give a local time of day at the location, HH:MM, without a UTC offset.",
    }

    def to_internal_value(self, value):
        if isinstance(value, str) and any(sign in value for sign in "+-zZ"):
            self.fail("offset")
        return super().to_internal_value(value)


class WaitlistJoinSerializer(serializers.Serializer):
    """Join the waitlist: a service, local dates `from`..`to` (inclusive), and optionally where, with whom, when."""

    service = id_field(help_text="An active service (GET /api/v1/services/).")
    location = id_field(required=False, help_text="Left out: any location.")
    therapist = id_field(required=False, help_text="Left out: any therapist.")
    earliest_time = LocalTimeField(
        required=False, help_text="Local time of day at the location: sessions starting at or after it."
    )
    latest_time = LocalTimeField(required=False, help_text="Local time of day at the location: sessions ending by it.")

    def get_fields(self):
        # `from` is a Python keyword, so these two are added here.
        fields = super().get_fields()
        fields["from"] = LocalDateField(help_text="YYYY-MM-DD, the first local date you can come (today or later).")
        fields["to"] = LocalDateField(help_text="YYYY-MM-DD, the last local date you can come; inclusive.")
        return fields


@extend_schema_serializer(examples=[OpenApiExample("An offer", value=OFFER_EXAMPLE, response_only=True)])
class WaitlistOfferSerializer(serializers.Serializer):
    """Time held for the entry until `expires_at`: accept it (with the intake) or decline it.

    `id` is the held booking's, and the booking's once accepted.
    """

    id = serializers.IntegerField(source="pk")
    therapist = NamedRefSerializer(source="hold.therapist")
    location = NamedRefSerializer(source="hold.location")
    room = NamedRefSerializer(source="hold.room", allow_null=True, help_text="Null where the location books no rooms.")
    starts_at = serializers.DateTimeField(source="hold.starts_at")
    ends_at = serializers.DateTimeField(source="hold.ends_at")
    price = serializers.DecimalField(source="hold.price", max_digits=9, decimal_places=2)
    currency = serializers.CharField(source="hold.currency")
    expires_at = serializers.DateTimeField(help_text="Held until then; after it the time goes to the next entry.")


@extend_schema_serializer(examples=[OpenApiExample("An entry with an offer", value=ENTRY_EXAMPLE, response_only=True)])
class WaitlistEntrySerializer(serializers.Serializer):
    """A waitlist entry. Render entries loaded by `booking.selectors.waitlist_entries_for`."""

    id = serializers.IntegerField()
    client = PersonSerializer()
    service = ServiceRefSerializer()
    location = NamedRefSerializer(allow_null=True, help_text="Null: any location.")
    therapist = NamedRefSerializer(allow_null=True, help_text="Null: any therapist.")
    earliest_time = serializers.TimeField(allow_null=True)
    latest_time = serializers.TimeField(allow_null=True)
    status = serializers.ChoiceField(
        choices=WaitlistEntry.Status.choices,
        help_text="`waiting`; `offered` (see `offer`); `booked` (see `booking`); `expired` (an offer ran out, "
        "or the dates passed); `withdrawn`.",
    )
    offer = serializers.SerializerMethodField(help_text="The time held for the entry while `offered`, else null.")
    booking = serializers.SerializerMethodField(help_text="The booking's id once `booked`, else null.")
    created_at = serializers.DateTimeField(help_text="When the client joined: entries are offered in this order.")

    def get_fields(self):
        fields = super().get_fields()
        fields["from"] = serializers.DateField(source="from_date")
        fields["to"] = serializers.DateField(source="to_date")
        return fields

    def _current(self, entry: WaitlistEntry, status: str) -> WaitlistOffer | None:
        offers = getattr(entry, "current_offers", None)
        if offers is None:
            offers = list(entry.offers.filter(status=status))
        return next((offer for offer in offers if offer.status == status), None)

    @extend_schema_field(WaitlistOfferSerializer(allow_null=True))
    def get_offer(self, entry: WaitlistEntry) -> dict | None:
        offer = self._current(entry, WaitlistOffer.Status.OPEN)
        return WaitlistOfferSerializer(offer).data if offer is not None else None

    @extend_schema_field(serializers.IntegerField(allow_null=True))
    def get_booking(self, entry: WaitlistEntry) -> int | None:
        offer = self._current(entry, WaitlistOffer.Status.ACCEPTED)
        return offer.pk if offer is not None else None


@extend_schema_serializer(
    examples=[OpenApiExample("The intake", value={"intake": {"answers": ANSWERS_EXAMPLE}}, request_only=True)]
)
class WaitlistAcceptSerializer(serializers.Serializer):
    """Accept the offer with the intake, as when booking: `{"intake": {"answers": {...}}}`."""

    intake = IntakeAnswersInputSerializer()


class WaitlistEntryFilter(django_filters.FilterSet):
    status = django_filters.ChoiceFilter(choices=WaitlistEntry.Status.choices)
    service = django_filters.NumberFilter(field_name="service_id")

    class Meta:
        model = WaitlistEntry
        fields = ["status", "service"]
