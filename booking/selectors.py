"""Reads of bookings, scoped by who asks."""

from django.db.models import QuerySet

from booking.models import Booking
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
