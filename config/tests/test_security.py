"""Hostile input and production settings (issue #7): throttles, the failed-login
lockout, JSON errors under /api/, request size, page size, static files."""

import json
import socket
import subprocess
import sys
from datetime import datetime, time, timedelta
from unittest import mock

import pytest
import time_machine
from axes.models import AccessAttempt
from django.core.management import call_command
from django.db import OperationalError
from django.test import RequestFactory
from django.utils import timezone
from rest_framework.test import APIClient
from rest_framework.throttling import SimpleRateThrottle

from booking.models import Shift
from booking.tests.factories import ShiftFactory
from clinic.tests.factories import (
    PASSWORD,
    ClientFactory,
    LocationFactory,
    ServiceFactory,
    StaffFactory,
    TherapistFactory,
)
from config.middleware import ApiGuardMiddleware
from config.tests.test_settings import BASE_DIR, production_env

TOKEN = "/api/v1/auth/token/"
REGISTER = "/api/v1/auth/register/"
CLINIC = "/api/v1/clinic/"
BOOKINGS = "/api/v1/bookings/"
ADMIN_LOGIN = "/admin/login/"
# Two client addresses (documentation ranges, RFC 5737).
A, B = "203.0.113.10", "198.51.100.20"
BAD_CREDENTIALS = {"non_field_errors": ["Unable to log in with the email and password given."]}
DEFAULT_RATES = {"auth": "10000/min", "user": "10000/min", "anon": "10000/min"}
# A booking the serializer refuses (no such service, no answers): a 400, before any rule of the clinic.
BAD_BOOKING = {"service": 999999, "starts_at": "2026-12-01T10:00:00-05:00", "intake": {"answers": {}}}

pytestmark = pytest.mark.django_db


@pytest.fixture
def rates():
    """`rates(auth=..., user=..., anon=...)`: throttle rates for this test.

    REST framework reads the rates into `SimpleRateThrottle.THROTTLE_RATES` when
    it is imported, so they are patched there; the others stay out of the way.
    """
    patches = []

    def set_rates(**overrides):
        patcher = mock.patch.object(SimpleRateThrottle, "THROTTLE_RATES", {**DEFAULT_RATES, **overrides})
        patcher.start()
        patches.append(patcher)

    yield set_rates
    for patcher in patches:
        patcher.stop()


def from_address(address: str, **extra) -> dict:
    return {"REMOTE_ADDR": address, **extra}


def login(api, email, password=PASSWORD, **extra):
    return api.post(TOKEN, {"email": email, "password": password}, format="json", **extra)


# --- Throttles ------------------------------------------------------------------------


