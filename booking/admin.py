"""The front desk's admin for the schedule and bookings.

Bookings show time, therapist, client, status, modality and needs-review,
never health answers (those stay in the intake admin, superusers only).
Booking state changes go through the services (the admin actions below),
so the admin obeys the same rules as the API.
"""

from django import forms
from django.contrib import admin, messages
from django.db.models import Q

from booking import services
from booking.models import Booking, IdempotencyRecord, Slot, TimeOff, WorkingHours
from clinic.admin import HealthGuardedAdmin
from clinic.errors import DomainError
from clinic.models import Modality


@admin.register(WorkingHours)
class WorkingHoursAdmin(HealthGuardedAdmin, admin.ModelAdmin):
    list_display = ["therapist", "weekday", "start_time", "end_time", "slot_minutes", "buffer_minutes"]
    list_filter = ["weekday", "therapist"]
    list_select_related = ["therapist__user"]
    search_fields = ["therapist__user__email", "therapist__user__first_name", "therapist__user__last_name"]


class SlotAdminForm(forms.ModelForm):
    class Meta:
        model = Slot
        fields = ["therapist", "starts_at", "ends_at", "status"]

    def clean(self):
        data = super().clean()
        therapist, starts_at, ends_at = data.get("therapist"), data.get("starts_at"), data.get("ends_at")
        if therapist and starts_at and ends_at:
            if ends_at <= starts_at:
                raise forms.ValidationError("The slot must end after it starts.")
            overlapping = Slot.objects.filter(therapist=therapist, starts_at__lt=ends_at, ends_at__gt=starts_at)
            if self.instance.pk:
                overlapping = overlapping.exclude(pk=self.instance.pk)
            if overlapping.exists():
                raise forms.ValidationError("This therapist already has a slot overlapping that time.")
        return data


class BookedFilter(admin.SimpleListFilter):
    title = "booked"
    parameter_name = "booked"

    def lookups(self, request, model_admin):
        return [("yes", "Booked"), ("no", "Not booked")]

    def queryset(self, request, queryset):
        booked = Q(bookings__status=Booking.Status.CONFIRMED)
        if self.value() == "yes":
            return queryset.filter(booked).distinct()
        if self.value() == "no":
            return queryset.exclude(booked)
        return queryset


@admin.register(Slot)
class SlotAdmin(HealthGuardedAdmin, admin.ModelAdmin):
    form = SlotAdminForm
    list_display = ["starts_at", "ends_at", "therapist", "status"]
    list_filter = ["status", BookedFilter, "therapist"]
    list_select_related = ["therapist__user"]
    search_fields = ["therapist__user__email", "therapist__user__first_name", "therapist__user__last_name"]
    date_hierarchy = "starts_at"
    actions = ["block", "reopen"]

    @admin.action(description="Block the selected slots")
    def block(self, request, queryset):
        queryset.update(status=Slot.Status.BLOCKED)

    @admin.action(description="Reopen the selected slots")
    def reopen(self, request, queryset):
        queryset.update(status=Slot.Status.OPEN)

    def has_delete_permission(self, request, obj=None):
        # Slots with bookings are history; deletion goes through DELETE /api/v1/slots/{id}/.
        return bool(obj is not None and not obj.bookings.exists() and super().has_delete_permission(request, obj))


@admin.register(TimeOff)
class TimeOffAdmin(HealthGuardedAdmin, admin.ModelAdmin):
    list_display = ["therapist", "starts_at", "ends_at", "reason", "created_by"]
    list_filter = ["therapist"]
    list_select_related = ["therapist__user", "created_by"]
    date_hierarchy = "starts_at"
    readonly_fields = ["created_by", "created_at"]


@admin.register(Booking)
class BookingAdmin(HealthGuardedAdmin, admin.ModelAdmin):
    list_display = ["starts_at", "therapist", "client", "status", "modality", "needs_review"]
    list_filter = ["status", "intake__needs_review", "intake__suggested_modality", "slot__therapist"]
    list_select_related = ["slot__therapist__user", "client", "intake"]
    search_fields = ["client__email", "client__first_name", "client__last_name", "slot__therapist__user__email"]
    date_hierarchy = "slot__starts_at"
    fields = [
        "slot",
        "client",
        "status",
        "modality",
        "needs_review",
        "warnings",
        "created_at",
        "cancelled_at",
        "cancelled_by",
        "cancel_reason",
        "closed_at",
        "sequence",
    ]
    readonly_fields = fields
    actions = ["cancel"]

    @admin.display(ordering="slot__starts_at")
    def starts_at(self, booking):
        return booking.slot.starts_at

    @admin.display(ordering="slot__therapist")
    def therapist(self, booking):
        return booking.slot.therapist

    @admin.display(description="Modality (final)")
    def modality(self, booking):
        return Modality(booking.intake.modality).label

    @admin.display(boolean=True, description="Needs review (assessment or a warning)")
    def needs_review(self, booking):
        return booking.needs_review

    @admin.action(description="Cancel the selected bookings (as front desk)")
    def cancel(self, request, queryset):
        cancelled = 0
        for booking_id in queryset.values_list("pk", flat=True):
            try:
                services.booking_cancel(booking_id=booking_id, by=request.user, reason="Cancelled by the front desk")
                cancelled += 1
            except DomainError as exc:
                self.message_user(request, f"Booking #{booking_id}: {exc.detail}", messages.WARNING)
        self.message_user(request, f"Cancelled {cancelled} booking(s).")

    def has_add_permission(self, request):
        return False  # bookings are made with an intake, through the API

    def has_delete_permission(self, request, obj=None):
        return False  # history is kept


@admin.register(IdempotencyRecord)
class IdempotencyRecordAdmin(HealthGuardedAdmin, admin.ModelAdmin):
    list_display = ["user", "key", "response_status", "created_at"]
    list_select_related = ["user"]
    date_hierarchy = "created_at"
    fields = ["user", "key", "request_fingerprint", "response_status", "created_at"]
    readonly_fields = fields

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False
