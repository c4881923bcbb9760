"""The front desk's admin for the schedule and bookings.

Bookings show their local time, service, therapist, location, room, status,
intake status, modality and needs-review, never health answers (those stay
in the intake admin, superusers only). Booking state changes go through the
services (the admin actions below), so the admin obeys the same rules as
the API; a booking's page only shows it.

Times are where they happen. Every start and end shows in its location's
zone with the zone's abbreviation ("2026-06-10 09:00 EST"), and the forms of
shifts and closures show and read their times in the location's zone (a
time the clocks skip there is refused; one they pass twice is the first).
Time off is a therapist's, not a location's: it is in the zone of the
therapist's locations when they all share one, else in the clinic's own
zone (`timeoff_zone`); the abbreviation always says which.

Days are local too: the date hierarchy groups a row by its local date, so a
New York booking at 20:00 is on its own day though it is already the next
day in UTC. Lists are in time order (then location and room); a location's
day (a location and a day picked) lists its bookings room by room, each room
in time order, the front desk's day sheet.
"""

from datetime import UTC, datetime, timedelta
from functools import cached_property
from zoneinfo import ZoneInfo

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import ValidationError
from django.db.models import (
    Case,
    CharField,
    DateField,
    DateTimeField,
    F,
    Func,
    Max,
    Min,
    OuterRef,
    Prefetch,
    Subquery,
    Value,
    When,
)
from django.db.models.functions import Cast, Trunc
from django.db.models.lookups import Exact
from django.utils import formats, timezone
from django.utils.text import capfirst
from django.utils.translation import gettext as _

from booking import schedule, waitlist
from booking.models import (
    Booking,
    Closure,
    IdempotencyRecord,
    Shift,
    TimeOff,
    WaitlistEntry,
    WaitlistOffer,
    WorkingHours,
)
from clinic.admin import HealthGuardedAdmin, HealthGuardedChangeList
from clinic.errors import DomainError
from clinic.models import Location, Modality, Therapist
from clinic.selectors import clinic_get

THERAPIST_SEARCH = ["therapist__user__email", "therapist__user__first_name", "therapist__user__last_name"]

# The name under which the admins' querysets carry a row's local start date (an alias, selected only when used).
LOCAL_DAY = "local_day"
# More than any zone is ahead of or behind UTC (14 hours at most).
UTC_MARGIN = timedelta(days=1)


def local_time(moment: datetime | None, zone: ZoneInfo, fmt: str = "%Y-%m-%d %H:%M") -> str:
    """`moment` in `zone`, with the zone's abbreviation (EST, GMT, BST)."""
    if moment is None:
        return "-"
    return moment.astimezone(zone).strftime(f"{fmt} %Z")


def local_end(starts_at: datetime, ends_at: datetime, zone: ZoneInfo) -> str:
    """The end of a span in `zone`: its time alone when it ends on the local day it starts."""
    same_day = starts_at.astimezone(zone).date() == ends_at.astimezone(zone).date()
    return local_time(ends_at, zone, "%H:%M" if same_day else "%Y-%m-%d %H:%M")


def from_wall_clock(wall: datetime, zone: ZoneInfo) -> datetime:
    """The moment a clock in `zone` shows `wall` (naive); the first when the clocks pass it twice."""
    moment = wall.replace(tzinfo=zone)
    if moment.astimezone(UTC).astimezone(zone).replace(tzinfo=None) != wall:
        raise ValidationError(f"{wall:%Y-%m-%d %H:%M} does not exist in {zone.key}: the clocks skip it.")
    return moment


class AtTimeZone(Func):
    """PostgreSQL's `timezone(zone, moment)`: the wall-clock time of `moment` in the zone named."""

    function = "timezone"
    arity = 2
    output_field = DateTimeField()


def local_date(zone, moment: str = "starts_at") -> Cast:
    """The date of `moment` in the zone that the expression `zone` names, row by row."""
    return Cast(AtTimeZone(zone, F(moment)), DateField())


def timeoff_zone(therapist: Therapist) -> ZoneInfo:
    """Time off's zone: that of the therapist's locations when they share one, else the clinic's."""
    zones = {location.time_zone for location in therapist.locations.all()}
    return ZoneInfo(zones.pop()) if len(zones) == 1 else clinic_get().tz


