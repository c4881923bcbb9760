"""Reads of bookings and of the waitlist, scoped by who asks."""

from django.db.models import Prefetch, QuerySet

from booking.models import Booking, WaitlistEntry, WaitlistOffer
from clinic.models import Role, User

# What a booking's answer shows: who, with whom, what, where (and the intake's assessment).
BOOKING_RELATED = ("client", "therapist__user", "location", "room", "service", "intake")


def booking_list_for(user: User) -> QuerySet[Booking]:
    """The bookings `user` may see (docs/api.md): a client their own, a therapist
    theirs, staff and admins all. Anything else is a 404 to them.

    A held booking (time kept for a waitlist offer) is nobody's session yet:
    only staff and admins see it here; the client sees it as their offer.
    """
    qs = Booking.objects.select_related(*BOOKING_RELATED).order_by("starts_at", "id")
    if user.role in (Role.STAFF, Role.ADMIN):
        return qs
    qs = qs.exclude(status=Booking.Status.HELD)
    if user.role == Role.THERAPIST:
        return qs.filter(therapist__user=user)
    return qs.filter(client=user)


def waitlist_entries_for(user: User) -> QuerySet[WaitlistEntry]:
    """The waitlist entries `user` may see: a client their own, staff and admins all, anyone else none.

    First joined first. Each carries `current_offers`: its open offer with
    the held time, or the offer it was booked through (at most one of each).
    """
    current = WaitlistOffer.objects.filter(
        status__in=(WaitlistOffer.Status.OPEN, WaitlistOffer.Status.ACCEPTED)
    ).select_related("hold__therapist__user", "hold__location", "hold__room")
    qs = (
        WaitlistEntry.objects.select_related("client", "service", "location", "therapist__user")
        .prefetch_related(Prefetch("offers", queryset=current, to_attr="current_offers"))
        .order_by("created_at", "pk")
    )
    if user.role in (Role.STAFF, Role.ADMIN):
        return qs
    if user.role == Role.CLIENT:
        return qs.filter(client=user)
    return qs.none()


def waitlist_offers_for(user: User) -> QuerySet[WaitlistOffer]:
    """The waitlist offers `user` may answer: a client's own; nobody else's (a 404 to them)."""
    if user.role != Role.CLIENT:
        return WaitlistOffer.objects.none()
    return WaitlistOffer.objects.filter(entry__client=user)
