"""The front desk's admin for the schedule and bookings.

Bookings show their local time, service, therapist, location, room, status,
intake status, modality and needs-review, never health answers (those stay
in the intake admin, superusers only). The booking list is the front desk's
day at a glance: pick a day in the date hierarchy and a location (and a
room), and it lists that day's sessions by location, room and start, in
the location's own time. Booking state changes go through the services
(the admin actions below), so the admin obeys the same rules as the API.
"""

from datetime import datetime

from django import forms
from django.contrib import admin, messages
from django.utils import timezone

from booking.models import Booking, Closure, IdempotencyRecord, Shift, TimeOff, WorkingHours
from clinic.admin import HealthGuardedAdmin
from clinic.errors import DomainError
from clinic.models import Location, Modality

THERAPIST_SEARCH = ["therapist__user__email", "therapist__user__first_name", "therapist__user__last_name"]


def local_time(moment: datetime | None, location: Location, fmt: str = "%Y-%m-%d %H:%M") -> str:
    """`moment` in the location's own zone, with the zone's abbreviation (EDT, PST)."""
    if moment is None:
        return "-"
    return moment.astimezone(location.tz).strftime(f"{fmt} %Z")


class _LocalSpanMixin:
    """Columns showing `starts_at` / `ends_at` in the row's location's zone."""

    @admin.display(description="starts (local)", ordering="starts_at")
    def local_start(self, obj):
        return local_time(obj.starts_at, obj.location)

    @admin.display(description="ends (local)", ordering="ends_at")
    def local_end(self, obj):
        return local_time(obj.ends_at, obj.location, "%H:%M")


class _OneLocationDayMixin:
    """With one location filtered, the date hierarchy's days are that location's days.

    Django cuts the hierarchy's days in the active time zone; the clinic runs
    in UTC, so a Los Angeles evening would fall on the next day's page.
    """

    def changelist_view(self, request, extra_context=None):
        location = self._filtered_location(request.GET.get("location__id__exact", ""))
        if location is None:
            return super().changelist_view(request, extra_context)
        with timezone.override(location.tz):
            response = super().changelist_view(request, extra_context)
            # Render while the zone is active: the hierarchy's links are built in it.
            return response.render() if hasattr(response, "render") else response

    @staticmethod
    def _filtered_location(value: str) -> Location | None:
        # Whatever the URL says: the filter itself answers a bad value, this only picks a zone.
        if not (value.isascii() and value.isdigit() and len(value) <= 18):
            return None
        return Location.objects.filter(pk=int(value)).first()


@admin.register(WorkingHours)
class WorkingHoursAdmin(HealthGuardedAdmin, admin.ModelAdmin):
    list_display = ["therapist", "location", "weekday", "start_time", "end_time"]
    list_filter = ["location", "weekday", "therapist"]
    list_select_related = ["therapist__user", "location"]
    search_fields = THERAPIST_SEARCH
    ordering = ["therapist", "weekday", "start_time"]


class ShiftAdminForm(forms.ModelForm):
    class Meta:
        model = Shift
        fields = ["therapist", "location", "starts_at", "ends_at"]

    def clean(self):
        data = super().clean()
        therapist, starts_at, ends_at = data.get("therapist"), data.get("starts_at"), data.get("ends_at")
        if therapist and starts_at and ends_at:
            if ends_at <= starts_at:
                raise forms.ValidationError("The shift must end after it starts.")
            overlapping = Shift.objects.filter(therapist=therapist, starts_at__lt=ends_at, ends_at__gt=starts_at)
            if self.instance.pk:
                overlapping = overlapping.exclude(pk=self.instance.pk)
            if overlapping.exists():
                raise forms.ValidationError("This therapist already has a shift overlapping that time.")
        return data


def shift_active_bookings(shift: Shift):
    """The confirmed or held bookings that lie in `shift` (its therapist, its location, its span)."""
    return Booking.objects.filter(
        therapist_id=shift.therapist_id,
        location_id=shift.location_id,
        status__in=(Booking.Status.CONFIRMED, Booking.Status.HELD),
        starts_at__lt=shift.ends_at,
        ends_at__gt=shift.starts_at,
    )


@admin.register(Shift)
class ShiftAdmin(_OneLocationDayMixin, _LocalSpanMixin, HealthGuardedAdmin, admin.ModelAdmin):
    form = ShiftAdminForm
    list_display = ["local_start", "local_end", "therapist", "location"]
    list_filter = ["location", "therapist"]
    list_select_related = ["therapist__user", "location"]
    search_fields = THERAPIST_SEARCH
    date_hierarchy = "starts_at"
    ordering = ["location", "starts_at", "therapist"]

    def has_change_permission(self, request, obj=None):
        # A shift holding bookings would leave them outside any shift: the schedule's API moves those.
        if obj is not None and shift_active_bookings(obj).exists():
            return False
        return super().has_change_permission(request, obj)

    def has_delete_permission(self, request, obj=None):
        if obj is not None and shift_active_bookings(obj).exists():
            return False
        return super().has_delete_permission(request, obj)


