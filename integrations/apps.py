from django.apps import AppConfig


class IntegrationsConfig(AppConfig):
    """Webhooks (subscriptions, signed deliveries) and the FHIR R4 read API (DESIGN.md)."""

    name = "integrations"

    def ready(self) -> None:
        from booking.events import booking_event
        from integrations.webhooks.services import on_booking_event

        # Each booking event writes its deliveries in the transaction that made the change.
        booking_event.connect(on_booking_event, dispatch_uid="integrations.webhooks")
