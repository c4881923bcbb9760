"""The Django admin for accounts, the clinic's settings, locations, rooms, services and therapists
(staff and admins use it).

Changes that could strand bookings go through clinic.services, which lock
and check; the forms run the same checks first, so the front desk reads the
refusal on the form rather than on an error page.

It also holds what keeps health data out of every admin page: `HEALTH_FIELDS`
and `HealthGuardedAdmin`, which every ModelAdmin of the site inherits.
"""

from django import forms
from django.conf import settings
from django.contrib import admin
from django.contrib.admin import widgets
from django.contrib.admin.filters import SimpleListFilter
from django.contrib.admin.utils import get_fields_from_path
from django.contrib.admin.views.main import ChangeList
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.contrib.auth.forms import AdminUserCreationForm, UserChangeForm
from django.core import checks
from django.core.exceptions import FieldDoesNotExist, ValidationError
from django.db.models import Field
from django.db.models.constants import LOOKUP_SEP
from django.utils.functional import lazy
from django.utils.translation import gettext_lazy as _

from clinic import services
from clinic.errors import HasFutureBookings
from clinic.models import Clinic, Location, Modality, Role, Room, Service, Therapist, User
from clinic.services import CLINIC_POLICY_MAXIMUMS, EMAIL_TAKEN, email_normalize, role_flags, rule_errors

# --- Health data --------------------------------------------------------------

# The columns that hold health data, by model. No admin filters, searches,
# orders, lists or exports them, for anyone, superusers included; a model
# listed here has no admin page for anyone but superusers, whose reads of it
# are audited (its admin's job). A new kind of health record (treatment
# notes) is covered by adding its model and columns here.
HEALTH_FIELDS: dict[str, frozenset[str]] = {
    "intake.Intake": frozenset(
        {"answers", "score", "flags", "reasons", "review_note", "changes_since_last", "new_flags"}
    ),
    "records.TreatmentNote": frozenset(
        {"subjective", "objective", "assessment", "plan", "areas_treated", "pressure_used"}
    ),
}

# The parameters Django's field filters read for a field listed in
# `list_filter` (choices, booleans, all values, dates, empty): the only
# lookups on it a changelist's URL may carry. A relation adds `<target>__exact`.
FIELD_FILTER_LOOKUPS = ("", "exact", "isnull", "gte", "lt", "isempty")
DATE_HIERARCHY_LOOKUPS = ("year", "month", "day")
# Years the date hierarchy accepts: Django's own arithmetic overflows past 9998.
DATE_HIERARCHY_YEARS = range(1, 9999)


def is_health_model(model) -> bool:
    return model._meta.label in HEALTH_FIELDS


def reaches_health_field(model, path: str) -> bool:
    """Whether the lookup `path` (fields across relations, then transforms and lookups) touches a health field."""
    for part in path.split(LOOKUP_SEP):
        try:
            field = model._meta.get_field(model._meta.pk.name if part == "pk" else part)
        except FieldDoesNotExist:
            return False  # a transform or a lookup: the path's fields have ended
        if field.name in HEALTH_FIELDS.get(model._meta.label, ()):
            return True
        if field.related_model is None:
            return False
        model = field.related_model
    return False


def _order_paths(order_field) -> list[str]:
    """The field paths an `ordering` entry or an `admin_order_field` orders on (strings, F(), expressions)."""
    if order_field is None:
        return []
    if isinstance(order_field, str):
        return [order_field.lstrip("-?")]
    if hasattr(order_field, "name") and isinstance(order_field.name, str):
        return [order_field.name]
    return [path for source in order_field.get_source_expressions() for path in _order_paths(source)]


class HealthGuardedChangeList(ChangeList):
    """A changelist whose `?o=` never orders on a health field (Django applies it whatever `sortable_by` says)."""

    def get_ordering_field(self, field_name):
        order_field = super().get_ordering_field(field_name)
        if any(reaches_health_field(self.model, path) for path in _order_paths(order_field)):
            return None
        return order_field


