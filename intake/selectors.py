"""Reads of the intake app."""

from django.db.models import QuerySet

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


def intake_assessment(intake: Intake) -> dict:
    """The intake's stored assessment, in the shape `intake.rules.assess` returns."""
    return {key: getattr(intake, column) for key, column in ASSESSMENT_COLUMNS.items()}


def intake_access_list(*, intake: Intake, user: User) -> QuerySet[IntakeAccess]:
    """The audit log of `intake` as `user` may see it, newest first, with who read it.

    Admins see every row. Anyone else (the client) sees the reads of the
    intake, not the refused attempts: those read nothing, and anyone probing
    booking ids writes one, so showing them would let a stranger fill a
    client's log. They stay in the table, for admins. Whether `user` may see
    the log at all is the caller's check.
    """
    rows = IntakeAccess.objects.filter(intake=intake)
    if user.role != Role.ADMIN:
        rows = rows.filter(outcome=IntakeAccess.Outcome.ALLOWED)
    return rows.select_related("accessed_by").order_by("-accessed_at", "-id")