class TestThrottles:
    @pytest.mark.parametrize(
        ("path", "body"),
        [
            (TOKEN, {"email": "x@example.com", "password": "wrong"}),
            (REGISTER, {"email": "not-an-email", "password": "x", "first_name": "A", "last_name": "B"}),
        ],
        ids=["login", "register"],
    )
    def test_login_and_register_are_limited_per_address(self, api, rates, path, body):
        # given: 3 attempts a minute per address
        rates(auth="3/min")
        for _ in range(3):
            assert api.post(path, body, format="json", **from_address("203.0.113.1")).status_code == 400
        # when
        throttled = api.post(path, body, format="json", **from_address("203.0.113.1"))
        other_address = api.post(path, body, format="json", **from_address("203.0.113.2"))
        # then
        assert throttled.status_code == 429
        assert 0 < int(throttled["Retry-After"]) <= 60
        assert set(throttled.json()) == {"detail"}
        assert other_address.status_code == 400

    def test_a_forged_x_forwarded_for_does_not_escape_the_limit(self, api, rates):
        # given: no proxy in front (NUM_PROXIES=0), so only the connection's address counts
        rates(auth="3/min")
        for n in range(3):
            login(api, "x@example.com", "wrong", **from_address("203.0.113.1", HTTP_X_FORWARDED_FOR=f"10.0.0.{n}"))
        # when
        response = login(api, "x@example.com", "wrong", **from_address("203.0.113.1", HTTP_X_FORWARDED_FOR="10.9.9.9"))
        # then
        assert response.status_code == 429

    def test_behind_one_proxy_the_client_is_the_last_forwarded_address(self, api, rates, settings):
        # given: one proxy; it appends the address it saw to X-Forwarded-For
        settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, "NUM_PROXIES": 1}
        rates(auth="2/min")
        proxy = "10.0.0.1"
        for _ in range(2):
            login(api, "x@example.com", "wrong", **from_address(proxy, HTTP_X_FORWARDED_FOR="forged, 198.51.100.7"))
        # when
        same_client = login(
            api, "x@example.com", "wrong", **from_address(proxy, HTTP_X_FORWARDED_FOR="other-forgery, 198.51.100.7")
        )
        other_client = login(api, "x@example.com", "wrong", **from_address(proxy, HTTP_X_FORWARDED_FOR="198.51.100.8"))
        # then
        assert same_client.status_code == 429
        assert other_client.status_code == 400

    def test_booking_writes_are_limited_per_user(self, as_user, rates, clinic):
        # given: two clients behind one address
        rates(user="3/min")
        first, second = as_user(ClientFactory()), as_user(ClientFactory())
        for _ in range(3):
            assert first.post(BOOKINGS, BAD_BOOKING, format="json").status_code == 400
        # when
        throttled = first.post(BOOKINGS, BAD_BOOKING, format="json")
        other_user = second.post(BOOKINGS, BAD_BOOKING, format="json")
        # then
        assert throttled.status_code == 429
        assert int(throttled["Retry-After"]) > 0
        assert other_user.status_code == 400

    def test_anonymous_reads_are_limited_per_address(self, api, rates, clinic):
        rates(anon="3/min")
        for _ in range(3):
            assert api.get(CLINIC, **from_address("203.0.113.1")).status_code == 200
        throttled = api.get(CLINIC, **from_address("203.0.113.1"))
        assert throttled.status_code == 429
        assert int(throttled["Retry-After"]) > 0
        assert api.get(CLINIC, **from_address("203.0.113.2")).status_code == 200

    def test_a_signed_in_user_is_not_held_to_the_anonymous_rate(self, as_user, rates, clinic):
        rates(anon="2/min", user="100/min")
        user = as_user(ClientFactory())
        assert all(user.get(CLINIC).status_code == 200 for _ in range(5))

    def test_the_admin_login_form_is_limited_per_address_like_the_api_login(self, client, rates, db):
        # given: 3 attempts a minute per address
        rates(auth="3/min")
        for _ in range(3):
            response = client.post(ADMIN_LOGIN, {"username": "x@example.com", "password": "wrong"}, REMOTE_ADDR=A)
            assert response.status_code == 200  # the form again, with its error
        # when
        throttled = client.post(ADMIN_LOGIN, {"username": "x@example.com", "password": "wrong"}, REMOTE_ADDR=A)
        other_address = client.post(ADMIN_LOGIN, {"username": "x@example.com", "password": "wrong"}, REMOTE_ADDR=B)
        # then
        assert throttled.status_code == 429
        assert 0 < int(throttled["Retry-After"]) <= 60
        assert other_address.status_code == 200
        assert client.get(ADMIN_LOGIN, REMOTE_ADDR=A).status_code == 200  # showing the form is not an attempt

    def test_a_throttled_admin_login_is_not_even_tried(self, client, rates, db):
        rates(auth="1/min")
        staff = StaffFactory()
        client.post(ADMIN_LOGIN, {"username": staff.email, "password": "wrong"})
        response = client.post(ADMIN_LOGIN, {"username": staff.email, "password": PASSWORD})
        assert response.status_code == 429
        assert "_auth_user_id" not in client.session
        assert AccessAttempt.objects.get().failures_since_start == 1  # the lockout did not count it either

    def test_admin_and_api_logins_from_one_address_share_one_budget(self, api, client, rates, db):
        rates(auth="3/min")
        login(api, "x@example.com", "wrong", **from_address(A))
        login(api, "x@example.com", "wrong", **from_address(A))
        client.post(ADMIN_LOGIN, {"username": "x@example.com", "password": "wrong"}, REMOTE_ADDR=A)
        assert client.post(ADMIN_LOGIN, {"username": "x", "password": "y"}, REMOTE_ADDR=A).status_code == 429
        assert login(api, "x@example.com", "wrong", **from_address(A)).status_code == 429


