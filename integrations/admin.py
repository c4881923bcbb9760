"""Webhooks in the Django admin, for the front desk and admins: to look at, and to switch off.

Webhooks are made in the API (`POST /api/v1/webhooks/`), whose answer is
the only place their signing secret is shown: no admin page shows the
secret, lists it or searches it. A webhook can be switched off here (an
action, through `webhook_update`), and its deliveries read.
"""

from django.contrib import admin, messages

from clinic.admin import HealthGuardedAdmin
from integrations.models import WebhookDelivery, WebhookSubscription
from integrations.webhooks import services

SUBSCRIPTION_FIELDS = ("url", "events", "active", "created_by", "created_at", "activated_at", "deactivated_at")
DELIVERY_FIELDS = (
    "subscription",
    "event",
    "webhook_id",
    "status_code",
    "attempts",
    "delivered_at",
    "next_attempt_at",
    "last_error",
    "created_at",
    "payload",
)


class FrontDeskViewOnly:
    """The front desk and admins may look (and run the admin's actions), nobody adds or edits here."""

    def has_module_permission(self, request):
        return request.user.is_active and request.user.is_front_desk

    def has_view_permission(self, request, obj=None):
        return request.user.is_active and request.user.is_front_desk

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(WebhookSubscription)
class WebhookSubscriptionAdmin(FrontDeskViewOnly, HealthGuardedAdmin, admin.ModelAdmin):
    list_display = ("id", "url", "events", "active", "created_at", "deactivated_at")
    list_filter = ("active",)
    search_fields = ("url",)
    ordering = ("id",)
    fields = SUBSCRIPTION_FIELDS
    readonly_fields = SUBSCRIPTION_FIELDS
    actions = ["deactivate"]

    @admin.action(description="Switch off the selected webhooks")
    def deactivate(self, request, queryset):
        switched = 0
        for pk in queryset.filter(active=True).values_list("pk", flat=True):
            services.webhook_update(subscription_id=pk, active=False)
            switched += 1
        self.message_user(request, f"{switched} webhook(s) switched off.", messages.SUCCESS)


@admin.register(WebhookDelivery)
class WebhookDeliveryAdmin(FrontDeskViewOnly, HealthGuardedAdmin, admin.ModelAdmin):
    list_display = ("id", "subscription", "event", "status_code", "attempts", "delivered_at", "next_attempt_at")
    list_filter = ("event", ("delivered_at", admin.EmptyFieldListFilter))
    list_select_related = ("subscription",)
    ordering = ("-created_at", "-id")
    fields = DELIVERY_FIELDS
    readonly_fields = DELIVERY_FIELDS