@admin.register(TimeOff)
class TimeOffAdmin(HealthGuardedAdmin, admin.ModelAdmin):
    list_display = ["therapist", "starts_at", "ends_at", "reason", "created_by"]
    list_filter = ["therapist"]
    list_select_related = ["therapist__user", "created_by"]
    date_hierarchy = "starts_at"
    readonly_fields = ["created_by", "created_at"]

    def save_model(self, request, obj, form, change):
        if not change:
            obj.created_by = request.user
        super().save_model(request, obj, form, change)


class ClosureAdminForm(forms.ModelForm):
    class Meta:
        model = Closure
        fields = ["location", "room", "starts_at", "ends_at", "reason"]

    def clean(self):
        data = super().clean()
        location, room = data.get("location"), data.get("room")
        if location and room and room.location_id != location.pk:
            self.add_error("room", f"{room.name} is not a room of {location}.")
        starts_at, ends_at = data.get("starts_at"), data.get("ends_at")
        if starts_at and ends_at and ends_at <= starts_at:
            raise forms.ValidationError("The closure must end after it starts.")
        return data


@admin.register(Closure)
class ClosureAdmin(_LocalSpanMixin, HealthGuardedAdmin, admin.ModelAdmin):
    form = ClosureAdminForm
    list_display = ["location", "room", "local_start", "local_end", "reason", "created_by"]
    list_filter = ["location", "room"]
    list_select_related = ["location", "room__location", "created_by"]
    date_hierarchy = "starts_at"
    readonly_fields = ["created_by", "created_at"]

    @admin.display(description="ends (local)", ordering="ends_at")
    def local_end(self, obj):
        return local_time(obj.ends_at, obj.location)

    def save_model(self, request, obj, form, change):
        if not change:
            obj.created_by = request.user
        super().save_model(request, obj, form, change)


class NeedsReviewFilter(admin.SimpleListFilter):
    """The booking's `needs_review`: its assessment's, or any warning."""

    title = "needs review (assessment or a warning)"
    parameter_name = "needs_review"

    def lookups(self, request, model_admin):
        return [("yes", "Yes"), ("no", "No")]

    def queryset(self, request, queryset):
        if self.value() == "yes":
            return queryset.filter(Booking.needs_review_q())
        if self.value() == "no":
            return queryset.exclude(Booking.needs_review_q())
        return queryset


@admin.register(Booking)
class BookingAdmin(_OneLocationDayMixin, _LocalSpanMixin, HealthGuardedAdmin, admin.ModelAdmin):
    list_display = [
        "local_start",
        "local_end",
        "service",
        "therapist",
        "location",
        "room",
        "client",
        "status",
        "intake_status",
        "modality",
        "needs_review",
    ]
    list_filter = [
        "location",
        "room",
        "status",
        "intake_status",
        NeedsReviewFilter,
        "intake__needs_review",
        "intake__suggested_modality",
        "service",
        "therapist",
    ]
    list_select_related = ["therapist__user", "location", "room__location", "service", "client", "intake"]
    search_fields = ["client__email", "client__first_name", "client__last_name", *THERAPIST_SEARCH]
    date_hierarchy = "starts_at"
    # The front desk's day: each location's rooms in turn, each room's sessions in time order.
    ordering = ["location", "room", "starts_at"]
    fields = [
        "client",
        "service",
        "therapist",
        "location",
        "room",
        "local_start",
        "local_end",
        "status",
        "intake_status",
        "modality",
        "needs_review",
        "warnings",
        "price",
        "currency",
        "booked_by",
        "created_at",
        "cancelled_at",
        "cancelled_by",
        "cancel_reason",
        "closed_at",
        "sequence",
    ]
    readonly_fields = fields
    actions = ["cancel"]

    @admin.display(description="Modality (final)")
    def modality(self, booking):
        if booking.intake is None:
            return "- (intake pending)"
        return Modality(booking.intake.modality).label

    @admin.display(boolean=True, description="Needs review (assessment or a warning)")
    def needs_review(self, booking):
        return booking.needs_review

    @admin.action(description="Cancel the selected bookings (as front desk)")
    def cancel(self, request, queryset):
        from booking import services  # the services import the admin's models; import them when used

        cancelled = 0
        for booking_id in queryset.values_list("pk", flat=True):
            try:
                services.booking_cancel(booking_id=booking_id, by=request.user, reason="Cancelled by the front desk")
                cancelled += 1
            except DomainError as exc:
                self.message_user(request, f"Booking #{booking_id}: {exc.detail}", messages.WARNING)
        self.message_user(request, f"Cancelled {cancelled} booking(s).")

    def has_add_permission(self, request):
        return False  # bookings are made through the API (with an intake, or pending one by the front desk)

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