class HealthGuardedAdmin:
    """Mixed into every ModelAdmin of the site (first in the bases), for every user.

    - A changelist's URL carries only the filters the admin lists
      (`list_filter`, `date_hierarchy`) with the parameters Django's filters
      read; any other lookup (`?answers__notes__regex=`, `?client__email__icontains=`)
      is refused: Django answers 400 (`DisallowedModelAdminLookup`), never a
      result count or a database error.
    - Nothing touching a health field is a lookup, a search, an ordering, a
      column, an inline or a popup's `?_to_field=` (the values a popup hands back).
    - A model holding health fields is for superusers only, whatever
      permissions a user was granted.
    - `manage.py check` fails (clinic.E101) on an admin that lists a health field.
    """

    def lookup_allowed(self, lookup, value, request=None):
        if "\x00" in str(value) or reaches_health_field(self.model, lookup):
            return False
        if lookup in self._listed_lookups(request):
            if lookup == f"{self.date_hierarchy}__year":
                return value.isdigit() and int(value) in DATE_HIERARCHY_YEARS
            return True
        # The popups of raw-id widgets filter by a relation's `limit_choices_to` (as Django allows).
        for fk_lookup in self.model._meta.related_fkey_lookups:
            fk_lookup = fk_lookup() if callable(fk_lookup) else fk_lookup
            if (lookup, value) in widgets.url_params_from_lookup_dict(fk_lookup).items():
                return True
        return False

    def _listed_lookups(self, request) -> set[str]:
        listed = set()
        for spec in self.get_list_filter(request):
            if isinstance(spec, type) and issubclass(spec, SimpleListFilter):
                listed.add(spec.parameter_name)
                continue
            path = spec[0] if isinstance(spec, (tuple, list)) else spec
            if isinstance(path, Field):
                path = path.name
            if not isinstance(path, str):
                continue
            listed |= {f"{path}{LOOKUP_SEP}{lookup}" if lookup else path for lookup in FIELD_FILTER_LOOKUPS}
            target = getattr(get_fields_from_path(self.model, path)[-1], "target_field", None)
            if target is not None:
                listed.add(f"{path}{LOOKUP_SEP}{target.name}{LOOKUP_SEP}exact")
        if self.date_hierarchy:
            listed |= {f"{self.date_hierarchy}{LOOKUP_SEP}{part}" for part in DATE_HIERARCHY_LOOKUPS}
        return listed

    def get_search_fields(self, request):
        return [name for name in super().get_search_fields(request) if not self._reaches_health(name.lstrip("^=@"))]

    def get_ordering(self, request):
        ordering = super().get_ordering(request) or ()
        return [item for item in ordering if not any(map(self._reaches_health, _order_paths(item)))]

    def get_list_display(self, request):
        return [name for name in super().get_list_display(request) if not self._reaches_health(name)]

    def get_inline_instances(self, request, obj=None):
        # An inline of a health model would show its fields on another model's page, unaudited.
        return [inline for inline in super().get_inline_instances(request, obj) if not is_health_model(inline.model)]

    def get_changelist(self, request, **kwargs):
        changelist = super().get_changelist(request, **kwargs)
        if changelist is ChangeList:
            return HealthGuardedChangeList
        return changelist

    def to_field_allowed(self, request, to_field):
        return not self._reaches_health(to_field) and super().to_field_allowed(request, to_field)

    def has_view_permission(self, request, obj=None):
        return self._may_open(request) and super().has_view_permission(request, obj)

    def has_change_permission(self, request, obj=None):
        return self._may_open(request) and super().has_change_permission(request, obj)

    def has_add_permission(self, request, *args, **kwargs):
        return self._may_open(request) and super().has_add_permission(request, *args, **kwargs)

    def has_delete_permission(self, request, obj=None):
        return self._may_open(request) and super().has_delete_permission(request, obj)

    def _may_open(self, request) -> bool:
        return request.user.is_superuser or not is_health_model(self.model)

    def _reaches_health(self, path) -> bool:
        return isinstance(path, str) and reaches_health_field(self.model, path)

    def check(self, **kwargs):
        return [*super().check(**kwargs), *self._health_checks()]

    def _health_checks(self) -> list[checks.Error]:
        """An error for every option of this admin that names a health field."""
        named = [("list_display", name) for name in self.list_display]
        named += [("list_display", path) for name in self.list_display for path in self._display_order_paths(name)]
        named += [("list_filter", spec[0] if isinstance(spec, (tuple, list)) else spec) for spec in self.list_filter]
        named += [("search_fields", name.lstrip("^=@")) for name in self.search_fields]
        named += [("ordering", path) for item in self.ordering or () for path in _order_paths(item)]
        named += [("sortable_by", name) for name in self.sortable_by or ()]
        named += [("list_editable", name) for name in self.list_editable]
        named += [("date_hierarchy", self.date_hierarchy)] if self.date_hierarchy else []
        errors = [
            checks.Error(
                f"'{option}' of {type(self).__name__} names '{path}', a health field: no admin may "
                "filter, search, order or list it (clinic.admin.HEALTH_FIELDS).",
                obj=type(self),
                id="clinic.E101",
            )
            for option, path in dict.fromkeys(named)
            if self._reaches_health(path)
        ]
        errors += [
            checks.Error(
                f"'inlines' of {type(self).__name__} holds {inline.__name__}, an inline of "
                f"{inline.model._meta.label}, which holds health fields (clinic.admin.HEALTH_FIELDS).",
                obj=type(self),
                id="clinic.E101",
            )
            for inline in self.inlines
            if is_health_model(inline.model)
        ]
        return errors

    def _display_order_paths(self, name) -> list[str]:
        """What a `list_display` entry that is no field orders on (its `admin_order_field`)."""
        if isinstance(name, str) and name.split(LOOKUP_SEP)[0] in {f.name for f in self.model._meta.get_fields()}:
            return []
        attr = name if callable(name) else getattr(self, name, None) or getattr(self.model, name, None)
        attr = attr.fget if isinstance(attr, property) else attr
        return _order_paths(getattr(attr, "admin_order_field", None))


