"""The decisions of records.services: reads audited before anything is returned; nothing half-written."""

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404
from django.utils import timezone

from intake.models import IntakeAccess
from records import services
from records.errors import NoteSigned
from records.models import TreatmentNote
from records.tests.factories import TreatmentNoteFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def note():
    return TreatmentNoteFactory()


def test_when_the_audit_row_cannot_be_written_no_notes_are_returned(note, monkeypatch):
    def fail(**kwargs):
        raise RuntimeError("disk full")

    monkeypatch.setattr("records.services.intake_access_log", fail)
    with pytest.raises(RuntimeError):
        services.notes_read(booking_id=note.booking_id, user=note.author)
    with pytest.raises(RuntimeError):
        services.history_read(client_id=note.booking.client_id, user=note.author)


def test_a_refused_read_keeps_its_audit_row(note, staff_user, client_user):
    with pytest.raises(PermissionDenied):
        services.notes_read(booking_id=note.booking_id, user=staff_user)
    with pytest.raises(Http404):
        services.history_read(client_id=note.booking.client_id, user=client_user)
    assert list(IntakeAccess.objects.order_by("id").values_list("kind", "outcome")) == [
        ("notes", "denied"),
        ("history", "denied"),
    ]


def test_a_draft_amendment_cannot_be_created_by_a_bad_amends_even_bypassing_the_api(note):
    # given a draft (not signed): the service refuses to amend it, and writes nothing
    with pytest.raises(ValidationError, match="draft"):
        services.note_create(
            booking_id=note.booking_id,
            author=note.author,
            areas_treated=["neck"],
            pressure_used="light",
            modality_given="therapeutic",
            amends=note.pk,
        )
    assert TreatmentNote.objects.count() == 1


def test_only_the_author_changes_or_signs_even_bypassing_the_api(note, other_therapist):
    with pytest.raises(PermissionDenied):
        services.note_update(booking_id=note.booking_id, note_id=note.pk, author=other_therapist.user, plan="x")
    with pytest.raises(PermissionDenied):
        services.note_sign(booking_id=note.booking_id, note_id=note.pk, author=other_therapist.user)
    assert not TreatmentNote.objects.get(pk=note.pk).is_signed


def test_a_signed_note_is_refused_before_the_database_has_to(note):
    services.note_sign(booking_id=note.booking_id, note_id=note.pk, author=note.author)
    with pytest.raises(NoteSigned):
        services.note_update(booking_id=note.booking_id, note_id=note.pk, author=note.author, plan="x")
    with pytest.raises(NoteSigned):
        services.note_sign(booking_id=note.booking_id, note_id=note.pk, author=note.author)


def test_only_a_drafts_fields_are_changed(note):
    with pytest.raises(ValueError, match="signed_at"):
        services.note_update(booking_id=note.booking_id, note_id=note.pk, author=note.author, signed_at=timezone.now())


def test_the_service_refuses_another_therapist_even_bypassing_the_api(note, other_therapist):
    with pytest.raises(PermissionDenied):
        services.note_create(
            booking_id=note.booking_id,
            author=other_therapist.user,
            areas_treated=["neck"],
            pressure_used="light",
            modality_given="therapeutic",
        )
    assert TreatmentNote.objects.count() == 1
