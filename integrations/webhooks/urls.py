"""Webhook subscriptions and their deliveries (staff): /api/v1/webhooks/."""

urlpatterns: list = []
