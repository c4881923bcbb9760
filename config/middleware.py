"""Middleware of the API's answers: JSON when the request or the database misbehaves,
and never stored by a cache when they may carry personal or health data."""

import logging
import os

from django.conf import settings
from django.core.exceptions import RequestDataTooBig
from django.http import JsonResponse
from whitenoise.middleware import WhiteNoiseMiddleware

from config.exceptions import (
    DATABASE_UNAVAILABLE,
    RETRY_AFTER_SECONDS,
    is_api_path,
    request_too_large_body,
    service_unavailable_body,
)

logger = logging.getLogger(__name__)


def service_unavailable() -> JsonResponse:
    return JsonResponse(service_unavailable_body(), status=503, headers={"Retry-After": str(RETRY_AFTER_SECONDS)})


def request_too_large() -> JsonResponse:
    return JsonResponse(request_too_large_body(), status=413)


class ApiGuardMiddleware:
    """For /api/ and /healthz/:

    - a body declared larger than DATA_UPLOAD_MAX_MEMORY_SIZE is refused with
      413 before a byte of it is read (REST framework's parsers read the
      stream directly, past Django's own limit, which guards only
      `request.body` and forms);
    - a database error a view lets through (one outside REST framework's
      handler, e.g. a plain Django view) becomes 503 JSON.

    Errors raised in other middleware (a session or token lookup with the
    database down) reach `config.views.server_error`, which answers the same 503.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if is_api_path(request.path_info) and self._declared_length(request) > settings.DATA_UPLOAD_MAX_MEMORY_SIZE:
            return request_too_large()
        return self.get_response(request)

    def process_exception(self, request, exception):
        if not is_api_path(request.path_info):
            return None
        if isinstance(exception, DATABASE_UNAVAILABLE):
            logger.error("Database or cache unavailable", exc_info=exception)
            return service_unavailable()
        if isinstance(exception, RequestDataTooBig):
            return request_too_large()
        return None

    @staticmethod
    def _declared_length(request) -> int:
        try:
            return int(request.META.get("CONTENT_LENGTH") or 0)
        except ValueError:
            return 0


# GET answers under /api/ that are the same for every anonymous caller (by URL name):
# the clinic, its therapists, the open slots, the intake form, the schema.
PUBLIC_API_ANSWERS = frozenset(
    {
        "clinic",
        "location-list",
        "location-detail",
        "service-list",
        "service-detail",
        "therapist-list",
        "therapist-detail",
        "availability",
        "intake-form",
        "schema",
    }
)


class NoStoreMiddleware:
    """`Cache-Control: no-store` on every answer under /api/, unless it is public.

    Public means: a GET or HEAD of one of PUBLIC_API_ANSWERS by a caller who
    sent no credentials (no `Authorization` header, no signed-in session);
    those keep Django's default caching. Everything else — whatever a signed-in
    user reads (me/, bookings, intakes, the day sheet, the export, the access
    log), login and registration answers (they carry tokens), the calendar
    feed (its token is in the URL), the docs pages, every error — is no-store:
    no browser, proxy or CDN keeps a copy. The rule is a deny list by default,
    so a new endpoint is no-store until it is added to PUBLIC_API_ANSWERS.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        if request.path_info.startswith("/api/") and not self._is_public(request):
            response["Cache-Control"] = "no-store"
        return response

    @staticmethod
    def _is_public(request) -> bool:
        match = getattr(request, "resolver_match", None)
        user = getattr(request, "user", None)
        return (
            request.method in ("GET", "HEAD")
            and match is not None
            and match.url_name in PUBLIC_API_ANSWERS
            and "HTTP_AUTHORIZATION" not in request.META
            and not (user is not None and user.is_authenticated)
        )


class StaticFilesMiddleware(WhiteNoiseMiddleware):
    """WhiteNoise: gunicorn serves the collected static files (admin, Swagger UI) itself.

    Where nothing was collected (a checkout, the test suite) there is nothing
    to serve: one log line instead of WhiteNoise's warning each time the
    middleware is built (the test client builds it for every client).
    """

    def add_files(self, root, prefix=None):
        if not os.path.isdir(root):
            logger.info("No static files collected at %s: run collectstatic to serve them.", root)
            return
        super().add_files(root, prefix)
