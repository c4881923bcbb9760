"""Webhook subscriptions and their deliveries (staff): /api/v1/webhooks/."""

from django.urls import path

from integrations.webhooks import views

urlpatterns = [
    path("webhooks/", views.WebhookListView.as_view(), name="webhook-list"),
    path("webhooks/<int:pk>/", views.WebhookDetailView.as_view(), name="webhook-detail"),
    path("webhooks/<int:pk>/deliveries/", views.WebhookDeliveryListView.as_view(), name="webhook-deliveries"),
]
