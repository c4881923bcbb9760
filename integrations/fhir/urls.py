"""The FHIR R4 read API: /api/v1/fhir/{type}[/{id}], FHIR's own paths (no trailing slash).

Anything else under /api/v1/fhir/ (an unknown type, a malformed path) is a
404 OperationOutcome, not the API's JSON 404.
"""

from django.urls import path, re_path

from integrations.fhir import views

SEARCH_AND_READ = {
    "Appointment": (views.AppointmentSearchView, views.AppointmentReadView),
    "Practitioner": (views.PractitionerSearchView, views.PractitionerReadView),
    "Location": (views.LocationSearchView, views.LocationReadView),
    "HealthcareService": (views.HealthcareServiceSearchView, views.HealthcareServiceReadView),
    "Schedule": (views.ScheduleSearchView, views.ScheduleReadView),
    "Questionnaire": (views.QuestionnaireSearchView, views.QuestionnaireReadView),
}

urlpatterns = [
    *(
        route
        for name, (search, read) in SEARCH_AND_READ.items()
        for route in (
            path(f"fhir/{name}", search.as_view(), name=f"fhir-{name.lower()}-search"),
            path(f"fhir/{name}/<str:pk>", read.as_view(), name=f"fhir-{name.lower()}-read"),
        )
    ),
    path(
        "fhir/QuestionnaireResponse/<str:pk>",
        views.QuestionnaireResponseReadView.as_view(),
        name="fhir-questionnaireresponse-read",
    ),
    re_path(r"^fhir/(?P<rest>.*)$", views.UnknownView.as_view(), name="fhir-unknown"),
]
