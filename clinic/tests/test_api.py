"""The clinic API through the real URL conf, as each role (docs/api.md: Accounts, Clinic and therapists)."""

import threading

import pytest
from django.conf import settings
from django.db import connection
from django.urls import resolve
from knox.models import AuthToken
from rest_framework.test import APIClient

from clinic.models import Clinic, Role, Therapist, User
from clinic.tests.factories import PASSWORD, ClientFactory, TherapistFactory
from conftest import ROLES

REGISTER = "/api/v1/auth/register/"
TOKEN = "/api/v1/auth/token/"
ME = "/api/v1/me/"
CLINIC = "/api/v1/clinic/"
THERAPISTS = "/api/v1/therapists/"

FRONT_DESK = ["staff", "admin"]
NOT_FRONT_DESK = ["client", "therapist"]
STRONG_PASSWORD = "plum-orchard-velvet-42"
BAD_CREDENTIALS = {"non_field_errors": ["Unable to log in with the email and password given."]}


def therapist_url(pk) -> str:
    return f"{THERAPISTS}{pk}/"


def registration(**overrides) -> dict:
    return {
        "email": "ana@example.com",
        "password": STRONG_PASSWORD,
        "first_name": "Ana",
        "last_name": "Silva",
        **overrides,
    }


def auth_rate() -> int:
    """How many login/register attempts the `auth` throttle allows per minute."""
    return int(settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"]["auth"].split("/")[0])


# --- POST auth/register/ -------------------------------------------------------


class TestRegister:
    @pytest.mark.parametrize("role", ROLES)
    def test_anyone_registers_a_client_account_and_gets_a_working_token(self, api_as, role):
        # given
        caller = api_as(role)
        # when
        response = caller.post(REGISTER, registration(email="Ana@Example.COM", phone="+1 555 0100"))
        # then
        assert response.status_code == 201, response.data
        body = response.json()
        assert set(body) == {"id", "email", "first_name", "last_name", "token"}
        assert body["email"] == "ana@example.com"
        assert (body["first_name"], body["last_name"]) == ("Ana", "Silva")
        user = User.objects.get(pk=body["id"])
        assert (user.role, user.phone, user.is_staff, user.is_superuser) == (Role.CLIENT, "+1 555 0100", False, False)
        assert user.check_password(STRONG_PASSWORD)
        me = APIClient()
        me.credentials(HTTP_AUTHORIZATION=f"Token {body['token']}")
        assert me.get(ME).json()["id"] == user.pk

    @pytest.mark.parametrize("email", ["taken@example.com", "TAKEN@example.com", "Taken@Example.Com"])
    def test_a_taken_email_in_any_case_is_refused(self, api, db, email):
        ClientFactory(email="taken@example.com")
        response = api.post(REGISTER, registration(email=email))
        assert response.status_code == 400
        assert response.json() == {"email": ["An account with this email already exists."]}
        assert User.objects.filter(email__iexact="taken@example.com").count() == 1

    @pytest.mark.parametrize(
        "password",
        ["short1", "password123", "12345678901", "ana@example.com", ""],
        ids=["too-short", "common", "numeric", "same-as-email", "empty"],
    )
    def test_a_weak_password_is_refused(self, api, db, password):
        response = api.post(REGISTER, registration(password=password))
        assert response.status_code == 400
        assert list(response.json()) == ["password"]
        assert not User.objects.exists()

    @pytest.mark.parametrize("field", ["email", "password", "first_name", "last_name"])
    def test_a_missing_field_is_refused(self, api, db, field):
        body = registration()
        del body[field]
        response = api.post(REGISTER, body)
        assert response.status_code == 400
        assert response.json() == {field: ["This field is required."]}

    @pytest.mark.parametrize("email", ["not-an-email", "ana@", "@example.com", "ana example@example.com"])
    def test_a_malformed_email_is_refused(self, api, db, email):
        response = api.post(REGISTER, registration(email=email))
        assert response.status_code == 400
        assert list(response.json()) == ["email"]

    def test_the_role_cannot_be_chosen_by_the_caller(self, api, db):
        response = api.post(REGISTER, registration(role="admin"))
        assert response.status_code == 201
        assert User.objects.get().role == Role.CLIENT

    def test_a_body_that_is_not_an_object_is_a_400(self, api, db):
        response = api.post(REGISTER, ["a", "list"], format="json")
        assert response.status_code == 400

    def test_attempts_are_throttled_per_address(self, api, db):
        for n in range(auth_rate()):
            assert api.post(REGISTER, registration(email=f"u{n}@example.com", password="x")).status_code == 400
        response = api.post(REGISTER, registration())
        assert response.status_code == 429
        assert int(response["Retry-After"]) > 0


@pytest.mark.django_db(transaction=True)
def test_two_concurrent_registrations_of_one_email_create_one_account():
    # given: two requests released at the same moment
    start = threading.Barrier(2)
    statuses: list[int] = []
    errors: list[BaseException] = []

    def register():
        try:
            start.wait(timeout=10)
            response = APIClient().post(REGISTER, registration(email="race@example.com"), format="json")
            statuses.append(response.status_code)
        except BaseException as exc:  # a failure in a thread must fail the test
            errors.append(exc)
        finally:
            connection.close()

    # when
    threads = [threading.Thread(target=register) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)

    # then
    assert not errors
    assert sorted(statuses) == [201, 400]
    assert User.objects.filter(email="race@example.com").count() == 1


# --- POST auth/token/ ------------------------------------------------------------


class TestToken:
    @pytest.mark.parametrize("email_as_typed", ["ana@example.com", "ANA@Example.com"])
    def test_the_right_password_gives_a_working_token(self, api, db, email_as_typed):
        user = ClientFactory(email="ana@example.com")
        response = api.post(TOKEN, {"email": email_as_typed, "password": PASSWORD})
        assert response.status_code == 200
        assert set(response.json()) == {"token"}
        me = APIClient()
        me.credentials(HTTP_AUTHORIZATION=f"Token {response.json()['token']}")
        assert me.get(ME).json()["id"] == user.pk

    def test_a_wrong_password_is_a_400_with_a_non_field_error(self, api, db):
        ClientFactory(email="ana@example.com")
        response = api.post(TOKEN, {"email": "ana@example.com", "password": "wrong-password"})
        assert response.status_code == 400
        assert response.json() == BAD_CREDENTIALS
        assert not AuthToken.objects.exists()

    def test_an_unknown_email_answers_exactly_like_a_wrong_password(self, api, db):
        ClientFactory(email="ana@example.com")
        wrong_password = api.post(TOKEN, {"email": "ana@example.com", "password": "wrong-password"})
        unknown_email = api.post(TOKEN, {"email": "nobody@example.com", "password": "wrong-password"})
        assert (unknown_email.status_code, unknown_email.json()) == (wrong_password.status_code, wrong_password.json())

    def test_a_deactivated_account_answers_like_wrong_credentials(self, api, db):
        ClientFactory(email="gone@example.com", is_active=False)
        response = api.post(TOKEN, {"email": "gone@example.com", "password": PASSWORD})
        assert (response.status_code, response.json()) == (400, BAD_CREDENTIALS)

    def test_a_therapist_created_by_staff_cannot_log_in_before_setting_a_password(self, api, db, as_user, staff_user):
        as_user(staff_user).post(
            THERAPISTS, {"email": "new@example.com", "first_name": "N", "last_name": "T", "modalities": ["therapeutic"]}
        )
        response = api.post(TOKEN, {"email": "new@example.com", "password": ""})
        assert response.status_code == 400

    @pytest.mark.parametrize("missing", ["email", "password"])
    def test_a_missing_field_is_refused(self, api, db, missing):
        body = {"email": "ana@example.com", "password": PASSWORD}
        del body[missing]
        response = api.post(TOKEN, body)
        assert response.status_code == 400
        assert response.json() == {missing: ["This field is required."]}

    def test_attempts_are_throttled_per_address(self, api, db):
        for _ in range(auth_rate()):
            api.post(TOKEN, {"email": "ana@example.com", "password": "guess"})
        response = api.post(TOKEN, {"email": "ana@example.com", "password": "guess"})
        assert response.status_code == 429
        assert "Retry-After" in response


# --- GET me/ -------------------------------------------------------------------


class TestMe:
    @pytest.mark.parametrize("role", ["client", "staff", "admin"])
    def test_a_user_sees_their_account(self, as_user, role, client_user, staff_user, admin_user):
        user = {"client": client_user, "staff": staff_user, "admin": admin_user}[role]
        response = as_user(user).get(ME)
        assert response.status_code == 200
        assert response.json() == {
            "id": user.pk,
            "email": user.email,
            "first_name": user.first_name,
            "last_name": user.last_name,
            "role": role,
            "therapist_id": None,
        }

    def test_a_therapist_also_sees_their_therapist_id(self, as_user, therapist):
        response = as_user(therapist.user).get(ME)
        assert response.status_code == 200
        assert response.json()["role"] == "therapist"
        assert response.json()["therapist_id"] == therapist.pk

    def test_anonymous_is_401(self, api, db):
        response = api.get(ME)
        assert response.status_code == 401
        assert response["WWW-Authenticate"] == "Token"

    def test_an_unknown_token_is_401(self, api, db):
        api.credentials(HTTP_AUTHORIZATION="Token " + "0" * 64)
        assert api.get(ME).status_code == 401


# --- clinic/ -------------------------------------------------------------------


class TestClinic:
    @pytest.mark.parametrize("role", ROLES)
    def test_anyone_reads_the_clinic(self, api_as, clinic, role):
        response = api_as(role).get(CLINIC)
        assert response.status_code == 200
        assert response.json() == {
            "name": "Test Clinic",
            "currency": "USD",
            "min_notice_hours": 2,
            "booking_horizon_days": 60,
            "cancellation_window_hours": 24,
            "booking_step_minutes": 15,
            "waitlist_hold_minutes": 30,
            "max_active_bookings_per_client": 4,
        }

    def test_the_clinic_row_is_created_from_the_environment_on_first_read(self, api, db):
        response = api.get(CLINIC)
        assert response.status_code == 200
        assert response.json()["currency"] == settings.CLINIC_CURRENCY
        assert Clinic.objects.get().pk == 1

    @pytest.mark.parametrize("role", FRONT_DESK)
    def test_front_desk_changes_the_clinic(self, api_as, clinic, role):
        response = api_as(role).patch(
            CLINIC,
            {
                "name": "Calm Hands",
                "currency": "EUR",
                "min_notice_hours": 4,
                "booking_step_minutes": 30,
                "waitlist_hold_minutes": 1440,
            },
        )
        assert response.status_code == 200
        assert response.json() == {
            "name": "Calm Hands",
            "currency": "EUR",
            "min_notice_hours": 4,
            "booking_horizon_days": 60,
            "cancellation_window_hours": 24,
            "booking_step_minutes": 30,
            "waitlist_hold_minutes": 1440,
            "max_active_bookings_per_client": 4,
        }
        clinic.refresh_from_db()
        assert (clinic.name, clinic.currency, clinic.min_notice_hours) == ("Calm Hands", "EUR", 4)
        assert (clinic.booking_step_minutes, clinic.waitlist_hold_minutes) == (30, 1440)

    def test_the_time_zone_is_each_location_s_not_the_clinic_s(self, api_as, clinic):
        # v2: local dates and hours are in the time zone of the location (GET /api/v1/locations/).
        response = api_as("staff").patch(CLINIC, {"time_zone": "Europe/Paris"})
        assert response.status_code == 200
        assert "time_zone" not in response.json()
        clinic.refresh_from_db()
        assert clinic.time_zone == "America/New_York"

    @pytest.mark.parametrize("role", NOT_FRONT_DESK)
    def test_clients_and_therapists_may_not_change_the_clinic(self, api_as, clinic, role):
        response = api_as(role).patch(CLINIC, {"name": "Mine now"})
        assert response.status_code == 403
        clinic.refresh_from_db()
        assert clinic.name == "Test Clinic"

    def test_anonymous_may_not_change_the_clinic(self, api, clinic):
        assert api.patch(CLINIC, {"name": "Mine now"}).status_code == 401

    @pytest.mark.parametrize(
        ("change", "field"),
        [
            ({"currency": "usd"}, "currency"),
            ({"currency": "EURO"}, "currency"),
            ({"currency": "E1R"}, "currency"),
            ({"currency": ""}, "currency"),
            ({"currency": "ÉUR"}, "currency"),
            ({"booking_step_minutes": 0}, "booking_step_minutes"),
            ({"booking_step_minutes": 4}, "booking_step_minutes"),
            ({"booking_step_minutes": 7}, "booking_step_minutes"),
            ({"booking_step_minutes": 65}, "booking_step_minutes"),
            ({"booking_step_minutes": "quarter"}, "booking_step_minutes"),
            ({"waitlist_hold_minutes": 4}, "waitlist_hold_minutes"),
            ({"waitlist_hold_minutes": 1441}, "waitlist_hold_minutes"),
            ({"waitlist_hold_minutes": -30}, "waitlist_hold_minutes"),
            ({"booking_horizon_days": 0}, "booking_horizon_days"),
            ({"booking_horizon_days": 100000}, "booking_horizon_days"),
            ({"min_notice_hours": -1}, "min_notice_hours"),
            ({"min_notice_hours": 10**12}, "min_notice_hours"),
            ({"cancellation_window_hours": "soon"}, "cancellation_window_hours"),
            ({"name": ""}, "name"),
        ],
    )
    def test_invalid_settings_are_400(self, api_as, clinic, change, field):
        before = Clinic.objects.values().get()
        response = api_as("staff").patch(CLINIC, change, format="json")
        assert response.status_code == 400
        assert list(response.json()) == [field]
        assert Clinic.objects.values().get() == before

    @pytest.mark.parametrize(
        ("change", "message"),
        [
            ({"currency": "usd"}, "Give the ISO 4217 code of the currency: three capital letters, e.g. USD or EUR."),
            (
                {"booking_step_minutes": 7},
                "Give the step between offered start times in minutes: 5 to 60, a multiple of 5.",
            ),
            (
                {"booking_step_minutes": 90},
                "Give the step between offered start times in minutes: 5 to 60, a multiple of 5.",
            ),
            ({"waitlist_hold_minutes": 2}, "Give how long an offer is held in minutes: 5 to 1440 (24 hours)."),
        ],
    )
    def test_the_400_says_what_the_rule_is(self, api_as, clinic, change, message):
        response = api_as("staff").patch(CLINIC, change, format="json")
        assert response.status_code == 400
        assert response.json() == {next(iter(change)): [message]}

    @pytest.mark.parametrize(
        "change",
        [{"booking_step_minutes": 5}, {"booking_step_minutes": 60}, {"waitlist_hold_minutes": 5}, {"currency": "JPY"}],
    )
    def test_the_bounds_are_allowed(self, api_as, clinic, change):
        response = api_as("staff").patch(CLINIC, change, format="json")
        assert response.status_code == 200
        assert response.json() | change == response.json()

    def test_put_is_not_offered(self, api_as, clinic):
        assert api_as("staff").put(CLINIC, {"name": "x"}).status_code == 405


# --- therapists/ ---------------------------------------------------------------


@pytest.fixture
def roster(db):
    """An active therapeutic-only, an active deep-tissue-only and an inactive therapist of both."""
    return {
        "therapeutic": TherapistFactory(gives_therapeutic=True, gives_deep_tissue=False, bio="Gentle."),
        "deep": TherapistFactory(gives_therapeutic=False, gives_deep_tissue=True),
        "inactive": TherapistFactory(active=False),
    }


def ids(response) -> list[int]:
    return [row["id"] for row in response.json()["results"]]


class TestTherapistList:
    @pytest.mark.parametrize("role", ROLES)
    def test_anyone_lists_the_active_therapists(self, api_as, roster, role):
        caller = api_as(role)  # a therapist caller is one more active therapist
        active = list(Therapist.objects.filter(active=True).order_by("pk").values_list("pk", flat=True))
        response = caller.get(THERAPISTS)
        assert response.status_code == 200
        body = response.json()
        assert set(body) == {"count", "next", "previous", "results"}
        assert body["count"] == len(active)
        first = roster["therapeutic"]
        assert body["results"][0] == {
            "id": first.pk,
            "name": first.user.get_full_name(),
            "bio": "Gentle.",
            "modalities": ["therapeutic"],
            "locations": [],
        }
        assert ids(response) == active
        assert roster["inactive"].pk not in active

    @pytest.mark.parametrize(("modality", "expected"), [("therapeutic", ["therapeutic"]), ("deep_tissue", ["deep"])])
    def test_modality_filters(self, api, roster, modality, expected):
        response = api.get(THERAPISTS, {"modality": modality})
        assert response.status_code == 200
        assert ids(response) == [roster[key].pk for key in expected]

    def test_an_empty_modality_means_no_filter(self, api, roster):
        assert ids(api.get(THERAPISTS, {"modality": ""})) == [roster["therapeutic"].pk, roster["deep"].pk]

    @pytest.mark.parametrize("modality", ["hot_stone", "THERAPEUTIC", "therapeutic,deep_tissue"])
    def test_an_unknown_modality_is_400(self, api, roster, modality):
        response = api.get(THERAPISTS, {"modality": modality})
        assert response.status_code == 400
        assert list(response.json()) == ["modality"]

    @pytest.mark.parametrize("role", FRONT_DESK)
    def test_front_desk_may_include_inactive_therapists_and_see_active(self, api_as, roster, role):
        response = api_as(role).get(THERAPISTS, {"include_inactive": "true"})
        assert response.status_code == 200
        rows = {row["id"]: row for row in response.json()["results"]}
        assert set(rows) == {t.pk for t in roster.values()}
        inactive = roster["inactive"]
        assert rows[inactive.pk] == {
            "id": inactive.pk,
            "name": inactive.name,
            "bio": inactive.bio,
            "modalities": ["therapeutic", "deep_tissue"],
            "locations": [],
            "active": False,
            "email": inactive.user.email,
        }

    @pytest.mark.parametrize("role", ["anonymous", *NOT_FRONT_DESK])
    def test_include_inactive_is_ignored_for_others(self, api_as, roster, role):
        response = api_as(role).get(THERAPISTS, {"include_inactive": "true"})
        assert response.status_code == 200
        assert roster["inactive"].pk not in ids(response)
        assert all("active" not in row for row in response.json()["results"])

    def test_a_malformed_include_inactive_is_400(self, api_as, roster):
        response = api_as("staff").get(THERAPISTS, {"include_inactive": "perhaps"})
        assert response.status_code == 400

    def test_the_list_is_paginated(self, api, roster):
        response = api.get(THERAPISTS, {"page_size": 1})
        body = response.json()
        assert body["count"] == 2
        assert len(body["results"]) == 1
        assert body["next"] is not None
        second = api.get(THERAPISTS, {"page_size": 1, "page": 2}).json()
        assert second["results"][0]["id"] == roster["deep"].pk
        assert second["next"] is None
        assert api.get(THERAPISTS, {"page": 9}).status_code == 404


class TestTherapistDetail:
    @pytest.mark.parametrize("role", ["anonymous", *NOT_FRONT_DESK])
    def test_anyone_reads_an_active_therapist(self, api_as, roster, role):
        therapist = roster["deep"]
        response = api_as(role).get(therapist_url(therapist.pk))
        assert response.status_code == 200
        assert response.json() == {
            "id": therapist.pk,
            "name": therapist.name,
            "bio": therapist.bio,
            "modalities": ["deep_tissue"],
            "locations": [],
        }

    @pytest.mark.parametrize("role", ["anonymous", *NOT_FRONT_DESK])
    def test_an_inactive_therapist_is_404_to_all_but_the_front_desk(self, api_as, roster, role):
        assert api_as(role).get(therapist_url(roster["inactive"].pk)).status_code == 404

    @pytest.mark.parametrize("role", FRONT_DESK)
    def test_front_desk_reads_any_therapist_with_active_and_email(self, api_as, roster, role):
        therapist = roster["inactive"]
        response = api_as(role).get(therapist_url(therapist.pk))
        assert response.status_code == 200
        assert response.json()["active"] is False
        assert response.json()["email"] == therapist.user.email

    @pytest.mark.parametrize("role", ROLES)
    def test_an_unknown_therapist_is_404(self, api_as, roster, role):
        assert api_as(role).get(therapist_url(999999)).status_code == 404

    def test_booking_paths_under_therapists_are_not_captured_here(self):
        for path in ["/api/v1/therapists/me/", "/api/v1/therapists/me/day/", "/api/v1/therapists/3/calendar.ics"]:
            try:
                match = resolve(path)
            except Exception:  # not routed at all (yet): fine, it is not ours either
                continue
            assert match.func.__name__ not in {"TherapistDetailView", "TherapistListView"}, path


NEW_THERAPIST = {
    "email": "Maya@Example.com",
    "first_name": "Maya",
    "last_name": "Chen",
    "bio": "Sports massage.",
    "modalities": ["deep_tissue", "therapeutic"],
}


class TestTherapistCreate:
    @pytest.mark.parametrize("role", FRONT_DESK)
    def test_front_desk_adds_a_therapist_with_their_account(self, api_as, db, role):
        response = api_as(role).post(THERAPISTS, NEW_THERAPIST)
        assert response.status_code == 201, response.data
        therapist = Therapist.objects.select_related("user").get(pk=response.json()["id"])
        assert response.json() == {
            "id": therapist.pk,
            "name": "Maya Chen",
            "bio": "Sports massage.",
            "modalities": ["therapeutic", "deep_tissue"],
            "locations": [],
            "active": True,
            "email": "maya@example.com",
        }
        user = therapist.user
        assert (user.role, user.is_staff, user.is_superuser, user.has_usable_password()) == (
            Role.THERAPIST,
            False,
            False,
            False,
        )

    def test_bio_is_optional(self, api_as, db):
        body = {k: v for k, v in NEW_THERAPIST.items() if k != "bio"}
        response = api_as("staff").post(THERAPISTS, body)
        assert response.status_code == 201
        assert response.json()["bio"] == ""

    @pytest.mark.parametrize("role", NOT_FRONT_DESK)
    def test_clients_and_therapists_may_not_add_therapists(self, api_as, db, role):
        assert api_as(role).post(THERAPISTS, NEW_THERAPIST).status_code == 403
        assert not User.objects.filter(email="maya@example.com").exists()

    def test_anonymous_may_not_add_therapists(self, api, db):
        assert api.post(THERAPISTS, NEW_THERAPIST).status_code == 401

    @pytest.mark.parametrize(
        ("change", "field"),
        [
            ({"modalities": []}, "modalities"),
            ({"modalities": ["therapeutic", "therapeutic"]}, "modalities"),
            ({"modalities": ["hot_stone"]}, "modalities"),
            ({"modalities": "therapeutic"}, "modalities"),
            ({"modalities": None}, "modalities"),
            ({"email": "not-an-email"}, "email"),
            ({"first_name": ""}, "first_name"),
        ],
    )
    def test_invalid_input_is_400(self, api_as, db, change, field):
        response = api_as("staff").post(THERAPISTS, {**NEW_THERAPIST, **change})
        assert response.status_code == 400
        assert field in response.json()
        assert not Therapist.objects.exists()

    @pytest.mark.parametrize("missing", ["email", "first_name", "last_name", "modalities"])
    def test_required_fields(self, api_as, db, missing):
        body = {k: v for k, v in NEW_THERAPIST.items() if k != missing}
        response = api_as("staff").post(THERAPISTS, body)
        assert response.status_code == 400
        assert response.json() == {missing: ["This field is required."]}

    def test_a_taken_email_is_400(self, api_as, db):
        ClientFactory(email="maya@example.com")
        response = api_as("staff").post(THERAPISTS, NEW_THERAPIST)
        assert response.status_code == 400
        assert response.json() == {"email": ["An account with this email already exists."]}
        assert not Therapist.objects.exists()


class TestTherapistUpdate:
    @pytest.mark.parametrize("role", FRONT_DESK)
    def test_front_desk_changes_bio_modalities_and_active(self, api_as, roster, role):
        therapist = roster["therapeutic"]
        response = api_as(role).patch(
            therapist_url(therapist.pk), {"bio": "Now deep tissue too.", "modalities": ["deep_tissue"], "active": False}
        )
        assert response.status_code == 200
        assert response.json() == {
            "id": therapist.pk,
            "name": therapist.name,
            "bio": "Now deep tissue too.",
            "modalities": ["deep_tissue"],
            "locations": [],
            "active": False,
            "email": therapist.user.email,
        }
        therapist.refresh_from_db()
        assert (therapist.gives_therapeutic, therapist.gives_deep_tissue, therapist.active) == (False, True, False)

    def test_a_deactivated_therapist_leaves_the_public_list_and_can_come_back(self, api, api_as, roster):
        staff = api_as("staff")
        therapist = roster["deep"]
        staff.patch(therapist_url(therapist.pk), {"active": False})
        assert therapist.pk not in ids(api.get(THERAPISTS))
        assert api.get(therapist_url(therapist.pk)).status_code == 404
        staff.patch(therapist_url(therapist.pk), {"active": True})
        assert therapist.pk in ids(api.get(THERAPISTS))

    def test_omitted_fields_are_unchanged(self, api_as, roster):
        therapist = roster["therapeutic"]
        response = api_as("staff").patch(therapist_url(therapist.pk), {"bio": "New"})
        assert response.status_code == 200
        assert response.json()["modalities"] == ["therapeutic"]
        assert response.json()["active"] is True

    @pytest.mark.parametrize(
        "modalities",
        [[], ["deep_tissue", "deep_tissue"], ["swedish"], "deep_tissue", None],
        ids=["empty", "duplicate", "unknown", "not-a-list", "null"],
    )
    def test_bad_modalities_are_400(self, api_as, roster, modalities):
        therapist = roster["therapeutic"]
        response = api_as("staff").patch(therapist_url(therapist.pk), {"modalities": modalities}, format="json")
        assert response.status_code == 400
        assert list(response.json()) == ["modalities"]
        therapist.refresh_from_db()
        assert therapist.modalities == ["therapeutic"]

    @pytest.mark.parametrize("role", NOT_FRONT_DESK)
    def test_clients_and_therapists_may_not_change_therapists(self, api_as, roster, role):
        therapist = roster["therapeutic"]
        assert api_as(role).patch(therapist_url(therapist.pk), {"bio": "hacked"}).status_code == 403
        therapist.refresh_from_db()
        assert therapist.bio == "Gentle."

    def test_a_therapist_may_not_change_their_own_profile_here(self, as_user, therapist):
        assert as_user(therapist.user).patch(therapist_url(therapist.pk), {"active": False}).status_code == 403

    def test_anonymous_may_not_change_therapists(self, api, roster):
        assert api.patch(therapist_url(roster["deep"].pk), {"bio": "x"}).status_code == 401

    def test_front_desk_may_reactivate_an_inactive_therapist(self, api_as, roster):
        response = api_as("admin").patch(therapist_url(roster["inactive"].pk), {"active": True})
        assert response.status_code == 200
        assert response.json()["active"] is True

    def test_an_unknown_therapist_is_404(self, api_as, db):
        assert api_as("staff").patch(therapist_url(424242), {"bio": "x"}).status_code == 404

    @pytest.mark.parametrize("method", ["put", "delete"])
    def test_put_and_delete_are_not_offered(self, api_as, roster, method):
        response = getattr(api_as("staff"), method)(therapist_url(roster["deep"].pk), {"bio": "x"})
        assert response.status_code == 405


# --- the OpenAPI schema -----------------------------------------------------------


def test_the_schema_documents_each_endpoint_with_its_errors(api, db):
    schema = api.get("/api/schema/", {"format": "json"}).json()
    paths = schema["paths"]
    # Besides their own: a body too large, throttled, the database down (config.openapi.AutoSchema).
    anywhere = {"413", "429", "503"}
    expected = {
        ("/api/v1/auth/register/", "post"): {"201", "400", "415"},
        ("/api/v1/auth/token/", "post"): {"200", "400", "415"},
        ("/api/v1/me/", "get"): {"200", "401"},
        # Public reads: no login needed, but a token sent is read (a bad one is a 401).
        ("/api/v1/clinic/", "get"): {"200", "401"},
        ("/api/v1/clinic/", "patch"): {"200", "400", "401", "403", "415"},
        ("/api/v1/therapists/", "get"): {"200", "400", "401", "404"},
        ("/api/v1/therapists/", "post"): {"201", "400", "401", "403", "415"},
        ("/api/v1/therapists/{id}/", "get"): {"200", "401", "404"},
        ("/api/v1/therapists/{id}/", "patch"): {"200", "400", "401", "403", "404", "409", "415"},
        ("/api/v1/locations/", "get"): {"200", "400", "401", "404"},
        ("/api/v1/locations/", "post"): {"201", "400", "401", "403", "415"},
        ("/api/v1/locations/{id}/", "get"): {"200", "401", "404"},
        ("/api/v1/locations/{id}/", "patch"): {"200", "400", "401", "403", "404", "409", "415"},
        ("/api/v1/rooms/", "get"): {"200", "400", "401", "403", "404"},
        ("/api/v1/rooms/", "post"): {"201", "400", "401", "403", "415"},
        ("/api/v1/rooms/{id}/", "get"): {"200", "401", "403", "404"},
        ("/api/v1/rooms/{id}/", "patch"): {"200", "400", "401", "403", "404", "409", "415"},
        ("/api/v1/rooms/{id}/", "delete"): {"204", "401", "403", "404", "409"},
        ("/api/v1/services/", "get"): {"200", "400", "401", "404"},
        ("/api/v1/services/", "post"): {"201", "400", "401", "403", "415"},
        ("/api/v1/services/{id}/", "get"): {"200", "401", "404"},
        ("/api/v1/services/{id}/", "patch"): {"200", "400", "401", "403", "404", "415"},
    }
    for (path, method), statuses in expected.items():
        assert set(paths[path][method]["responses"]) == statuses | anywhere, (path, method)
    for path in ("/api/v1/clinic/", "/api/v1/therapists/{id}/", "/api/v1/locations/{id}/", "/api/v1/services/{id}/"):
        assert "put" not in paths[path]
        assert "delete" not in paths[path] or path == "/api/v1/rooms/{id}/"
    list_params = {p["name"] for p in paths["/api/v1/therapists/"]["get"]["parameters"]}
    assert list_params == {"modality", "location", "include_inactive", "page", "page_size"}
    assert {p["name"] for p in paths["/api/v1/rooms/"]["get"]["parameters"]} == {"location", "page", "page_size"}
    conflict = paths["/api/v1/locations/{id}/"]["patch"]["responses"]["409"]["content"]["application/json"]["schema"]
    body = schema["components"]["schemas"][conflict["$ref"].rsplit("/", 1)[-1]]
    assert set(body["properties"]) == {"code", "detail", "conflicts"}
    assert set(body["required"]) == {"code", "detail", "conflicts"}
    service = schema["components"]["schemas"]["ServiceView"]
    assert service["properties"]["price"]["type"] == "string"


def test_registering_and_logging_in_share_one_budget_per_address(api, db):
    # given: an address that spent the whole `auth` budget on registrations
    for n in range(auth_rate()):
        assert api.post(REGISTER, registration(email=f"u{n}@example.com", password="x")).status_code == 400
    login = {"email": "ana@example.com", "password": STRONG_PASSWORD}
    # when / then: it may not switch to guessing passwords; another address still may try
    assert api.post(TOKEN, login).status_code == 429
    assert APIClient(REMOTE_ADDR="203.0.113.9").post(TOKEN, login).status_code == 400
