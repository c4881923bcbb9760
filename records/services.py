"""Writes of the clinical record, and the decisions who may read or write it.

Who may do what (docs/api.md, Treatment notes; Returning clients):

| what | allowed | refused with 403 | everyone else |
|---|---|---|---|
| read a booking's notes      | its therapist, admin | staff | 404 (its client too: they read them in `me/export/`) |
| write a note on a booking   | its therapist        | staff, admin | 404 |
| change or sign a note       | its author           | staff, admin, the booking's other therapists | 404 |
| read a client's history     | a therapist who has or had a session with them, admin | staff | 404 |

A held waitlist offer is nobody's booking yet: a 404 like anyone else's.
Refusals are Django's `Http404` and `PermissionDenied` (the API answers
them 404 and 403); a rule of the record that blocks a request is a domain
error (409). Every read of notes or of a history, and every refused attempt
at one, writes an audit row (`intake.models.IntakeAccess`, kind `notes` or
`history`) before anything is returned; a refused attempt's row is written
outside any transaction the refusal rolls back.
"""

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import QuerySet
from django.http import Http404
from django.utils import timezone

from booking.models import Booking
from clinic.models import Role, User
from intake.models import IntakeAccess
from intake.services import intake_access_log
from records import selectors
from records.errors import BookingNotActive, NoteSigned, NotesTooEarly
from records.models import TreatmentNote

# The columns a draft's author may change.
NOTE_FIELDS = (
    "subjective",
    "objective",
    "assessment",
    "plan",
    "areas_treated",
    "pressure_used",
    "modality_given",
)

NOT_FOUND = "No such booking, or not one whose treatment notes you may see."
STAFF_REFUSED = "Front-desk staff do not read or write treatment notes."
NOTE_NOT_FOUND = "No such treatment note on this booking."


def _audit(*, kind: str, client: User, booking_id: int | None, user: User, address: str | None, outcome: str):
    intake_access_log(
        kind=kind,
        client=client,
        booking_id=booking_id,
        user=user,
        remote_addr=address,
        channel=IntakeAccess.Channel.API,
        outcome=outcome,
    )


def _booking(booking_id: int) -> Booking:
    booking = Booking.objects.select_related("therapist", "client").filter(pk=booking_id).first()
    if booking is None:
        raise Http404(NOT_FOUND)
    return booking


def _is_its_therapist(user: User, booking: Booking) -> bool:
    return (
        user.role == Role.THERAPIST and booking.status != Booking.Status.HELD and booking.therapist.user_id == user.pk
    )


# --- Reads -------------------------------------------------------------------------------


def notes_read(*, booking_id: int, user: User, address: str | None = None) -> QuerySet[TreatmentNote]:
    """A booking's notes, every version oldest first, for its therapist or an admin; the read is audited.

    Staff: PermissionDenied; anyone else (its client included): Http404. A
    refused attempt on a booking that exists is audited too (outcome denied).
    """
    booking = _booking(booking_id)
    if user.role == Role.ADMIN or _is_its_therapist(user, booking):
        outcome = IntakeAccess.Outcome.ALLOWED
    else:
        outcome = IntakeAccess.Outcome.DENIED
    _audit(
        kind=IntakeAccess.Kind.NOTES,
        client=booking.client,
        booking_id=booking.pk,
        user=user,
        address=address,
        outcome=outcome,
    )
    if outcome == IntakeAccess.Outcome.DENIED:
        if user.role == Role.STAFF:
            raise PermissionDenied(STAFF_REFUSED)
        raise Http404(NOT_FOUND)
    return selectors.note_list(booking_id=booking.pk)


def history_read(*, client_id: int, user: User, address: str | None = None) -> QuerySet[Booking]:
    """A client's history (their sessions that started and were not cancelled, with signed notes); audited.

    For admins, and for a therapist who has or had such a session with the
    client or has a confirmed upcoming one. Staff: PermissionDenied; anyone
    else, or an id that is no client's: Http404. A refused attempt on a client
    who exists is audited too (outcome denied).
    """
    client = User.objects.filter(pk=client_id, role=Role.CLIENT).first()
    if client is None:
        raise Http404("No such client, or not one whose history you may see.")
    allowed = user.role == Role.ADMIN or selectors.therapist_treats_client(therapist_user=user, client=client)
    outcome = IntakeAccess.Outcome.ALLOWED if allowed else IntakeAccess.Outcome.DENIED
    _audit(kind=IntakeAccess.Kind.HISTORY, client=client, booking_id=None, user=user, address=address, outcome=outcome)
    if not allowed:
        if user.role == Role.STAFF:
            raise PermissionDenied("Front-desk staff do not read clients' histories.")
        raise Http404("No such client, or not one whose history you may see.")
    return selectors.history_sessions(client=client)


# --- Who may write -----------------------------------------------------------------------


