"""Project-level views: the health check, and the error pages (JSON under /api/).

Django calls the error views (`handler400`... in config/urls.py) only with
DEBUG off; REST framework answers its own views' errors before these are
reached. What reaches them under /api/ and /healthz/: an unknown URL, a
malformed request Django itself refuses, and an exception that escaped a
view or a middleware.
"""

import sys

from django.core.exceptions import RequestDataTooBig
from django.db import DatabaseError, connection
from django.http import JsonResponse
from django.views import defaults
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import requires_csrf_token
from django.views.decorators.http import require_GET

from config.exceptions import DATABASE_UNAVAILABLE, RETRY_AFTER_SECONDS, is_api_path
from config.middleware import request_too_large, service_unavailable


@never_cache
@require_GET
def healthz(request):
    """200 when the app and its database answer, 503 when the database does not."""
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    except DatabaseError:
        return JsonResponse(
            {"status": "unavailable", "database": "unavailable"},
            status=503,
            headers={"Retry-After": str(RETRY_AFTER_SECONDS)},
        )
    return JsonResponse({"status": "ok", "database": "ok"})


@requires_csrf_token
def bad_request(request, exception):
    if not is_api_path(request.path_info):
        return defaults.bad_request(request, exception)
    if isinstance(exception, RequestDataTooBig):
        return request_too_large()
    return JsonResponse({"detail": "Bad request."}, status=400)


@requires_csrf_token
def permission_denied(request, exception):
    if not is_api_path(request.path_info):
        return defaults.permission_denied(request, exception)
    return JsonResponse({"detail": "You do not have permission to perform this action."}, status=403)


@requires_csrf_token
def page_not_found(request, exception):
    if not is_api_path(request.path_info):
        return defaults.page_not_found(request, exception)
    return JsonResponse({"detail": "Not found."}, status=404)


@requires_csrf_token
def server_error(request):
    # Django calls this inside its `except` block: the exception is at hand.
    exception = sys.exc_info()[1]
    if not is_api_path(request.path_info):
        return defaults.server_error(request)
    if isinstance(exception, DATABASE_UNAVAILABLE):
        return service_unavailable()
    return JsonResponse({"detail": "A server error occurred."}, status=500)
