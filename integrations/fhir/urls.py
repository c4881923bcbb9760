"""The FHIR R4 read API: /api/v1/fhir/{type}[/{id}]."""

urlpatterns: list = []
