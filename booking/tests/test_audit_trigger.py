"""The intake audit log is append-only, enforced by PostgreSQL (a pgtrigger Protect trigger).

Whatever the code path (ORM queryset, model instance, raw SQL), an UPDATE or a
DELETE on `intake_intakeaccess` is refused by the database and the row stays.
"""

import pytest
from django.db import DatabaseError, connection, transaction

from booking.tests.factories import BookingFactory
from intake.models import IntakeAccess

TABLE = IntakeAccess._meta.db_table


@pytest.fixture
def access(db, settings, therapist):
    booking = BookingFactory(therapist=therapist)
    return IntakeAccess.objects.create(
        intake=booking.intake,
        booking_id=booking.pk,
        accessed_by=therapist.user,
        remote_addr="198.51.100.4",
        channel=IntakeAccess.Channel.DAY_SHEET,
    )


def snapshot(pk: int) -> tuple:
    return (
        IntakeAccess.objects.filter(pk=pk)
        .values_list("intake_id", "booking_id", "accessed_by_id", "accessed_at", "remote_addr", "channel", "outcome")
        .get()
    )


def refused(action) -> str:
    """Run `action` in its own savepoint; the database must refuse it. Returns the error text."""
    with pytest.raises(DatabaseError) as excinfo:
        with transaction.atomic():
            action()
    return str(excinfo.value)


def raw(sql: str, params=()):
    def run():
        with connection.cursor() as cursor:
            cursor.execute(sql, params)

    return run


def test_trigger_is_installed(db):
    with connection.cursor() as cursor:
        cursor.execute("SELECT tgname FROM pg_trigger WHERE tgrelid = %s::regclass AND NOT tgisinternal", [TABLE])
        names = [row[0] for row in cursor.fetchall()]
    assert any("intake_access_append_only" in name for name in names), names


def test_inserting_is_allowed(access):
    assert IntakeAccess.objects.filter(pk=access.pk).exists()


@pytest.mark.parametrize(
    "attempt",
    [
        pytest.param(lambda a: IntakeAccess.objects.filter(pk=a.pk).update(outcome="denied"), id="queryset-update"),
        pytest.param(lambda a: IntakeAccess.objects.filter(pk=a.pk).update(remote_addr=None), id="erase-address"),
        pytest.param(lambda a: IntakeAccess.objects.filter(pk=a.pk).delete(), id="queryset-delete"),
        pytest.param(lambda a: IntakeAccess.objects.all().delete(), id="delete-all"),
        pytest.param(lambda a: (setattr(a, "channel", "api"), a.save()), id="instance-save"),
        pytest.param(lambda a: a.delete(), id="instance-delete"),
        pytest.param(lambda a: raw(f"UPDATE {TABLE} SET outcome = 'denied' WHERE id = %s", [a.pk])(), id="raw-update"),
        pytest.param(lambda a: raw(f"DELETE FROM {TABLE} WHERE id = %s", [a.pk])(), id="raw-delete"),
        pytest.param(lambda a: raw(f"DELETE FROM {TABLE}")(), id="raw-delete-all"),
    ],
)
def test_update_and_delete_are_refused_by_the_database(access, attempt):
    # given
    before = snapshot(access.pk)
    # when
    message = refused(lambda: attempt(access))
    # then
    assert "Cannot update or delete" in message
    assert snapshot(access.pk) == before
    assert IntakeAccess.objects.count() == 1


def test_refusal_is_the_triggers_raise(access):
    """Django surfaces it as a DatabaseError (psycopg 3 maps P0001 to ProgrammingError); its cause is the RAISE."""
    with pytest.raises(DatabaseError) as excinfo:
        with transaction.atomic():
            IntakeAccess.objects.filter(pk=access.pk).update(outcome="denied")
    assert excinfo.value.__cause__.sqlstate == "P0001"  # raise_exception, from PL/pgSQL RAISE


@pytest.mark.django_db
@pytest.mark.parametrize("session_switch", [False, True])
def test_truncate_is_refused(access, session_switch):
    """Only the database's own default (conftest.py, for Django's flush) allows TRUNCATE; a session's SET does not.

    Without that default, as in production, the trigger refuses. The ALTER DATABASE shares the
    refused statement's transaction, so it is rolled back with it.
    """
    name = connection.ops.quote_name(connection.settings_dict["NAME"])
    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic(), connection.cursor() as cursor:  # noqa: PT012
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")  # the fixture's rows leave no deferred checks behind
        cursor.execute(f"ALTER DATABASE {name} RESET clinic.allow_truncate")
        if session_switch:
            cursor.execute("SET LOCAL clinic.allow_truncate = 'on'")
        cursor.execute(f"TRUNCATE {TABLE} CASCADE")
    assert IntakeAccess.objects.filter(pk=access.pk).exists()
