"""Mail about bookings: to the client when a booking is confirmed, moved, cancelled
or coming up, or made by the front desk with the intake still to give, and when
the waitlist holds a time for them; to the therapist when an intake needs their review.

Each `send_*` takes a booking id and loads what it needs. They run in the
worker, as jobs the booking services defer in their own transaction
(`booking.mail.send_later`), never in a request:

    send_later(CONFIRMED, booking.id)

Each checks that the mail still applies (the booking may have been cancelled
since) and hands it to the server through `clinic.mail.deliver_once` under
the job's key, so a retried job never sends it twice. A mail server that
refuses or does not answer raises, and the job is retried.

Mails say when (the local time at the booking's location, in its zone),
where (the location, its room, its address), with whom, which service at
which price, and which massage (the final modality), and nothing of the
client's health: no flags, conditions, medications, areas or notes. Mail
crosses servers we do not control; the intake stays in the app.

The confirmation, the move and the cancellation carry the event as an iTIP
message over iMIP (RFC 5546, RFC 6047; see `booking.ics`): METHOD:REQUEST,
or METHOD:CANCEL once cancelled, from the address that is its ORGANIZER
(`DEFAULT_FROM_EMAIL`), in a `text/calendar` part whose `method` parameter
is the same.
"""

import logging
from dataclasses import dataclass
from email.mime.text import MIMEText

from django.conf import settings
from django.core.mail import EmailMessage
from django.utils import timezone

from booking.ics import EVENT_RELATED, HEALTH_COLUMNS, booking_event_ics, itip_method, modality_label, what, where
from booking.models import Booking
from clinic.mail import deliver_once
from clinic.selectors import clinic_get

logger = logging.getLogger(__name__)

ICS_FILENAME = "booking.ics"


def _load(booking_id: int) -> Booking | None:
    # Mail carries no health details, so the intake's answers are never loaded.
    booking = Booking.objects.select_related(*EVENT_RELATED).defer(*HEALTH_COLUMNS).filter(pk=booking_id).first()
    if booking is None:
        logger.warning("No mail sent: booking %s does not exist.", booking_id)
    return booking


def _when(booking: Booking) -> str:
    """`Tuesday 1 December 2026, 09:00–10:00 (America/New_York)`, in the zone of the booking's location."""
    tz = booking.location.tz
    start = booking.starts_at.astimezone(tz)
    end = booking.ends_at.astimezone(tz)
    return f"{start:%A} {start.day} {start:%B %Y}, {start:%H:%M}–{end:%H:%M} ({tz.key})"


def _short_when(booking: Booking) -> str:
    start = booking.starts_at.astimezone(booking.location.tz)
    return f"{start:%a} {start.day} {start:%b %Y} {start:%H:%M}"


def _until(booking: Booking) -> str:
    """When a hold ends, `Tuesday 1 December 2026, 10:30 (America/New_York)`, in the zone of its location."""
    tz = booking.location.tz
    until = booking.hold_expires_at.astimezone(tz)
    return f"{until:%A} {until.day} {until:%B %Y}, {until:%H:%M} ({tz.key})"


def _price(booking: Booking) -> str:
    """`90.00 USD`: the price when booked, in its currency."""
    return f"{booking.price:.2f} {booking.currency}"


def _massage(booking: Booking) -> str:
    if booking.intake is None:
        return "chosen from your intake, once you have completed it"
    return modality_label(booking.intake.modality)


def _details(booking: Booking) -> str:
    return (
        f"When: {_when(booking)}\n"
        f"Service: {booking.service.name}\n"
        f"Massage: {_massage(booking)}\n"
        f"Therapist: {booking.therapist.user.display_name}\n"
        f"Where: {where(booking)}\n"
        f"Price: {_price(booking)}\n"
        f"Booking reference: #{booking.pk}\n"
    )


def _ics_part(ics: bytes, method: str) -> MIMEText:
    """The calendar as an attachment: `text/calendar; method=<its METHOD>`, as iMIP (RFC 6047 2.4) asks."""
    part = MIMEText(ics.decode("utf-8"), "calendar", "utf-8")
    part.set_param("method", method)
    part.add_header("Content-Disposition", "attachment", filename=ICS_FILENAME)
    return part


def _send(*, key: str, to: str, subject: str, body: str, ics: bytes | None = None, method: str = "") -> bool:
    message = EmailMessage(subject=subject, body=body, from_email=settings.DEFAULT_FROM_EMAIL, to=[to])
    if ics is not None:
        message.attach(_ics_part(ics, method))
    return deliver_once(key, message)