def health_guard_registered_admins(site: admin.AdminSite) -> None:
    """Give the admins other packages registered (auth's groups, axes, knox) the same guard."""
    for model, model_admin in list(site._registry.items()):
        if not isinstance(model_admin, HealthGuardedAdmin):
            guarded = type(type(model_admin).__name__, (HealthGuardedAdmin, type(model_admin)), {})
            site.unregister(model)
            site.register(model, guarded)


# --- Accounts -----------------------------------------------------------------


class _AccountFormMixin:
    """Emails stored lowercased and unique in any case; admin flags follow the role."""

    def clean_email(self):
        email = email_normalize(self.cleaned_data.get("email", ""))
        taken = User.objects.filter(email__iexact=email).exclude(pk=self.instance.pk).exists()
        if taken:
            raise ValidationError(EMAIL_TAKEN)
        return email

    def clean(self):
        cleaned_data = super().clean()
        role = cleaned_data.get("role")
        if role:
            # is_staff / is_superuser are read-only here: the role decides them.
            for flag, value in role_flags(role).items():
                setattr(self.instance, flag, value)
        return cleaned_data


class UserAddForm(_AccountFormMixin, AdminUserCreationForm):
    class Meta:
        model = User
        fields = ("email", "role", "first_name", "last_name")


class UserEditForm(_AccountFormMixin, UserChangeForm):
    class Meta:
        model = User
        fields = "__all__"


@admin.register(User)
class UserAdmin(HealthGuardedAdmin, DjangoUserAdmin):
    """Django's user admin, for accounts that log in with their email and have a role."""

    form = UserEditForm
    add_form = UserAddForm
    fieldsets = (
        (None, {"fields": ("email", "password")}),
        (_("Personal info"), {"fields": ("first_name", "last_name", "phone")}),
        (
            _("Role and access"),
            {
                "fields": ("role", "is_active", "is_staff", "is_superuser", "groups", "user_permissions"),
                "description": "Staff status and superuser status follow the role: staff and admins may use "
                "this admin, only admins are superusers.",
            },
        ),
        (_("Important dates"), {"fields": ("last_login", "date_joined")}),
    )
    add_fieldsets = (
        (
            None,
            {
                "classes": ("wide",),
                "fields": ("email", "role", "first_name", "last_name", "usable_password", "password1", "password2"),
            },
        ),
    )
    readonly_fields = ("is_staff", "is_superuser", "last_login", "date_joined")
    list_display = ("email", "first_name", "last_name", "role", "is_active")
    list_filter = ("role", "is_active")
    search_fields = ("email", "first_name", "last_name")
    ordering = ("email",)


# --- Clinic -------------------------------------------------------------------


def _add_rule_errors(form: forms.ModelForm, cleaned_data: dict) -> None:
    """The clinic's rules for minutes, currency and price, as field errors in its own words."""
    given = {name: value for name, value in cleaned_data.items() if value is not None}
    for name, messages in rule_errors(given).items():
        if name in form.fields:
            form.add_error(name, messages)


def _refusal(exc: HasFutureBookings) -> ValidationError:
    """A HasFutureBookings as a form error that names the bookings."""
    ids = ", ".join(f"#{pk}" for pk in exc.extra["conflicts"])
    return ValidationError(f"{exc.detail} Bookings: {ids}.")


