"""The application's database role cannot change or delete a signed treatment note, by any path.

As config/tests/test_db_roles.py does for the audit log: an application role
made the way `manage.py migrate` makes it (config/db_roles.py), on its own
connection. It writes and signs drafts; a signed note stays as it is even
when the role lifts pgtrigger's triggers for its session (the row policy
of records/migrations/0001_initial.py), and it deletes no note at all.
"""

import pytest
from django.utils import timezone
from psycopg import errors

from config.testing.db_roles import app_role, connect_as
from records.models import TreatmentNote
from records.tests.factories import TreatmentNoteFactory

pytestmark = pytest.mark.django_db(transaction=True)

ROLE = "clinic_app_records_test"
TABLE = TreatmentNote._meta.db_table


@pytest.fixture
def as_app():
    """A fresh autocommit connection to the test database as an application role."""
    conn = connect_as(app_role(ROLE))
    yield conn
    conn.close()


@pytest.fixture
def signed():
    return TreatmentNoteFactory(signed_at=timezone.now())


def lift_pgtriggers(conn):
    """What `pgtrigger.ignore()` sets: pgtrigger's triggers on the table skip themselves for the session."""
    pgids = [trigger.get_pgid(TreatmentNote) for trigger in TreatmentNote._meta.triggers]
    conn.execute("SELECT set_config('pgtrigger.ignore', %s, false)", ["{" + ",".join(pgids) + "}"])


def test_the_app_role_writes_changes_and_signs_a_draft(as_app):
    draft = TreatmentNoteFactory()
    as_app.execute(f"UPDATE {TABLE} SET plan = 'Changed.' WHERE id = %s", [draft.pk])
    as_app.execute(f"UPDATE {TABLE} SET signed_at = now() WHERE id = %s", [draft.pk])
    note = TreatmentNote.objects.get(pk=draft.pk)
    assert note.plan == "Changed."
    assert note.is_signed


def test_the_app_role_locks_drafts_only(as_app, signed):
    draft = TreatmentNoteFactory(booking=signed.booking)
    locked = as_app.execute(f"SELECT id FROM {TABLE} ORDER BY id FOR UPDATE").fetchall()
    assert locked == [(draft.pk,)]
    assert as_app.execute(f"SELECT count(*) FROM {TABLE}").fetchone()[0] == 2


@pytest.mark.parametrize("lifted", [False, True], ids=["as-is", "pgtriggers-lifted"])
@pytest.mark.parametrize(
    "statement",
    [
        f"UPDATE {TABLE} SET plan = 'Rewritten.' WHERE id = %s",
        f"UPDATE {TABLE} SET signed_at = NULL WHERE id = %s",
        f"UPDATE {TABLE} SET plan = 'Rewritten.', signed_at = NULL WHERE id = %s",
    ],
)
def test_a_signed_note_changes_by_no_update(as_app, signed, statement, lifted):
    # The row policy hides a signed note from the role's UPDATE (nothing to update), and the
    # trigger would refuse it anyway; lifting pgtrigger's triggers for the session changes neither.
    if lifted:
        lift_pgtriggers(as_app)
    assert as_app.execute(statement, [signed.pk]).rowcount == 0
    note = TreatmentNote.objects.get(pk=signed.pk)
    assert (note.plan, note.signed_at) == (signed.plan, signed.signed_at)


@pytest.mark.parametrize(
    "statement",
    [
        f"DELETE FROM {TABLE}",
        f"TRUNCATE {TABLE}",
        f"ALTER TABLE {TABLE} DISABLE TRIGGER ALL",
        f"ALTER TABLE {TABLE} DISABLE ROW LEVEL SECURITY",
        f"DROP POLICY treatmentnote_change_drafts_only ON {TABLE}",
        f"DROP TABLE {TABLE} CASCADE",
    ],
)
def test_the_app_role_cannot_delete_notes_or_lift_the_guards(as_app, signed, statement):
    lift_pgtriggers(as_app)
    with pytest.raises(errors.InsufficientPrivilege):
        as_app.execute(statement)
    assert TreatmentNote.objects.filter(pk=signed.pk).exists()


def test_not_even_a_draft_is_deleted(as_app):
    draft = TreatmentNoteFactory()
    with pytest.raises(errors.InsufficientPrivilege):
        as_app.execute(f"DELETE FROM {TABLE} WHERE id = %s", [draft.pk])
    assert TreatmentNote.objects.filter(pk=draft.pk).exists()