def timeoff_zone_expression() -> Case:
    """`timeoff_zone` in SQL, for a row of time off."""
    zones = Location.objects.filter(therapists=OuterRef("therapist_id")).order_by().values("time_zone")
    first, last = Subquery(zones.order_by("time_zone")[:1]), Subquery(zones.order_by("-time_zone")[:1])
    return Case(When(Exact(first, last), then=first), default=Value(clinic_get().time_zone), output_field=CharField())


# --- Local days and times -----------------------------------------------------------


class LocalDayChangeList(HealthGuardedChangeList):
    """A changelist whose date hierarchy picks and lists the rows' local dates (`LOCAL_DAY`).

    Django cuts the hierarchy's days in the active zone (UTC here); the
    bounds it makes from `?starts_at__year=&month=&day=` become bounds on
    the local date instead, and `local_date_hierarchy` (the template's day
    bar, admin/booking/change_list.html) lists local years, months and days.
    """

    def get_filters(self, request):
        specs, has_filters, lookups, may_have_duplicates, has_active_filters = super().get_filters(request)
        if self.date_hierarchy:
            since = lookups.pop(f"{self.date_hierarchy}__gte", None)
            until = lookups.pop(f"{self.date_hierarchy}__lt", None)
            if since and until:
                # Midnights of the picked dates in the active zone: their dates are the dates picked.
                lookups[f"{LOCAL_DAY}__gte"] = [since[-1].date()]
                lookups[f"{LOCAL_DAY}__lt"] = [until[-1].date()]
                # And a day either side in UTC, which no zone's offset reaches, so the index on the time prunes.
                for lookup, moment, margin in (("gte", since[-1], -UTC_MARGIN), ("lt", until[-1], UTC_MARGIN)):
                    try:
                        lookups[f"{self.date_hierarchy}__{lookup}"] = [moment + margin]
                    except OverflowError:  # before year 1: no lower bound
                        pass
        return specs, has_filters, lookups, may_have_duplicates, has_active_filters

    def _local_dates(self, kind: str) -> list:
        truncated = Trunc(LOCAL_DAY, kind, output_field=DateField())
        return list(self.queryset.annotate(on=truncated).values_list("on", flat=True).distinct().order_by("on"))

    @cached_property
    def local_date_hierarchy(self) -> dict:
        """What Django's date hierarchy tag (admin_list.date_hierarchy) gives its template, by local dates."""
        field = self.date_hierarchy
        year, month, day = (self.params.get(f"{field}__{part}") for part in ("year", "month", "day"))

        def link(filters):
            return self.get_query_string(filters, [f"{field}__"])

        if not (year or month or day):
            bounds = self.queryset.annotate(on=F(LOCAL_DAY)).aggregate(first=Min("on"), last=Max("on"))
            if bounds["first"] and bounds["last"] and bounds["first"].year == bounds["last"].year:
                year = bounds["first"].year
                if bounds["first"].month == bounds["last"].month:
                    month = bounds["first"].month
        keys = {"year": f"{field}__year", "month": f"{field}__month", "day": f"{field}__day"}
        if year and month and day:
            picked = datetime(int(year), int(month), int(day)).date()
            return {
                "show": True,
                "back": {
                    "link": link({keys["year"]: year, keys["month"]: month}),
                    "title": capfirst(formats.date_format(picked, "YEAR_MONTH_FORMAT")),
                },
                "choices": [{"title": capfirst(formats.date_format(picked, "MONTH_DAY_FORMAT"))}],
            }
        if year and month:
            return {
                "show": True,
                "back": {"link": link({keys["year"]: year}), "title": str(year)},
                "choices": [
                    {
                        "link": link({keys["year"]: year, keys["month"]: month, keys["day"]: on.day}),
                        "title": capfirst(formats.date_format(on, "MONTH_DAY_FORMAT")),
                    }
                    for on in self._local_dates("day")
                ],
            }
        if year:
            return {
                "show": True,
                "back": {"link": link({}), "title": _("All dates")},
                "choices": [
                    {
                        "link": link({keys["year"]: year, keys["month"]: on.month}),
                        "title": capfirst(formats.date_format(on, "YEAR_MONTH_FORMAT")),
                    }
                    for on in self._local_dates("month")
                ],
            }
        return {
            "show": True,
            "back": None,
            "choices": [
                {"link": link({keys["year"]: str(on.year)}), "title": str(on.year)} for on in self._local_dates("year")
            ],
        }


