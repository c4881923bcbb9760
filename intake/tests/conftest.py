"""Fixtures of the intake tests."""

import pytest


@pytest.fixture(autouse=True)
def _test_settings(settings):
    """Plain HTTP, and fast password hashing for the many accounts factories make.

    Without the first, DEBUG off redirects every test request to HTTPS.
    """
    settings.SECURE_SSL_REDIRECT = False
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
