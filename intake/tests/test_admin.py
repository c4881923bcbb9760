"""The intake admin: for superusers only, their reads audited; the front desk has no intake page."""

import json
import re

import pytest
from django.contrib.auth.models import Permission
from django.test import Client
from django.urls import reverse

from intake.models import Intake, IntakeAccess
from intake.services import intake_access_log, intake_create

pytestmark = pytest.mark.django_db

SECRET_NOTE = "Recovering from a shoulder operation"
ANSWERS = {
    "pressure_preference": "deep",
    "primary_goal": "pain_relief",
    "health_screening": ["skin_condition"],
    "notes": SECRET_NOTE,
    "consent": True,
}


@pytest.fixture
def intake(client_user):
    return intake_create(client=client_user, answers=ANSWERS)


def browser(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def front_desk(staff_user):
    """Front-desk staff granted the intake view permissions by hand (their role gives them none)."""
    staff_user.user_permissions.add(
        Permission.objects.get(codename="view_intake"), Permission.objects.get(codename="view_intakeaccess")
    )
    return staff_user


def change_url(intake) -> str:
    return reverse("admin:intake_intake_change", args=[intake.pk])


def test_superuser_sees_the_answers_and_the_read_is_audited(admin_user, intake):
    response = browser(admin_user).get(change_url(intake), REMOTE_ADDR="198.51.100.7")

    assert response.status_code == 200
    assert SECRET_NOTE in response.content.decode()
    assert "skin_condition" in response.content.decode()
    access = IntakeAccess.objects.get(intake=intake)
    assert (access.accessed_by, access.channel, access.remote_addr) == (admin_user, "admin", "198.51.100.7")


def test_front_desk_has_no_intake_page_even_with_the_permissions(front_desk, intake):
    client = browser(front_desk)

    page = client.get(change_url(intake))
    post = client.post(change_url(intake), {"review_note": "x"})
    changelist = client.get(reverse("admin:intake_intake_changelist"))

    assert (page.status_code, post.status_code, changelist.status_code) == (403, 403, 403)
    assert SECRET_NOTE not in page.content.decode()
    intake.refresh_from_db()
    assert intake.review_note == ""
    assert not IntakeAccess.objects.exists()  # nothing of the intake was read


def test_changelist_for_superusers_and_search_by_email(admin_user, intake, client_user):
    url = reverse("admin:intake_intake_changelist")

    response = browser(admin_user).get(url, {"q": client_user.email})
    assert response.status_code == 200
    assert client_user.email in response.content.decode() or str(client_user) in response.content.decode()
    assert SECRET_NOTE not in response.content.decode()
    empty = browser(admin_user).get(url, {"q": "nobody@example.com"})
    assert "0 intakes" in empty.content.decode()


def test_nobody_adds_or_deletes_intakes(admin_user, intake):
    client = browser(admin_user)

    assert client.get(reverse("admin:intake_intake_add")).status_code == 403
    assert client.post(reverse("admin:intake_intake_delete", args=[intake.pk]), {"post": "yes"}).status_code == 403
    assert Intake.objects.filter(pk=intake.pk).exists()


@pytest.mark.parametrize(
    "form",
    [
        {"answers": json.dumps({"pressure_preference": "light", "primary_goal": "relaxation", "consent": True})},
        {"reviewed_modality": "deep_tissue", "review_note": "Fine by me."},
    ],
    ids=["answers", "review"],
)
def test_the_admin_changes_no_intake_even_for_a_superuser(admin_user, intake, form):
    """Answers are the client's facts and a review must pass the booking's training check (API):
    the admin only shows an intake, so no path skips those rules."""
    before = Intake.objects.values().get(pk=intake.pk)

    response = browser(admin_user).post(change_url(intake), {"answers": json.dumps(intake.answers), **form})

    assert response.status_code == 403
    assert Intake.objects.values().get(pk=intake.pk) == before


def test_the_superusers_page_has_no_save_button(admin_user, intake):
    page = browser(admin_user).get(change_url(intake)).content.decode()
    assert 'name="_save"' not in page


def test_rules_page_shows_the_tables(admin_user, front_desk):
    url = reverse("admin:intake_intake_rules")

    response = browser(admin_user).get(url)

    assert response.status_code == 200
    content = response.content.decode()
    for text in ("pressure_preference", "Limited range of motion", "blood_thinners", "-3", "2000"):
        assert text in content
    assert browser(front_desk).get(url).status_code == 403
    changelist = browser(admin_user).get(reverse("admin:intake_intake_changelist")).content.decode()
    assert url in changelist


def test_rules_page_is_for_superusers(staff_user, therapist):
    # The front desk has no intake page (clinic.admin.HEALTH_FIELDS); a therapist has no admin access.
    assert browser(staff_user).get(reverse("admin:intake_intake_rules")).status_code == 403
    assert browser(therapist.user).get(reverse("admin:intake_intake_rules")).status_code == 302


def test_audit_log_is_read_only_and_for_superusers(admin_user, front_desk, intake):
    row = intake_access_log(intake=intake, user=admin_user, channel="api", booking_id=7)
    client = browser(admin_user)

    assert client.get(reverse("admin:intake_intakeaccess_changelist")).status_code == 200
    assert client.get(reverse("admin:intake_intakeaccess_change", args=[row.pk])).status_code == 200
    assert client.get(reverse("admin:intake_intakeaccess_add")).status_code == 403
    change = client.post(reverse("admin:intake_intakeaccess_change", args=[row.pk]), {"outcome": "denied"})
    assert change.status_code == 403
    assert client.post(reverse("admin:intake_intakeaccess_delete", args=[row.pk]), {"post": "yes"}).status_code == 403
    assert browser(front_desk).get(reverse("admin:intake_intakeaccess_changelist")).status_code == 403
    assert IntakeAccess.objects.get(pk=row.pk).outcome == "allowed"


def test_the_intakes_list_title_is_plain_text_and_the_rules_link_sits_beside_the_list(admin_user, intake):
    content = browser(admin_user).get(reverse("admin:intake_intake_changelist")).content.decode()

    title = re.search(r"<title>(.*?)</title>", content, re.S).group(1)
    assert "<a" not in title
    assert "&lt;a" not in title
    tools = re.search(r'<ul class="object-tools">(.*?)</ul>', content, re.S).group(1)
    assert reverse("admin:intake_intake_rules") in tools


def test_the_intakes_list_shows_modality_labels(admin_user, client_user):
    intake_create(client=client_user, answers={**ANSWERS, "health_screening": []})

    content = browser(admin_user).get(reverse("admin:intake_intake_changelist")).content.decode()

    cells = re.findall(r'<td class="field-(?:suggested_modality|final_modality)">([^<]*)</td>', content)
    assert cells == ["Deep tissue massage", "Deep tissue massage"]