class LocalTimesForm(forms.ModelForm):
    """A form whose `starts_at` and `ends_at` are shown and typed as wall-clock times in the row's zone.

    Django shows and reads them in the active zone (UTC); this shows the
    stored times in the zone of the stored location (or therapist) and reads
    what was typed in the zone of the one the form names: a shift moved to
    London starts at the typed time in London. The help texts name the zone.
    """

    local_fields = ("starts_at", "ends_at")

    def zone_help(self, zone: ZoneInfo | None) -> str:
        return f"In the location's local time ({zone.key})." if zone else "In the location's local time."

    def zone_for(self, data: dict) -> ZoneInfo | None:
        """The zone the typed times are in, given the form's cleaned data."""
        location = data.get("location")
        return location.tz if location is not None else None

    def stored_zone(self) -> ZoneInfo | None:
        return self.zone_for({name: getattr(self.instance, name, None) for name in ("location", "therapist")})

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        zone = self.stored_zone() if self.instance.pk else None
        for name in self.local_fields:
            if name not in self.fields:
                continue
            self.fields[name].help_text = self.zone_help(zone)
            stored = getattr(self.instance, name)
            if zone is not None and stored is not None:
                self.initial[name] = stored.astimezone(zone).replace(tzinfo=None)

    def clean(self):
        data = super().clean()
        zone = self.zone_for(data)
        if zone is None:
            return data
        for name in self.local_fields:
            if data.get(name) is None:
                continue
            # Django read what was typed in the active zone: the same wall-clock time, read in `zone`.
            wall = timezone.localtime(data[name]).replace(tzinfo=None)
            try:
                data[name] = from_wall_clock(wall, zone)
            except ValidationError as exc:
                self.add_error(name, exc)
        return data


class _LocalTimesAdmin:
    """Mixed into the admins of spans (`starts_at`, `ends_at`) before `HealthGuardedAdmin`.

    Their columns and a view-only page show the times in the row's zone,
    their date hierarchy is by local date, and `LOCAL_DAY` is on their rows.
    """

    date_hierarchy = "starts_at"
    # The stored times, and what a view-only page shows instead.
    LOCAL_DISPLAY = {"starts_at": "local_start", "ends_at": "local_end", "created_at": "created_local"}

    def zone_expression(self):
        """SQL naming the row's zone."""
        return F("location__time_zone")

    def zone_of(self, obj) -> ZoneInfo:
        return obj.location.tz

    def with_zone(self, queryset):
        """`queryset` with what `zone_expression` reads (a location's zone needs nothing more)."""
        return queryset

    def get_queryset(self, request):
        queryset = self.with_zone(super().get_queryset(request))
        return queryset.alias(**{LOCAL_DAY: local_date(self.zone_expression())})

    def get_changelist(self, request, **kwargs):
        changelist = super().get_changelist(request, **kwargs)
        return LocalDayChangeList if changelist is HealthGuardedChangeList else changelist

    def get_fields(self, request, obj=None):
        fields = super().get_fields(request, obj)
        if obj is not None and not self.has_change_permission(request, obj):
            fields = list(dict.fromkeys(self.LOCAL_DISPLAY.get(name, name) for name in fields))
        return fields

    def get_readonly_fields(self, request, obj=None):
        readonly = list(super().get_readonly_fields(request, obj))
        if obj is not None and not self.has_change_permission(request, obj):
            readonly += [name for name in self.LOCAL_DISPLAY.values() if name not in readonly]
        return readonly

    def local_label(self, obj) -> str:
        """The object as its pages name it: its __str__ says UTC, this its local time."""
        return f"{obj._meta.verbose_name.capitalize()} {self.local_span(obj)}"

    def local_span(self, obj) -> str:
        return f"{self.local_start(obj)} to {self.local_end(obj)}"

    def render_change_form(self, request, context, add=False, change=False, form_url="", obj=None):
        if obj is not None:
            context["subtitle"] = self.local_label(obj)
        return super().render_change_form(request, context, add, change, form_url, obj)

    def history_view(self, request, object_id, extra_context=None):
        response = super().history_view(request, object_id, extra_context)
        obj = getattr(response, "context_data", {}).get("object")
        if obj is not None:
            label = self.local_label(obj)
            response.context_data.update(title=_("Change history: %s") % label, local_label=label)
        return response

    @admin.display(description="starts (local)", ordering="starts_at")
    def local_start(self, obj):
        return local_time(obj.starts_at, self.zone_of(obj)) if obj.starts_at else "-"

    @admin.display(description="ends (local)", ordering="ends_at")
    def local_end(self, obj):
        return local_end(obj.starts_at, obj.ends_at, self.zone_of(obj)) if obj.starts_at and obj.ends_at else "-"

    @admin.display(description="created (local)")
    def created_local(self, obj):
        return local_time(obj.created_at, self.zone_of(obj)) if obj.created_at else "-"


