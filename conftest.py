"""Shared fixtures: the clinic, a user of each role, API clients logged in as them.

Roles by name (ROLES, `api_as`), relative to one booking the tests make: its
client, another client, its therapist, another therapist, front-desk staff,
an admin, and anonymous. Each name stands for the fixture of ROLE_FIXTURES,
so `api_as("client")` and `client_user` are the same person in a test.
"""

import pytest
from django.core.cache import cache
from django.db import connection
from knox.models import AuthToken
from rest_framework.test import APIClient

from clinic.models import Therapist
from clinic.tests.factories import (
    AdminFactory,
    ClientFactory,
    StaffFactory,
    TherapistFactory,
    clinic_configure,
)

ROLE_FIXTURES = {
    "anonymous": None,
    "client": "client_user",
    "other_client": "other_client_user",
    "therapist": "therapist",
    "other_therapist": "other_therapist",
    "staff": "staff_user",
    "admin": "admin_user",
}
ROLES = tuple(ROLE_FIXTURES)


@pytest.fixture(scope="session")
def django_db_setup(django_db_setup, django_db_blocker):
    """Let the test database be emptied between transactional tests.

    The audit log refuses TRUNCATE (intake.models.IntakeAccess) unless the
    database's own default says `clinic.allow_truncate = on` (only its owner
    may set that; a session's SET does not count). This sets it on the test
    database only, so Django's flush works; booking/tests/test_audit_trigger.py
    proves the refusal without it.
    """
    with django_db_blocker.unblock():
        with connection.cursor() as cursor:
            cursor.execute(
                f"ALTER DATABASE {connection.ops.quote_name(connection.settings_dict['NAME'])} "
                "SET clinic.allow_truncate = 'on'"
            )
        connection.close()  # new sessions pick up the default


@pytest.fixture(autouse=True)
def _test_settings(settings):
    """Plain HTTP (TLS redirects are tested on their own) and fast password
    hashing for the many accounts factories make (the real hasher is slow on purpose)."""
    settings.SECURE_SSL_REDIRECT = False
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture(autouse=True)
def _empty_queue_after_transactional_tests(request, django_db_blocker):
    """Django's flush between transactional tests leaves the task queue's tables (procrastinate's
    models are not Django's to flush), so a job one test deferred would wait for the next test's
    worker. Empty them too after every test whose writes commit."""
    yield
    marker = request.node.get_closest_marker("django_db")
    commits = (marker is not None and marker.kwargs.get("transaction")) or bool(
        {"transactional_db", "live_server"} & set(request.fixturenames)
    )
    if commits:
        from config.testing.worker import clear_queue

        with django_db_blocker.unblock():
            clear_queue()


@pytest.fixture(autouse=True)
def _fresh_cache():
    """Throttle counters live in the cache; every test starts with none."""
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def clinic(db):
    return clinic_configure()


@pytest.fixture
def client_user(db):
    return ClientFactory()


@pytest.fixture
def other_client_user(db):
    return ClientFactory()


@pytest.fixture
def therapist(db):
    return TherapistFactory()


@pytest.fixture
def other_therapist(db):
    return TherapistFactory()


@pytest.fixture
def staff_user(db):
    return StaffFactory()


@pytest.fixture
def admin_user(db):
    return AdminFactory()


def api_client_for(user=None) -> APIClient:
    """An APIClient sending `user`'s knox token (anonymous when None)."""
    api = APIClient()
    if user is not None:
        _, token = AuthToken.objects.create(user)
        api.credentials(HTTP_AUTHORIZATION=f"Token {token}")
    return api


@pytest.fixture
def api():
    """Anonymous API client."""
    return APIClient()


@pytest.fixture
def as_user():
    """`as_user(user)` → an API client authenticated as that user."""
    return api_client_for


@pytest.fixture
def api_as(request, db, as_user):
    """`api_as("staff")` → an API client acting in that role of ROLES (only the roles asked for are made)."""

    def client_for(role: str) -> APIClient:
        fixture = ROLE_FIXTURES[role]
        if fixture is None:
            return api_client_for(None)
        person = request.getfixturevalue(fixture)
        return as_user(person.user if isinstance(person, Therapist) else person)

    return client_for