def note_write_check(*, booking_id: int, user: User, note_id: int | None = None) -> None:
    """Whether `user` may write a new note on the booking (`note_id` None) or change that note of it.

    A new note: its therapist. An existing note: its author. Staff and admins:
    PermissionDenied (the record is the therapist's), as is the booking's
    therapist for another author's note; anyone else: Http404. Writes nothing.
    """
    booking = _booking(booking_id)
    note = None
    if note_id is not None:
        note = TreatmentNote.objects.filter(pk=note_id, booking_id=booking.pk).only("author_id").first()
        if note is not None and note.author_id == user.pk:
            return
    if user.role in (Role.STAFF, Role.ADMIN):
        raise PermissionDenied("Treatment notes are written and signed by the booking's therapist.")
    if not _is_its_therapist(user, booking):
        raise Http404(NOT_FOUND)
    if note_id is None:
        return
    if note is None:
        raise Http404(NOTE_NOT_FOUND)
    raise PermissionDenied("Only its author changes or signs a treatment note.")


# --- Writes ------------------------------------------------------------------------------


@transaction.atomic
def note_create(
    *,
    booking_id: int,
    author: User,
    subjective: str = "",
    objective: str = "",
    assessment: str = "",
    plan: str = "",
    areas_treated: list[str],
    pressure_used: str,
    modality_given: str,
    amends: int | None = None,
    now=None,
) -> TreatmentNote:
    """Write a draft note on the booking by its therapist, from the session's start.

    Locks the booking row first, so its therapist, start and status are
    checked as they stand (a reschedule or a cancellation waits). Refused:
    another user than the booking's therapist (PermissionDenied), before the
    start (`too_early`), a cancelled booking (`booking_not_active`), and an
    `amends` that is not a signed note of this booking (ValidationError, 400;
    the database checks it again). Values are the caller's to validate
    (records.api.serializers); the database's constraints have the last word.
    """
    now = now or timezone.now()
    booking = Booking.objects.select_for_update(of=("self",)).select_related("therapist").filter(pk=booking_id).first()
    if booking is None:
        raise Http404(NOT_FOUND)
    if not _is_its_therapist(author, booking):
        raise PermissionDenied("Treatment notes are written by the booking's therapist.")
    if booking.status == Booking.Status.CANCELLED:
        raise BookingNotActive("This booking was cancelled: there is no session to write notes on.")
    if now < booking.starts_at:
        raise NotesTooEarly()
    if amends is not None:
        amended = TreatmentNote.objects.filter(pk=amends, booking_id=booking.pk).only("signed_at").first()
        if amended is None:
            raise ValidationError({"amends": ["Not a treatment note of this booking."]})
        if not amended.is_signed:
            raise ValidationError(
                {"amends": ["That note is a draft: change it (PATCH) or sign it; only a signed note is amended."]}
            )
    return TreatmentNote.objects.create(
        booking=booking,
        author=author,
        subjective=subjective,
        objective=objective,
        assessment=assessment,
        plan=plan,
        areas_treated=areas_treated,
        pressure_used=pressure_used,
        modality_given=modality_given,
        amends_id=amends,
    )


def _draft_of_author(*, booking_id: int, note_id: int, author: User) -> TreatmentNote:
    """The author's draft, locked; NoteSigned when it is signed (or was signed meanwhile)."""
    note = TreatmentNote.objects.filter(pk=note_id, booking_id=booking_id).only("author_id", "signed_at").first()
    if note is None:
        raise Http404(NOTE_NOT_FOUND)
    if note.author_id != author.pk:
        raise PermissionDenied("Only its author changes or signs a treatment note.")
    # Locked as a draft: the application's database role may lock (and change) drafts only
    # (a row policy, records/migrations/0001_initial.py), so a signed note is not found here.
    draft = TreatmentNote.objects.select_for_update().filter(pk=note.pk, signed_at__isnull=True).first()
    if draft is None:
        raise NoteSigned()
    return draft


@transaction.atomic
def note_update(*, booking_id: int, note_id: int, author: User, **fields) -> TreatmentNote:
    """Change a draft's values (any of NOTE_FIELDS) by its author. Locks the note; a signed one: `note_signed`."""
    unknown = set(fields) - set(NOTE_FIELDS)
    if unknown:
        raise ValueError(f"Not a field a draft's author changes: {sorted(unknown)}.")
    note = _draft_of_author(booking_id=booking_id, note_id=note_id, author=author)
    for name, value in fields.items():
        setattr(note, name, value)
    note.save(update_fields=[*fields, "updated_at"])
    return note


@transaction.atomic
def note_sign(*, booking_id: int, note_id: int, author: User) -> TreatmentNote:
    """Sign a draft by its author: `signed_at` is set, and the database keeps the row as it is from then on.

    Locks the note, so an edit in flight lands before the signature or is refused after it.
    A signed note: `note_signed`.
    """
    note = _draft_of_author(booking_id=booking_id, note_id=note_id, author=author)
    note.signed_at = timezone.now()
    note.save(update_fields=["signed_at", "updated_at"])
    return note
