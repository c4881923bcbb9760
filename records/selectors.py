"""Reads of the clinical record: a booking's notes and a client's history.

They never decide who may read: records.services does, and writes the audit row.
"""

from django.db.models import Prefetch, QuerySet
from django.utils import timezone

from booking.models import Booking
from clinic.models import Role, User
from records.models import TreatmentNote

# The sessions a client's history holds: they took place (or were due to), and were not cancelled.
HISTORY_STATUSES = (Booking.Status.CONFIRMED, Booking.Status.COMPLETED, Booking.Status.NO_SHOW)


def note_list_queryset(*, signed_only: bool = False) -> QuerySet[TreatmentNote]:
    """Notes with what rendering them needs (author, the ids of their amendments), oldest first.

    `signed_only`: signed notes, and only their signed amendments.
    """
    notes = TreatmentNote.objects.all()
    if signed_only:
        notes = notes.filter(signed_at__isnull=False)
    return (
        notes.select_related("author")
        .prefetch_related(Prefetch("amendments", queryset=notes.only("id", "amends_id").order_by("id")))
        .order_by("created_at", "id")
    )


def note_list(*, booking_id: int) -> QuerySet[TreatmentNote]:
    """Every version of a booking's notes, drafts included, oldest first."""
    return note_list_queryset().filter(booking_id=booking_id)


def note_get(*, note_id: int) -> TreatmentNote:
    """One note as it is rendered (author, amendments). Raises `TreatmentNote.DoesNotExist`."""
    return note_list_queryset().get(pk=note_id)


def history_sessions(*, client: User) -> QuerySet[Booking]:
    """The client's sessions that have started and were not cancelled, newest first, with their signed notes."""
    signed = note_list_queryset(signed_only=True)
    return (
        Booking.objects.filter(client=client, status__in=HISTORY_STATUSES, starts_at__lte=timezone.now())
        .select_related("service", "therapist__user", "location", "intake")
        .prefetch_related(Prefetch("treatment_notes", queryset=signed, to_attr="signed_notes"))
        .order_by("-starts_at", "-id")
    )


def therapist_treats_client(*, therapist_user: User, client: User) -> bool:
    """Whether the therapist has or had a session with the client: one that started and was not cancelled,
    or a confirmed upcoming one. (A held waitlist offer is not a session yet.)"""
    if therapist_user.role != Role.THERAPIST:
        return False
    return Booking.objects.filter(client=client, therapist__user=therapist_user, status__in=HISTORY_STATUSES).exists()