@dataclass(frozen=True)
class ClientMail:
    """One kind of mail to a client: sent only while the booking is in `status`."""

    kind: str
    status: str
    subject: str
    opening: str  # "{clinic}" is replaced by the clinic's name
    closing: str
    with_ics: bool
    # Sent only while the intake is still pending (the request to complete it).
    pending_only: bool = False


CONFIRMATION = ClientMail(
    kind="confirmation",
    status=Booking.Status.CONFIRMED,
    subject="Booking confirmed",
    opening="Your booking at {clinic} is confirmed.",
    closing="The attached calendar file adds it to your calendar. To cancel or move it, "
    "use the app or call the clinic.",
    with_ics=True,
)
RESCHEDULE = ClientMail(
    kind="reschedule",
    status=Booking.Status.CONFIRMED,
    subject="Booking moved",
    opening="Your booking at {clinic} has moved. This is the new time:",
    closing="The attached calendar file updates the event in your calendar.",
    with_ics=True,
)
CANCELLATION = ClientMail(
    kind="cancellation",
    status=Booking.Status.CANCELLED,
    subject="Booking cancelled",
    opening="Your booking at {clinic} has been cancelled.",
    closing="The attached calendar file marks the event cancelled in your calendar. "
    "You are welcome to book another time in the app.",
    with_ics=True,
)
REMINDER = ClientMail(
    kind="reminder",
    status=Booking.Status.CONFIRMED,
    subject="Reminder",
    opening="A reminder of your booking at {clinic}:",
    closing="If you cannot come, please cancel in the app or call the clinic.",
    with_ics=False,
)
INTAKE_REQUEST = ClientMail(
    kind="intake request",
    status=Booking.Status.CONFIRMED,
    subject="Please complete your intake",
    opening="The front desk of {clinic} has booked this session for you. Before it, please complete your "
    "intake form in the app: it tells your therapist which massage suits you.",
    closing="Your answers go to your therapist in the app, never by mail. If the time does not suit you, "
    "please cancel or move it in the app or call the clinic.",
    with_ics=False,
    pending_only=True,
)
INTAKE_REMINDER = ClientMail(
    kind="intake reminder",
    status=Booking.Status.CONFIRMED,
    subject="Reminder: please complete your intake",
    opening="Your session at {clinic} is coming up and your intake form is not complete yet. Please complete "
    "it in the app before the session: it tells your therapist which massage suits you.",
    closing="Your answers go to your therapist in the app, never by mail. If you cannot come, "
    "please cancel in the app or call the clinic.",
    with_ics=False,
    pending_only=True,
)

WAITLIST_OFFER = ClientMail(
    kind="waitlist offer",
    status=Booking.Status.HELD,
    subject="A time held for you",
    opening="A time you were waiting for at {clinic} has come free, and it is held for you:",
    closing="Accept it in the app before the hold ends (you give your intake form there), or decline it so "
    "the next person waiting gets it. Nothing is booked until you accept.",
    with_ics=False,
)

# Said in every client mail while the intake is pending (the request itself says it at length).
PENDING_NOTE = "Please complete your intake form in the app before the session.\n\n"


def _client_text(mail: ClientMail, booking: Booking, clinic_name: str) -> tuple[str, str]:
    subject = f"{mail.subject}: {what(booking)}, {_short_when(booking)}"
    asks_intake = booking.is_pending and mail.status == Booking.Status.CONFIRMED and not mail.pending_only
    pending_note = PENDING_NOTE if asks_intake else ""
    held_until = f"Held for you until: {_until(booking)}\n\n" if mail.status == Booking.Status.HELD else ""
    body = (
        f"Hello {booking.client.display_name},\n\n"
        f"{mail.opening.format(clinic=clinic_name)}\n\n"
        f"{_details(booking)}\n"
        f"{held_until}"
        f"{pending_note}"
        f"{mail.closing}\n\n"
        f"{clinic_name}\n"
    )
    return subject, body


def _client_mail(booking_id: int, mail: ClientMail, key: str) -> bool:
    """Mail the client about the booking if it is (still) in `mail.status`; False when nothing was sent."""
    booking = _load(booking_id)
    if booking is None:
        return False
    if booking.status != mail.status:
        # Changed again before this ran (e.g. cancelled right after booking): the later mail tells.
        logger.info("No %s mail for booking %s: it is now %s.", mail.kind, booking_id, booking.status)
        return False
    if booking.status == Booking.Status.HELD and booking.hold_expires_at <= timezone.now():
        logger.info("No %s mail for booking %s: the hold has run out.", mail.kind, booking_id)
        return False
    if mail.pending_only and not booking.is_pending:
        logger.info("No %s mail for booking %s: its intake is complete.", mail.kind, booking_id)
        return False
    if not booking.client.email or not booking.client.is_active:
        logger.info("No %s mail for booking %s: the client has no active address.", mail.kind, booking_id)
        return False
    subject, body = _client_text(mail, booking, clinic_get().name)
    ics = booking_event_ics(booking=booking) if mail.with_ics else None
    return _send(key=key, to=booking.client.email, subject=subject, body=body, ics=ics, method=itip_method(booking))


