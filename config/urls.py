"""Root URLs: the API under /api/v1/, its schema and docs, the admin, the health check.

The admin's login form is throttled like the API's login (config.security.login_throttled).
The docs pages carry a Content-Security-Policy (config.docs).

Errors Django answers itself (unknown URL, bad request, uncaught exception)
are JSON under /api/ and /healthz/, Django's HTML pages elsewhere (config.views).
"""

from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView

from config.docs import RedocView, SwaggerUIView
from config.security import login_throttled
from config.views import healthz

api_v1 = [
    # records first: me/ (the account's export and deletion span bookings, intakes and notes);
    # then booking: it owns /therapists/me/... and /therapists/{id}/calendar.ics.
    path("", include("records.api.account_urls")),
    path("", include("records.api.urls")),
    path("", include("booking.api.urls")),
    path("", include("clinic.api.urls")),
    path("", include("intake.api.urls")),
    path("", include("integrations.urls")),
]

urlpatterns = [
    path("healthz/", healthz, name="healthz"),
    path("api/v1/", include(api_v1)),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    path("api/docs/", SwaggerUIView.as_view(url_name="schema"), name="swagger-ui"),
    path("api/redoc/", RedocView.as_view(url_name="schema"), name="redoc"),
    # Before the admin's own URLs, which route the same path to the unthrottled view.
    path("admin/login/", login_throttled(admin.site.login)),
    path("admin/", admin.site.urls),
    # The browser pages for clients and therapists (server-rendered, session login).
    path("", include("web.urls")),
]

handler400 = "config.views.bad_request"
handler403 = "config.views.permission_denied"
handler404 = "config.views.page_not_found"
handler500 = "config.views.server_error"
