"""The intake in the Django admin: for superusers (admins) only.

Front-desk staff run the schedule without reading health answers: they have
no intake page at all, whatever permissions they hold (the intake's
columns are in `clinic.admin.HEALTH_FIELDS`, which also keeps every admin
from filtering, searching or ordering on them). What the front desk may
know of an intake (modality, needs review) the booking admin shows.
Superusers see everything; their reads of a full intake are written to the
audit log, and their edits go through the services so the assessment
always follows from the answers.
"""

from functools import cache

from django.contrib import admin
from django.core.exceptions import PermissionDenied
from django.template import engines
from django.template.response import TemplateResponse
from django.urls import path

from clinic.admin import HealthGuardedAdmin
from clinic.models import Modality
from config.security import client_ip
from intake import rules
from intake.form import FIELDS, FORM_VERSION
from intake.models import Intake, IntakeAccess
from intake.services import intake_access_log

# What a superuser sees of an intake (nobody changes one here).
ALL_FIELDS = (
    "client",
    "form_version",
    "answers",
    "suggested_modality",
    "score",
    "needs_review",
    "flags",
    "reasons",
    "rules_version",
    "changes_since_last",
    "new_flags",
    "reviewed_modality",
    "review_note",
    "reviewed_by",
    "reviewed_at",
    "review_stale",
    "created_at",
    "updated_at",
)


_RULES_PAGE = """{% extends "admin/base_site.html" %}
{% block content %}
<p>Intake form v{{ form_version }}, rules v{{ rules_version }}. To change a weight or a list, edit the
tables at the top of <code>intake/rules.py</code> and bump <code>RULES_VERSION</code>
(see <code>docs/intake.md</code>); stored intakes keep the version that assessed them.</p>
<h2>Score: points per answer</h2>
<table><thead><tr><th>answer</th><th>value</th><th>label</th><th>points</th></tr></thead><tbody>
{% for row in points %}<tr><td>{{ row.answer }}</td><td><code>{{ row.value }}</code></td>
<td>{{ row.label }}</td><td>{{ row.points }}</td></tr>{% endfor %}
</tbody></table>
<h2>Suggested modality: the first rule that applies</h2>
<ol>
<li>any deep-pressure contraindication ({{ contraindications|join:", " }}) → therapeutic;</li>
<li>pressure preference is <code>{{ light }}</code> → therapeutic;</li>
<li>score ≥ {{ threshold }} → deep tissue;</li>
<li>otherwise → therapeutic.</li>
</ol>
<p>Flags: every health-screening answer given; an intake with a flag needs review.
Review flags that do not rule out deep pressure: {{ review_flags|join:", " }}.</p>
<h2>Form fields</h2>
<table><thead><tr><th>field</th><th>question</th><th>type</th><th>required</th><th>default</th>
<th>allowed values / limit</th></tr></thead><tbody>
{% for f in fields %}<tr><td><code>{{ f.name }}</code></td><td>{{ f.label }}</td><td>{{ f.kind }}</td>
<td>{{ f.required|yesno }}</td><td>{{ f.default|default_if_none:"—" }}</td>
<td>{% if f.choices %}{{ f.choices|join:", " }}{% elif f.max_length %}at most {{ f.max_length }} characters
{% else %}must be true{% endif %}</td></tr>{% endfor %}
</tbody></table>
{% endblock %}"""


@cache
def _rules_page_template():
    return engines["django"].from_string(_RULES_PAGE)


@admin.register(Intake)
class IntakeAdmin(HealthGuardedAdmin, admin.ModelAdmin):
    list_display = ("id", "client", "suggested_modality", "final_modality", "needs_review", "reviewed_at", "created_at")
    list_filter = (
        "suggested_modality",
        "reviewed_modality",
        "needs_review",
        "review_stale",
        "form_version",
        "rules_version",
        "created_at",
    )
    search_fields = ("client__email",)
    list_select_related = ("client",)
    ordering = ("-created_at", "-id")
    fields = ALL_FIELDS

    readonly_fields = ALL_FIELDS

    @admin.display(description="modality (final)")
    def final_modality(self, intake: Intake) -> str:
        return Modality(intake.modality).label

    def has_add_permission(self, request):
        # An intake comes with a booking, through the booking API.
        return False

    def has_delete_permission(self, request, obj=None):
        # History is kept: bookings and the audit log point at intakes.
        return False

    def change_view(self, request, object_id, form_url="", extra_context=None):
        response = super().change_view(request, object_id, form_url, extra_context)
        # A page showing the answers is a read of the full intake: audit it.
        if request.user.is_superuser and response.status_code == 200 and hasattr(response, "context_data"):
            intake_access_log(
                intake=response.context_data["original"],
                user=request.user,
                remote_addr=client_ip(request),
                channel=IntakeAccess.Channel.ADMIN,
            )
        return response

    def has_change_permission(self, request, obj=None):
        # Read-only for everyone: answers are the client's facts (they change them through their
        # booking), and a review goes through the booking's review endpoint, whose training check
        # (therapist_not_qualified) and warnings live in the booking app, which this app must not import.
        return False

    def get_urls(self):
        rules_page = path("rules/", self.admin_site.admin_view(self.rules_view), name="intake_intake_rules")
        return [rules_page, *super().get_urls()]

    def rules_view(self, request):
        """The form and the modality rules, as the code holds them, for people to read."""
        if not self.has_view_or_change_permission(request):
            raise PermissionDenied
        context = {
            **self.admin_site.each_context(request),
            "title": "Intake form and modality rules",
            "form_version": FORM_VERSION,
            "rules_version": rules.RULES_VERSION,
            "points": rules.rules_table(),
            "contraindications": list(rules.CONTRAINDICATIONS),
            "review_flags": list(rules.REVIEW_FLAGS),
            "light": rules.LIGHT_PRESSURE,
            "threshold": rules.DEEP_TISSUE_MIN_SCORE,
            "fields": FIELDS,
        }
        return TemplateResponse(request, _rules_page_template(), context)


@admin.register(IntakeAccess)
class IntakeAccessAdmin(HealthGuardedAdmin, admin.ModelAdmin):
    """The audit log of intake reads: append-only, for admins to read."""

    list_display = (
        "accessed_at",
        "kind",
        "client",
        "intake",
        "booking_id",
        "accessed_by",
        "channel",
        "outcome",
        "remote_addr",
    )
    list_filter = ("kind", "channel", "outcome", "accessed_at")
    search_fields = ("accessed_by__email",)
    list_select_related = ("accessed_by", "intake", "client")
    readonly_fields = (
        "kind",
        "client",
        "intake",
        "booking_id",
        "accessed_by",
        "accessed_at",
        "remote_addr",
        "channel",
        "outcome",
    )

    def has_view_permission(self, request, obj=None):
        return request.user.is_superuser

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
