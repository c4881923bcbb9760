"""Treatment notes in the Django admin: for superusers (admins) only, to read.

The notes' text, areas and pressure are in `clinic.admin.HEALTH_FIELDS`, so
no admin lists, filters, searches or orders on them and only superusers
have a notes page at all. Nobody adds, changes or deletes a note here: a
draft is its author's (through the API), and a signed note is a clinical
record the database itself keeps as it is. A page showing a note is a read
of the booking's notes: it is audit-logged like one.
"""

from django.contrib import admin

from clinic.admin import HealthGuardedAdmin
from config.security import client_ip
from intake.models import IntakeAccess
from intake.services import intake_access_log
from records.models import TreatmentNote

ALL_FIELDS = (
    "booking",
    "author",
    "subjective",
    "objective",
    "assessment",
    "plan",
    "areas_treated",
    "pressure_used",
    "modality_given",
    "amends",
    "signed_at",
    "created_at",
    "updated_at",
)


@admin.register(TreatmentNote)
class TreatmentNoteAdmin(HealthGuardedAdmin, admin.ModelAdmin):
    list_display = ("id", "booking", "author", "modality_given", "signed_at", "created_at")
    list_filter = ("modality_given", ("signed_at", admin.EmptyFieldListFilter), "created_at")
    search_fields = ("author__email",)
    list_select_related = ("author", "booking")
    ordering = ("-created_at", "-id")
    fields = ALL_FIELDS
    readonly_fields = ALL_FIELDS

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def change_view(self, request, object_id, form_url="", extra_context=None):
        response = super().change_view(request, object_id, form_url, extra_context)
        # A page showing a note is a read of the booking's notes: audit it.
        if request.user.is_superuser and response.status_code == 200 and hasattr(response, "context_data"):
            note = response.context_data["original"]
            intake_access_log(
                kind=IntakeAccess.Kind.NOTES,
                client=note.booking.client,
                booking_id=note.booking_id,
                user=request.user,
                remote_addr=client_ip(request),
                channel=IntakeAccess.Channel.ADMIN,
            )
        return response
