"""Writes of accounts, therapists and the clinic's settings."""

import threading
import time
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.db import connection, transaction

from clinic.models import Clinic, Location, Modality, Role, Service, Therapist, User
from clinic.services import (
    EMAIL_TAKEN,
    PRICE_MESSAGE,
    ROOM_NAME_TAKEN,
    SERVICE_BUFFER,
    SERVICE_DURATION,
    account_create,
    clinic_update,
    location_update,
    modalities_clean,
    role_flags,
    room_create,
    service_create,
    service_update,
    therapist_create,
    therapist_update,
)
from clinic.tests.factories import (
    ClientFactory,
    LocationFactory,
    RoomFactory,
    ServiceFactory,
    TherapistFactory,
    clinic_configure,
)

PASSWORD = "plum-orchard-velvet-42"


def messages(exc_info, field: str) -> list[str]:
    return exc_info.value.message_dict[field]


# --- account_create -------------------------------------------------------------


@pytest.mark.django_db
class TestAccountCreate:
    @pytest.mark.parametrize(
        ("role", "is_staff", "is_superuser"),
        [
            (Role.CLIENT, False, False),
            (Role.THERAPIST, False, False),
            (Role.STAFF, True, False),
            (Role.ADMIN, True, True),
        ],
    )
    def test_admin_flags_follow_the_role(self, role, is_staff, is_superuser):
        user = account_create(email="a@example.com", password=PASSWORD, role=role)
        user.refresh_from_db()
        assert (user.role, user.is_staff, user.is_superuser) == (role, is_staff, is_superuser)
        assert user.check_password(PASSWORD)

    def test_stores_names_phone_and_a_lowercased_email(self):
        user = account_create(
            email="  Ana.Silva@Example.COM ",
            password=PASSWORD,
            role=Role.CLIENT,
            first_name="Ana",
            last_name="Silva",
            phone="+1 555 0100",
        )
        user.refresh_from_db()
        assert (user.email, user.first_name, user.last_name, user.phone) == (
            "ana.silva@example.com",
            "Ana",
            "Silva",
            "+1 555 0100",
        )

    def test_only_a_therapist_gets_a_profile(self):
        client = account_create(email="c@example.com", password=PASSWORD, role=Role.CLIENT)
        assert not Therapist.objects.filter(user=client).exists()

    def test_a_therapist_is_trained_in_therapeutic_massage_by_default(self):
        user = account_create(email="t@example.com", password=PASSWORD, role=Role.THERAPIST)
        therapist = Therapist.objects.get(user=user)
        assert therapist.modalities == [Modality.THERAPEUTIC]
        assert therapist.active

    def test_a_therapist_gets_the_given_modalities(self):
        user = account_create(
            email="t@example.com", password=PASSWORD, role=Role.THERAPIST, modalities=["deep_tissue", "therapeutic"]
        )
        assert user.therapist.modalities == ["therapeutic", "deep_tissue"]

    @pytest.mark.parametrize("modalities", [[], ["hot_stone"], ["therapeutic", "therapeutic"], "therapeutic"])
    def test_bad_modalities_are_refused_and_nothing_is_stored(self, modalities):
        with pytest.raises(ValidationError) as exc_info:
            account_create(email="t@example.com", password=PASSWORD, role=Role.THERAPIST, modalities=modalities)
        assert messages(exc_info, "modalities")
        assert not User.objects.exists()

    def test_modalities_for_a_non_therapist_are_refused(self):
        with pytest.raises(ValidationError) as exc_info:
            account_create(email="c@example.com", password=PASSWORD, role=Role.CLIENT, modalities=["therapeutic"])
        assert messages(exc_info, "modalities") == ["Only therapists have modalities."]

    @pytest.mark.parametrize("email", ["taken@example.com", "TAKEN@EXAMPLE.COM", " Taken@example.com"])
    def test_a_taken_email_in_any_case_is_refused(self, email):
        ClientFactory(email="taken@example.com")
        with pytest.raises(ValidationError) as exc_info:
            account_create(email=email, password=PASSWORD, role=Role.STAFF)
        assert exc_info.value.message_dict == {"email": [EMAIL_TAKEN]}

    @pytest.mark.parametrize("password", ["short", "password1234", "98765432101", "jane.doe@example.com"])
    def test_a_weak_password_is_refused(self, password):
        with pytest.raises(ValidationError) as exc_info:
            account_create(email="jane.doe@example.com", password=password, role=Role.CLIENT, first_name="Jane")
        assert messages(exc_info, "password")
        assert not User.objects.exists()

    @pytest.mark.parametrize("email", ["", "nope", "a@b", "x" * 250 + "@example.com"])
    def test_a_malformed_email_is_refused(self, email):
        with pytest.raises(ValidationError) as exc_info:
            account_create(email=email, password=PASSWORD, role=Role.CLIENT)
        assert messages(exc_info, "email")

    def test_every_field_problem_is_reported_at_once(self):
        with pytest.raises(ValidationError) as exc_info:
            account_create(email="nope", password="1", role=Role.THERAPIST, modalities=[], first_name="x" * 151)
        assert set(exc_info.value.message_dict) == {"email", "password", "modalities", "first_name"}

    def test_an_unknown_role_is_refused(self):
        with pytest.raises(ValidationError) as exc_info:
            account_create(email="a@example.com", password=PASSWORD, role="owner")
        assert "not a role" in messages(exc_info, "role")[0]
        assert not User.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_a_registration_that_loses_the_race_on_the_unique_email_is_a_validation_error():
    """The pre-check cannot see an uncommitted row; the unique index decides, and the loser gets EMAIL_TAKEN."""
    # given: A has inserted the email but not committed; B starts while A's row is invisible to it
    a_inserted = threading.Event()
    outcome: dict[str, object] = {}

    def first():
        try:
            with transaction.atomic():
                account_create(email="race@example.com", password=PASSWORD, role=Role.CLIENT)
                a_inserted.set()
                outcome["b_was_blocked"] = _wait_for_a_blocked_backend()
        finally:
            connection.close()

    def second():
        try:
            a_inserted.wait(timeout=10)
            account_create(email="race@example.com", password=PASSWORD, role=Role.CLIENT)
            outcome["second"] = "created"
        except ValidationError as exc:
            outcome["second"] = exc.message_dict
        finally:
            connection.close()

    # when
    threads = [threading.Thread(target=first), threading.Thread(target=second)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)

    # then: B really waited on A's row lock, then was told the email is taken
    assert outcome["b_was_blocked"] is True
    assert outcome["second"] == {"email": [EMAIL_TAKEN]}
    assert User.objects.filter(email="race@example.com").count() == 1


