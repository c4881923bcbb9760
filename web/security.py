"""The pages' Content-Security-Policy: this site's own files only, no inline script or style.

htmx comes from django-htmx's bundled static file and is told (base.html's
`htmx-config`) to add no <style> and evaluate no code, so 'self' is all the
pages need. The form-action and frame-ancestors rules keep a page from
posting elsewhere or being framed.
"""

import functools

from django.core.exceptions import PermissionDenied
from django.core.handlers.exception import response_for_exception
from django.http import Http404
from django.urls import URLPattern, URLResolver

from config.docs import COMMON, policy_header

PAGE_POLICY = {**COMMON, "style-src": "'self'"}
PAGE_POLICY_HEADER = policy_header(PAGE_POLICY)


def page_policy(view):
    """Decorate a page view: its answers carry the pages' policy, its 404 and 403 pages too.

    A view's Http404 or PermissionDenied (another client's booking, a
    therapist account without a profile) is turned into its error page here,
    by Django's own handler (config.views), so that page carries the policy.
    """

    @functools.wraps(view)
    def wrapped(request, *args, **kwargs):
        try:
            response = view(request, *args, **kwargs)
        except (Http404, PermissionDenied) as exc:
            response = response_for_exception(request, exc)
        response.headers.setdefault("Content-Security-Policy", PAGE_POLICY_HEADER)
        return response

    return wrapped


def with_page_policy(patterns: list) -> list:
    """Every view of these URL patterns (and of included ones) wrapped by `page_policy`."""
    for pattern in patterns:
        if isinstance(pattern, URLResolver):
            with_page_policy(pattern.url_patterns)
        elif isinstance(pattern, URLPattern):
            pattern.callback = page_policy(pattern.callback)
    return patterns


class PagePolicyMiddleware:
    """The pages' policy on every answer outside the admin that has none of its own.

    What Django answers before or around a page view carries it too: an
    unknown address (404), a refused CSRF token (403), a body over Django's
    limits (400). The admin is left alone (its pages are Django's, with their
    own inline code); the API docs set their own policy (config.docs).
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        if not request.path_info.startswith("/admin/"):
            response.headers.setdefault("Content-Security-Policy", PAGE_POLICY_HEADER)
        return response