# --- The schedule -------------------------------------------------------------------


@admin.register(WorkingHours)
class WorkingHoursAdmin(HealthGuardedAdmin, admin.ModelAdmin):
    """The weekly template: its times are wall-clock times at the location, in its zone."""

    list_display = ["therapist", "location", "weekday", "start_time", "end_time", "time_zone"]
    list_filter = ["location", "weekday", "therapist"]
    list_select_related = ["therapist__user", "location"]
    search_fields = THERAPIST_SEARCH
    ordering = ["therapist", "weekday", "start_time"]

    @admin.display(description="time zone", ordering="location__time_zone")
    def time_zone(self, hours: WorkingHours) -> str:
        return hours.location.time_zone


class ShiftAdminForm(LocalTimesForm):
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
class ShiftAdmin(_LocalTimesAdmin, HealthGuardedAdmin, admin.ModelAdmin):
    form = ShiftAdminForm
    fields = ["therapist", "location", "starts_at", "ends_at"]
    list_display = ["local_start", "local_end", "therapist", "location"]
    list_filter = ["location", "therapist"]
    list_select_related = ["therapist__user", "location"]
    search_fields = THERAPIST_SEARCH
    ordering = ["starts_at", "location", "therapist"]

    def local_label(self, shift):
        return f"{shift.therapist} at {shift.location} {self.local_span(shift)}"

    def has_change_permission(self, request, obj=None):
        # A shift holding bookings would leave them outside any shift: the schedule's API moves those.
        if obj is not None and shift_active_bookings(obj).exists():
            return False
        return super().has_change_permission(request, obj)

    def has_delete_permission(self, request, obj=None):
        if obj is not None and shift_active_bookings(obj).exists():
            return False
        return super().has_delete_permission(request, obj)

    def save_model(self, request, obj, form, change):
        super().save_model(request, obj, form, change)
        # A new, moved or stretched shift may open time: the waitlist is offered it by a job, as the API does.
        waitlist.waitlist_match_later(starts_at=obj.starts_at, ends_at=obj.ends_at, therapist_id=obj.therapist_id)


class _FreesItsTimeAdmin(admin.ModelAdmin):
    """Time off and closures: deleting or changing one makes time bookable, so the waitlist is offered it.

    Deleting goes through the schedule's service (as the API's DELETE does);
    a change offers the span the row covered before it, by one job.
    """

    def deleted(self, obj) -> None:
        raise NotImplementedError

    def freed_before_change(self, old) -> None:
        raise NotImplementedError

    def save_model(self, request, obj, form, change):
        old = type(obj).objects.get(pk=obj.pk) if change else None
        if not change:
            obj.created_by = request.user
        super().save_model(request, obj, form, change)
        if old is not None:
            self.freed_before_change(old)

    def delete_model(self, request, obj):
        self.deleted(obj)

    def delete_queryset(self, request, queryset):
        for obj in queryset:
            self.deleted(obj)