def _wait_for_a_blocked_backend(timeout: float = 10.0) -> bool:
    """Poll (from A's own connection) until another backend of this database waits on a lock."""
    deadline = time.monotonic() + timeout
    with connection.cursor() as cursor:
        while time.monotonic() < deadline:
            # Statistics views are snapshotted per transaction; A is inside one.
            cursor.execute("SELECT pg_stat_clear_snapshot()")
            cursor.execute(
                "SELECT count(*) FROM pg_stat_activity "
                "WHERE datname = current_database() AND pid <> pg_backend_pid() AND wait_event_type = 'Lock'"
            )
            if cursor.fetchone()[0]:
                return True
            time.sleep(0.02)
    return False


# --- modalities_clean / role_flags ------------------------------------------------


@pytest.mark.parametrize(
    ("values", "expected"),
    [(["therapeutic"], ["therapeutic"]), (("deep_tissue", "therapeutic"), ["deep_tissue", "therapeutic"])],
)
def test_modalities_clean_accepts_lists_of_known_distinct_values(values, expected):
    assert modalities_clean(values) == expected


@pytest.mark.parametrize(
    "values", [None, [], "therapeutic", ["x"], ["deep_tissue", "deep_tissue"], [{"not": "hashable"}], [None]]
)
def test_modalities_clean_refuses_the_rest(values):
    with pytest.raises(ValidationError) as exc_info:
        modalities_clean(values)
    assert list(exc_info.value.message_dict) == ["modalities"]


