"""Response headers (issue #10, finding 10): no cache keeps personal or health data;
the docs pages run only the sidecar's own scripts (Content-Security-Policy)."""

import base64
import hashlib
import re
from datetime import timedelta

import pytest
from django.core.management import call_command
from django.utils import timezone
from rest_framework.test import APIClient

from booking.tests.factories import BookingFactory, ShiftFactory
from clinic.tests.factories import (
    PASSWORD,
    ClientFactory,
    LocationFactory,
    ServiceFactory,
    StaffFactory,
    TherapistFactory,
)
from config.middleware import PUBLIC_API_ANSWERS

pytestmark = pytest.mark.django_db

ANSWERS = {"pressure_preference": "medium", "primary_goal": "relaxation", "consent": True}


def no_store(response) -> bool:
    return "no-store" in response.get("Cache-Control", "")


@pytest.fixture
def world(clinic):
    """A client's booking (and its intake) of a service with a therapist at a location, in their shift; staff."""
    place = LocationFactory()
    therapist = TherapistFactory(locations=[place])
    service = ServiceFactory()
    client = ClientFactory()
    shift = ShiftFactory(therapist=therapist, location=place)  # three days ahead, eight hours
    booking = BookingFactory(
        client=client, therapist=therapist, location=place, service=service, starts_at=shift.starts_at
    )
    return {
        "client": client,
        "therapist": therapist,
        "staff": StaffFactory(),
        "booking": booking,
        "service": service,
        "location": place,
    }


def url_of(path: str, world) -> str:
    """`path` with the world's ids and dates (this week, in the clinic's zone) filled in."""
    today = timezone.localdate()
    return path.format(
        booking=world["booking"].pk,
        therapist=world["therapist"].pk,
        service=world["service"].pk,
        location=world["location"].pk,
        today=today,
        week=today + timedelta(days=7),
    )


# --- Cache-Control: no-store ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("role", "path"),
    [
        ("client", "/api/v1/me/"),
        ("client", "/api/v1/me/export/"),
        ("client", "/api/v1/bookings/"),
        ("client", "/api/v1/bookings/{booking}/"),
        ("client", "/api/v1/bookings/{booking}/intake/"),
        ("client", "/api/v1/bookings/{booking}/intake/access-log/"),
        ("therapist", "/api/v1/therapists/me/day/?date={today}"),
        ("therapist", "/api/v1/therapists/me/feed/"),
        ("staff", "/api/v1/shifts/"),
        ("staff", "/api/v1/working-hours/"),
        ("staff", "/api/v1/time-off/"),
        ("staff", "/api/v1/closures/"),
        ("staff", "/api/v1/rooms/"),
        # Public reads, but signed in: staff see more (emails, inactive therapists).
        ("staff", "/api/v1/therapists/"),
        ("staff", "/api/v1/clinic/"),
        ("staff", "/api/v1/locations/"),
        ("staff", "/api/v1/services/"),
        ("client", "/api/v1/availability/?service={service}&from={today}&to={week}"),
        ("staff", "/api/v1/availability/?service={service}&from={today}&to={week}&location={location}"),
    ],
)
def test_what_a_signed_in_user_reads_is_never_stored(as_user, world, role, path):
    user = world[role].user if role == "therapist" else world[role]
    response = as_user(user).get(url_of(path, world))
    assert response.status_code == 200, response.content
    assert response["Cache-Control"] == "no-store"


def test_the_calendar_feed_is_never_stored(api, world):
    therapist = world["therapist"]
    response = api.get(f"/api/v1/therapists/{therapist.pk}/calendar.ics", {"token": therapist.feed_token})
    assert response.status_code == 200
    assert response["Cache-Control"] == "no-store"


def test_login_and_registration_answers_carry_tokens_and_are_never_stored(api, world):
    login = api.post("/api/v1/auth/token/", {"email": world["client"].email, "password": PASSWORD}, format="json")
    register = api.post(
        "/api/v1/auth/register/",
        {"email": "new@example.com", "password": PASSWORD, "first_name": "N", "last_name": "U"},
        format="json",
    )
    assert (login.status_code, register.status_code) == (200, 201)
    assert no_store(login)
    assert no_store(register)


def test_an_anonymous_assessment_of_health_answers_is_never_stored(api, clinic):
    response = api.post("/api/v1/intake/assess/", ANSWERS, format="json")
    assert response.status_code == 200
    assert no_store(response)


@pytest.mark.parametrize(
    ("method", "path", "status"),
    [
        ("get", "/api/v1/me/", 401),
        ("get", "/api/v1/no-such-thing/", 404),
        ("post", "/api/v1/auth/token/", 400),
    ],
)
def test_errors_are_never_stored(api, clinic, method, path, status):
    response = getattr(api, method)(path)
    assert response.status_code == status
    assert no_store(response)


