from django.apps import AppConfig


class IntegrationsConfig(AppConfig):
    """Webhooks (subscriptions, signed deliveries) and the FHIR R4 read API (DESIGN.md)."""

    name = "integrations"
