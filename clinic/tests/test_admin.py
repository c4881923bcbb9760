"""The Django admin for accounts, the clinic row and therapists, driven as an admin would."""

import pytest
from django.test import Client

from clinic.models import Clinic, Role, Therapist, User
from clinic.tests.factories import ClientFactory, TherapistFactory, UserFactory, clinic_configure

STRONG = "plum-orchard-velvet-42"


@pytest.fixture
def browser(admin_user) -> Client:
    web = Client()
    web.force_login(admin_user)
    return web


@pytest.mark.parametrize(
    "url",
    [
        "/admin/clinic/user/",
        "/admin/clinic/user/?role__exact=therapist&is_active__exact=1&q=example",
        "/admin/clinic/user/add/",
        "/admin/clinic/therapist/",
        "/admin/clinic/therapist/?active__exact=1&gives_deep_tissue__exact=1&q=a",
        "/admin/clinic/therapist/add/",
        "/admin/clinic/clinic/",
    ],
)
def test_admin_pages_open(browser, clinic, therapist, url):
    assert browser.get(url).status_code == 200


def test_the_user_list_shows_email_name_role_and_active(browser, db):
    ClientFactory(email="listed@example.com", first_name="Lia", last_name="Moss")
    page = browser.get("/admin/clinic/user/").content.decode()
    assert "listed@example.com" in page
    assert "Lia" in page
    assert "Moss" in page
    assert "Client" in page


def test_adding_a_user_takes_email_role_and_password(browser, db):
    response = browser.post(
        "/admin/clinic/user/add/",
        {
            "email": "Desk@Example.com",
            "role": Role.STAFF,
            "first_name": "Dee",
            "last_name": "Sk",
            "usable_password": "true",
            "password1": STRONG,
            "password2": STRONG,
        },
    )
    assert response.status_code == 302, response.context["adminform"].form.errors
    user = User.objects.get(email="desk@example.com")
    assert (user.role, user.is_staff, user.is_superuser) == (Role.STAFF, True, False)
    assert user.check_password(STRONG)


def test_adding_a_user_with_a_taken_email_in_another_case_is_refused(browser, db):
    ClientFactory(email="taken@example.com")
    response = browser.post(
        "/admin/clinic/user/add/",
        {
            "email": "TAKEN@example.com",
            "role": Role.CLIENT,
            "usable_password": "true",
            "password1": STRONG,
            "password2": STRONG,
        },
    )
    assert response.status_code == 200
    assert "email" in response.context["adminform"].form.errors


def test_changing_the_role_moves_the_admin_flags_with_it(browser, db):
    user = UserFactory(role=Role.ADMIN, is_staff=True, is_superuser=True, email="boss@example.com")
    response = browser.post(
        f"/admin/clinic/user/{user.pk}/change/",
        {
            "email": "boss@example.com",
            "role": Role.CLIENT,
            "first_name": "B",
            "last_name": "S",
            "phone": "",
            "is_active": "on",
            "date_joined_0": "2026-01-01",
            "date_joined_1": "10:00:00",
        },
    )
    assert response.status_code == 302, response.context["adminform"].form.errors
    user.refresh_from_db()
    assert (user.role, user.is_staff, user.is_superuser) == (Role.CLIENT, False, False)


def test_the_clinic_row_can_be_added_once_and_never_deleted(browser, db):
    assert browser.get("/admin/clinic/clinic/add/").status_code == 200
    response = browser.post(
        "/admin/clinic/clinic/add/",
        {
            "name": "Calm",
            "time_zone": "Europe/Paris",
            "min_notice_hours": 2,
            "booking_horizon_days": 30,
            "cancellation_window_hours": 24,
            "max_active_bookings_per_client": 4,
        },
    )
    assert response.status_code == 302
    assert Clinic.objects.get().pk == 1
    assert browser.get("/admin/clinic/clinic/add/").status_code == 403
    assert browser.get("/admin/clinic/clinic/1/delete/").status_code == 403


def test_the_clinic_form_refuses_a_bad_time_zone(browser, db):
    clinic_configure()
    response = browser.post(
        "/admin/clinic/clinic/1/change/",
        {
            "name": "Calm",
            "time_zone": "Nowhere/Land",
            "min_notice_hours": 2,
            "booking_horizon_days": 30,
            "cancellation_window_hours": 24,
            "max_active_bookings_per_client": 4,
        },
    )
    assert response.status_code == 200
    assert "time_zone" in response.context["adminform"].form.errors


def test_the_therapist_list_shows_name_email_modalities_and_active(browser, db):
    therapist = TherapistFactory(gives_deep_tissue=False, user__email="maya@example.com")
    page = browser.get("/admin/clinic/therapist/").content.decode()
    assert therapist.name in page
    assert "maya@example.com" in page
    assert "therapeutic" in page


def test_a_therapist_needs_at_least_one_modality_in_the_admin(browser, db):
    therapist = TherapistFactory()
    response = browser.post(f"/admin/clinic/therapist/{therapist.pk}/change/", {"bio": "x", "active": "on"})
    assert response.status_code == 200
    assert "Tick at least one modality" in response.content.decode()
    therapist.refresh_from_db()
    assert therapist.modalities == ["therapeutic", "deep_tissue"]


def test_a_therapist_profile_is_added_for_a_therapist_account(browser, db):
    user = UserFactory(role=Role.THERAPIST)
    response = browser.post(
        "/admin/clinic/therapist/add/", {"user": user.pk, "bio": "", "gives_deep_tissue": "on", "active": "on"}
    )
    assert response.status_code == 302
    assert Therapist.objects.get(user=user).modalities == ["deep_tissue"]