def test_a_throttled_answer_is_never_stored(api, clinic, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 10
    response = api.post("/api/v1/auth/token/", {"email": "a@example.com", "password": "x" * 20}, format="json")
    assert response.status_code == 413  # answered by a middleware, before any view
    assert no_store(response)


@pytest.mark.parametrize(
    "path",
    [
        "/api/v1/clinic/",
        "/api/v1/therapists/",
        "/api/v1/therapists/{therapist}/",
        "/api/v1/locations/",
        "/api/v1/locations/{location}/",
        "/api/v1/services/",
        "/api/v1/services/{service}/",
        "/api/v1/availability/?service={service}&from={today}&to={week}",
        "/api/v1/intake/form/",
        "/api/schema/",
    ],
)
def test_public_answers_to_anonymous_callers_may_be_cached(api, world, path):
    response = api.get(url_of(path, world))
    assert response.status_code == 200
    assert not no_store(response)


def test_a_public_read_with_a_token_is_never_stored(world):
    """A token the API does not accept still marks the request as someone's."""
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION="Token not-a-valid-token")
    response = api.get("/api/v1/clinic/")
    assert response.status_code == 401
    assert no_store(response)


def test_every_public_answer_is_a_route_of_the_api():
    """A renamed route must not leave a stale name behind in the allow list."""
    from django.urls import reverse

    for name in PUBLIC_API_ANSWERS:
        kwargs = {"pk": 1} if name.endswith("-detail") else {}
        assert reverse(name, kwargs=kwargs).startswith("/api/")


def test_pages_outside_the_api_keep_their_own_headers(api, clinic):
    health = api.get("/healthz/")
    assert "no-store" in health["Cache-Control"]  # never_cache, Django's long form
    assert health["Cache-Control"] != "no-store"


# --- Content-Security-Policy of the docs pages ---------------------------------------------------


def policy(response) -> dict[str, list[str]]:
    directives = {}
    for part in response["Content-Security-Policy"].split(";"):
        name, *sources = part.split()
        directives[name] = sources
    return directives


def inline_elements(html: str, tag: str) -> list[str]:
    """The text of each <tag> element without a src attribute."""
    return [body for attrs, body in re.findall(rf"<{tag}(\b[^>]*)>(.*?)</{tag}>", html, re.S) if "src=" not in attrs]


def sha256_source(text: str) -> str:
    return "'sha256-" + base64.b64encode(hashlib.sha256(text.encode()).digest()).decode() + "'"


@pytest.fixture
def collected(settings, tmp_path):
    """Static files collected as the Dockerfile does, so the pages link their hashed files."""
    settings.STATIC_ROOT = tmp_path
    call_command("collectstatic", "--noinput", verbosity=0)


@pytest.mark.parametrize("path", ["/api/docs/", "/api/redoc/"])
def test_the_docs_pages_allow_scripts_from_this_site_only(api, collected, path):
    response = api.get(path)
    assert response.status_code == 200
    csp = policy(response)
    assert csp["default-src"] == ["'none'"]
    assert csp["script-src"] == ["'self'"]
    assert csp["connect-src"] == ["'self'"]  # the schema, and Swagger UI's "Try it out"
    assert csp["frame-ancestors"] == ["'none'"]
    assert csp["base-uri"] == ["'none'"]
    for sources in csp.values():
        assert not any(source.startswith(("http:", "https:", "*")) for source in sources), csp


@pytest.mark.parametrize("path", ["/api/docs/", "/api/redoc/"])
def test_the_docs_pages_have_no_inline_script_and_load_scripts_from_this_site(api, collected, path):
    html = api.get(path).content.decode()
    assert inline_elements(html, "script") == []
    sources = re.findall(r'<script[^>]*\bsrc="([^"]+)"', html)
    assert sources
    assert all(source.startswith("/") and not source.startswith("//") for source in sources), sources


def test_swagger_ui_s_start_up_script_is_a_file_of_its_own(api, collected):
    html = api.get("/api/docs/").content.decode()
    start_up = next(src for src in re.findall(r'<script[^>]*\bsrc="([^"]+)"', html) if src.startswith("/api/docs/"))
    script = api.get(start_up.replace("&amp;", "&"))
    assert script.status_code == 200
    assert script["Content-Type"].startswith("application/javascript")
    assert b"SwaggerUIBundle(" in script.content


def test_swagger_ui_s_inline_style_is_allowed_by_its_hash_and_nothing_else_inline(api, collected):
    response = api.get("/api/docs/")
    styles = inline_elements(response.content.decode(), "style")
    style_src = policy(response)["style-src"]
    assert styles
    assert "'unsafe-inline'" not in style_src
    for style in styles:
        assert sha256_source(style) in style_src


def test_redoc_may_style_itself_inline_and_search_in_a_worker_of_its_own(api, collected):
    csp = policy(api.get("/api/redoc/"))
    assert csp["style-src"] == ["'self'", "'unsafe-inline'"]  # styled-components writes <style> at run time
    assert csp["worker-src"] == ["'self'", "blob:"]
    assert "fonts.googleapis.com" not in " ".join(sum(csp.values(), []))


def test_other_pages_carry_no_docs_policy(api, db):
    assert "Content-Security-Policy" not in api.get("/admin/login/")