def send_booking_confirmed(booking_id: int, *, key: str) -> bool:
    """Mail the client their confirmation with the event as an .ics attachment (METHOD:REQUEST)."""
    return _client_mail(booking_id, CONFIRMATION, key)


def send_booking_rescheduled(booking_id: int, *, key: str) -> bool:
    """Mail the client the new time (or room) with the updated event (METHOD:REQUEST, same UID, higher SEQUENCE)."""
    return _client_mail(booking_id, RESCHEDULE, key)


def send_booking_cancelled(booking_id: int, *, key: str) -> bool:
    """Mail the client that the booking is cancelled, with the event as METHOD:CANCEL, STATUS:CANCELLED."""
    return _client_mail(booking_id, CANCELLATION, key)


def send_booking_reminder(booking_id: int, *, key: str) -> bool:
    """Mail the client a reminder of an upcoming booking (see `booking.reminders`)."""
    return _client_mail(booking_id, REMINDER, key)


def send_intake_request(booking_id: int, *, key: str) -> bool:
    """Ask the client of a front-desk booking to complete their intake: the booking's time, service and place.

    Nothing is sent once the intake is in, or when the booking is no longer confirmed.
    """
    return _client_mail(booking_id, INTAKE_REQUEST, key)


def send_intake_reminder(booking_id: int, *, key: str) -> bool:
    """Remind the client that their intake is still pending before the session (see `booking.reminders`).

    Nothing is sent once the intake is in, or when the booking is no longer confirmed.
    """
    return _client_mail(booking_id, INTAKE_REMINDER, key)


def send_waitlist_offer(booking_id: int, *, key: str) -> bool:
    """Mail the client the time held for them from the waitlist: when, where, which service, the price,
    until when it is held, and to accept it in the app.

    Nothing is sent once the hold is accepted, declined, withdrawn or past its expiry.
    """
    return _client_mail(booking_id, WAITLIST_OFFER, key)


# What each warning tells the therapist: no health detail, only what to do.
_WARNING_TEXT = {
    Booking.WarningCode.THERAPIST_NOT_QUALIFIED: (
        "The intake asks for a massage you are not trained in: choose one you give in your review, "
        "or ask the front desk to move the booking to a colleague."
    ),
}


def _warning_lines(booking: Booking) -> str:
    lines = [_WARNING_TEXT[code] for code in booking.warnings if code in _WARNING_TEXT]
    return "".join(f"{line}\n\n" for line in lines)


def _therapist_massage(booking: Booking) -> str:
    if booking.intake is None:
        return "not known yet: the client has not completed the intake"
    return modality_label(booking.intake.modality)


def send_review_needed(booking_id: int, *, key: str) -> bool:
    """Mail the treating therapist that a booking needs their review (its assessment's or a warning).

    It says which booking and when, never the health reasons: they are in the
    intake, which the therapist reads in the app (and that read is audited).
    A warning on the booking is named by what to do about it.
    """
    booking = _load(booking_id)
    if booking is None:
        return False
    if booking.status != Booking.Status.CONFIRMED or not booking.needs_review:
        logger.info("No review mail for booking %s: nothing to review any more.", booking_id)
        return False
    therapist_user = booking.therapist.user
    if not therapist_user.email:
        logger.info("No review mail for booking %s: the therapist has no address.", booking_id)
        return False
    clinic = clinic_get()
    subject = f"Intake needs review: booking #{booking.pk}, {_short_when(booking)}"
    body = (
        f"Hello {therapist_user.display_name},\n\n"
        f"The intake of a booking with you needs your review before the session.\n\n"
        f"{_warning_lines(booking)}"
        f"Client: {booking.client.display_name}\n"
        f"When: {_when(booking)}\n"
        f"Service: {booking.service.name}\n"
        f"Massage: {_therapist_massage(booking)}\n"
        f"Where: {where(booking)}\n"
        f"Booking reference: #{booking.pk}\n\n"
        "Read the intake and confirm or change the modality in the app.\n\n"
        f"{clinic.name}\n"
    )
    return _send(key=key, to=therapist_user.email, subject=subject, body=body)
