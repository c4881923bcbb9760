"""The booking app's mails, as jobs.

The booking services never send mail: they defer a mail job in their own
transaction (`send_later`), so the job exists if and only if the change
committed, and the request only writes rows. The worker sends it, keyed by
the job (`clinic.mail.deliver_once`), and retries it with backoff while the
mail server refuses or does not answer (config/tasks.py).

    send_later(CONFIRMED, booking.id)
"""

from procrastinate.contrib.django import app

from booking import notifications
from clinic.selectors import clinic_read_once
from config.tasks import MAIL_QUEUE, RETRY, defer

CONFIRMED = "booking_confirmed"
RESCHEDULED = "booking_rescheduled"
CANCELLED = "booking_cancelled"
REMINDER = "booking_reminder"
INTAKE_REQUEST = "intake_request"
INTAKE_REMINDER = "intake_reminder"
REVIEW_NEEDED = "review_needed"
WAITLIST_OFFER = "waitlist_offer"

MAILS = {
    CONFIRMED: notifications.send_booking_confirmed,
    RESCHEDULED: notifications.send_booking_rescheduled,
    CANCELLED: notifications.send_booking_cancelled,
    REMINDER: notifications.send_booking_reminder,
    INTAKE_REQUEST: notifications.send_intake_request,
    INTAKE_REMINDER: notifications.send_intake_reminder,
    REVIEW_NEEDED: notifications.send_review_needed,
    WAITLIST_OFFER: notifications.send_waitlist_offer,
}


@app.task(name="booking.send_mail", queue=MAIL_QUEUE, retry=RETRY, pass_context=True)
def send_mail(context, *, kind: str, booking_id: int) -> None:
    """Send one mail about a booking, once, however many times the job runs."""
    # The clinic's row is read once for the whole mail (its name, in the text and the calendar).
    with clinic_read_once():
        MAILS[kind](booking_id, key=f"{kind}:{booking_id}:job-{context.job.id}")


def send_later(kind: str, booking_id: int) -> None:
    """Defer the `kind` mail about the booking in the current transaction: it is sent if that commits."""
    if kind not in MAILS:
        raise ValueError(f"Unknown booking mail {kind!r}")
    defer(send_mail, kind=kind, booking_id=booking_id)