class TimeOffAdminForm(LocalTimesForm):
    class Meta:
        model = TimeOff
        fields = ["therapist", "starts_at", "ends_at", "reason"]

    def zone_for(self, data: dict) -> ZoneInfo | None:
        therapist = data.get("therapist")
        return timeoff_zone(therapist) if therapist is not None else None

    def zone_help(self, zone: ZoneInfo | None) -> str:
        rule = (
            "In the therapist's local time: their locations' zone, or the clinic's "
            f"({clinic_get().time_zone}) when they work in several zones or none."
        )
        return f"{rule} This therapist's: {zone.key}." if zone else rule

    def clean(self):
        data = super().clean()
        starts_at, ends_at = data.get("starts_at"), data.get("ends_at")
        if starts_at and ends_at and ends_at <= starts_at:
            raise forms.ValidationError("The time off must end after it starts.")
        return data


@admin.register(TimeOff)
class TimeOffAdmin(_LocalTimesAdmin, HealthGuardedAdmin, _FreesItsTimeAdmin):
    """A therapist's time off, in `timeoff_zone` (the module's docstring)."""

    form = TimeOffAdminForm
    fields = ["therapist", "starts_at", "ends_at", "reason", "created_by", "created_local"]
    list_display = ["local_start", "local_end", "therapist", "reason", "created_by"]
    list_filter = ["therapist"]
    list_select_related = ["therapist__user", "created_by"]
    search_fields = THERAPIST_SEARCH
    readonly_fields = ["created_by", "created_local"]
    ordering = ["starts_at", "therapist"]

    def local_label(self, time_off):
        return f"{time_off.therapist} off {self.local_span(time_off)}"

    def zone_expression(self):
        return F("zone_name")

    def zone_of(self, obj) -> ZoneInfo:
        zone_name = getattr(obj, "zone_name", None)  # rows the admin read carry it; a new one does not
        return ZoneInfo(zone_name) if zone_name else timeoff_zone(obj.therapist)

    def with_zone(self, queryset):
        return queryset.annotate(zone_name=timeoff_zone_expression())

    def deleted(self, time_off):
        schedule.time_off_delete(time_off_id=time_off.pk)

    def freed_before_change(self, old):
        waitlist.waitlist_match_later(starts_at=old.starts_at, ends_at=old.ends_at, therapist_id=old.therapist_id)


class ClosureAdminForm(LocalTimesForm):
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
class ClosureAdmin(_LocalTimesAdmin, HealthGuardedAdmin, _FreesItsTimeAdmin):
    form = ClosureAdminForm
    fields = ["location", "room", "starts_at", "ends_at", "reason", "created_by", "created_local"]
    list_display = ["local_start", "local_end", "location", "room", "reason", "created_by"]
    list_filter = ["location", "room"]
    list_select_related = ["location", "room__location", "created_by"]
    readonly_fields = ["created_by", "created_local"]
    ordering = ["starts_at", "location", "room"]

    def local_label(self, closure):
        return f"{closure.room or closure.location} closed {self.local_span(closure)}"

    def deleted(self, closure):
        schedule.closure_delete(closure_id=closure.pk)

    def freed_before_change(self, old):
        waitlist.waitlist_match_later(starts_at=old.starts_at, ends_at=old.ends_at, location_id=old.location_id)


# --- Bookings -----------------------------------------------------------------------


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


def warning_label(code: str) -> str:
    """A warning code's label; an unknown code as it is."""
    return Booking.WarningCode(code).label if code in Booking.WarningCode.values else code


@admin.register(Booking)
class BookingAdmin(_LocalTimesAdmin, HealthGuardedAdmin, admin.ModelAdmin):
    """Bookings, to read and to cancel: a booking's page only shows it (no save), the list is the day sheet."""

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
    # In time order; a location's day goes room by room (`get_ordering`).
    ordering = ["starts_at", "location", "room"]
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
        "warning_list",
        "price",
        "currency",
        "booked_by",
        "created_local",
        "cancelled_local",
        "cancelled_by",
        "cancel_reason",
        "closed_local",
        "sequence",
    ]
    readonly_fields = fields
    actions = ["cancel"]

    def local_label(self, booking):
        return f"Booking #{booking.pk} {booking.client} {self.local_start(booking)}"

    def get_ordering(self, request):
        ordering = super().get_ordering(request)
        if request.GET.get("location__id__exact") and request.GET.get(f"{self.date_hierarchy}__day"):
            return ["room", *ordering]  # a location's day sheet: room by room, each in time order
        return ordering

    @admin.display(description="Modality (final)")
    def modality(self, booking):
        if booking.intake is None:
            return "- (intake pending)"
        return Modality(booking.intake.modality).label

    @admin.display(boolean=True, description="Needs review (assessment or a warning)")
    def needs_review(self, booking):
        return booking.needs_review

    @admin.display(description="Warnings")
    def warning_list(self, booking):
        return "; ".join(warning_label(code) for code in booking.warnings) or "-"

    @admin.display(description="cancelled (local)")
    def cancelled_local(self, booking):
        return local_time(booking.cancelled_at, self.zone_of(booking))

    @admin.display(description="completed or no-show (local)")
    def closed_local(self, booking):
        return local_time(booking.closed_at, self.zone_of(booking))

    @admin.action(description="Cancel the selected bookings (as front desk)", permissions=["change"])
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

    def has_change_permission(self, request, obj=None):
        # Cancelling (the action) needs it; a booking's own page changes nothing, so it is view-only.
        return obj is None and super().has_change_permission(request)

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


