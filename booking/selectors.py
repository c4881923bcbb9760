"""Reads of bookings and slots, scoped by who asks."""

from django.db.models import OuterRef, QuerySet, Subquery

from booking.models import Booking, Slot
from clinic.models import Role, User


def booking_list_for(user: User) -> QuerySet[Booking]:
    """The bookings `user` may see (docs/api.md): a client their own, a therapist
    theirs, staff and admins all. Anything else is a 404 to them."""
    qs = Booking.objects.select_related("slot__therapist__user", "client", "intake").order_by("slot__starts_at", "id")
    if user.role in (Role.STAFF, Role.ADMIN):
        return qs
    if user.role == Role.THERAPIST:
        return qs.filter(slot__therapist__user=user)
    return qs.filter(client=user)


def slot_list() -> QuerySet[Slot]:
    """All slots with the id of their confirmed booking (or None)."""
    active = Booking.objects.filter(slot=OuterRef("pk"), status=Booking.Status.CONFIRMED).values("pk")[:1]
    return Slot.objects.annotate(active_booking_id=Subquery(active)).order_by("starts_at", "therapist_id")
