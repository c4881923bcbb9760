"""Reads of webhooks for the front desk: subscriptions and a subscription's delivery log."""

from django.db.models import QuerySet

from integrations.models import WebhookDelivery, WebhookSubscription


def webhook_list() -> QuerySet[WebhookSubscription]:
    """Every webhook subscription, oldest first."""
    return WebhookSubscription.objects.order_by("id")


def webhook_delivery_list(*, subscription: WebhookSubscription) -> QuerySet[WebhookDelivery]:
    """The subscription's deliveries, newest first."""
    return subscription.deliveries.order_by("-created_at", "-id")