# --- Failed-login lockout (django-axes) -----------------------------------------------------


class TestLoginLockout:
    """Defaults: 5 failures for one email from one address within 15 minutes lock
    that email, from that address, for 15 minutes."""

    @pytest.fixture(autouse=True)
    def _no_throttle(self, rates):
        rates()  # the lockout, not the per-address throttle, is under test here

    def test_the_fifth_failure_locks_the_email_even_against_the_right_password(self, api, db):
        # given
        user = ClientFactory(email="ana@example.com")
        for _ in range(4):
            response = login(api, user.email, "wrong")
            assert (response.status_code, response.json()) == (400, BAD_CREDENTIALS)
        # when
        fifth = login(api, user.email, "wrong")
        right_password = login(api, user.email)
        # then
        assert fifth.status_code == 429
        assert right_password.status_code == 429
        assert int(right_password["Retry-After"]) == 15 * 60
        assert "15 minutes" in right_password.json()["detail"]

    def test_an_unknown_email_locks_exactly_like_a_known_one(self, api, db):
        ClientFactory(email="ana@example.com")
        answers = {}
        for email in ("ana@example.com", "nobody@example.com"):
            answers[email] = [login(api, email, "wrong") for _ in range(6)]
        known, unknown = answers["ana@example.com"], answers["nobody@example.com"]
        assert [r.status_code for r in known] == [r.status_code for r in unknown] == [400] * 4 + [429] * 2
        assert [r.json() for r in known] == [r.json() for r in unknown]

    def test_a_lockout_from_one_address_does_not_lock_the_email_from_another(self, api, db):
        # given: a stranger fails five times for Ana's email from address A
        user = ClientFactory(email="ana@example.com")
        for _ in range(5):
            login(api, user.email, "wrong", **from_address(A))
        # when: Ana logs in from her own address B
        from_b = login(api, user.email, **from_address(B))
        # then: she gets in; from A the email stays locked
        assert from_b.status_code == 200
        assert login(api, user.email, **from_address(A)).status_code == 429

    def test_from_one_address_it_locks_whatever_the_user_agent(self, api, db):
        user = ClientFactory()
        for n in range(5):
            login(api, user.email, "wrong", **from_address(A, HTTP_USER_AGENT=f"agent-{n}"))
        assert login(api, user.email, **from_address(A, HTTP_USER_AGENT="fresh")).status_code == 429

    def test_failures_from_several_addresses_do_not_add_up(self, api, db):
        user = ClientFactory()
        for n in range(8):
            assert login(api, user.email, "wrong", **from_address(f"203.0.113.{n // 2}")).status_code == 400
        assert login(api, user.email, **from_address(B)).status_code == 200

    def test_a_stranger_cannot_lock_an_admin_out_of_the_admin(self, api, client, db):
        # given: five wrong passwords for the admin's email, from the stranger's address
        admin = StaffFactory(email="desk@example.com")
        for _ in range(5):
            client.post(ADMIN_LOGIN, {"username": admin.email, "password": "wrong"}, REMOTE_ADDR=A)
        assert (
            client.post(ADMIN_LOGIN, {"username": admin.email, "password": PASSWORD}, REMOTE_ADDR=A).status_code == 429
        )
        # when: the admin logs in from the clinic's address
        response = client.post(
            f"{ADMIN_LOGIN}?next=/admin/", {"username": admin.email, "password": PASSWORD}, REMOTE_ADDR=B
        )
        # then
        assert (response.status_code, response["Location"]) == (302, "/admin/")

    def test_a_forged_x_forwarded_for_does_not_escape_the_lockout(self, api, db):
        # given: no proxy in front (NUM_PROXIES=0): the connection's address counts, not the header
        user = ClientFactory()
        for n in range(5):
            login(api, user.email, "wrong", **from_address(A, HTTP_X_FORWARDED_FOR=f"10.0.0.{n}"))
        assert login(api, user.email, **from_address(A, HTTP_X_FORWARDED_FOR="10.9.9.9")).status_code == 429

    def test_behind_a_proxy_the_lockout_is_per_client_address(self, api, settings, db):
        # given: one proxy, which appends the address it saw to X-Forwarded-For
        settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, "NUM_PROXIES": 1}
        user, proxy = ClientFactory(), "10.0.0.1"
        for n in range(5):
            login(api, user.email, "wrong", **from_address(proxy, HTTP_X_FORWARDED_FOR=f"forged-{n}, {A}"))
        # when
        same_client = login(api, user.email, **from_address(proxy, HTTP_X_FORWARDED_FOR=A))
        other_client = login(api, user.email, **from_address(proxy, HTTP_X_FORWARDED_FOR=B))
        # then
        assert same_client.status_code == 429
        assert other_client.status_code == 200
        assert set(AccessAttempt.objects.values_list("ip_address", flat=True)) == {A}

    def test_the_email_is_matched_whatever_its_letter_case(self, api, db):
        user = ClientFactory(email="ana@example.com")
        for email in ("ANA@example.com", "Ana@Example.com", "ana@EXAMPLE.com", " ana@example.com", "aNa@example.com"):
            login(api, email, "wrong")
        assert login(api, user.email).status_code == 429

    def test_other_emails_from_the_same_address_still_log_in(self, api, db):
        locked, other = ClientFactory(), ClientFactory()
        for _ in range(5):
            login(api, locked.email, "wrong")
        assert login(api, other.email).status_code == 200

    def test_the_lockout_ends_after_the_cool_off(self, api, db):
        user = ClientFactory()
        start = timezone.now()
        with time_machine.travel(start, tick=False):
            for _ in range(5):
                login(api, user.email, "wrong")
        with time_machine.travel(start + timedelta(minutes=14), tick=False):
            assert login(api, user.email).status_code == 429
        with time_machine.travel(start + timedelta(minutes=15, seconds=1), tick=False):
            assert login(api, user.email).status_code == 200

    def test_failures_spread_over_more_than_the_window_do_not_add_up(self, api, db):
        user = ClientFactory()
        start = timezone.now()
        with time_machine.travel(start, tick=False):
            for _ in range(4):
                login(api, user.email, "wrong")
        with time_machine.travel(start + timedelta(minutes=16), tick=False):
            assert login(api, user.email, "wrong").status_code == 400
            assert login(api, user.email).status_code == 200

    def test_a_successful_login_clears_the_failures(self, api, db):
        user = ClientFactory()
        for _ in range(4):
            login(api, user.email, "wrong")
        assert login(api, user.email).status_code == 200
        for _ in range(4):
            assert login(api, user.email, "wrong").status_code == 400
        assert login(api, user.email).status_code == 200

    def test_a_successful_login_is_recorded_as_a_login(self, api, db):
        user = ClientFactory()
        assert user.last_login is None
        login(api, user.email)
        user.refresh_from_db()
        assert user.last_login is not None

    def test_the_attempt_log_keeps_no_password(self, api, db):
        user = ClientFactory()
        api.post(TOKEN, {"email": user.email, "password": "hunter2-secret"})  # form-encoded, as the browsable API
        api.post(TOKEN, {"email": user.email, "password": "hunter2-secret"}, format="json")
        attempt = AccessAttempt.objects.get()
        assert attempt.username == user.email
        assert attempt.failures_since_start == 2
        assert "hunter2-secret" not in attempt.post_data + attempt.get_data

    def test_limits_come_from_the_settings(self, api, settings):
        settings.AXES_FAILURE_LIMIT = 2
        settings.AXES_COOLOFF_TIME = timedelta(minutes=1)
        user = ClientFactory()
        assert login(api, user.email, "wrong").status_code == 400
        assert login(api, user.email, "wrong").status_code == 429
        locked = login(api, user.email)
        assert locked.status_code == 429
        assert locked["Retry-After"] == "60"

    def test_the_admin_login_form_locks_the_same_email(self, client, db):
        admin = StaffFactory(email="desk@example.com")
        for _ in range(4):
            response = client.post("/admin/login/", {"username": admin.email, "password": "wrong"})
            assert response.status_code == 200  # the form again, with its error
        assert client.post("/admin/login/", {"username": admin.email, "password": "wrong"}).status_code == 429
        assert client.post("/admin/login/", {"username": admin.email, "password": PASSWORD}).status_code == 429
        # ...and the API refuses that email from that address too: one count per email and address
        assert login(APIClient(), admin.email).status_code == 429

    def test_the_admin_login_still_works(self, client, db):
        admin = StaffFactory()
        response = client.post("/admin/login/?next=/admin/", {"username": admin.email, "password": PASSWORD})
        assert response.status_code == 302
        assert response["Location"] == "/admin/"

    def test_an_admin_unlocks_an_email_by_deleting_its_attempts(self, api, db):
        user = ClientFactory()
        for _ in range(5):
            login(api, user.email, "wrong")
        AccessAttempt.objects.filter(username=user.email).delete()  # what "delete" in the admin's Axes page does
        assert login(api, user.email).status_code == 200

    def test_a_login_without_a_request_skips_the_lockout(self, client, db):
        """Django's test client and the shell call authenticate() without a request: no address, no lockout."""
        user = ClientFactory()
        assert client.login(email=user.email, password=PASSWORD)


