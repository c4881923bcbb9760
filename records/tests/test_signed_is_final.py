"""Issue 14's "done when": a signed note cannot be changed by any path — the API, the admin, the ORM, raw SQL.

Each path is tested in depth elsewhere (test_api, test_admin, test_models,
test_db_roles); this walks them all against one signed note.
"""

import pytest
from django.db import IntegrityError, connection, transaction
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from records.models import TreatmentNote
from records.tests.factories import TreatmentNoteFactory

pytestmark = pytest.mark.django_db


def test_a_signed_note_cannot_be_changed_by_any_path(api_as, admin_user, therapist):
    # given a note its author signed
    note = TreatmentNoteFactory(author=therapist.user, booking__therapist=therapist, signed_at=timezone.now())
    before = TreatmentNote.objects.filter(pk=note.pk).values().get()
    url = f"/api/v1/bookings/{note.booking_id}/notes/{note.pk}/"

    # the API: its author may neither change it nor sign it again
    author = api_as("therapist")
    assert author.patch(url, {"plan": "Rewritten."}, format="json").json()["code"] == "note_signed"
    assert author.post(f"{url}sign/").json()["code"] == "note_signed"

    # the admin: even a superuser's forged POST is refused
    admin = Client()
    admin.force_login(admin_user)
    change = reverse("admin:records_treatmentnote_change", args=[note.pk])
    assert admin.post(change, {"plan": "Rewritten."}).status_code == 403
    assert admin.post(reverse("admin:records_treatmentnote_delete", args=[note.pk]), {"post": "yes"}).status_code == 403

    # the ORM and raw SQL: the database's trigger refuses UPDATE and DELETE
    note.plan = "Rewritten."
    with pytest.raises(IntegrityError), transaction.atomic():
        note.save()
    for statement in (
        "UPDATE records_treatmentnote SET plan = 'Rewritten.' WHERE id = %s",
        "UPDATE records_treatmentnote SET signed_at = NULL WHERE id = %s",
        "DELETE FROM records_treatmentnote WHERE id = %s",
    ):
        with pytest.raises(IntegrityError), transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(statement, [note.pk])

    # then it is as it was signed
    assert TreatmentNote.objects.filter(pk=note.pk).values().get() == before
