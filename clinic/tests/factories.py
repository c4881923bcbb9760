"""Factories for accounts and therapists."""

import factory

from clinic.models import Clinic, Role, Therapist, User

PASSWORD = "correct-horse-battery-staple"


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User
        skip_postgeneration_save = True

    email = factory.Sequence(lambda n: f"user{n}@example.com")
    first_name = factory.Faker("first_name")
    last_name = factory.Faker("last_name")
    role = Role.CLIENT
    password = factory.PostGenerationMethodCall("set_password", PASSWORD)

    @factory.post_generation
    def _save(obj, create, extracted, **kwargs):
        if create:
            obj.save()


class ClientFactory(UserFactory):
    role = Role.CLIENT


class StaffFactory(UserFactory):
    role = Role.STAFF
    is_staff = True


class AdminFactory(UserFactory):
    role = Role.ADMIN
    is_staff = True
    is_superuser = True


class TherapistFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Therapist

    user = factory.SubFactory(UserFactory, role=Role.THERAPIST)
    bio = "Licensed massage therapist."
    gives_therapeutic = True
    gives_deep_tissue = True
    active = True


def clinic_configure(**fields) -> Clinic:
    """The clinic row with the given settings (defaults: New York, 2 h notice, 60 days, 24 h)."""
    values = {
        "name": "Test Clinic",
        "time_zone": "America/New_York",
        "min_notice_hours": 2,
        "booking_horizon_days": 60,
        "cancellation_window_hours": 24,
        **fields,
    }
    clinic, _ = Clinic.objects.update_or_create(pk=1, defaults=values)
    return clinic
