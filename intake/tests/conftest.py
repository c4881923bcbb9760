"""Fixtures of the intake tests."""

import pytest


@pytest.fixture(autouse=True)
def _plain_http(settings):
    """Test requests are plain HTTP; without this, DEBUG off redirects them all to HTTPS."""
    settings.SECURE_SSL_REDIRECT = False
