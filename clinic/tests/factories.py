"""Factories for accounts and therapists."""

from decimal import Decimal

import factory

from clinic.models import Clinic, Location, Role, Room, Service, Therapist, User

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


class LocationFactory(factory.django.DjangoModelFactory):
    """A location without rooms in New York (the tests' clinic zone)."""

    class Meta:
        model = Location

    name = factory.Sequence(lambda n: f"Location {n}")
    address = "1 Main Street"
    time_zone = "America/New_York"
    uses_rooms = False
    active = True


class RoomFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Room

    location = factory.SubFactory(LocationFactory, uses_rooms=True)
    name = factory.Sequence(lambda n: f"Room {n}")
    active = True


class ServiceFactory(factory.django.DjangoModelFactory):
    """A 60 minute massage with no buffer, by default."""

    class Meta:
        model = Service

    name = factory.LazyAttribute(lambda o: f"Massage, {o.duration_minutes} min")
    description = "A massage."
    duration_minutes = 60
    buffer_minutes = 0
    price = Decimal("90.00")
    active = True


class TherapistFactory(factory.django.DjangoModelFactory):
    """A therapist trained in both modalities; `locations=[...]` places them (none by default)."""

    class Meta:
        model = Therapist
        skip_postgeneration_save = True

    user = factory.SubFactory(UserFactory, role=Role.THERAPIST)
    bio = "Licensed massage therapist."
    gives_therapeutic = True
    gives_deep_tissue = True
    active = True

    @factory.post_generation
    def locations(obj, create, extracted, **kwargs):
        if create and extracted:
            obj.locations.set(extracted)


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
