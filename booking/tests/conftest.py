"""Fixtures the booking app's mail tests share."""

import pytest

from config.testing.servers import free_port


@pytest.fixture
def refusing_mail_server(settings):
    """Mail goes by SMTP to a port of this host where nothing listens: every send is refused, within a second.

    `settings.EMAIL_BACKEND = <locmem>` brings the server back.
    """
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", free_port()
    settings.EMAIL_HOST_USER = settings.EMAIL_HOST_PASSWORD = ""
    settings.EMAIL_USE_TLS = settings.EMAIL_USE_SSL = False
    settings.EMAIL_TIMEOUT = 1
    return settings
