"""Shared fixtures: the clinic, a user of each role, API clients logged in as them."""

import pytest
from django.core.cache import cache
from knox.models import AuthToken
from rest_framework.test import APIClient

from clinic.tests.factories import (
    AdminFactory,
    ClientFactory,
    StaffFactory,
    TherapistFactory,
    clinic_configure,
)


@pytest.fixture(autouse=True)
def _plain_http(settings):
    """The test client speaks plain HTTP; TLS redirects are tested on their own."""
    settings.SECURE_SSL_REDIRECT = False


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