class ClinicAdminForm(forms.ModelForm):
    class Meta:
        model = Clinic
        fields = [
            "name",
            "time_zone",
            "currency",
            "min_notice_hours",
            "booking_horizon_days",
            "cancellation_window_hours",
            "booking_step_minutes",
            "waitlist_hold_minutes",
            "max_active_bookings_per_client",
        ]

    def clean(self):
        cleaned_data = super().clean()
        for name, maximum in CLINIC_POLICY_MAXIMUMS.items():
            value = cleaned_data.get(name)
            if value is not None and value > maximum:
                self.add_error(name, f"Ensure this value is less than or equal to {maximum}.")
        if cleaned_data.get("booking_horizon_days") == 0:
            self.add_error("booking_horizon_days", "Clients must be able to book at least one day ahead.")
        _add_rule_errors(self, cleaned_data)
        return cleaned_data


@admin.register(Clinic)
class ClinicAdmin(HealthGuardedAdmin, admin.ModelAdmin):
    """The clinic's single settings row: it can be added once and never deleted."""

    form = ClinicAdminForm
    list_display = ("name", "currency", "min_notice_hours", "booking_horizon_days", "cancellation_window_hours")

    def has_add_permission(self, request):
        return super().has_add_permission(request) and not Clinic.objects.exists()

    def has_delete_permission(self, request, obj=None):
        return False

    def save_model(self, request, obj, form, change):
        if not change:
            obj.pk = 1  # the single row (a check constraint allows no other id)
        super().save_model(request, obj, form, change)


# --- Locations and rooms --------------------------------------------------------------


class LocationAdminForm(forms.ModelForm):
    class Meta:
        model = Location
        fields = ["name", "address", "time_zone", "uses_rooms", "active"]

    def clean(self):
        cleaned_data = super().clean()
        if self.instance.pk and not self.errors:
            # The instance still holds the stored values here (the form copies its own in after clean()).
            try:
                services.location_change_check(
                    location=self.instance,
                    time_zone=cleaned_data["time_zone"],
                    active=cleaned_data["active"],
                    uses_rooms=cleaned_data["uses_rooms"],
                )
            except HasFutureBookings as exc:
                raise _refusal(exc) from None
        return cleaned_data


class RoomAdminForm(forms.ModelForm):
    class Meta:
        model = Room
        fields = ["location", "name", "active"]

    def clean(self):
        cleaned_data = super().clean()
        if self.instance.pk and "active" in cleaned_data:
            try:
                services.room_change_check(room=self.instance, active=cleaned_data["active"])
            except HasFutureBookings as exc:
                raise _refusal(exc) from None
        return cleaned_data


def _room_save(room: Room, changed: list[str]) -> None:
    """Save a room the admin changed: through room_update, which locks and checks again."""
    services.room_update(room=room, **{name: getattr(room, name) for name in changed if name in ("name", "active")})


class RoomInline(admin.TabularInline):
    """A location's rooms on its page; deleting one with bookings is refused (they protect it)."""

    model = Room
    form = RoomAdminForm
    fields = ["name", "active"]
    extra = 0


@admin.register(Location)
class LocationAdmin(HealthGuardedAdmin, admin.ModelAdmin):
    """A location and its rooms. Locations are deactivated, never deleted (bookings refer to them)."""

    form = LocationAdminForm
    inlines = [RoomInline]
    list_display = ("name", "time_zone", "uses_rooms", "active")
    list_filter = ("active", "uses_rooms")
    search_fields = ("name", "address")

    def has_delete_permission(self, request, obj=None):
        return False

    def save_model(self, request, obj, form, change):
        if not change:
            return super().save_model(request, obj, form, change)
        services.location_update(
            location=obj, **{name: form.cleaned_data[name] for name in form.changed_data if name in form.fields}
        )

    def save_formset(self, request, form, formset, change):
        if formset.model is not Room:
            return super().save_formset(request, form, formset, change)
        formset.save(commit=False)
        for room in formset.deleted_objects:
            services.room_delete(room=room)
        for room, changed in formset.changed_objects:
            _room_save(room, changed)
        for room in formset.new_objects:
            room.save()


@admin.register(Room)
class RoomAdmin(HealthGuardedAdmin, admin.ModelAdmin):
    form = RoomAdminForm
    list_display = ("name", "location", "active")
    list_filter = ("active", "location")
    search_fields = ("name", "location__name")
    list_select_related = ("location",)

    def get_readonly_fields(self, request, obj=None):
        # A room stays at its location (bookings there name it).
        return ("location",) if obj is not None else ()

    def save_model(self, request, obj, form, change):
        if not change:
            return super().save_model(request, obj, form, change)
        _room_save(obj, form.changed_data)

    def delete_model(self, request, obj):
        services.room_delete(room=obj)

    def delete_queryset(self, request, queryset):
        for room in queryset.order_by("pk"):
            services.room_delete(room=room)


