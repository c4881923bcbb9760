"""The integrations' API under /api/v1/: webhooks (staff) and the FHIR R4 read API."""

from django.urls import include, path

urlpatterns = [
    path("", include("integrations.webhooks.urls")),
    path("", include("integrations.fhir.urls")),
]
