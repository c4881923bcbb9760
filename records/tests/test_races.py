"""An edit racing the signature, on real connections: one applies after the other, never a 500."""

import threading

import pytest
from django.db import connection

from records import services
from records.errors import NoteSigned
from records.models import TreatmentNote
from records.tests.factories import TreatmentNoteFactory

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.mark.parametrize("attempt", range(3))
def test_an_edit_racing_the_signature_lands_before_it_or_is_refused(clinic, attempt):
    note = TreatmentNoteFactory()
    author, written = note.author, note.plan
    start = threading.Barrier(2)
    outcomes = {}

    def run(name, action):
        try:
            start.wait(timeout=10)
            action()
            outcomes[name] = "ok"
        except Exception as exc:  # what happened is the test's to judge
            outcomes[name] = type(exc).__name__
        finally:
            connection.close()

    def edit():
        services.note_update(booking_id=note.booking_id, note_id=note.pk, author=author, plan="Edited.")

    def sign():
        services.note_sign(booking_id=note.booking_id, note_id=note.pk, author=author)

    threads = [threading.Thread(target=run, args=("edit", edit)), threading.Thread(target=run, args=("sign", sign))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)

    note = TreatmentNote.objects.get(pk=note.pk)
    assert outcomes["sign"] == "ok"
    assert note.is_signed
    # either the edit went first and is in the signed note, or it came after and was refused
    assert (outcomes["edit"], note.plan) in {("ok", "Edited."), (NoteSigned.__name__, written)}