# --- The waitlist ---------------------------------------------------------------------


@admin.register(WaitlistEntry)
class WaitlistEntryAdmin(HealthGuardedAdmin, admin.ModelAdmin):
    """Waitlist entries, to read and to withdraw: who waits for what and when, and the time held for them.

    Nothing of health: an entry holds none (the intake is given when an
    offer is accepted). Withdrawing goes through booking.waitlist, which
    offers a released hold to the next entry.
    """

    list_display = ["client", "service", "location", "therapist", "dates", "times", "status", "held", "created_at"]
    list_filter = ["status", "service", "location"]
    list_select_related = ["client", "service", "location", "therapist__user"]
    search_fields = ["client__email", "client__first_name", "client__last_name"]
    ordering = ["created_at", "id"]
    fields = [
        "client",
        "service",
        "location",
        "therapist",
        "from_date",
        "to_date",
        "earliest_time",
        "latest_time",
        "status",
        "held",
        "created_at",
        "closed_at",
    ]
    readonly_fields = fields
    actions = ["withdraw"]

    def get_queryset(self, request):
        open_offers = WaitlistOffer.objects.filter(status=WaitlistOffer.Status.OPEN).select_related(
            "hold__location", "hold__therapist__user"
        )
        return super().get_queryset(request).prefetch_related(Prefetch("offers", open_offers, to_attr="open_offers"))

    @admin.display(description="dates (local)")
    def dates(self, entry):
        return f"{entry.from_date:%Y-%m-%d} to {entry.to_date:%Y-%m-%d}"

    @admin.display(description="times of day (local)")
    def times(self, entry):
        earliest = f"{entry.earliest_time:%H:%M}" if entry.earliest_time else "any time"
        latest = f"{entry.latest_time:%H:%M}" if entry.latest_time else "the end of the day"
        return f"from {earliest} to {latest}"

    @admin.display(description="time held (until)")
    def held(self, entry):
        offers = getattr(entry, "open_offers", None)
        if offers is None:
            offers = list(entry.offers.filter(status=WaitlistOffer.Status.OPEN).select_related("hold__location"))
        if not offers:
            return "-"
        hold = offers[0].hold
        zone = hold.location.tz
        until = local_time(hold.hold_expires_at, zone)
        return f"{local_time(hold.starts_at, zone)} with {hold.therapist} (until {until})"

    @admin.action(description="Withdraw the selected entries (as front desk)", permissions=["change"])
    def withdraw(self, request, queryset):
        from booking import waitlist  # the services import the admin's models; import them when used

        withdrawn = 0
        for entry_id in queryset.values_list("pk", flat=True):
            try:
                waitlist.waitlist_withdraw(entry_id=entry_id, by=request.user)
                withdrawn += 1
            except DomainError as exc:
                self.message_user(request, f"Waitlist entry #{entry_id}: {exc.detail}", messages.WARNING)
        self.message_user(request, f"Withdrew {withdrawn} waitlist entries.")

    def has_add_permission(self, request):
        return False  # clients join through the API or the pages

    def has_change_permission(self, request, obj=None):
        # Withdrawing (the action) needs it; an entry's own page changes nothing, so it is view-only.
        return obj is None and super().has_change_permission(request)

    def has_delete_permission(self, request, obj=None):
        return False  # history is kept
