"""The therapist pages' forms: they parse what a person typed, nothing else (the services decide).

Their limits are the API's own (booking.api.therapist_serializers,
booking.api.serializers.BookingReviewSerializer, records.api.serializers),
so the pages accept what the API accepts and refuse the rest with a message
beside the field.
"""

import datetime as dt

from django import forms

from clinic.models import Modality
from intake.services import REVIEW_NOTE_MAX_LENGTH
from records.models import BODY_AREAS, PRESSURES, SOAP_MAX_LENGTH

# Far from datetime's limits, as the day sheet's API keeps them.
EARLIEST_DAY = dt.date(1900, 1, 1)
LATEST_DAY = dt.date(9998, 12, 31)
# An id as PostgreSQL's bigint holds it.
MAX_ID = 2**63 - 1


class PageForm(forms.Form):
    """A form whose refusals that belong to no visible field are shown at its top (`top_errors`)."""

    def top_errors(self) -> list[str]:
        """The form's own errors and those of its hidden fields (a person cannot see or fix those beside them)."""
        errors = list(self.non_field_errors())
        for field in self.hidden_fields():
            errors.extend(field.errors)
        return errors


class DayForm(forms.Form):
    """Which day to show (GET): a date, YYYY-MM-DD; left out, today."""

    date = forms.DateField(
        label="Show the sessions of",
        required=False,
        input_formats=["%Y-%m-%d"],
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
    )

    def clean_date(self):
        value = self.cleaned_data["date"]
        if value is not None and not EARLIEST_DAY <= value <= LATEST_DAY:
            raise forms.ValidationError(f"Give a date between {EARLIEST_DAY} and {LATEST_DAY}.")
        return value


class ReviewForm(PageForm):
    """The treating therapist's final word on the modality, with a note."""

    modality = forms.ChoiceField(label="Modality you will give", choices=Modality.choices, widget=forms.RadioSelect)
    note = forms.CharField(
        label="Review note (optional)",
        required=False,
        max_length=REVIEW_NOTE_MAX_LENGTH,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text="Why you confirm or change the suggestion; only therapists and admins read it.",
    )


class CloseForm(forms.Form):
    """How the session went: it took place, or the client did not come."""

    OUTCOMES = {"completed": "Completed", "no_show": "No-show"}

    outcome = forms.ChoiceField(choices=OUTCOMES)


def _soap(label: str, help_text: str) -> forms.CharField:
    return forms.CharField(
        label=label,
        required=False,
        strip=False,
        max_length=SOAP_MAX_LENGTH,
        help_text=help_text,
        widget=forms.Textarea(attrs={"rows": 4}),
    )


class NoteForm(PageForm):
    """A treatment note's values (SOAP, areas, pressure, modality); `amends` for an amendment of a signed note."""

    subjective = _soap("Subjective", "What the client reported.")
    objective = _soap("Objective", "What you found.")
    assessment = _soap("Assessment", "Your assessment.")
    plan = _soap("Plan", "What comes next.")
    areas_treated = forms.MultipleChoiceField(
        label="Areas treated", choices=BODY_AREAS, widget=forms.CheckboxSelectMultiple, help_text="At least one."
    )
    pressure_used = forms.ChoiceField(label="Pressure used", choices=PRESSURES, widget=forms.RadioSelect)
    modality_given = forms.ChoiceField(label="Modality given", choices=Modality.choices, widget=forms.RadioSelect)
    amends = forms.IntegerField(
        required=False,
        min_value=1,
        max_value=MAX_ID,
        widget=forms.HiddenInput,
        error_messages={
            "invalid": "The note to amend is not one of this session's notes: open it again from the list.",
            "min_value": "The note to amend is not one of this session's notes: open it again from the list.",
            "max_value": "The note to amend is not one of this session's notes: open it again from the list.",
        },
    )

    VALUES = ("subjective", "objective", "assessment", "plan", "areas_treated", "pressure_used", "modality_given")

    def values(self) -> dict:
        """The note's columns as the records services take them."""
        return {name: self.cleaned_data[name] for name in self.VALUES}

    @staticmethod
    def initial_from(note) -> dict:
        """A form's initial values from a note (to edit a draft, or to start an amendment from a signed note)."""
        return {name: getattr(note, name) for name in NoteForm.VALUES}
