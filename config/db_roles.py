"""Two database roles: an owner that runs migrations, and the application's login that owns nothing.

The audit log and signed treatment notes must not change whatever the
application does, a bug or an attacker holding its login. Triggers refuse
UPDATE, DELETE and TRUNCATE, but a table's owner may disable a trigger, so
the application must not own its tables. With `DATABASE_OWNER_URL` set:

- `manage.py migrate` connects as the owner (clinic/management/commands/migrate.py)
  and then calls `grant_app_role`, so the application's role (the user of
  `DATABASE_URL`) can read and write the tables it needs and nothing more:
  INSERT and SELECT only on the append-only tables, no DELETE of treatment
  notes (and UPDATE of drafts only: a row policy), no TRUNCATE anywhere,
  no TRIGGER, no CREATE in the schema.
- Without it (a local run, the test suite) one role does both, as the owner.
  `config/tests/test_db_roles.py` makes an application role on the test
  database and proves it cannot change or empty the log by any path.
"""

from contextlib import contextmanager

from django.conf import settings
from django.db import connections

# Tables the application may only add to and read.
APPEND_ONLY_TABLES = ["intake_intakeaccess"]
# Tables whose rows the application keeps for good: it adds and changes them (a draft treatment note)
# but never deletes one. A signed note never changes either: a trigger refuses it, and a row policy
# lets this role change drafts only (records/migrations/0001_initial.py).
NEVER_DELETED_TABLES = ["records_treatmentnote"]


def _quote(connection, name: str) -> str:
    return connection.ops.quote_name(name)


def grant_app_role(connection, role: str) -> None:
    """Give `role` what the application needs on `connection`'s database, and no more. Idempotent."""
    role_q = _quote(connection, role)
    database_q = _quote(connection, connection.settings_dict["NAME"])
    statements = [
        f"GRANT CONNECT, TEMPORARY ON DATABASE {database_q} TO {role_q}",
        f"GRANT USAGE ON SCHEMA public TO {role_q}",
        f"REVOKE CREATE ON SCHEMA public FROM {role_q}",
        f"GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO {role_q}",
        f"REVOKE TRUNCATE, TRIGGER, REFERENCES ON ALL TABLES IN SCHEMA public FROM {role_q}",
        f"GRANT USAGE, SELECT, UPDATE ON ALL SEQUENCES IN SCHEMA public TO {role_q}",
        f"GRANT EXECUTE ON ALL FUNCTIONS IN SCHEMA public TO {role_q}",
    ]
    for table in APPEND_ONLY_TABLES:
        statements.append(f"REVOKE UPDATE, DELETE ON {_quote(connection, table)} FROM {role_q}")
    for table in NEVER_DELETED_TABLES:
        statements.append(f"REVOKE DELETE ON {_quote(connection, table)} FROM {role_q}")
    with connection.cursor() as cursor:
        for statement in statements:
            cursor.execute(statement)


@contextmanager
def as_owner(alias: str = "default"):
    """Run the block connected as the schema's owner (DATABASE_OWNER_URL), then grant the app its rights.

    Without DATABASE_OWNER_URL the application's role is the owner: nothing changes.
    """
    owner = settings.DATABASE_OWNER
    if owner is None:
        yield
        return
    connection = connections[alias]
    app_settings = dict(connection.settings_dict)
    app_role = app_settings["USER"]
    connection.close()
    connection.settings_dict.update({key: owner[key] for key in ("NAME", "USER", "PASSWORD", "HOST", "PORT")})
    try:
        yield
        grant_app_role(connection, app_role)
    finally:
        connection.close()
        connection.settings_dict.clear()
        connection.settings_dict.update(app_settings)
