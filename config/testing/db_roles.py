"""An application database role for the tests: made like `migrate` grants it, then connected to as it."""

import psycopg
import pytest
from django.db import connection

from config.db_roles import grant_app_role

PASSWORD = "app-role-test-only"


def app_role(role: str) -> str:
    """Make `role` (a login, if missing) with the application's grants on the test database; skip if we may not."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT rolcreaterole OR rolsuper FROM pg_roles WHERE rolname = current_user")
        if not cursor.fetchone()[0]:
            pytest.skip("the test database's role may not create roles, so no application role can be made")
        cursor.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", [role])
        if cursor.fetchone() is None:
            cursor.execute(f"CREATE ROLE {role} LOGIN PASSWORD %s", [PASSWORD])
    grant_app_role(connection, role)
    return role


def connect_as(role: str) -> psycopg.Connection:
    """A fresh autocommit connection to the test database as `role` (the caller closes it)."""
    params = connection.get_connection_params()
    return psycopg.connect(
        dbname=params["dbname"],
        host=params.get("host"),
        port=params.get("port"),
        user=role,
        password=PASSWORD,
        autocommit=True,
    )
