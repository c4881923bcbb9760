"""Webhooks: subscriptions (the front desk's), the deliveries a booking event makes, and sending them.

    webhook_create(url="https://hooks.example.com/clinic", events=["booking.created"], created_by=user)

Each booking event (booking.events.announce) writes, in the transaction
that made the change, a delivery row per active subscription to that event
and defers its job (integrations/tasks.py): both commit with the change or
neither exists. The payload is fixed there, the booking rendered by the
booking API's own serializer as the front desk sees it (no answers, no
flags, no notes), so a receiver never learns more than the front desk.

The job signs the payload (Standard Webhooks, `standardwebhooks`), checks
the URL again (`urlguard.vet`: DNS may have changed since it was saved) and
POSTs it to the vetted address (`delivery.post`). Anything but a 2xx answer
is a failed attempt: recorded, then raised so the queue tries again with
backoff (config.tasks.RETRY). A subscription whose deliveries have all
failed for `FAILING_FOR` (nothing got through since its oldest failure of
a day ago) is deactivated, and the front desk is told by mail.
"""

import base64
import json
import secrets
import uuid
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace
from urllib.parse import urlsplit

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.mail import EmailMessage
from django.core.serializers.json import DjangoJSONEncoder
from django.db import transaction
from django.db.models import Max, Min
from django.utils import timezone
from standardwebhooks import Webhook

from booking.api.serializers import BookingSerializer, iso_utc
from booking.events import EVENTS
from booking.models import Booking
from booking.selectors import BOOKING_RELATED
from clinic.mail import deliver_once
from clinic.models import Role, User
from config.tasks import RETRY, defer
from integrations.models import WebhookDelivery, WebhookSubscription
from integrations.webhooks import delivery as http
from integrations.webhooks.urlguard import UnsafeURL, vet

# A subscription that has delivered nothing for this long is deactivated.
FAILING_FOR = timedelta(hours=24)

# The booking serializer's context for the front desk: it then renders `flags` as [] (and never had answers).
FRONT_DESK_VIEW = {"request": SimpleNamespace(user=SimpleNamespace(role=Role.STAFF))}


class WebhookDeliveryFailed(Exception):
    """An attempt that got no 2xx answer; raised so the queue retries the job."""


# --- Subscriptions -----------------------------------------------------------------


def new_secret() -> str:
    """A signing secret as Standard Webhooks writes it: `whsec_` and 32 random bytes in base64."""
    return "whsec_" + base64.b64encode(secrets.token_bytes(32)).decode("ascii")


def webhook_url_check(url: str) -> None:
    """Refuse (400 on `url`) a URL a webhook may not call: not https, or not only public addresses."""
    try:
        vet(url, allow_private=settings.WEBHOOK_ALLOW_PRIVATE)
    except UnsafeURL as exc:
        raise ValidationError({"url": [str(exc)]}) from exc


def _events_check(events: list[str]) -> list[str]:
    unknown = [event for event in events if event not in EVENTS]
    if unknown or not events:
        raise ValidationError({"events": [f"Choose one or more of: {', '.join(EVENTS)}."]})
    return [event for event in EVENTS if event in events]  # the list's own order, each once


@transaction.atomic
def webhook_create(*, url: str, events: list[str], created_by: User | None) -> WebhookSubscription:
    """Subscribe `url` to `events`; the answer is the only place its secret is shown."""
    webhook_url_check(url)
    return WebhookSubscription.objects.create(
        url=url, events=_events_check(events), secret=new_secret(), created_by=created_by
    )


@transaction.atomic
def webhook_update(
    *, subscription_id: int, url: str | None = None, events: list[str] | None = None, active: bool | None = None
) -> WebhookSubscription:
    """Change a subscription's URL (checked again), events, or switch it on or off.

    Switched on again, its earlier failures no longer count towards
    deactivation: it gets a day of its own.
    """
    subscription = WebhookSubscription.objects.select_for_update().get(pk=subscription_id)
    fields = []
    if url is not None and url != subscription.url:
        webhook_url_check(url)
        subscription.url = url
        fields.append("url")
    if events is not None:
        subscription.events = _events_check(events)
        fields.append("events")
    if active is not None and active != subscription.active:
        subscription.active = active
        now = timezone.now()
        subscription.deactivated_at = None if active else now
        fields.append("active")
        fields.append("deactivated_at")
        if active:
            subscription.activated_at = now
            fields.append("activated_at")
    if fields:
        subscription.save(update_fields=fields)
    return subscription


def webhook_delete(*, subscription_id: int) -> None:
    """Delete a subscription and its delivery log; jobs still queued for it find nothing and stop."""
    WebhookSubscription.objects.filter(pk=subscription_id).delete()


