"""What happened to a booking, announced to the apps above `booking` (webhooks, pages).

A lower app never imports a higher one (DESIGN.md): the booking services
announce each change here, inside the transaction that made it, and a
subscriber (integrations' webhooks) defers its own jobs in that same
transaction, so they commit with the change or not at all.

    announce(BOOKING_CANCELLED, booking)
"""

from django.dispatch import Signal

BOOKING_CREATED = "booking.created"
BOOKING_RESCHEDULED = "booking.rescheduled"
BOOKING_CANCELLED = "booking.cancelled"
BOOKING_COMPLETED = "booking.completed"
BOOKING_NO_SHOW = "booking.no_show"
WAITLIST_OFFERED = "waitlist.offered"

EVENTS = (
    BOOKING_CREATED,
    BOOKING_RESCHEDULED,
    BOOKING_CANCELLED,
    BOOKING_COMPLETED,
    BOOKING_NO_SHOW,
    WAITLIST_OFFERED,
)

# Sent with `event` (one of EVENTS) and `booking` (for `waitlist.offered`, the held booking).
booking_event = Signal()


def announce(event: str, booking) -> None:
    """Tell the subscribers that `event` happened to `booking`, in the caller's transaction.

    A subscriber that raises rolls the change back with it: subscribers only
    write rows (defer jobs), they never call out.
    """
    if event not in EVENTS:
        raise ValueError(f"Unknown booking event {event!r}")
    booking_event.send(sender=type(booking), event=event, booking=booking)
