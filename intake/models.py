"""Stored intakes, their assessment, the therapist's review, and the audit log of reads.

`intake` knows nothing of bookings: a booking points to its intake. The audit
log records the booking id a read came through as a plain number so the log
stays independent of (and outlives) anything it points at.
"""

import pgtrigger
from django.conf import settings
from django.db import models
from django.db.models import Q

from clinic.models import Modality


class Intake(models.Model):
    """A client's answers to the intake form, and what follows from them.

    The assessment columns are written by the rules in `intake/rules.py` and
    keep the `rules_version` that produced them; `form_version` is the form
    the answers were given on. A later change of the rules never rewrites
    a stored assessment. `changes_since_last` and `new_flags` compare it with
    the same client's previous intake (`intake/changes.py`), stored when it is
    given and recomputed against the same previous one when it is edited.
    """

    client = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="intakes")
    form_version = models.PositiveIntegerField()
    answers = models.JSONField()

    # The assessment (the suggestion).
    suggested_modality = models.CharField(max_length=16, choices=Modality.choices)
    score = models.IntegerField()
    needs_review = models.BooleanField()
    flags = models.JSONField(default=list)
    reasons = models.JSONField(default=list)
    rules_version = models.PositiveIntegerField()

    # Against the same client's previous intake (docs/intake.md, Changes since the last intake).
    changes_since_last = models.JSONField(
        null=True,
        blank=True,
        default=None,
        help_text="The answer fields that differ from the client's previous intake, in form order; "
        "null for their first intake.",
    )
    new_flags = models.JSONField(
        default=list, blank=True, help_text="Flags the previous intake did not have (all of them for a first intake)."
    )

    # The treating therapist's review (the final word), if any.
    reviewed_modality = models.CharField(max_length=16, choices=Modality.choices, blank=True)
    review_note = models.TextField(blank=True)
    reviewed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    reviewed_at = models.DateTimeField(null=True, blank=True)
    review_stale = models.BooleanField(default=False, help_text="The answers changed after the review was made.")

    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=Q(reviewed_modality="") | Q(reviewed_at__isnull=False),
                name="intake_review_has_time",
            ),
        ]

    def __str__(self):
        return f"Intake #{self.pk} (form v{self.form_version})"

    @property
    def awaits_review(self) -> bool:
        """Flagged for review and not yet reviewed against the current answers."""
        return self.needs_review and (not self.reviewed_modality or self.review_stale)

    @property
    def modality(self) -> str:
        """The final modality: the therapist's when reviewed, else the suggestion."""
        return self.reviewed_modality or self.suggested_modality


class IntakeAccess(models.Model):
    """One read (or refused read) of a client's health data: the audit log.

    - `kind`: what was read — `intake` (a full intake), `notes` (a booking's
      treatment notes) or `history` (a client's history: their sessions and
      signed notes across bookings).
    - `client`: whose data it was, always. For an intake read the database
      sets it from the intake (a trigger), so it cannot disagree with it.
    - `intake`: the intake read; required for `intake` rows, empty for a
      history read (no single intake) and for notes (they belong to a booking).
    - `booking_id`: the booking the read came through, as a plain number so
      the log outlives what it points at; required for `notes` rows.
    - `channel`: what the read went through — `api` (the JSON API: the
      intake, notes and history endpoints, the export), `day_sheet`, `admin`,
      `fhir` (a FHIR `QuestionnaireResponse`) or `web` (the clinic's pages).

    Append-only, enforced by the database: on PostgreSQL triggers refuse
    UPDATE, DELETE and TRUNCATE on this table, whatever code or person tries.
    """

    class Kind(models.TextChoices):
        INTAKE = "intake", "Intake"
        NOTES = "notes", "Treatment notes"
        HISTORY = "history", "Client history"

    class Outcome(models.TextChoices):
        ALLOWED = "allowed", "Allowed"
        DENIED = "denied", "Denied"

    class Channel(models.TextChoices):
        API = "api", "Clinic API"
        DAY_SHEET = "day_sheet", "Therapist's day sheet"
        ADMIN = "admin", "Django admin"
        FHIR = "fhir", "FHIR API"
        WEB = "web", "Clinic web pages"

    kind = models.CharField(max_length=16, choices=Kind.choices, default=Kind.INTAKE, db_default=Kind.INTAKE)
    client = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    intake = models.ForeignKey(Intake, null=True, blank=True, on_delete=models.PROTECT, related_name="accesses")
    booking_id = models.BigIntegerField(null=True, blank=True, db_index=True)
    accessed_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.PROTECT, related_name="+")
    accessed_at = models.DateTimeField(auto_now_add=True, db_index=True)
    remote_addr = models.GenericIPAddressField(null=True, blank=True)
    channel = models.CharField(max_length=16, choices=Channel.choices)
    outcome = models.CharField(max_length=16, choices=Outcome.choices, default=Outcome.ALLOWED)

    class Meta:
        ordering = ["-accessed_at", "-id"]
        verbose_name_plural = "intake accesses"
        constraints = [
            models.CheckConstraint(
                condition=Q(kind="intake", intake__isnull=False)
                | Q(kind="notes", booking_id__isnull=False)
                | Q(kind="history"),
                name="intake_access_names_what_was_read",
            ),
        ]
        triggers = [
            pgtrigger.Trigger(
                name="intake_access_client_of_intake",
                operation=pgtrigger.Insert,
                level=pgtrigger.Row,
                when=pgtrigger.Before,
                # Whose data an intake read was is the intake's client, whatever the writer said.
                func=(
                    "IF NEW.intake_id IS NOT NULL THEN "
                    "SELECT client_id INTO NEW.client_id FROM intake_intake WHERE id = NEW.intake_id; "
                    "END IF; RETURN NEW;"
                ),
            ),
            pgtrigger.Protect(name="intake_access_append_only", operation=pgtrigger.Update | pgtrigger.Delete),
            pgtrigger.Trigger(
                name="intake_access_no_truncate",
                operation=pgtrigger.Truncate,
                level=pgtrigger.Statement,
                when=pgtrigger.Before,
                # Only a test database, whose own default (ALTER DATABASE, which needs the
                # database's owner) sets clinic.allow_truncate (conftest.py), lets Django's
                # test flush empty the table. The catalog is read, not current_setting(),
                # so no session or role can lift the guard with SET.
                func=(
                    "IF NOT EXISTS (SELECT 1 FROM pg_catalog.pg_db_role_setting s "
                    "JOIN pg_catalog.pg_database d ON d.oid = s.setdatabase "
                    "WHERE d.datname = current_database() AND s.setrole = 0 "
                    "AND 'clinic.allow_truncate=on' = ANY(s.setconfig)) THEN "
                    "RAISE EXCEPTION 'The intake access log is append-only: TRUNCATE is refused.'; "
                    "END IF; RETURN NULL;"
                ),
            ),
        ]

    def __str__(self):
        what = f"intake #{self.intake_id}" if self.kind == self.Kind.INTAKE else f"{self.kind} of #{self.client_id}"
        return f"{self.accessed_by} read {what} ({self.outcome})"
