"""The clinic's invariants as PostgreSQL enforces them, and the models' small helpers."""

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction

from clinic.models import Clinic, Modality, Role, Therapist, User
from clinic.tests.factories import TherapistFactory, UserFactory, clinic_configure

pytestmark = pytest.mark.django_db


def test_a_therapist_with_no_modality_is_refused_by_the_database():
    therapist = TherapistFactory()
    with pytest.raises(IntegrityError, match="therapist_has_a_modality"), transaction.atomic():
        Therapist.objects.filter(pk=therapist.pk).update(gives_therapeutic=False, gives_deep_tissue=False)


def test_a_new_therapist_with_no_modality_is_refused_by_the_database():
    user = UserFactory(role=Role.THERAPIST)
    with pytest.raises(IntegrityError, match="therapist_has_a_modality"), transaction.atomic():
        Therapist.objects.create(user=user, gives_therapeutic=False, gives_deep_tissue=False)


@pytest.mark.parametrize("role", [Role.CLIENT, Role.THERAPIST, Role.STAFF])
def test_a_superuser_without_the_admin_role_is_refused_by_the_database(role):
    with pytest.raises(IntegrityError, match="user_superuser_is_admin"), transaction.atomic():
        User.objects.create(email="boss@example.com", role=role, is_superuser=True, is_staff=True)


def test_a_second_clinic_row_is_refused_by_the_database():
    clinic_configure()
    with pytest.raises(IntegrityError, match="clinic_single_row"), transaction.atomic():
        Clinic.objects.create(id=2, name="Second", time_zone="UTC")


def test_the_booking_horizon_must_be_positive_in_the_database():
    clinic = clinic_configure()
    with pytest.raises(IntegrityError, match="clinic_horizon_positive"), transaction.atomic():
        Clinic.objects.filter(pk=clinic.pk).update(booking_horizon_days=0)


def test_two_accounts_cannot_share_an_email():
    UserFactory(email="one@example.com")
    with pytest.raises(IntegrityError), transaction.atomic():
        User.objects.create(email="one@example.com")


def test_create_user_lowercases_the_email_and_create_superuser_makes_an_admin():
    user = User.objects.create_user("Mixed@Example.COM", "x")
    admin = User.objects.create_superuser("Root@Example.com", "x")
    assert user.email == "mixed@example.com"
    assert user.role == Role.CLIENT
    assert (admin.role, admin.is_staff, admin.is_superuser) == (Role.ADMIN, True, True)


def test_modalities_read_and_write_the_two_booleans():
    therapist = TherapistFactory.build(gives_therapeutic=True, gives_deep_tissue=False)
    assert therapist.modalities == ["therapeutic"]
    therapist.modalities = ["deep_tissue"]
    assert (therapist.gives_therapeutic, therapist.gives_deep_tissue) == (False, True)
    assert therapist.is_trained_for(Modality.DEEP_TISSUE)
    assert not therapist.is_trained_for(Modality.THERAPEUTIC)


def test_trained_for_q_filters_by_modality():
    both = TherapistFactory(gives_therapeutic=True, gives_deep_tissue=True)
    light = TherapistFactory(gives_therapeutic=True, gives_deep_tissue=False)
    deep = set(Therapist.objects.filter(Therapist.trained_for_q(Modality.DEEP_TISSUE)))
    assert deep == {both}
    assert set(Therapist.objects.filter(Therapist.trained_for_q(Modality.THERAPEUTIC))) == {both, light}


def test_the_clinic_time_zone_is_validated_as_iana():
    clinic = clinic_configure()
    clinic.time_zone = "Not/AZone"
    with pytest.raises(ValidationError):
        clinic.full_clean()
    clinic.time_zone = "Asia/Tokyo"
    clinic.full_clean()
    assert str(clinic.tz) == "Asia/Tokyo"


def test_names_shown_to_people():
    therapist = TherapistFactory(user__first_name="Maya", user__last_name="Chen")
    assert therapist.name == str(therapist) == "Maya Chen"
    nameless = UserFactory(first_name="", last_name="", email="x@example.com")
    assert nameless.display_name == str(nameless) == "x@example.com"
