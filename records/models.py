"""The clinical record: a booking's treatment notes, kept like a record should be.

A note is a draft until its author signs it; a signed note never changes
again, in the database itself: a trigger refuses UPDATE and DELETE of any
row signed before the statement. A correction is an amendment, a new note
pointing at the signed one (`amends`), itself a draft until signed.
"""

import pgtrigger
from django.conf import settings
from django.contrib.postgres.fields import ArrayField
from django.db import models
from django.db.models import Q

from booking.models import Booking
from clinic.models import Modality
from intake import rules

# The lists a note's values come from: the intake form's own (intake.rules).
BODY_AREAS = list(rules.BODY_AREAS.items())
PRESSURES = list(rules.PRESSURE_PREFERENCES.items())

# A page or two of prose for each SOAP part; the plan is usually shorter.
SOAP_MAX_LENGTH = 4000


class TreatmentNote(models.Model):
    """What the therapist recorded of one session (SOAP), by its author, draft or signed.

    - `subjective`, `objective`, `assessment`, `plan`: the SOAP parts, free text.
    - `areas_treated`: body areas of the intake form; `pressure_used`: one of its
      pressure values; `modality_given`: the modality the session was.
    - `amends`: the signed note of the same booking this one corrects (the
      database checks both: a trigger on insert and update).
    - `signed_at`: null while a draft. Signing is the one UPDATE that sets
      it; from then on the row is immutable (a trigger refuses UPDATE and
      DELETE, whoever asks, unless the table's owner disables it).
    """

    booking = models.ForeignKey(Booking, on_delete=models.PROTECT, related_name="treatment_notes")
    author = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    subjective = models.TextField(max_length=SOAP_MAX_LENGTH, blank=True, help_text="What the client reported.")
    objective = models.TextField(max_length=SOAP_MAX_LENGTH, blank=True, help_text="What the therapist found.")
    assessment = models.TextField(max_length=SOAP_MAX_LENGTH, blank=True, help_text="The therapist's assessment.")
    plan = models.TextField(max_length=SOAP_MAX_LENGTH, blank=True, help_text="What comes next.")
    areas_treated = ArrayField(models.CharField(max_length=16, choices=BODY_AREAS), default=list)
    pressure_used = models.CharField(max_length=16, choices=PRESSURES)
    modality_given = models.CharField(max_length=16, choices=Modality.choices)
    amends = models.ForeignKey(
        "self",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="amendments",
        help_text="The signed note of the same booking this one corrects.",
    )
    signed_at = models.DateTimeField(null=True, blank=True, help_text="Null while a draft.")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["created_at", "id"]
        indexes = [models.Index(fields=["booking", "created_at"], name="treatmentnote_booking_idx")]
        constraints = [
            models.CheckConstraint(
                condition=Q(areas_treated__contained_by=[value for value, _ in BODY_AREAS]),
                name="treatmentnote_areas_of_the_form",
            ),
            models.CheckConstraint(
                condition=Q(pressure_used__in=[value for value, _ in PRESSURES]),
                name="treatmentnote_pressure_of_the_form",
            ),
            models.CheckConstraint(
                condition=Q(modality_given__in=Modality.values), name="treatmentnote_modality_known"
            ),
        ]
        triggers = [
            pgtrigger.Trigger(
                name="treatmentnote_signed_is_immutable",
                operation=pgtrigger.Update | pgtrigger.Delete,
                level=pgtrigger.Row,
                when=pgtrigger.Before,
                condition=pgtrigger.Q(old__signed_at__isnull=False),
                func=(
                    "RAISE EXCEPTION 'Treatment note % is signed: a clinical record is never changed or deleted; "
                    "amend it with a new note.', OLD.id USING ERRCODE = 'integrity_constraint_violation';"
                ),
            ),
            pgtrigger.Trigger(
                name="treatmentnote_amends_signed_of_booking",
                operation=pgtrigger.Insert | pgtrigger.Update,
                level=pgtrigger.Row,
                when=pgtrigger.Before,
                condition=pgtrigger.Q(new__amends__isnull=False),
                func=(
                    "IF NOT EXISTS (SELECT 1 FROM records_treatmentnote n WHERE n.id = NEW.amends_id "
                    "AND n.booking_id = NEW.booking_id AND n.signed_at IS NOT NULL) THEN "
                    "RAISE EXCEPTION 'A treatment note amends a signed note of its own booking.' "
                    "USING ERRCODE = 'check_violation'; "
                    "END IF; RETURN NEW;"
                ),
            ),
        ]

    def __str__(self):
        state = "signed" if self.signed_at else "draft"
        return f"Treatment note #{self.pk} of booking #{self.booking_id} ({state})"

    @property
    def is_signed(self) -> bool:
        return self.signed_at is not None