# --- JSON errors under /api/, HTML elsewhere -------------------------------------------------------


class TestErrorBodies:
    def test_an_unknown_api_url_is_a_json_404(self, api):
        response = api.get("/api/v1/no-such-thing/")
        assert response.status_code == 404
        assert response["Content-Type"] == "application/json"
        assert response.json() == {"detail": "Not found."}

    def test_an_unknown_url_elsewhere_is_django_s_html_404(self, api):
        response = api.get("/no-such-page/")
        assert response.status_code == 404
        assert response["Content-Type"].startswith("text/html")

    def test_an_id_the_route_does_not_match_is_a_json_404(self, as_user):
        response = as_user(StaffFactory()).get("/api/v1/therapists/-1/")
        assert (response.status_code, response.json()) == (404, {"detail": "Not found."})

    def test_an_unexpected_error_is_a_json_500_without_details(self, clinic):
        api = APIClient(raise_request_exception=False)
        with mock.patch("clinic.api.views.selectors.clinic_get", side_effect=RuntimeError("SELECT * FROM secret")):
            response = api.get(CLINIC)
        assert response.status_code == 500
        assert response.json() == {"detail": "A server error occurred."}
        assert b"SELECT" not in response.content
        assert b"Traceback" not in response.content

    def test_an_unexpected_error_outside_the_api_is_django_s_html_500(self, db):
        client = APIClient(raise_request_exception=False)
        with mock.patch("django.contrib.admin.sites.AdminSite.each_context", side_effect=RuntimeError("boom")):
            response = client.get("/admin/login/")
        assert response.status_code == 500
        assert response["Content-Type"].startswith("text/html")
        assert b"boom" not in response.content

    def test_a_host_not_allowed_is_a_json_400_under_the_api(self, api):
        response = api.get(CLINIC, HTTP_HOST="evil.example.com")
        assert (response.status_code, response.json()) == (400, {"detail": "Bad request."})

    def test_a_body_over_the_limit_is_a_json_413(self, api, settings):
        settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1024
        response = api.post(REGISTER, {"email": "a@example.com", "password": "x" * 2000}, format="json")
        assert response.status_code == 413
        assert response.json() == {
            "code": "request_too_large",
            "detail": "The request body is larger than the 1024 bytes allowed.",
        }
        assert not AccessAttempt.objects.exists()

    @pytest.mark.parametrize("content_type", ["application/x-www-form-urlencoded", "multipart/form-data; boundary=b"])
    def test_a_form_body_over_the_limit_is_a_json_413_too(self, api, settings, content_type):
        settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1024
        response = api.generic("POST", TOKEN, b"a" * 2000, content_type=content_type)
        assert response.status_code == 413
        assert response.json()["code"] == "request_too_large"

    def test_a_body_under_the_limit_is_read_as_usual(self, api, settings):
        settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1024
        response = api.post(TOKEN, {"email": "a@example.com", "password": "x"}, format="json")
        assert response.status_code == 400

    def test_a_form_with_too_many_fields_is_refused_before_it_is_parsed(self, api, settings):
        # The API reads JSON only: a form is a 415 whatever its field count (the admin's forms keep Django's limit).
        settings.DATA_UPLOAD_MAX_NUMBER_FIELDS = 10
        body = "&".join(f"f{n}=1" for n in range(20))
        response = api.generic("POST", TOKEN, body, content_type="application/x-www-form-urlencoded")
        assert response.status_code == 415
        assert response["Content-Type"] == "application/json"

    def test_page_size_is_capped_at_500(self, as_user, clinic):
        # given: 501 shifts
        place = LocationFactory()
        therapist = TherapistFactory(locations=[place])
        start = timezone.now().replace(microsecond=0) + timedelta(days=1)
        starts = [start + timedelta(hours=n) for n in range(501)]
        Shift.objects.bulk_create(
            Shift(therapist=therapist, location=place, starts_at=s, ends_at=s + timedelta(minutes=5)) for s in starts
        )
        # when
        response = as_user(StaffFactory()).get("/api/v1/shifts/", {"page_size": 100000})
        # then
        body = response.json()
        assert response.status_code == 200
        assert (body["count"], len(body["results"])) == (501, 500)
        assert body["next"] is not None

    def test_the_offered_starts_page_is_capped_at_500_too(self, api, clinic):
        # given: twelve days of 08:00-20:00 shifts, 45 starts of an hour's session each (every 15 minutes)
        place = LocationFactory()
        therapist = TherapistFactory(locations=[place])
        first_day = timezone.localdate() + timedelta(days=2)
        days = [first_day + timedelta(days=n) for n in range(12)]
        for day in days:
            eight = datetime.combine(day, time(8), tzinfo=place.tz)
            ShiftFactory(therapist=therapist, location=place, starts_at=eight, ends_at=eight + timedelta(hours=12))
        params = {"service": ServiceFactory().pk, "from": days[0], "to": days[-1], "page_size": 100000}
        # when
        response = api.get("/api/v1/availability/", params)
        # then
        body = response.json()
        assert response.status_code == 200, body
        assert (body["count"], len(body["results"])) == (12 * 45, 500)
        assert body["next"] is not None


