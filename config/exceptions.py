"""The API's one exception handler, and the error bodies shared with the
middleware and the project's error views.

- `DomainError` (a clinic rule refused the request) → its status (409) with
  `{"code", "detail"}`;
- Django's `ValidationError` → 400 in DRF's field → messages shape;
- a body over DATA_UPLOAD_MAX_MEMORY_SIZE → 413 `{"code", "detail"}`;
- a database that does not answer → 503 `{"code", "detail"}` with
  `Retry-After`, never an HTML 500.
Everything else is DRF's default handling. Bodies never carry a stack trace,
SQL or an exception's own message.
"""

import logging

import redis.exceptions
from django.conf import settings
from django.core.exceptions import RequestDataTooBig
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import InterfaceError, OperationalError
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.views import exception_handler

from clinic.errors import DomainError

logger = logging.getLogger(__name__)

# What PostgreSQL being down, restarting or unreachable raises: on connect, or
# on a connection that broke mid-request. (Deadlocks and serialization
# failures are OperationalErrors too: a retry is the right advice for them as well.)
# The shared cache (Redis, CACHE_URL) holds the throttle counters every API
# request reads: its outage is the same kind of fault, answered the same way.
DATABASE_UNAVAILABLE = (
    OperationalError,
    InterfaceError,
    redis.exceptions.ConnectionError,
    redis.exceptions.TimeoutError,
)
RETRY_AFTER_SECONDS = 5


def is_api_path(path: str) -> bool:
    """Paths whose errors are answered in JSON: the API and the health check."""
    return path.startswith(("/api/", "/healthz/"))


def service_unavailable_body() -> dict:
    return {"code": "service_unavailable", "detail": "The service is briefly unavailable; please try again shortly."}


def request_too_large_body() -> dict:
    return {
        "code": "request_too_large",
        "detail": f"The request body is larger than the {settings.DATA_UPLOAD_MAX_MEMORY_SIZE} bytes allowed.",
    }


def api_exception_handler(exc, context):
    if isinstance(exc, DomainError):
        return Response({"code": exc.code, "detail": exc.detail, **exc.extra}, status=exc.status_code)
    if isinstance(exc, DjangoValidationError):
        detail = exc.message_dict if hasattr(exc, "error_dict") else {"non_field_errors": exc.messages}
        exc = exceptions.ValidationError(detail=detail)
    if isinstance(exc, RequestDataTooBig):
        return Response(request_too_large_body(), status=status.HTTP_413_REQUEST_ENTITY_TOO_LARGE)
    if isinstance(exc, DATABASE_UNAVAILABLE):
        logger.exception("Database unavailable")
        return Response(
            service_unavailable_body(),
            status=status.HTTP_503_SERVICE_UNAVAILABLE,
            headers={"Retry-After": str(RETRY_AFTER_SECONDS)},
        )
    return exception_handler(exc, context)
