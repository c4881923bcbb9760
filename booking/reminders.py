"""Reminder mails for upcoming bookings, sent once each whatever runs them.

Any number of workers (cron on several hosts, two overlapping runs) may call
`reminders_send` at once. Each claims a batch of due bookings with
`SELECT ... FOR UPDATE SKIP LOCKED` and stamps `reminder_sent_at` in the same
transaction, so a booking is claimed by exactly one worker; the mail goes out
after that commit. A mail that fails is un-claimed (its stamp cleared) so a
later run tries again; the run itself moves on.
"""

import logging
from datetime import datetime, timedelta

from django.db import transaction
from django.utils import timezone

from booking.models import Booking
from booking.notifications import send_booking_reminder

logger = logging.getLogger(__name__)


def _due(*, now: datetime, window: timedelta):
    return Booking.objects.filter(
        status=Booking.Status.CONFIRMED,
        reminder_sent_at__isnull=True,
        starts_at__gt=now,
        starts_at__lte=now + window,
    )


def _send_claimed(booking_ids: list[int], claimed_at: datetime) -> None:
    """Mail each claimed booking; un-claim those whose mail failed. Never raises."""
    for booking_id in booking_ids:
        if send_booking_reminder(booking_id):
            continue
        try:
            Booking.objects.filter(pk=booking_id, reminder_sent_at=claimed_at).update(reminder_sent_at=None)
        except Exception:
            logger.exception("Could not un-claim the reminder of booking %s.", booking_id)


def reminders_send(
    *, now: datetime | None = None, window: timedelta = timedelta(hours=24), batch_size: int = 100
) -> int:
    """Remind every confirmed booking starting within `window` from `now` not yet reminded.

    Returns how many bookings this call claimed (and mailed, or is to mail
    once an enclosing transaction commits). Locks only booking rows (`of=self`),
    never the therapist, client or room rows the booking services lock.
    """
    now = now or timezone.now()
    claimed = 0
    attempted: set[int] = set()
    while True:
        with transaction.atomic():
            ids = list(
                _due(now=now, window=window)
                .exclude(pk__in=attempted)
                .select_for_update(skip_locked=True, of=("self",))
                .order_by("starts_at", "pk")
                .values_list("pk", flat=True)[:batch_size]
            )
            if not ids:
                break
            Booking.objects.filter(pk__in=ids).update(reminder_sent_at=now)
            # A failed mail clears the stamp; `attempted` keeps this run from claiming it again.
            attempted.update(ids)
            claimed += len(ids)
            transaction.on_commit(lambda ids=ids: _send_claimed(ids, now))
        if len(ids) < batch_size:
            break
    logger.info("Reminders: %s bookings claimed.", claimed)
    return claimed