# --- The database failing inside the request cycle ---------------------------------------------


class TestDatabaseErrors:
    """The whole fault cycle against a real PostgreSQL that stops is in test_faults.py;
    these pin each place an error can come from."""

    def test_a_database_error_in_a_view_is_a_json_503(self, api, clinic):
        with mock.patch("clinic.api.views.selectors.clinic_get", side_effect=OperationalError("server closed")):
            response = api.get(CLINIC)
        assert response.status_code == 503
        assert response.json()["code"] == "service_unavailable"
        assert response["Retry-After"] == "5"

    def test_a_database_error_while_checking_a_token_is_a_json_503(self, as_user, clinic):
        api = as_user(ClientFactory())
        with mock.patch(
            "clinic.authentication.TokenAuthentication.authenticate_credentials",
            side_effect=OperationalError("connection refused"),
        ):
            response = api.get("/api/v1/me/")
        assert response.status_code == 503
        assert response.json()["code"] == "service_unavailable"

    def test_a_database_error_in_a_middleware_is_a_json_503_under_the_api(self, db):
        api = APIClient(raise_request_exception=False)
        with mock.patch(
            "django.contrib.sessions.middleware.SessionMiddleware.process_request",
            side_effect=OperationalError("connection refused"),
        ):
            api_response = api.get(CLINIC)
            health = api.get("/healthz/")
            admin = api.get("/admin/login/")
        assert api_response.status_code == health.status_code == 503
        assert api_response.json()["code"] == health.json()["code"] == "service_unavailable"
        assert admin.status_code == 500
        assert admin["Content-Type"].startswith("text/html")

    def test_a_database_error_escaping_a_plain_django_view_is_a_json_503(self):
        request = RequestFactory().get("/api/v1/anything/")
        response = ApiGuardMiddleware(lambda r: None).process_exception(request, OperationalError("gone"))
        assert response.status_code == 503
        assert json.loads(response.content)["code"] == "service_unavailable"

    def test_the_guard_leaves_other_paths_and_errors_alone(self):
        guard = ApiGuardMiddleware(lambda r: None)
        assert guard.process_exception(RequestFactory().get("/admin/"), OperationalError("gone")) is None
        assert guard.process_exception(RequestFactory().get("/api/v1/x/"), ValueError("x")) is None


