"""Webhook subscriptions and their deliveries (docs/api.md, Webhooks).

A subscription names a receiver's URL and the booking events it wants; its
`secret` signs every delivery (Standard Webhooks) and is shown once, when
the subscription is made. A delivery is one event for one subscription:
its payload is fixed when the event happens (the booking as the front desk
sees it then), and a job sends it, again with backoff until the receiver
answers 2xx (integrations/tasks.py).
"""

from django.conf import settings
from django.contrib.postgres.fields import ArrayField
from django.db import models
from django.db.models import Q
from django.utils import timezone

from booking.events import EVENTS

EVENT_CHOICES = [(event, event) for event in EVENTS]


class WebhookSubscription(models.Model):
    """A receiver of booking events, made by the front desk.

    Active until staff switch it off, or until it has failed for a day
    (`integrations.webhooks.services.FAILING_FOR`): then it is deactivated
    and the front desk told by mail. `activated_at` is when it last became
    active, so failures from before staff reactivated it do not count again.
    """

    url = models.URLField(max_length=2000, help_text="https, resolving to public addresses only.")
    events = ArrayField(models.CharField(max_length=32, choices=EVENT_CHOICES), help_text="The events it receives.")
    # Needed in clear to sign each delivery; shown once, in the answer that creates the subscription.
    secret = models.CharField(max_length=100, editable=False)
    active = models.BooleanField(default=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    activated_at = models.DateTimeField(default=timezone.now, help_text="When it last became active.")
    deactivated_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["id"]
        constraints = [
            models.CheckConstraint(condition=Q(events__len__gt=0), name="webhook_has_events"),
            models.CheckConstraint(
                condition=Q(active=True, deactivated_at__isnull=True) | Q(active=False, deactivated_at__isnull=False),
                name="webhook_deactivated_when_inactive",
            ),
        ]

    def __str__(self) -> str:
        return f"Webhook {self.pk} → {self.url}"


class WebhookDelivery(models.Model):
    """One event sent (or to be sent) to one subscription, and how that went.

    `webhook_id` is the Standard Webhooks `webhook-id` (`msg_...`): the same
    on every attempt, so a receiver can tell a retry from a new event.
    `attempts` counts the requests made; `status_code` is the receiver's
    last answer (null when none came: refused, unreachable, timed out);
    `next_attempt_at` is when the queue tries again (null once delivered or
    given up); `last_error` says why the last attempt failed.
    """

    subscription = models.ForeignKey(WebhookSubscription, on_delete=models.CASCADE, related_name="deliveries")
    event = models.CharField(max_length=32, choices=EVENT_CHOICES)
    webhook_id = models.CharField(max_length=40, unique=True)
    payload = models.JSONField(help_text="`{type, timestamp, data}`: data is the booking as the front desk sees it.")
    status_code = models.PositiveSmallIntegerField(null=True, blank=True)
    attempts = models.PositiveIntegerField(default=0)
    delivered_at = models.DateTimeField(null=True, blank=True)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    last_error = models.CharField(max_length=500, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name_plural = "webhook deliveries"
        indexes = [models.Index(fields=["subscription", "-created_at"], name="webhook_delivery_by_sub")]

    def __str__(self) -> str:
        return f"{self.event} {self.webhook_id}"
