"""The application's database role cannot change or empty the audit log, by any path.

The suite runs as the schema's owner (it creates and flushes the test
database). These tests make an application role the way `manage.py migrate`
does with DATABASE_OWNER_URL set (config/db_roles.py), connect as it on
their own connection, and try every way an application login could rewrite
history: plain UPDATE/DELETE/TRUNCATE, pgtrigger's session switch, the old
truncate switch at session and role level, disabling or dropping the
triggers, dropping or renaming the table.
"""

import os
import subprocess
import sys

import psycopg
import pytest
from django.conf import settings
from django.db import connection
from psycopg import errors, sql

from config.embedded_db import database_url
from config.testing.db_roles import PASSWORD, connect_as
from config.testing.db_roles import app_role as make_app_role
from intake.models import IntakeAccess
from intake.tests.factories import IntakeFactory

pytestmark = pytest.mark.django_db(transaction=True)

ROLE = "clinic_app_test"
LOG = IntakeAccess._meta.db_table


@pytest.fixture
def app_role():
    """A login role with the application's grants on the test database."""
    yield make_app_role(ROLE)
    with connection.cursor() as cursor:
        cursor.execute(f"ALTER ROLE {ROLE} RESET ALL")


@pytest.fixture
def as_app(app_role):
    """`as_app()` → a fresh autocommit connection to the test database as the application's role."""
    opened = []

    def connect():
        opened.append(connect_as(app_role))
        return opened[-1]

    yield connect
    for conn in opened:
        conn.close()


@pytest.fixture
def row():
    return IntakeAccess.objects.create(intake=IntakeFactory(), channel=IntakeAccess.Channel.API)


def _refused(conn, statement, params=None):
    with pytest.raises((errors.InsufficientPrivilege, errors.RaiseException)):
        conn.execute(statement, params)


def test_the_app_role_adds_to_and_reads_the_log(as_app, row):
    conn = as_app()
    conn.execute(
        sql.SQL(
            "INSERT INTO {} (intake_id, accessed_at, channel, outcome) VALUES (%s, now(), 'api', 'allowed')"
        ).format(sql.Identifier(LOG)),
        [row.intake_id],
    )
    assert conn.execute(sql.SQL("SELECT count(*) FROM {}").format(sql.Identifier(LOG))).fetchone()[0] == 2


def test_the_app_role_runs_the_clinic(as_app, row):
    # given the application's role, when it reads and writes an ordinary table, then it may
    conn = as_app()
    conn.execute("UPDATE intake_intake SET review_note = review_note WHERE id = %s", [row.intake_id])
    assert conn.execute("SELECT count(*) FROM intake_intake").fetchone()[0] == 1


@pytest.mark.parametrize(
    "statement",
    [
        "UPDATE {log} SET outcome = 'denied'",
        "DELETE FROM {log}",
        "TRUNCATE {log}",
        "TRUNCATE {log} CASCADE",
        "ALTER TABLE {log} DISABLE TRIGGER ALL",
        "ALTER TABLE {log} DISABLE TRIGGER USER",
        "DROP TABLE {log} CASCADE",
        "ALTER TABLE {log} RENAME TO old_log",
        "DROP FUNCTION IF EXISTS _pgtrigger_should_ignore CASCADE",
        "ALTER DATABASE {database} SET clinic.allow_truncate = 'on'",
        "CREATE TABLE log_copy (id int)",
    ],
)
def test_the_app_role_cannot_rewrite_the_log(as_app, row, statement):
    conn = as_app()
    _refused(
        conn,
        sql.SQL(statement).format(log=sql.Identifier(LOG), database=sql.Identifier(connection.settings_dict["NAME"])),
    )
    assert IntakeAccess.objects.filter(pk=row.pk, outcome="allowed").exists()


def test_session_switches_do_not_help(as_app, row):
    conn = as_app()
    # pgtrigger's own escape hatch (what `pgtrigger.ignore()` sets), and the switch the log once honoured
    protect = next(t for t in IntakeAccess._meta.triggers if t.name == "intake_access_append_only")
    pgid = protect.get_pgid(IntakeAccess)
    conn.execute("SELECT set_config('pgtrigger.ignore', %s, false)", ["{" + f"{LOG}:{pgid},{pgid}" + "}"])
    conn.execute("SET clinic.allow_truncate = 'on'")
    _refused(conn, sql.SQL("DELETE FROM {}").format(sql.Identifier(LOG)))
    _refused(conn, sql.SQL("TRUNCATE {}").format(sql.Identifier(LOG)))
    assert IntakeAccess.objects.filter(pk=row.pk).exists()


def test_a_role_level_switch_does_not_help(as_app, row, app_role):
    # given the role tries to make the old switch its own default, then PostgreSQL refuses it
    _refused(as_app(), f"ALTER ROLE {app_role} SET clinic.allow_truncate = 'on'")
    # and a new session of it still cannot truncate
    _refused(as_app(), sql.SQL("TRUNCATE {}").format(sql.Identifier(LOG)))
    assert IntakeAccess.objects.filter(pk=row.pk).exists()


@pytest.mark.slow
def test_migrate_runs_as_the_owner_and_grants_the_app_role(app_role):
    """`manage.py migrate` with DATABASE_OWNER_URL: the owner (no superuser) builds the schema, the app owns nothing."""
    owner, database = "clinic_owner_test", f"{connection.settings_dict['NAME']}_roles"
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", [owner])
        if cursor.fetchone() is None:
            cursor.execute(f"CREATE ROLE {owner} LOGIN NOSUPERUSER PASSWORD %s", [PASSWORD])
        cursor.execute(f"DROP DATABASE IF EXISTS {database}")
        cursor.execute(f"CREATE DATABASE {database} OWNER {owner}")
    try:
        entry = connection.settings_dict
        result = subprocess.run(
            [sys.executable, "manage.py", "migrate", "--noinput", "-v0"],
            cwd=settings.BASE_DIR,
            env={
                **os.environ,
                "DATABASE_URL": database_url({**entry, "USER": app_role, "PASSWORD": PASSWORD}, name=database),
                "DATABASE_OWNER_URL": database_url({**entry, "USER": owner, "PASSWORD": PASSWORD}, name=database),
                "SECRET_KEY": "test-only",
                "DEBUG": "false",
            },
            capture_output=True,
            text=True,
            timeout=300,
        )
        assert result.returncode == 0, result.stderr
        params = connection.get_connection_params()
        with psycopg.connect(
            dbname=database,
            host=params.get("host"),
            port=params.get("port"),
            user=app_role,
            password=PASSWORD,
            autocommit=True,
        ) as app:
            owners = {row[0] for row in app.execute("SELECT tableowner FROM pg_tables WHERE schemaname = 'public'")}
            assert owners == {owner}
            assert app.execute("SELECT count(*) FROM clinic_clinic").fetchone()[0] >= 0
            _refused(app, sql.SQL("DELETE FROM {}").format(sql.Identifier(LOG)))
            _refused(app, sql.SQL("ALTER TABLE {} DISABLE TRIGGER ALL").format(sql.Identifier(LOG)))
    finally:
        with connection.cursor() as cursor:
            cursor.execute(f"DROP DATABASE IF EXISTS {database} WITH (FORCE)")
