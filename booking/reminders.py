"""Reminder mails for upcoming bookings, sent once each whatever runs them.

Two kinds: the reminder of the session, 24 hours before it
(`reminders_send`, stamp `reminder_sent_at`), and, while a front-desk
booking's intake is still pending, a reminder to complete it 48 hours before
(`intake_reminders_send`, stamp `intake_reminder_sent_at`). A booking made
nearer than 48 hours ahead with its intake pending is due at once: the next
run mails it (the request at booking was the first ask, docs/api.md).

The worker runs both every minute (`booking.tasks.send_reminders`); the
`send_reminders` command runs them by hand. Any number of workers or commands
may run them at once. Each claims a batch of due bookings with
`SELECT ... FOR UPDATE SKIP LOCKED`, stamps the kind's column and defers each
booking's mail job in the same transaction, so a booking is claimed by
exactly one of them and its mail job exists if and only if the stamp
committed. A booking whose row someone else holds locked (another worker, a
reschedule) is skipped and left to a later run. The mail job retries until
the mail server takes the mail (config/tasks.py), so a claim is never undone.
"""

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db import transaction
from django.db.models import Q, QuerySet
from django.utils import timezone

from booking.mail import INTAKE_REMINDER, REMINDER, send_later
from booking.models import Booking

logger = logging.getLogger(__name__)

INTAKE_REMINDER_WINDOW = timedelta(hours=48)


@dataclass(frozen=True)
class _Kind:
    name: str
    stamp: str  # the Booking column claimed
    due: Q  # beyond confirmed, not stamped, starting within the window
    mail: str  # the booking.mail kind sent


SESSION = _Kind("Reminders", "reminder_sent_at", Q(), REMINDER)
# Only clients who can be mailed: a phone client without an address (whose intake the
# therapist completes with them) is not due: claiming it would only queue a mail that cannot go.
INTAKE = _Kind(
    "Intake reminders",
    "intake_reminder_sent_at",
    Q(intake_status=Booking.IntakeStatus.PENDING, client__is_active=True) & ~Q(client__email=""),
    INTAKE_REMINDER,
)


def _due(kind: _Kind, *, now: datetime, window: timedelta) -> QuerySet[Booking]:
    return Booking.objects.filter(
        kind.due,
        status=Booking.Status.CONFIRMED,
        starts_at__gt=now,
        starts_at__lte=now + window,
        **{f"{kind.stamp}__isnull": True},
    )


def _claim_and_send(kind: _Kind, *, now: datetime | None, window: timedelta, batch_size: int) -> int:
    now = now or timezone.now()
    claimed = 0
    while True:
        with transaction.atomic():
            ids = list(
                _due(kind, now=now, window=window)
                .select_for_update(skip_locked=True, of=("self",))
                .order_by("starts_at", "pk")
                .values_list("pk", flat=True)[:batch_size]
            )
            if not ids:
                break
            Booking.objects.filter(pk__in=ids).update(**{kind.stamp: now})
            for booking_id in ids:
                send_later(kind.mail, booking_id)
            claimed += len(ids)
        if len(ids) < batch_size:
            break
    logger.info("%s: %s bookings claimed.", kind.name, claimed)
    return claimed


def reminders_send(
    *, now: datetime | None = None, window: timedelta = timedelta(hours=24), batch_size: int = 100
) -> int:
    """Remind every confirmed booking starting within `window` from `now` not yet reminded.

    Returns how many bookings this call claimed (each with its mail job deferred). Locks only booking rows (`of=self`),
    never the therapist, client or room rows the booking services lock.
    """
    return _claim_and_send(SESSION, now=now, window=window, batch_size=batch_size)


def intake_reminders_send(
    *, now: datetime | None = None, window: timedelta = INTAKE_REMINDER_WINDOW, batch_size: int = 100
) -> int:
    """Remind, once per booking, each client whose intake is still pending and whose session starts within `window`.

    A booking made nearer than `window` ahead is due at once. The mail job
    sends nothing if the intake was completed or the booking cancelled in
    between. Returns how many bookings were claimed; locks only booking
    rows, like `reminders_send`.
    """
    return _claim_and_send(INTAKE, now=now, window=window, batch_size=batch_size)