# --- Events → deliveries -------------------------------------------------------------


def _payload(event: str, booking_id: int, now: datetime) -> dict:
    """The body of every delivery of this event: `{type, timestamp, data}`, data the booking as staff see it."""
    booking = Booking.objects.select_related(*BOOKING_RELATED).get(pk=booking_id)
    data = BookingSerializer(booking, context=FRONT_DESK_VIEW).data
    # Through JSON once, so the stored payload holds plain JSON values (decimal strings, "...Z" times).
    return json.loads(json.dumps({"type": event, "timestamp": iso_utc(now), "data": data}, cls=DjangoJSONEncoder))


def webhook_deliveries_create(*, event: str, booking: Booking, now: datetime | None = None) -> list[WebhookDelivery]:
    """A delivery row and its job per active subscription to `event`, in the caller's transaction.

    Connected to `booking.events.booking_event` (IntegrationsConfig.ready).
    One query when nobody subscribes.
    """
    from integrations.tasks import deliver_webhook  # the task module imports this one

    subscriptions = list(WebhookSubscription.objects.filter(active=True, events__contains=[event]).values_list("pk"))
    if not subscriptions:
        return []
    now = now or timezone.now()
    payload = _payload(event, booking.pk, now)
    with transaction.atomic():
        deliveries = WebhookDelivery.objects.bulk_create(
            WebhookDelivery(
                subscription_id=subscription_id,
                event=event,
                webhook_id=f"msg_{uuid.uuid4().hex}",
                payload=payload,
                next_attempt_at=now,
                created_at=now,
            )
            for (subscription_id,) in subscriptions
        )
        for row in deliveries:
            defer(deliver_webhook, delivery_id=row.pk)
    return deliveries


def on_booking_event(sender, *, event: str, booking: Booking, **kwargs) -> None:
    """The receiver of `booking.events.booking_event`."""
    webhook_deliveries_create(event=event, booking=booking)


# --- Sending -------------------------------------------------------------------------


def signed_request(delivery: WebhookDelivery, *, secret: str, now: datetime) -> tuple[bytes, dict[str, str]]:
    """The body and the Standard Webhooks headers of one attempt, signed at `now`."""
    body = json.dumps(delivery.payload, separators=(",", ":"), sort_keys=True)
    moment = now.astimezone(UTC)  # `Webhook.sign` reads the time as UTC whatever its zone
    headers = {
        "webhook-id": delivery.webhook_id,
        "webhook-timestamp": str(int(moment.timestamp())),
        "webhook-signature": Webhook(secret).sign(delivery.webhook_id, moment, body),
    }
    return body.encode(), headers


def webhook_deliver(*, delivery_id: int, now: datetime | None = None) -> WebhookDelivery | None:
    """One attempt at a delivery (the job's body); raises `WebhookDeliveryFailed` for the queue to retry.

    Nothing is held locked while the receiver answers: the queue runs one
    job per delivery, and receivers tell a repeated delivery by its
    `webhook-id` (at least once, as Standard Webhooks has it).
    """
    delivery = WebhookDelivery.objects.select_related("subscription").filter(pk=delivery_id).first()
    if delivery is None or delivery.delivered_at is not None:
        return delivery  # deleted with its subscription, or delivered by an earlier run
    subscription = delivery.subscription
    if not subscription.active:
        delivery.next_attempt_at = None
        delivery.last_error = "Not sent: the subscription is inactive."
        delivery.save(update_fields=["next_attempt_at", "last_error"])
        return delivery
    now = now or timezone.now()
    status_code = None
    try:
        target = vet(subscription.url, allow_private=settings.WEBHOOK_ALLOW_PRIVATE)
        body, headers = signed_request(delivery, secret=subscription.secret, now=now)
        status_code = http.post(target, body, headers)
        error = "" if 200 <= status_code < 300 else f"The receiver answered {status_code}; 2xx was expected."
    except UnsafeURL as exc:
        error = f"Not sent: {exc}"
    except Exception as exc:  # noqa: BLE001 (any failure to send is a failed attempt, retried)
        error = http.describe(exc)
    return _record_attempt(delivery, status_code=status_code, error=error, now=now)


