"""Writes of the intake app: store answers with their assessment, review them, log reads.

Every function is one transaction. Answers are always checked by
`intake.form.validate_answers` and assessed by `intake.rules.assess` here,
so no caller can store an intake whose assessment does not follow from its
answers. Who may do what is the caller's check (the booking app's).
"""

import ipaddress

from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.utils import timezone

from clinic.models import Modality, User
from intake import changes, rules
from intake.form import FORM_VERSION, validate_answers
from intake.models import Intake, IntakeAccess
from intake.selectors import ASSESSMENT_COLUMNS, intake_last_given

# As long as the client's own notes may be.
REVIEW_NOTE_MAX_LENGTH = 2000


# The first key of the transaction-level advisory lock that serialises one client's new intakes.
_CLIENT_INTAKES_LOCK = 0x1A7A4E


def _lock_client_intakes(client_id: int) -> None:
    """Take the client's intake lock until the transaction ends: their new intakes are stored one at a time.

    An advisory lock rather than the client's row: a pending intake is
    completed under its booking's row lock, and the booking services lock the
    client before a booking, so taking the client's row here would invert
    that order. Nothing is locked after it, so it cannot close a cycle.
    """
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_xact_lock(%s, %s)", [_CLIENT_INTAKES_LOCK, client_id])


def _assessment_fields(answers: dict, previous: Intake | None) -> dict:
    """The Intake columns the rules fill in for these (validated) answers, and what changed since `previous`."""
    assessment = rules.assess(answers)
    return {
        **{column: assessment[key] for key, column in ASSESSMENT_COLUMNS.items()},
        "changes_since_last": changes.changes_since_last(previous.answers if previous else None, answers),
        "new_flags": changes.new_flags(previous.flags if previous else None, assessment["flags"]),
    }


def intake_create(*, client: User, answers: dict) -> Intake:
    """Validate and assess `answers` and store them as `client`'s intake.

    `changes_since_last` and `new_flags` compare it with the client's latest
    intake; two of one client given at once (two pending bookings completed
    together) are stored one after the other, the second compared with the
    first, under the client's intake lock. Raises Django's `ValidationError`
    (`{field: [message]}`) and stores nothing when the answers are invalid.
    """
    cleaned = validate_answers(answers)
    # One transaction, the caller's when there is one (a booking's), without a savepoint of its own:
    # past validation only the database can fail here, and that fails the caller's transaction anyway.
    with transaction.atomic(savepoint=False):
        _lock_client_intakes(client.pk)
        previous = intake_last_given(client_id=client.pk)
        return Intake.objects.create(
            client=client, form_version=FORM_VERSION, answers=cleaned, **_assessment_fields(cleaned, previous)
        )


@transaction.atomic
def intake_update_answers(*, intake: Intake, answers: dict) -> Intake:
    """Replace the answers, reassess them, and return the intake (the same instance, updated).

    A therapist's review stays, but is marked stale when the answers changed:
    it was made against the older intake. `changes_since_last` and
    `new_flags` are recomputed against the same previous intake (the one
    given before this one); a later intake keeps what it stored. Locks the
    intake row (and reloads it) so that two edits, or an edit and a review,
    apply one after the other. Whether the client may still edit (before the
    appointment) is the caller's check.
    """
    # Validation needs no row, so bad answers are refused before taking a lock.
    cleaned = validate_answers(answers)
    intake.refresh_from_db(from_queryset=Intake.objects.select_for_update())

    if intake.reviewed_modality and cleaned != intake.answers:
        intake.review_stale = True
    intake.form_version = FORM_VERSION
    intake.answers = cleaned
    previous = intake_last_given(client_id=intake.client_id, before=intake)
    for name, value in _assessment_fields(cleaned, previous).items():
        setattr(intake, name, value)
    intake.save()
    return intake