# --- Static files (WhiteNoise) -------------------------------------------------------------------


def test_collected_static_files_are_served_by_the_app_with_long_caching(db, settings, tmp_path):
    # given: static files collected as the Dockerfile does
    settings.STATIC_ROOT = tmp_path
    call_command("collectstatic", "--noinput", verbosity=0)
    api = APIClient()
    # when: the Swagger UI page and the files it links
    page = api.get("/api/docs/").content.decode()
    bundle = next(word for word in page.split('"') if "swagger-ui-bundle." in word and word.endswith(".js"))
    admin_css = api.get("/admin/login/").content.decode()
    css = next(word for word in admin_css.split('"') if "/static/admin/css/base." in word)
    # then: hashed names, served with a far-future cache
    for url in (bundle, css):
        response = api.get(url)
        assert response.status_code == 200, url
        assert "immutable" in response["Cache-Control"]
        assert b"".join(response.streaming_content if response.streaming else [response.content])


def test_without_collected_files_pages_still_render(api, db):
    assert api.get("/api/docs/").status_code == 200
    assert api.get("/admin/login/").status_code == 200


# --- Settings from the environment -----------------------------------------------------------------


PRINT = """
import json, django
django.setup()
from django.conf import settings as s
print(json.dumps({
    "num_proxies": s.REST_FRAMEWORK["NUM_PROXIES"],
    "failure_limit": s.AXES_FAILURE_LIMIT,
    "cool_off": s.AXES_COOLOFF_TIME.total_seconds(),
    "proxy_header": getattr(s, "SECURE_PROXY_SSL_HEADER", None),
    "storage": s.STORAGES["staticfiles"]["BACKEND"],
    "middleware": s.MIDDLEWARE,
}))
"""


