"""The API's one exception handler.

- `DomainError` (a clinic rule refused the request) → its status (409) with
  `{"code", "detail"}`;
- Django's `ValidationError` → 400 in DRF's field → messages shape;
- a database that does not answer → 503 JSON, never an HTML 500.
Everything else is DRF's default handling.
"""

import logging

from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import InterfaceError, OperationalError
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.views import exception_handler

from clinic.errors import DomainError

logger = logging.getLogger(__name__)


def api_exception_handler(exc, context):
    if isinstance(exc, DomainError):
        return Response({"code": exc.code, "detail": exc.detail}, status=exc.status_code)
    if isinstance(exc, DjangoValidationError):
        detail = exc.message_dict if hasattr(exc, "error_dict") else {"non_field_errors": exc.messages}
        exc = exceptions.ValidationError(detail=detail)
    if isinstance(exc, (OperationalError, InterfaceError)):
        logger.exception("Database unavailable")
        return Response(
            {"code": "service_unavailable", "detail": "The service is briefly unavailable; please try again shortly."},
            status=status.HTTP_503_SERVICE_UNAVAILABLE,
            headers={"Retry-After": "5"},
        )
    return exception_handler(exc, context)
