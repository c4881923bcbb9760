"""URLs of the booking API, mounted under /api/v1/."""

from django.urls import include, path

urlpatterns = [
    path("", include("booking.api.therapist_urls")),
]