def load(**env) -> dict:
    result = subprocess.run(
        [sys.executable, "-c", PRINT],
        cwd=BASE_DIR,
        env=production_env(**env),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


@pytest.mark.slow
def test_security_settings_come_from_the_environment():
    production = load()
    assert (production["num_proxies"], production["failure_limit"], production["cool_off"]) == (1, 5, 900)
    assert production["proxy_header"] == ["HTTP_X_FORWARDED_PROTO", "https"]
    assert production["storage"] == "config.storage.StaticFilesStorage"
    assert production["middleware"][:2] == [
        "django.middleware.security.SecurityMiddleware",
        "config.middleware.StaticFilesMiddleware",
    ]
    assert production["middleware"][-1] == "axes.middleware.AxesMiddleware"
    tuned = load(NUM_PROXIES="2", AXES_FAILURE_LIMIT="10", AXES_COOLOFF_MINUTES="60", TRUST_X_FORWARDED_PROTO="false")
    assert (tuned["num_proxies"], tuned["failure_limit"], tuned["cool_off"]) == (2, 10, 3600)
    assert tuned["proxy_header"] is None


@pytest.mark.slow
def test_unset_the_defaults_are_safe():
    env = production_env()
    for name in ("NUM_PROXIES", "AXES_FAILURE_LIMIT", "AXES_COOLOFF_MINUTES", "TRUST_X_FORWARDED_PROTO"):
        env.pop(name)
    result = subprocess.run(
        [sys.executable, "-c", PRINT], cwd=BASE_DIR, env=env, capture_output=True, text=True, timeout=120, check=False
    )
    assert result.returncode == 0, result.stderr
    loaded = json.loads(result.stdout)
    assert (loaded["num_proxies"], loaded["failure_limit"], loaded["cool_off"]) == (0, 5, 900)
    assert loaded["proxy_header"] is None


class TestCacheOutage:
    """The throttles' shared cache down (a real Redis client, a port nothing listens on): 503 JSON, never a 500."""

    def test_an_unreachable_redis_is_a_json_503(self, api, clinic, settings):
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            port = probe.getsockname()[1]
        settings.CACHES = {
            "default": {
                "BACKEND": "django.core.cache.backends.redis.RedisCache",
                "LOCATION": f"redis://127.0.0.1:{port}/0",
                "OPTIONS": {"socket_connect_timeout": 1},
            }
        }
        response = APIClient(raise_request_exception=False).get(CLINIC)
        assert response.status_code == 503
        assert response.json()["code"] == "service_unavailable"
        assert response["Retry-After"] == "5"
