"""Glue between the project and its login protection (django-axes) and throttles."""

import functools
import math

from axes.backends import AxesStandaloneBackend
from django.http import HttpResponse
from rest_framework.throttling import BaseThrottle

from config.throttling import ScopedRateThrottle


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


class _LoginScope:
    """What ScopedRateThrottle reads from a view: the API's login and register use this scope."""

    throttle_scope = "auth"


def login_throttled(view):
    """Wrap a login view (the admin's): its form posts are held to the API login's `auth` rate per address.

    Same scope, same counter: attempts on the admin's form and on `auth/token/`
    from one address spend one budget. Over it: 429 with `Retry-After`, before
    the password is tried (so the lockout does not count it either).
    """

    @functools.wraps(view)
    def throttled_view(request, *args, **kwargs):
        if request.method == "POST":
            throttle = ScopedRateThrottle()
            if not throttle.allow_request(request, _LoginScope):
                seconds = max(1, math.ceil(throttle.wait() or throttle.duration))
                return HttpResponse(
                    f"Too many login attempts from this address. Try again in {seconds} seconds.",
                    status=429,
                    content_type="text/plain; charset=utf-8",
                    headers={"Retry-After": str(seconds)},
                )
        return view(request, *args, **kwargs)

    return throttled_view
