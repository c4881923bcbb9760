"""iCalendar (RFC 5545) for the therapist's calendar feed and for booking mails.

What an event says is deliberately little: when, the service, the final
modality, where (location, room, address), the client's name (therapist
side) or the therapist's (client side), and "intake needs review" while it
does (flagged, and not reviewed since the answers last changed; or with a
warning on the booking, such as a modality the therapist does not give) or
"intake pending" while the client has yet to give it. Calendars sync to
phones, laptops and third-party servers, so no health detail (flags,
conditions, medications, areas, notes) ever goes into one.

- UID is `booking-<id>@<domain>`: a booking keeps its id when rescheduled, so
  calendar apps update the event in place. SEQUENCE is `booking.sequence`,
  which `booking.services` bumps on every change an event shows: a new time,
  service, therapist or location, a room move, a cancellation, and a review or
  an intake (completed or edited) that changes its text (`shown`). Calendar
  apps replace an event they hold only with a higher SEQUENCE (RFC 5546 2.1.4).
  LAST-MODIFIED is the booking's `updated_at`, saved with every such change.
- Times are the session's own (`starts_at` to `ends_at`, the buffer after it
  is the clinic's business), written in UTC (`...Z`), so no VTIMEZONE is
  needed: a calendar app shows them in its own zone whatever the location's.
- The feed carries confirmed bookings (held offers are no one's session yet) and, so that a subscriber that already
  holds an event sees it go, cancelled ones as `STATUS:CANCELLED`; completed
  and no-show sessions stay as the past events they were. Only bookings from
  `FEED_PAST_DAYS` ago onward are included, to keep the feed small.

Two kinds of calendar object, as RFC 5545 and RFC 5546 (iTIP) tell them apart:

- The therapist's feed is a subscription, a snapshot of their calendar: it
  has no METHOD (RFC 5545 3.7.2: without one, "a scheduling transaction MUST
  NOT be assumed"), which calendar apps subscribe to as they do to any
  published calendar. Its events have no ORGANIZER and no ATTENDEE (the
  client's address stays out of a calendar synced to third parties), so they
  are no group-scheduled entities, for which RFC 5545 asks an ORGANIZER.
  DTSTAMP is then the LAST-MODIFIED (RFC 5545 3.8.7.2), so an unchanged
  booking reads the same in every poll.
- The `.ics` mailed to the client is an iTIP message (over iMIP, RFC 6047):
  METHOD:REQUEST while the booking stands (booked, moved), METHOD:CANCEL with
  STATUS:CANCELLED once cancelled, the same UID and a higher SEQUENCE; the
  clinic is the ORGANIZER (`DEFAULT_FROM_EMAIL`, the address the mail comes
  from, CN the clinic's name) and the client the one ATTENDEE, already
  accepted and asked for no reply (PARTSTAT=ACCEPTED, RSVP=FALSE): a booking
  is changed in the app, never by answering the mail. DTSTAMP is when the
  message was made.
"""

import secrets
from datetime import UTC, datetime, timedelta
from email.utils import parseaddr

from django.conf import settings
from django.db.models import QuerySet
from django.utils import timezone
from django.utils.text import slugify
from icalendar import Calendar, Event, vCalAddress

from booking.models import Booking
from clinic.models import Modality, Therapist, new_feed_token
from clinic.selectors import clinic_get

FEED_PAST_DAYS = 30
NEEDS_REVIEW = "intake needs review"
INTAKE_PENDING = "intake pending"
# What a mail or a calendar needs of a booking, and nothing of its intake's health fields.
EVENT_RELATED = ("therapist__user", "client", "intake", "service", "location", "room")
HEALTH_COLUMNS = ("intake__answers", "intake__flags", "intake__reasons", "intake__review_note")

_STATUS = {
    Booking.Status.CONFIRMED: "CONFIRMED",
    Booking.Status.COMPLETED: "CONFIRMED",
    Booking.Status.NO_SHOW: "CONFIRMED",
    Booking.Status.CANCELLED: "CANCELLED",
}


def uid_domain() -> str:
    """The right-hand side of every event UID: stable for the life of the deployment.

    `CALENDAR_UID_DOMAIN` when set, else the slug of `CLINIC_NAME` (the
    environment's, not the editable clinic row's, so renaming the clinic in
    the API does not duplicate every event in subscribed calendars).
    """
    return getattr(settings, "CALENDAR_UID_DOMAIN", "") or slugify(settings.CLINIC_NAME) or "massage-clinic"


