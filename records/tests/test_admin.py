"""Treatment notes in the admin: superusers read them (audited), nobody changes them there."""

import pytest
from django.contrib.auth.models import Permission
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from intake.models import IntakeAccess
from records.models import TreatmentNote
from records.tests.factories import TreatmentNoteFactory

pytestmark = pytest.mark.django_db

SECRET = "Disclosed a recent fall on the stairs."


def browser(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def signed():
    return TreatmentNoteFactory(subjective=SECRET, signed_at=timezone.now())


def change_url(note) -> str:
    return reverse("admin:records_treatmentnote_change", args=[note.pk])


def test_a_superuser_reads_a_note_and_the_read_is_audited(admin_user, signed):
    response = browser(admin_user).get(change_url(signed), REMOTE_ADDR="198.51.100.9")
    assert response.status_code == 200
    assert SECRET in response.content.decode()
    row = IntakeAccess.objects.get()
    assert (row.kind, row.booking_id, row.client_id, row.accessed_by_id, row.channel, row.remote_addr) == (
        "notes",
        signed.booking_id,
        signed.booking.client_id,
        admin_user.pk,
        "admin",
        "198.51.100.9",
    )


def test_the_list_shows_no_text_and_cannot_be_searched_on_it(admin_user, signed):
    admin = browser(admin_user)
    listing = admin.get(reverse("admin:records_treatmentnote_changelist"))
    assert listing.status_code == 200
    assert SECRET not in listing.content.decode()
    assert admin.get(reverse("admin:records_treatmentnote_changelist"), {"q": "fall"}).context["cl"].result_count == 0
    for lookup in ("subjective__icontains", "plan__regex", "areas_treated__contains", "pressure_used"):
        response = admin.get(reverse("admin:records_treatmentnote_changelist"), {lookup: "x"})
        assert response.status_code == 400, lookup


def test_front_desk_has_no_notes_page_even_with_the_permissions(staff_user, signed):
    staff_user.user_permissions.add(
        Permission.objects.get(codename="view_treatmentnote"), Permission.objects.get(codename="change_treatmentnote")
    )
    desk = browser(staff_user)
    assert desk.get(change_url(signed)).status_code in (302, 403)
    assert desk.get(reverse("admin:records_treatmentnote_changelist")).status_code in (302, 403)
    assert not IntakeAccess.objects.exists()


@pytest.mark.parametrize("signed_at", [timezone.now(), None], ids=["signed", "draft"])
def test_a_superuser_cannot_change_or_delete_a_note_here(admin_user, signed_at):
    note = TreatmentNoteFactory(signed_at=signed_at)
    before = TreatmentNote.objects.filter(pk=note.pk).values().get()
    admin = browser(admin_user)
    # the page is read-only: no form field for the text
    page = admin.get(change_url(note)).content.decode()
    assert 'name="subjective"' not in page
    # a forged POST is refused, and so is the delete page
    response = admin.post(change_url(note), {"subjective": "Rewritten.", "plan": "Rewritten."})
    assert response.status_code == 403
    assert admin.post(reverse("admin:records_treatmentnote_delete", args=[note.pk]), {"post": "yes"}).status_code == 403
    assert admin.get(reverse("admin:records_treatmentnote_add")).status_code == 403
    assert TreatmentNote.objects.filter(pk=note.pk).values().get() == before
