"""Treatment notes in a person's data (docs/api.md, Accounts): in the export, and kept when the client leaves.

The rest of the export and the deletion: config/tests/test_data_safety.py.
"""

from datetime import timedelta

import pytest
from django.db import IntegrityError, transaction
from django.utils import timezone

from clinic.models import User
from intake.models import IntakeAccess
from records.account_data import account_delete
from records.models import TreatmentNote
from records.tests.factories import StartedBookingFactory, TreatmentNoteFactory

pytestmark = pytest.mark.django_db

EXPORT = "/api/v1/me/export/"


@pytest.fixture
def notes(client_user, therapist):
    """Two sessions of the client's: one with a signed note and its draft amendment, one with a draft."""
    first = StartedBookingFactory(client=client_user, therapist=therapist, starts_at=timezone.now() - timedelta(days=7))
    second = StartedBookingFactory(client=client_user, therapist=therapist)
    signed = TreatmentNoteFactory(booking=first, signed_at=timezone.now() - timedelta(days=7))
    return {
        "first": first,
        "second": second,
        "signed": signed,
        "amendment": TreatmentNoteFactory(booking=first, amends=signed, plan="Corrected."),
        "draft": TreatmentNoteFactory(booking=second),
    }


class TestExport:
    def test_the_client_gets_the_notes_of_their_sessions(self, api_as, notes):
        TreatmentNoteFactory(subjective="someone else's session")
        body = api_as("client").get(EXPORT).json()
        exported = body["treatment_notes"]
        assert [n["id"] for n in exported] == [notes[k].pk for k in ("signed", "amendment", "draft")]
        assert [n["status"] for n in exported] == ["signed", "draft", "draft"]
        assert exported[0]["subjective"] == notes["signed"].subjective
        assert exported[0]["amended_by"] == [notes["amendment"].pk]
        assert exported[1]["amends"] == notes["signed"].pk
        assert "someone else's session" not in str(body)

    def test_reading_them_is_audited_once_per_session_and_in_the_export(self, api_as, client_user, notes):
        body = api_as("client").get(EXPORT, REMOTE_ADDR="203.0.113.5").json()
        rows = IntakeAccess.objects.filter(kind="notes")
        assert sorted(rows.values_list("booking_id", flat=True)) == sorted([notes["first"].pk, notes["second"].pk])
        assert set(rows.values_list("accessed_by", "client", "outcome", "remote_addr")) == {
            (client_user.pk, client_user.pk, "allowed", "203.0.113.5")
        }
        reads = [r for r in body["intake_reads"] if r["kind"] == "notes"]
        assert sorted(r["booking_id"] for r in reads) == sorted([notes["first"].pk, notes["second"].pk])
        assert {r["intake"] for r in reads} == {None}

    def test_the_therapists_reads_of_the_notes_are_in_it(self, api_as, notes):
        api_as("therapist").get(f"/api/v1/bookings/{notes['first'].pk}/notes/")
        reads = api_as("client").get(EXPORT).json()["intake_reads"]
        assert [(r["kind"], r["booking_id"], r["accessed_by"]["id"]) for r in reads if r["kind"] == "notes"][0] == (
            "notes",
            notes["first"].pk,
            notes["first"].therapist.user_id,
        )

    def test_a_therapists_export_holds_no_notes_they_wrote_about_clients(self, api_as, notes):
        body = api_as("therapist").get(EXPORT).json()
        assert body["treatment_notes"] == []
        assert not IntakeAccess.objects.filter(kind="notes").exists()


class TestDelete:
    def test_notes_stay_as_they_were_and_the_person_is_anonymised(self, api_as, client_user, notes):
        before = list(TreatmentNote.objects.order_by("id").values())
        # when
        assert api_as("client").delete("/api/v1/me/").status_code == 204
        # then the clinical record is whole
        assert list(TreatmentNote.objects.order_by("id").values()) == before
        # and the person it is about is nobody anymore
        client = User.objects.get(pk=client_user.pk)
        assert (client.email, client.first_name, client.last_name, client.is_active) == (
            f"deleted-{client.pk}@invalid",
            "",
            "",
            False,
        )

    def test_their_therapist_still_reads_the_notes_and_the_history(self, api_as, client_user, notes):
        therapist = api_as("therapist")
        account_delete(user=client_user)
        assert therapist.get(f"/api/v1/bookings/{notes['first'].pk}/notes/").json()["count"] == 2
        history = therapist.get(f"/api/v1/clients/{client_user.pk}/history/").json()["results"]
        assert [note["id"] for session in history for note in session["notes"]] == [notes["signed"].pk]

    def test_a_signed_note_still_cannot_change_afterwards(self, client_user, notes):
        account_delete(user=client_user)
        with pytest.raises(IntegrityError), transaction.atomic():
            TreatmentNote.objects.filter(pk=notes["signed"].pk).update(subjective="")
