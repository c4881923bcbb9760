"""The integrations' jobs: webhook deliveries, the mail when a webhook is switched off, and the daily check.

Deliveries run on their own queue (config.tasks.WEBHOOK_QUEUE), so a slow
receiver never holds up the mail; a failed attempt raises and the queue
tries again with backoff (config.tasks.RETRY).
"""

import logging

from procrastinate.contrib.django import app

from config.tasks import DEFAULT_QUEUE, MAIL_QUEUE, RETRY, WEBHOOK_QUEUE
from integrations.webhooks import services

logger = logging.getLogger(__name__)


@app.task(name="integrations.deliver_webhook", queue=WEBHOOK_QUEUE, retry=RETRY)
def deliver_webhook(*, delivery_id: int) -> None:
    """One attempt at one webhook delivery (integrations.webhooks.services.webhook_deliver)."""
    services.webhook_deliver(delivery_id=delivery_id)


@app.task(name="integrations.notify_webhook_deactivated", queue=MAIL_QUEUE, retry=RETRY, pass_context=True)
def notify_webhook_deactivated(context, *, subscription_id: int) -> None:
    """Tell the front desk, once each, that a failing webhook was switched off."""
    services.webhook_deactivated_notify(
        subscription_id=subscription_id, key=f"webhook-deactivated:{subscription_id}:job-{context.job.id}"
    )


@app.periodic(cron="17 * * * *")
@app.task(
    name="integrations.deactivate_failing_webhooks",
    queue=DEFAULT_QUEUE,
    queueing_lock="integrations.deactivate_failing_webhooks",
)
def deactivate_failing_webhooks(timestamp: int) -> None:
    """Hourly: switch off the webhooks that have failed for a day, also those whose retries ran out."""
    count = services.webhooks_deactivate_failing()
    if count:
        logger.warning("Deactivated %s failing webhook subscription(s).", count)