# --- Services ---------------------------------------------------------------------


class ServiceAdminForm(forms.ModelForm):
    class Meta:
        model = Service
        fields = ["name", "description", "duration_minutes", "buffer_minutes", "price", "active"]
        help_texts = {
            "price": "Bookings already made keep the price and times they were made with.",
        }

    def clean(self):
        cleaned_data = super().clean()
        _add_rule_errors(self, cleaned_data)
        return cleaned_data


@admin.register(Service)
class ServiceAdmin(HealthGuardedAdmin, admin.ModelAdmin):
    """What clients book. Services are deactivated, never deleted (bookings refer to them)."""

    form = ServiceAdminForm
    list_display = ("name", "duration_minutes", "buffer_minutes", "price", "active")
    list_filter = ("active",)
    search_fields = ("name",)

    def has_delete_permission(self, request, obj=None):
        return False


# --- Therapists ---------------------------------------------------------------


def _modalities(values: dict) -> list[str]:
    """The modalities a therapist form's two boxes tick."""
    probe = Therapist(gives_therapeutic=bool(values.get("gives_therapeutic")))
    probe.gives_deep_tissue = bool(values.get("gives_deep_tissue"))
    return probe.modalities


class TherapistAdminForm(forms.ModelForm):
    class Meta:
        model = Therapist
        fields = ["user", "bio", "gives_therapeutic", "gives_deep_tissue", "locations", "active"]
        widgets = {"locations": forms.CheckboxSelectMultiple}

    def clean(self):
        cleaned_data = super().clean()
        if not (cleaned_data.get("gives_therapeutic") or cleaned_data.get("gives_deep_tissue")):
            raise ValidationError("Tick at least one modality the therapist is trained to give.")
        if self.instance.pk and not self.errors:
            try:
                services.therapist_change_check(
                    therapist=self.instance,
                    active=cleaned_data["active"],
                    modalities=_modalities(cleaned_data),
                    locations=cleaned_data["locations"],
                )
            except HasFutureBookings as exc:
                raise _refusal(exc) from None
        return cleaned_data


@admin.register(Therapist)
class TherapistAdmin(HealthGuardedAdmin, admin.ModelAdmin):
    form = TherapistAdminForm
    list_display = ("name", "email", "modality_list", "active")
    list_filter = ("active", "gives_therapeutic", "gives_deep_tissue", "locations")
    search_fields = ("user__email", "user__first_name", "user__last_name", "bio")
    list_select_related = ("user",)
    ordering = ("user__last_name", "user__first_name")

    @admin.display(description="email", ordering="user__email")
    def email(self, therapist: Therapist) -> str:
        return therapist.user.email

    @admin.display(description="modalities")
    def modality_list(self, therapist: Therapist) -> str:
        return ", ".join(Modality(modality).label for modality in therapist.modalities)

    def get_readonly_fields(self, request, obj=None):
        # A profile stays with the account it was made for.
        return ("user",) if obj is not None else ()

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        if db_field.name == "user":
            kwargs["queryset"] = User.objects.filter(role=Role.THERAPIST, therapist__isnull=True).order_by("email")
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    def save_model(self, request, obj, form, change):
        if not change:
            return super().save_model(request, obj, form, change)
        # Through the service: it locks the therapist, checks their bookings again and revokes
        # the tokens of one deactivated. (save_related then sets the same locations.)
        services.therapist_update(
            therapist=obj,
            bio=form.cleaned_data["bio"],
            modalities=_modalities(form.cleaned_data),
            active=form.cleaned_data["active"],
            locations=form.cleaned_data["locations"],
        )


# Every admin registered before this module (INSTALLED_APPS lists those packages first).
health_guard_registered_admins(admin.site)


# --- The site -------------------------------------------------------------------------


def _clinic_name() -> str:
    """The name in the clinic's settings row, or the environment's until there is one (this never adds it:
    the row's add page stays open until an admin fills it in)."""
    return Clinic.objects.filter(pk=1).values_list("name", flat=True).first() or settings.CLINIC_NAME


def _clinic_named(template: str):
    """`template` with the clinic's name for `{name}`, read when a page shows it, never at import."""
    return lazy(lambda: template.format(name=_clinic_name()), str)()


admin.site.site_header = _clinic_named("{name}")
admin.site.site_title = _clinic_named("{name} admin")
admin.site.index_title = _clinic_named("{name}: front desk and administration")
# No "View site" link until the clinic has web pages of its own (the API is not one).
admin.site.site_url = None