def test_role_flags_refuses_an_unknown_role():
    with pytest.raises(ValidationError):
        role_flags("owner")


# --- therapist_create / therapist_update ---------------------------------------------


@pytest.mark.django_db
class TestTherapistCreate:
    def test_creates_the_account_without_a_usable_password_and_the_profile(self):
        therapist = therapist_create(
            email="Maya@Example.com", first_name="Maya", last_name="Chen", bio="Sports.", modalities=["deep_tissue"]
        )
        therapist.refresh_from_db()
        user = therapist.user
        assert (user.email, user.role, user.is_staff, user.has_usable_password()) == (
            "maya@example.com",
            Role.THERAPIST,
            False,
            False,
        )
        assert (therapist.bio, therapist.modalities, therapist.active) == ("Sports.", ["deep_tissue"], True)

    def test_a_taken_email_leaves_nothing_behind(self):
        ClientFactory(email="maya@example.com")
        with pytest.raises(ValidationError) as exc_info:
            therapist_create(email="MAYA@example.com", first_name="M", last_name="C", modalities=["therapeutic"])
        assert exc_info.value.message_dict == {"email": [EMAIL_TAKEN]}
        assert not Therapist.objects.exists()

    def test_bad_modalities_leave_nothing_behind(self):
        with pytest.raises(ValidationError):
            therapist_create(email="m@example.com", first_name="M", last_name="C", modalities=[])
        assert not User.objects.exists()


@pytest.mark.django_db
class TestTherapistUpdate:
    def test_changes_only_what_is_given(self):
        therapist = TherapistFactory(bio="Old", gives_therapeutic=True, gives_deep_tissue=False)
        therapist_update(therapist=therapist, modalities=["deep_tissue"])
        therapist.refresh_from_db()
        assert (therapist.bio, therapist.modalities, therapist.active) == ("Old", ["deep_tissue"], True)

    def test_changes_bio_and_active(self):
        therapist = TherapistFactory()
        returned = therapist_update(therapist=therapist, bio="New", active=False)
        assert returned is therapist
        assert (therapist.bio, therapist.active) == ("New", False)
        therapist.refresh_from_db()
        assert (therapist.bio, therapist.active) == ("New", False)

    def test_nothing_given_changes_nothing(self):
        therapist = TherapistFactory(bio="Same")
        therapist_update(therapist=therapist)
        therapist.refresh_from_db()
        assert therapist.bio == "Same"

    @pytest.mark.parametrize("modalities", [[], ["deep_tissue", "deep_tissue"], ["hot_stone"]])
    def test_bad_modalities_change_nothing(self, modalities):
        therapist = TherapistFactory(gives_therapeutic=True, gives_deep_tissue=True)
        with pytest.raises(ValidationError):
            therapist_update(therapist=therapist, modalities=modalities, bio="ignored")
        therapist.refresh_from_db()
        assert therapist.modalities == ["therapeutic", "deep_tissue"]
        assert therapist.bio != "ignored"


# --- clinic_update ---------------------------------------------------------------


