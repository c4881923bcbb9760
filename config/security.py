"""Glue between the project and its login protection (django-axes) and throttles."""

from axes.backends import AxesStandaloneBackend
from rest_framework.throttling import BaseThrottle


def client_ip(request) -> str | None:
    """The client's address as the throttles see it: REMOTE_ADDR, or the entry
    NUM_PROXIES from the right of X-Forwarded-For when the app runs behind proxies.

    django-axes records it with each failed login (AXES_CLIENT_IP_CALLABLE).
    """
    return BaseThrottle().get_ident(request) or None


class LoginLockoutBackend(AxesStandaloneBackend):
    """django-axes' lockout check, for logins over HTTP.

    A login attempt from the network always carries its request (the API's
    token endpoint and the admin's login form pass it). An `authenticate()`
    without one — the shell, Django's test client `login()` — is no attempt
    from anyone's address, so it is left to the next backend instead of
    raising.
    """

    def authenticate(self, request, username=None, password=None, **kwargs):
        if request is None:
            return None
        return super().authenticate(request, username=username, password=password, **kwargs)
