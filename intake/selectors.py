"""Reads of the intake app."""

from django.db.models import Q, QuerySet

from clinic.models import Role, User
from intake.models import Intake, IntakeAccess

# The assessment's keys (as `intake.rules.assess` returns them) -> the Intake
# column each is stored in. Services write through it, readers read through it.
ASSESSMENT_COLUMNS = {
    "modality": "suggested_modality",
    "score": "score",
    "needs_review": "needs_review",
    "flags": "flags",
    "reasons": "reasons",
    "rules_version": "rules_version",
}


def intake_get(*, intake_id: int) -> Intake:
    """One intake with what rendering it needs (client, reviewer) in the same query.

    Raises `Intake.DoesNotExist` when there is none.
    """
    return Intake.objects.select_related("client", "reviewed_by").get(pk=intake_id)


_LAST_GIVEN_SQL = "SELECT * FROM intake_intake WHERE client_id = %s ORDER BY created_at DESC, id DESC LIMIT 1"


def intake_last_given(*, client_id: int, before: Intake | None = None) -> Intake | None:
    """The client's most recent intake (given before `before`, when set), whatever became of its booking.

    Every stored intake is a completed one: a pending intake is a booking
    without one. Order is when it was given, then its id.
    """
    if before is None:
        # Plain SQL, the same query: on every booking's path, where the ORM's compiling costs more than
        # the statement (bench/README.md, finding 7).
        return next(iter(Intake.objects.raw(_LAST_GIVEN_SQL, [client_id])), None)
    earlier = Q(created_at__lt=before.created_at) | Q(created_at=before.created_at, pk__lt=before.pk)
    return Intake.objects.filter(earlier, client_id=client_id).order_by("-created_at", "-pk").first()


def intake_assessment(intake: Intake) -> dict:
    """The intake's stored assessment, in the shape `intake.rules.assess` returns."""
    return {key: getattr(intake, column) for key, column in ASSESSMENT_COLUMNS.items()}


def intake_access_list(*, intake: Intake | None, booking_id: int | None = None, user: User) -> QuerySet[IntakeAccess]:
    """The audit log of a booking as `user` may see it, newest first, with who read it.

    The reads of its intake (`intake`, through any channel) and of its
    treatment notes (by `booking_id`); while the intake is pending (`intake`
    None) only the notes' reads. Admins see every row. Anyone else (the
    client) sees the reads, not the refused attempts: those read nothing, and
    anyone probing booking ids writes one, so showing them would let a
    stranger fill a client's log. They stay in the table, for admins. Whether
    `user` may see the log at all is the caller's check.
    """
    about = Q(pk__in=[])
    if intake is not None:
        about |= Q(intake=intake)
    if booking_id is not None:
        about |= Q(kind=IntakeAccess.Kind.NOTES, booking_id=booking_id)
    rows = IntakeAccess.objects.filter(about)
    if user.role != Role.ADMIN:
        rows = rows.filter(outcome=IntakeAccess.Outcome.ALLOWED)
    return rows.select_related("accessed_by").order_by("-accessed_at", "-id")
