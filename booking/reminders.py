"""Reminder mails for upcoming bookings, sent once each whatever runs them.

Two kinds: the reminder of the session, 24 hours before it
(`reminders_send`, stamp `reminder_sent_at`), and, while a front-desk
booking's intake is still pending, a reminder to complete it 48 hours before
(`intake_reminders_send`, stamp `intake_reminder_sent_at`). A booking made
nearer than 48 hours ahead with its intake pending is due at once: the next
run mails it (the request at booking was the first ask, docs/api.md).

Any number of workers (cron on several hosts, two overlapping runs) may call
them at once. Each claims a batch of due bookings with
`SELECT ... FOR UPDATE SKIP LOCKED` and stamps the kind's column in the same
transaction, so a booking is claimed by exactly one worker; the mail goes out
after that commit. A booking whose row someone else holds locked (another
worker, a reschedule) is skipped and left to a later run. A mail that fails
is un-claimed (its stamp cleared) so a later run tries again; the run itself
moves on.
"""

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db import transaction
from django.db.models import Q, QuerySet
from django.utils import timezone

from booking.models import Booking
from booking.notifications import send_booking_reminder, send_intake_reminder

logger = logging.getLogger(__name__)

INTAKE_REMINDER_WINDOW = timedelta(hours=48)


@dataclass(frozen=True)
class _Kind:
    name: str
    stamp: str  # the Booking column claimed
    due: Q  # beyond confirmed, not stamped, starting within the window
    send: Callable[[int], bool]


def _send_session_reminder(booking_id: int) -> bool:
    return send_booking_reminder(booking_id)  # looked up at call time, so tests can stand in for it


def _send_intake_reminder(booking_id: int) -> bool:
    return send_intake_reminder(booking_id)


SESSION = _Kind("Reminders", "reminder_sent_at", Q(), _send_session_reminder)
# Only clients who can be mailed: a phone client without an address (whose intake the
# therapist completes with them) is not due, rather than claimed and un-claimed every run.
INTAKE = _Kind(
    "Intake reminders",
    "intake_reminder_sent_at",
    Q(intake_status=Booking.IntakeStatus.PENDING, client__is_active=True) & ~Q(client__email=""),
    _send_intake_reminder,
)


def _due(kind: _Kind, *, now: datetime, window: timedelta) -> QuerySet[Booking]:
    return Booking.objects.filter(
        kind.due,
        status=Booking.Status.CONFIRMED,
        starts_at__gt=now,
        starts_at__lte=now + window,
        **{f"{kind.stamp}__isnull": True},
    )


def _send_claimed(kind: _Kind, booking_ids: list[int], claimed_at: datetime) -> None:
    """Mail each claimed booking; un-claim those whose mail failed. Never raises."""
    for booking_id in booking_ids:
        if kind.send(booking_id):
            continue
        try:
            Booking.objects.filter(pk=booking_id, **{kind.stamp: claimed_at}).update(**{kind.stamp: None})
        except Exception:
            logger.exception("Could not un-claim the %s of booking %s.", kind.name.lower(), booking_id)


def _claim_and_send(kind: _Kind, *, now: datetime | None, window: timedelta, batch_size: int) -> int:
    now = now or timezone.now()
    claimed = 0
    attempted: set[int] = set()
    while True:
        with transaction.atomic():
            ids = list(
                _due(kind, now=now, window=window)
                .exclude(pk__in=attempted)
                .select_for_update(skip_locked=True, of=("self",))
                .order_by("starts_at", "pk")
                .values_list("pk", flat=True)[:batch_size]
            )
            if not ids:
                break
            Booking.objects.filter(pk__in=ids).update(**{kind.stamp: now})
            # A failed mail clears the stamp; `attempted` keeps this run from claiming it again.
            attempted.update(ids)
            claimed += len(ids)
            transaction.on_commit(lambda ids=ids: _send_claimed(kind, ids, now))
        if len(ids) < batch_size:
            break
    logger.info("%s: %s bookings claimed.", kind.name, claimed)
    return claimed


def reminders_send(
    *, now: datetime | None = None, window: timedelta = timedelta(hours=24), batch_size: int = 100
) -> int:
    """Remind every confirmed booking starting within `window` from `now` not yet reminded.

    Returns how many bookings this call claimed (and mailed, or is to mail
    once an enclosing transaction commits). Locks only booking rows (`of=self`),
    never the therapist, client or room rows the booking services lock.
    """
    return _claim_and_send(SESSION, now=now, window=window, batch_size=batch_size)


def intake_reminders_send(
    *, now: datetime | None = None, window: timedelta = INTAKE_REMINDER_WINDOW, batch_size: int = 100
) -> int:
    """Remind, once per booking, each client whose intake is still pending and whose session starts within `window`.

    A booking made nearer than `window` ahead is due at once. The mail is
    not sent (and the claim is cleared) if the intake was completed or the
    booking cancelled in between. Returns how many bookings were claimed;
    locks only booking rows, like `reminders_send`.
    """
    return _claim_and_send(INTAKE, now=now, window=window, batch_size=batch_size)