@pytest.mark.django_db
class TestClinicUpdate:
    def test_changes_the_given_settings(self):
        clinic = clinic_configure()
        clinic_update(clinic=clinic, time_zone="Europe/Paris", cancellation_window_hours=12)
        clinic.refresh_from_db()
        assert (clinic.time_zone, clinic.cancellation_window_hours, clinic.min_notice_hours) == ("Europe/Paris", 12, 2)

    @pytest.mark.parametrize("time_zone", ["Mars/Base", "", "europe/paris"])
    def test_the_time_zone_must_be_iana(self, time_zone):
        clinic = clinic_configure()
        with pytest.raises(ValidationError) as exc_info:
            clinic_update(clinic=clinic, time_zone=time_zone)
        assert "time_zone" in exc_info.value.message_dict
        assert Clinic.objects.get().time_zone == "America/New_York"

    @pytest.mark.parametrize(
        ("field", "value"),
        [
            ("booking_horizon_days", 0),
            ("booking_horizon_days", 10_000),
            ("min_notice_hours", -2),
            ("cancellation_window_hours", 10**6),
            ("currency", "usd"),
            ("currency", "ÉUR"),
            ("currency", "US"),
            ("booking_step_minutes", 12),
            ("booking_step_minutes", 0),
            ("booking_step_minutes", True),
            ("waitlist_hold_minutes", 4),
            ("waitlist_hold_minutes", 24 * 60 + 1),
        ],
    )
    def test_policies_stay_in_range(self, field, value):
        clinic = clinic_configure()
        with pytest.raises(ValidationError) as exc_info:
            clinic_update(clinic=clinic, **{field: value})
        assert field in exc_info.value.message_dict

    def test_other_fields_cannot_be_changed(self):
        clinic = clinic_configure()
        with pytest.raises(ValidationError) as exc_info:
            clinic_update(clinic=clinic, id=2)
        assert list(exc_info.value.message_dict) == ["id"]


# --- locations, rooms, services ----------------------------------------------------


@pytest.mark.django_db
class TestPlacesAndServices:
    def test_a_location_keeps_its_fields_to_itself(self):
        location = LocationFactory()
        with pytest.raises(ValidationError) as exc_info:
            location_update(location=location, id=99, name="New")
        assert list(exc_info.value.message_dict) == ["id"]
        assert Location.objects.get(pk=location.pk).name == location.name

    def test_every_field_problem_of_a_service_is_reported_at_once(self):
        with pytest.raises(ValidationError) as exc_info:
            service_create(name="", duration_minutes=7, buffer_minutes=61, price=Decimal("-1"))
        assert exc_info.value.message_dict == {
            "name": ["This field cannot be blank."],
            "duration_minutes": [SERVICE_DURATION.message],
            "buffer_minutes": [SERVICE_BUFFER.message],
            "price": [PRICE_MESSAGE],
        }
        assert not Service.objects.exists()

    def test_a_service_update_changes_only_what_is_given(self):
        service = ServiceFactory(price=Decimal("90"), buffer_minutes=10)
        returned = service_update(service=service, price=Decimal("95.50"))
        assert returned is service
        service.refresh_from_db()
        assert (service.price, service.buffer_minutes, service.duration_minutes) == (Decimal("95.50"), 10, 60)

    def test_a_service_keeps_its_fields_to_itself(self):
        service = ServiceFactory()
        with pytest.raises(ValidationError) as exc_info:
            service_update(service=service, currency="EUR")
        assert list(exc_info.value.message_dict) == ["currency"]

    def test_room_names_are_unique_per_location_only(self):
        room = RoomFactory(name="Room 1")
        with pytest.raises(ValidationError) as exc_info:
            room_create(location=room.location, name="Room 1")
        assert exc_info.value.message_dict == {"name": [ROOM_NAME_TAKEN]}
        assert room_create(location=LocationFactory(), name="Room 1").pk

    def test_therapist_update_gives_fresh_locations_to_the_caller(self):
        first, second = LocationFactory(), LocationFactory()
        therapist = Therapist.objects.prefetch_related("locations").get(pk=TherapistFactory(locations=[first]).pk)
        assert list(therapist.locations.all()) == [first]  # prefetched
        therapist_update(therapist=therapist, locations=[second])
        assert list(therapist.locations.all()) == [second]

    def test_a_therapist_created_at_locations(self):
        location = LocationFactory()
        therapist = therapist_create(
            email="t@example.com", first_name="T", last_name="X", modalities=["therapeutic"], locations=[location]
        )
        assert list(therapist.locations.all()) == [location]