@transaction.atomic
def intake_review(*, intake: Intake, reviewer: User, modality: str, note: str = "") -> Intake:
    """Record the treating therapist's final modality (and note); returns the intake, updated.

    Raises Django's `ValidationError` `{"modality": [...]}` for an unknown
    modality. Locks the intake row: a review and an edit of the answers
    never interleave. Who may review is the caller's check.
    """
    if not isinstance(modality, str) or modality not in Modality.values:
        raise ValidationError({"modality": [f"Choose one of: {', '.join(Modality.values)}."]})
    if not isinstance(note, str) or "\x00" in note or len(note) > REVIEW_NOTE_MAX_LENGTH:
        raise ValidationError({"note": [f"Must be text of at most {REVIEW_NOTE_MAX_LENGTH} characters."]})

    intake.refresh_from_db(from_queryset=Intake.objects.select_for_update())
    intake.reviewed_modality = modality
    intake.review_note = note
    intake.reviewed_by = reviewer
    intake.reviewed_at = timezone.now()
    intake.review_stale = False
    intake.save(
        update_fields=["reviewed_modality", "review_note", "reviewed_by", "reviewed_at", "review_stale", "updated_at"]
    )
    return intake


@transaction.atomic
def intake_review_clear(*, intake: Intake) -> Intake:
    """Drop the review (a booking moved to another therapist: the new one reviews afresh)."""
    intake.refresh_from_db(from_queryset=Intake.objects.select_for_update())
    intake.reviewed_modality = ""
    intake.review_note = ""
    intake.reviewed_by = None
    intake.reviewed_at = None
    intake.review_stale = False
    intake.save(
        update_fields=["reviewed_modality", "review_note", "reviewed_by", "reviewed_at", "review_stale", "updated_at"]
    )
    return intake


def ip_or_none(remote_addr: str | None) -> str | None:
    """The client address as the audit log stores it, or None when there is no usable one."""
    # The column is an inet: an address that is not one (a proxy's garbage,
    # a unix socket) must not make the read it records fail.
    try:
        return str(ipaddress.ip_address(remote_addr.strip())) if remote_addr else None
    except ValueError:
        return None


@transaction.atomic
def intake_access_log(
    *,
    kind: str = IntakeAccess.Kind.INTAKE,
    client: User | None = None,
    intake: Intake | None = None,
    user: User | None,
    booking_id: int | None = None,
    remote_addr: str | None = None,
    channel: str,
    outcome: str = IntakeAccess.Outcome.ALLOWED,
) -> IntakeAccess:
    """Write one audit row: `user` read (or was refused) `client`'s data of `kind` through `channel`.

    - `intake` (kind `intake`, the default): the intake read; `client` is its
      client and may be left out.
    - `notes`: a booking's treatment notes; `booking_id` and `client` are
      required, `intake` is not (the notes are the booking's).
    - `history`: a client's history; `client` is required, no single intake.

    `kind`, `channel` and `outcome` are `IntakeAccess.Kind`, `.Channel` and
    `.Outcome` values; a wrong one, or a missing subject, is a programming
    error (ValueError). The log is append-only in the database.
    """
    if kind not in IntakeAccess.Kind.values:
        raise ValueError(f"Unknown access kind {kind!r}.")
    if channel not in IntakeAccess.Channel.values:
        raise ValueError(f"Unknown intake access channel {channel!r}.")
    if outcome not in IntakeAccess.Outcome.values:
        raise ValueError(f"Unknown intake access outcome {outcome!r}.")
    if kind == IntakeAccess.Kind.INTAKE and intake is None:
        raise ValueError("An intake read names the intake.")
    if kind == IntakeAccess.Kind.NOTES and booking_id is None:
        raise ValueError("A read of treatment notes names the booking.")
    if intake is not None:
        if client is not None and client.pk != intake.client_id:
            raise ValueError("The intake read is not that client's.")
        client_id = intake.client_id
    elif client is not None:
        client_id = client.pk
    else:
        raise ValueError("An audit row names whose data was read.")
    return IntakeAccess.objects.create(
        kind=kind,
        client_id=client_id,
        intake=intake,
        booking_id=booking_id,
        accessed_by=user if user is not None and user.is_authenticated else None,
        remote_addr=ip_or_none(remote_addr),
        channel=channel,
        outcome=outcome,
    )


def intake_latest_read(*, client: User, remote_addr: str | None, channel: str) -> Intake | None:
    """`client`'s own latest intake, to prefill the next one, or None; the read is audit-logged.

    It is their own health data, and still a read of a full intake: one row,
    the client as reader, no booking it came through (`me/intake/latest/`,
    the booking pages' prefill).
    """
    intake = intake_last_given(client_id=client.pk)
    if intake is not None:
        intake_access_log(intake=intake, user=client, remote_addr=remote_addr, channel=channel)
    return intake
