"""URLs of the intake API, mounted under /api/v1/."""

from django.urls import path

from intake.api.client_views import LatestIntakeView
from intake.api.views import IntakeAssessView, IntakeFormView

urlpatterns = [
    path("intake/form/", IntakeFormView.as_view(), name="intake-form"),
    path("intake/assess/", IntakeAssessView.as_view(), name="intake-assess"),
    path("me/intake/latest/", LatestIntakeView.as_view(), name="me-intake-latest"),
]