def booking_uid(booking: Booking) -> str:
    return f"booking-{booking.pk}@{uid_domain()}"


def modality_label(modality: str) -> str:
    return Modality(modality).label


def _utc(value: datetime) -> datetime:
    return value.astimezone(UTC)


def _event(*, booking: Booking, summary: str, description: str, location: str, stamp: datetime) -> Event:
    event = Event()
    event.add("uid", booking_uid(booking))
    event.add("dtstamp", _utc(stamp))
    event.add("dtstart", _utc(booking.starts_at))
    event.add("dtend", _utc(booking.ends_at))
    event.add("sequence", booking.sequence)
    event.add("status", _STATUS[booking.status])
    event.add("summary", summary)
    if description:
        event.add("description", description)
    if location:
        event.add("location", location)
    event.add("created", _utc(booking.created_at))
    event.add("last-modified", _utc(booking.updated_at))
    # The therapist is busy whatever the booking became, unless it was cancelled.
    event.add("transp", "TRANSPARENT" if booking.status == Booking.Status.CANCELLED else "OPAQUE")
    return event


def where(booking: Booking) -> str:
    """`Downtown, Room 2, 1 Main Street`: the location, its room when it has rooms, and its address."""
    parts = [booking.location.name]
    if booking.room is not None:
        parts.append(booking.room.name)
    address = " ".join(booking.location.address.split())
    if address:
        parts.append(address)
    return ", ".join(parts)


def what(booking: Booking) -> str:
    """`Massage, 60 min (Deep tissue massage)`: the service and the final modality, once the intake is in."""
    if booking.intake is None:
        return booking.service.name
    return f"{booking.service.name} ({modality_label(booking.intake.modality)})"


def _therapist_summary(booking: Booking) -> str:
    """`Massage, 60 min (Deep tissue massage) — Ana Díaz`, `(intake needs review)` appended when so."""
    summary = f"{what(booking)} — {booking.client.display_name}"
    if booking.is_pending:
        summary += f" ({INTAKE_PENDING})"
    elif booking.awaits_review:
        summary += f" ({NEEDS_REVIEW})"
    if booking.status == Booking.Status.CANCELLED:
        summary = f"Cancelled: {summary}"
    return summary


def _therapist_event(booking: Booking, *, stamp: datetime) -> Event:
    lines = [f"Service: {booking.service.name}"]
    if booking.is_pending:
        lines.append("Modality: to be decided by the intake, which the client has not completed yet.")
    else:
        lines.append(f"Modality: {modality_label(booking.intake.modality)}")
    lines.append(f"Where: {where(booking)}")
    if booking.awaits_review:
        lines.append("The intake needs review: read it in the day sheet before the session.")
    return _event(
        booking=booking,
        summary=_therapist_summary(booking),
        description="\n".join(lines),
        location=where(booking),
        stamp=stamp,
    )


def _client_event(booking: Booking, *, stamp: datetime) -> Event:
    summary = f"{what(booking)} with {booking.therapist.user.display_name}"
    if booking.status == Booking.Status.CANCELLED:
        summary = f"Cancelled: {summary}"
    lines = [f"Service: {booking.service.name}", f"Therapist: {booking.therapist.user.display_name}"]
    if booking.intake is not None:
        lines.append(f"Massage: {modality_label(booking.intake.modality)}")
    lines.append(f"Where: {where(booking)}")
    lines.append(f"Booking reference: #{booking.pk}")
    if booking.is_pending:
        lines.append("Please complete your intake form in the app before the session.")
    return _event(booking=booking, summary=summary, description="\n".join(lines), location=where(booking), stamp=stamp)


# What a change of an event is not: the bookkeeping that says when and which revision.
_BOOKKEEPING = ("DTSTAMP", "LAST-MODIFIED", "SEQUENCE")


def shown(booking: Booking) -> bytes:
    """What calendars show of the booking: both its events (the feed's and the mailed one) without bookkeeping.

    A service compares it before and after a change (a review, an intake) to
    know whether the change is one a calendar shows, and so bumps SEQUENCE.
    Expects the booking with `EVENT_RELATED` loaded.
    """
    parts = []
    for build in (_therapist_event, _client_event):
        event = build(booking, stamp=booking.updated_at)
        for name in _BOOKKEEPING:
            event.pop(name, None)
        parts.append(event.to_ical())
    return b"".join(parts)


