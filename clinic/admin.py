"""The Django admin for accounts, the clinic's settings and therapists (staff and admins use it)."""

from django import forms
from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.contrib.auth.forms import AdminUserCreationForm, UserChangeForm
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from clinic.models import Clinic, Role, Therapist, User
from clinic.services import CLINIC_POLICY_MAXIMUMS, EMAIL_TAKEN, email_normalize, role_flags

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
class UserAdmin(DjangoUserAdmin):
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


class ClinicAdminForm(forms.ModelForm):
    class Meta:
        model = Clinic
        fields = ["name", "time_zone", "min_notice_hours", "booking_horizon_days", "cancellation_window_hours"]

    def clean(self):
        cleaned_data = super().clean()
        for name, maximum in CLINIC_POLICY_MAXIMUMS.items():
            value = cleaned_data.get(name)
            if value is not None and value > maximum:
                self.add_error(name, f"Ensure this value is less than or equal to {maximum}.")
        if cleaned_data.get("booking_horizon_days") == 0:
            self.add_error("booking_horizon_days", "Clients must be able to book at least one day ahead.")
        return cleaned_data


@admin.register(Clinic)
class ClinicAdmin(admin.ModelAdmin):
    """The clinic's single settings row: it can be added once and never deleted."""

    form = ClinicAdminForm
    list_display = ("name", "time_zone", "min_notice_hours", "booking_horizon_days", "cancellation_window_hours")

    def has_add_permission(self, request):
        return super().has_add_permission(request) and not Clinic.objects.exists()

    def has_delete_permission(self, request, obj=None):
        return False

    def save_model(self, request, obj, form, change):
        if not change:
            obj.pk = 1  # the single row (a check constraint allows no other id)
        super().save_model(request, obj, form, change)


# --- Therapists ---------------------------------------------------------------


class TherapistAdminForm(forms.ModelForm):
    class Meta:
        model = Therapist
        fields = ["user", "bio", "gives_therapeutic", "gives_deep_tissue", "active"]

    def clean(self):
        cleaned_data = super().clean()
        if not (cleaned_data.get("gives_therapeutic") or cleaned_data.get("gives_deep_tissue")):
            raise ValidationError("Tick at least one modality the therapist is trained to give.")
        return cleaned_data


@admin.register(Therapist)
class TherapistAdmin(admin.ModelAdmin):
    form = TherapistAdminForm
    list_display = ("name", "email", "modality_list", "active")
    list_filter = ("active", "gives_therapeutic", "gives_deep_tissue")
    search_fields = ("user__email", "user__first_name", "user__last_name", "bio")
    list_select_related = ("user",)
    ordering = ("user__last_name", "user__first_name")

    @admin.display(description="email", ordering="user__email")
    def email(self, therapist: Therapist) -> str:
        return therapist.user.email

    @admin.display(description="modalities")
    def modality_list(self, therapist: Therapist) -> str:
        return ", ".join(therapist.modalities)

    def get_readonly_fields(self, request, obj=None):
        # A profile stays with the account it was made for.
        return ("user",) if obj is not None else ()

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        if db_field.name == "user":
            kwargs["queryset"] = User.objects.filter(role=Role.THERAPIST, therapist__isnull=True).order_by("email")
        return super().formfield_for_foreignkey(db_field, request, **kwargs)
