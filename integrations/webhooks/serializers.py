"""Serializers of the webhooks API: they parse and render, nothing else (the URL check is the service's)."""

from drf_spectacular.utils import OpenApiExample, extend_schema_serializer
from rest_framework import serializers

from booking.events import EVENTS
from integrations.models import WebhookDelivery, WebhookSubscription

SUBSCRIPTION_EXAMPLE = {
    "id": 4,
    "url": "https://hooks.example.com/clinic",
    "events": ["booking.created", "booking.cancelled"],
    "active": True,
    "created_at": "2026-11-24T16:05:12Z",
    "deactivated_at": None,
}
SECRET_EXAMPLE = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw7uOqXbOUrxU="


class WebhookSerializer(serializers.ModelSerializer):
    """A webhook subscription; its signing secret is never shown again after it is made."""

    events = serializers.ListField(
        child=serializers.ChoiceField(choices=EVENTS),
        allow_empty=False,
        max_length=len(EVENTS) * 2,
        help_text="The events to receive, one or more.",
    )

    class Meta:
        model = WebhookSubscription
        fields = ["id", "url", "events", "active", "created_at", "deactivated_at"]
        read_only_fields = ["id", "created_at", "deactivated_at"]
        extra_kwargs = {
            "url": {
                "help_text": "Where deliveries are POSTed: https, its host resolving to public addresses only "
                "(checked again before each delivery)."
            },
            "active": {
                "help_text": "Inactive webhooks receive nothing. Switched off by the clinic after a day of "
                "failed deliveries; set true to switch it on again."
            },
            "deactivated_at": {"help_text": "When it was last switched off; null while active."},
        }


@extend_schema_serializer(examples=[OpenApiExample("A new webhook", value=SUBSCRIPTION_EXAMPLE, response_only=True)])
class WebhookCreateSerializer(WebhookSerializer):
    """What makes a webhook: the receiver's URL and the events it wants (it starts active)."""

    class Meta(WebhookSerializer.Meta):
        read_only_fields = [*WebhookSerializer.Meta.read_only_fields, "active"]


@extend_schema_serializer(
    examples=[
        OpenApiExample(
            "A new webhook and its secret", value={**SUBSCRIPTION_EXAMPLE, "secret": SECRET_EXAMPLE}, response_only=True
        )
    ]
)
class WebhookCreatedSerializer(WebhookSerializer):
    """The new webhook, with the secret that signs its deliveries: shown in this answer only, keep it."""

    secret = serializers.CharField(
        read_only=True,
        help_text="Standard Webhooks secret (`whsec_...`) the receiver verifies each delivery's "
        "`webhook-signature` with. Shown only here.",
    )

    class Meta(WebhookSerializer.Meta):
        fields = [*WebhookSerializer.Meta.fields, "secret"]


@extend_schema_serializer(
    examples=[
        OpenApiExample(
            "A delivery retried after a failed attempt",
            value={
                "id": 981,
                "event": "booking.cancelled",
                "webhook_id": "msg_5f0c2a7de6b84b5f9d0f1c3ab2e4d6f8",
                "status_code": 503,
                "attempts": 2,
                "delivered_at": None,
                "next_attempt_at": "2026-12-01T15:04:13Z",
                "last_error": "The receiver answered 503; 2xx was expected.",
                "created_at": "2026-12-01T15:04:01Z",
            },
            response_only=True,
        )
    ]
)
class WebhookDeliverySerializer(serializers.ModelSerializer):
    """One event sent to the webhook, and how its attempts went."""

    class Meta:
        model = WebhookDelivery
        fields = [
            "id",
            "event",
            "webhook_id",
            "status_code",
            "attempts",
            "delivered_at",
            "next_attempt_at",
            "last_error",
            "created_at",
        ]
        read_only_fields = fields
        extra_kwargs = {
            "webhook_id": {"help_text": "The `webhook-id` header: the same on every attempt of this delivery."},
            "status_code": {"help_text": "The receiver's answer to the last attempt; null when none came."},
            "attempts": {"help_text": "Requests made so far."},
            "delivered_at": {"help_text": "When the receiver answered 2xx; null until then."},
            "next_attempt_at": {"help_text": "When the next attempt is due; null once delivered or given up."},
            "last_error": {"help_text": "Why the last attempt failed; empty when it did not."},
        }