def _record_attempt(delivery: WebhookDelivery, *, status_code: int | None, error: str, now: datetime):
    previous_attempts = delivery.attempts
    delivery.attempts = previous_attempts + 1
    delivery.status_code = status_code
    delivery.last_error = error[:500]
    if not error:
        delivery.delivered_at = now
        delivery.next_attempt_at = None
        delivery.save(update_fields=["attempts", "status_code", "last_error", "delivered_at", "next_attempt_at"])
        return delivery
    # When the queue will try again: the retry policy's own answer for this attempt (None: it gives up).
    decision = RETRY.get_retry_decision(
        exception=WebhookDeliveryFailed(error), job=SimpleNamespace(attempts=previous_attempts)
    )
    delivery.next_attempt_at = decision.retry_at if decision is not None else None
    delivery.save(update_fields=["attempts", "status_code", "last_error", "next_attempt_at"])
    if webhook_deactivate_if_failing(subscription_id=delivery.subscription_id, now=now):
        return delivery  # no more attempts: the subscription is off
    # Raised also after the last attempt, so the job ends `failed` where an operator looks (the admin's jobs).
    raise WebhookDeliveryFailed(error)


# --- Deactivation ------------------------------------------------------------------------


def failing_since(subscription: WebhookSubscription) -> datetime | None:
    """When the subscription started failing: its oldest failed, undelivered delivery since it last
    delivered anything (and since it was last switched on); None when it is not failing."""
    last_success = subscription.deliveries.aggregate(at=Max("delivered_at"))["at"]
    failures = subscription.deliveries.filter(
        delivered_at__isnull=True, attempts__gt=0, created_at__gte=subscription.activated_at
    )
    if last_success is not None:
        failures = failures.filter(created_at__gt=last_success)
    return failures.aggregate(since=Min("created_at"))["since"]


@transaction.atomic
def webhook_deactivate_if_failing(*, subscription_id: int, now: datetime | None = None) -> bool:
    """Deactivate the subscription if it has failed for `FAILING_FOR`, and tell the front desk; True if it did.

    Locks the subscription first, so two workers deactivate (and mail) once.
    """
    from integrations.tasks import notify_webhook_deactivated  # the task module imports this one

    now = now or timezone.now()
    subscription = WebhookSubscription.objects.select_for_update().filter(pk=subscription_id, active=True).first()
    if subscription is None:
        return False
    since = failing_since(subscription)
    if since is None or now - since < FAILING_FOR:
        return False
    subscription.active = False
    subscription.deactivated_at = now
    subscription.save(update_fields=["active", "deactivated_at"])
    subscription.deliveries.filter(delivered_at__isnull=True).update(next_attempt_at=None)
    defer(notify_webhook_deactivated, subscription_id=subscription.pk)
    return True


def webhooks_deactivate_failing(*, now: datetime | None = None) -> int:
    """Deactivate every subscription failing for `FAILING_FOR` (also those whose retries ran out); how many."""
    now = now or timezone.now()
    candidates = (
        WebhookSubscription.objects.filter(
            active=True,
            deliveries__delivered_at__isnull=True,
            deliveries__attempts__gt=0,
            deliveries__created_at__lte=now - FAILING_FOR,
        )
        .values_list("pk", flat=True)
        .distinct()
    )
    return sum(webhook_deactivate_if_failing(subscription_id=pk, now=now) for pk in list(candidates))


def webhook_deactivated_notify(*, subscription_id: int, key: str) -> int:
    """Mail each active front-desk account with an email that the subscription was deactivated; how many sent.

    Once per person whatever how often the job runs (`deliver_once`, keyed
    by `key` and the person). Nothing is sent if staff switched it on again
    or deleted it since.
    """
    subscription = WebhookSubscription.objects.filter(pk=subscription_id, active=False).first()
    if subscription is None:
        return 0
    last = subscription.deliveries.filter(delivered_at__isnull=True).exclude(last_error="").first()
    receiver = urlsplit(subscription.url)
    lines = [
        f"The webhook {subscription.pk} to {receiver.scheme}://{receiver.netloc}{receiver.path} was switched off "
        f"at {iso_utc(subscription.deactivated_at)}: none of its deliveries has got through for "
        f"{int(FAILING_FOR.total_seconds() // 3600)} hours.",
    ]
    if last is not None:
        lines.append(f"The last attempt ({last.event}, {last.webhook_id}): {last.last_error}")
    lines.append(
        "Ask whoever runs the receiver to fix it, then switch the webhook on again: PATCH "
        f'/api/v1/webhooks/{subscription.pk}/ with {{"active": true}}. Events in the meantime are not sent; '
        f"its delivery log is GET /api/v1/webhooks/{subscription.pk}/deliveries/."
    )
    sent = 0
    staff = User.objects.filter(is_active=True, role__in=[Role.STAFF, Role.ADMIN]).exclude(email="").order_by("pk")
    for person in staff:
        message = EmailMessage(
            subject=f"Webhook {subscription.pk} switched off: its receiver has failed for a day",
            body="\n\n".join(lines),
            to=[person.email],
        )
        sent += deliver_once(f"{key}:{person.pk}", message)
    return sent
