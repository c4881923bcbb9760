"""A signed treatment note is immutable in the database, whatever code or SQL tries; drafts are not."""

import pytest
from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from records.models import TreatmentNote
from records.tests.factories import StartedBookingFactory, TreatmentNoteFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def signed():
    return TreatmentNoteFactory(signed_at=timezone.now())


def refused():
    """The database refuses the statement; the test's transaction goes on (a savepoint)."""
    return pytest.raises(IntegrityError)


class TestDrafts:
    def test_a_draft_may_be_changed_signed_and_deleted(self):
        note = TreatmentNoteFactory()
        note.plan = "Come back next week."
        note.save()
        TreatmentNote.objects.filter(pk=note.pk).update(signed_at=timezone.now())
        assert TreatmentNote.objects.get(pk=note.pk).is_signed
        draft = TreatmentNoteFactory()
        draft.delete()
        assert not TreatmentNote.objects.filter(pk=draft.pk).exists()

    def test_signing_may_set_the_last_values_in_the_same_update(self):
        note = TreatmentNoteFactory()
        note.plan, note.signed_at = "Final plan.", timezone.now()
        note.save()
        assert TreatmentNote.objects.get(pk=note.pk).plan == "Final plan."


class TestSignedNotesNeverChange:
    def test_saving_through_the_orm_is_refused(self, signed):
        signed.subjective = "Rewritten."
        with refused(), transaction.atomic():
            signed.save()
        assert TreatmentNote.objects.get(pk=signed.pk).subjective == "Tight shoulders after a week of desk work."

    @pytest.mark.parametrize(
        "changes",
        [
            {"plan": "Rewritten."},
            {"signed_at": None},  # un-signing it
            {"signed_at": timezone.now()},  # re-dating the signature
            {"areas_treated": ["feet"]},
            {"author": None},
        ],
        ids=["text", "unsign", "resign", "areas", "author"],
    )
    def test_a_queryset_update_is_refused(self, signed, changes):
        if "author" in changes:
            changes = {"author": signed.booking.client}
        with refused(), transaction.atomic():
            TreatmentNote.objects.filter(pk=signed.pk).update(**changes)
        assert TreatmentNote.objects.filter(pk=signed.pk, signed_at=signed.signed_at, plan=signed.plan).exists()

    def test_deleting_through_the_orm_is_refused(self, signed):
        with refused(), transaction.atomic():
            signed.delete()
        with refused(), transaction.atomic():
            TreatmentNote.objects.filter(pk=signed.pk).delete()
        assert TreatmentNote.objects.filter(pk=signed.pk).exists()

    @pytest.mark.parametrize(
        "statement",
        [
            "UPDATE records_treatmentnote SET plan = 'Rewritten.' WHERE id = %s",
            "UPDATE records_treatmentnote SET signed_at = NULL WHERE id = %s",
            "UPDATE records_treatmentnote SET updated_at = now() WHERE id = %s",
            "DELETE FROM records_treatmentnote WHERE id = %s",
        ],
    )
    def test_raw_sql_is_refused(self, signed, statement):
        with refused() as caught, transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(statement, [signed.pk])
        assert "is signed: a clinical record is never changed or deleted" in str(caught.value)
        assert TreatmentNote.objects.get(pk=signed.pk).plan == signed.plan

    def test_an_update_of_many_rows_changes_none_when_one_is_signed(self, signed):
        draft = TreatmentNoteFactory(booking=signed.booking)
        with refused(), transaction.atomic():
            TreatmentNote.objects.filter(booking=signed.booking).update(plan="Bulk.")
        assert TreatmentNote.objects.get(pk=draft.pk).plan == draft.plan

    def test_an_amendment_is_a_new_row_and_leaves_the_signed_note_as_it_was(self, signed):
        before = TreatmentNote.objects.filter(pk=signed.pk).values().get()
        amendment = TreatmentNoteFactory(booking=signed.booking, amends=signed, plan="Corrected plan.")
        amendment.signed_at = timezone.now()
        amendment.save()
        assert TreatmentNote.objects.filter(pk=signed.pk).values().get() == before
        assert list(signed.amendments.all()) == [amendment]


class TestTheDatabaseChecksAmendments:
    def test_a_draft_cannot_be_amended(self):
        draft = TreatmentNoteFactory()
        with refused(), transaction.atomic():
            TreatmentNoteFactory(booking=draft.booking, amends=draft)

    def test_a_note_of_another_booking_cannot_be_amended(self, signed):
        with refused(), transaction.atomic():
            TreatmentNoteFactory(booking=StartedBookingFactory(therapist=signed.booking.therapist), amends=signed)

    def test_a_draft_cannot_be_pointed_at_a_draft_later(self, signed):
        draft = TreatmentNoteFactory(booking=signed.booking)
        other_draft = TreatmentNoteFactory(booking=signed.booking)
        with refused(), transaction.atomic():
            TreatmentNote.objects.filter(pk=draft.pk).update(amends=other_draft)


class TestValuesComeFromTheIntakeForm:
    @pytest.mark.parametrize(
        "values",
        [
            {"areas_treated": ["neck", "tail"]},
            {"pressure_used": "crushing"},
            {"modality_given": "hot_stones"},
        ],
        ids=["area", "pressure", "modality"],
    )
    def test_a_value_outside_the_lists_is_refused(self, values):
        with refused(), transaction.atomic():
            TreatmentNoteFactory(**values)
        assert not TreatmentNote.objects.exists()