def _calendar(*, name: str | None = None, method: str | None = None) -> Calendar:
    cal = Calendar()
    cal.add("prodid", f"-//{uid_domain()}//Massage clinic bookings//EN")
    cal.add("version", "2.0")
    cal.add("calscale", "GREGORIAN")
    if method:
        cal.add("method", method)
    if name:
        cal.add("x-wr-calname", name)
    return cal


def feed_bookings(*, therapist: Therapist, now: datetime | None = None) -> QuerySet[Booking]:
    """The bookings the therapist's feed shows, with everything an event needs in one query."""
    now = now or timezone.now()
    return (
        Booking.objects.filter(therapist=therapist, starts_at__gte=now - timedelta(days=FEED_PAST_DAYS))
        .exclude(status=Booking.Status.HELD)
        .select_related(*EVENT_RELATED)
        .defer(*HEALTH_COLUMNS)
        .order_by("starts_at", "pk")
    )


def therapist_calendar(*, therapist: Therapist, now: datetime | None = None) -> bytes:
    """The therapist's calendar feed (RFC 5545) in two queries, whatever its size.

    A subscription, not an iTIP message: no METHOD, no ORGANIZER or ATTENDEE
    (see the module's docstring).
    """
    now = now or timezone.now()
    clinic = clinic_get()
    cal = _calendar(name=f"{clinic.name} — {therapist.user.display_name}")
    # Subscribers poll; suggest hourly (RFC 7986 REFRESH-INTERVAL, and the de facto X-PUBLISHED-TTL).
    cal.add("refresh-interval", timedelta(hours=1), parameters={"VALUE": "DURATION"})
    cal.add("x-published-ttl", "PT1H")
    for booking in feed_bookings(therapist=therapist, now=now):
        # No METHOD: DTSTAMP is the LAST-MODIFIED (RFC 5545 3.8.7.2), not the time of the request.
        cal.add_component(_therapist_event(booking, stamp=booking.updated_at))
    return cal.to_ical()


def itip_method(booking: Booking) -> str:
    """The iTIP method (RFC 5546) of the booking's mailed event: CANCEL once cancelled, else REQUEST."""
    return "CANCEL" if booking.status == Booking.Status.CANCELLED else "REQUEST"


def organizer_address() -> str:
    """The clinic's address as ORGANIZER: that of `DEFAULT_FROM_EMAIL` (`Name <addr>` or a bare address)."""
    return parseaddr(settings.DEFAULT_FROM_EMAIL)[1] or settings.DEFAULT_FROM_EMAIL


def booking_event_ics(*, booking: Booking, now: datetime | None = None) -> bytes:
    """The client's event of one booking as an iTIP message (RFC 5546) to attach to a mail.

    METHOD:REQUEST (STATUS:CONFIRMED) while the booking stands, METHOD:CANCEL
    (STATUS:CANCELLED) once cancelled (`itip_method`); always the same UID,
    and the booking's SEQUENCE, higher after each change, so the client's
    calendar app replaces the event it imported. ORGANIZER is the clinic
    (`organizer_address`, CN the clinic's name), the one ATTENDEE the client.
    The mail's `text/calendar` part carries the same method (RFC 6047).
    Expects the booking with `EVENT_RELATED` loaded.
    """
    clinic = clinic_get()
    cal = _calendar(method=itip_method(booking))
    event = _client_event(booking, stamp=now or timezone.now())
    event.add("organizer", vCalAddress.new(organizer_address(), cn=clinic.name))
    client = booking.client
    event.add(
        "attendee",
        vCalAddress.new(
            client.email,
            cn=client.display_name,
            cutype="INDIVIDUAL",
            role="REQ-PARTICIPANT",
            partstat="ACCEPTED",
            rsvp=False,
        ),
    )
    cal.add_component(event)
    return cal.to_ical()


def therapist_by_feed_token(*, therapist_id: int, token: str | None) -> Therapist | None:
    """The therapist whose feed `token` opens, or None (unknown therapist or wrong token alike)."""
    if not token:
        return None
    therapist = Therapist.objects.select_related("user").filter(pk=therapist_id).first()
    if therapist is None or not secrets.compare_digest(therapist.feed_token.encode(), token.encode()):
        return None
    return therapist


def feed_token_rotate(*, therapist: Therapist) -> Therapist:
    """Give the therapist a new feed token; the old one stops working at once."""
    therapist.feed_token = new_feed_token()
    therapist.save(update_fields=["feed_token"])
    return therapist
