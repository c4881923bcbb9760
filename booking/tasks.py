"""The booking app's periodic jobs: reminders and the purge of idempotency records.

Its mail job is `booking.mail.send_mail`, and the waitlist's jobs are in
`booking.waitlist_tasks` (both imported here, so the worker knows them).
"""

import logging

from procrastinate.contrib.django import app

from booking.idempotency import idempotency_purge
from booking.mail import send_mail  # noqa: F401  (registers the mail job)
from booking.reminders import intake_reminders_send, reminders_send
from booking.waitlist_tasks import expire_offer, match, sweep  # noqa: F401  (registers the waitlist's jobs)
from config.tasks import DEFAULT_QUEUE

logger = logging.getLogger(__name__)


@app.periodic(cron="* * * * *")
@app.task(name="booking.send_reminders", queue=DEFAULT_QUEUE, queueing_lock="booking.send_reminders")
def send_reminders(timestamp: int) -> None:
    """Every minute: claim the bookings due a reminder (or an intake reminder) and defer their mails."""
    reminders_send()
    intake_reminders_send()


@app.periodic(cron="31 * * * *")
@app.task(name="booking.purge_idempotency_keys", queue=DEFAULT_QUEUE, queueing_lock="booking.purge_idempotency_keys")
def purge_idempotency_keys(timestamp: int) -> None:
    """Hourly: delete Idempotency-Key records past their 24 hours."""
    logger.info("Deleted %s idempotency records.", idempotency_purge())
