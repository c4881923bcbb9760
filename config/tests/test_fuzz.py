"""The API fuzzed against its own OpenAPI schema (schemathesis), as anonymous, a client and staff.

Every operation of the schema served at /api/schema/ gets up to
`MAX_EXAMPLES` requests, valid and invalid (Hypothesis, derandomized: the
same cases on every run), sent through the WSGI application in this process
against the test database. Each answer must:

- not be a server error (no 5xx);
- have a status code the schema documents for that operation;
- have a documented Content-Type and a body matching the documented schema.

Path ids are drawn half the time from a small world built for each test (a
therapist with shifts at a location with rooms, working hours, time off, a
closure, a service, a booking of the client's in a room),
so the fuzz reaches real objects and not only 404s. Throttles are lifted:
they are tested in test_security.py (429 is documented on every operation,
as are 413 and 503, which the fuzz cannot provoke).

Findings, each fixed at its cause with a regression test, are listed in
docs/security.md.
"""

import functools
from datetime import timedelta
from unittest import mock

import pytest
import schemathesis
from django.core.handlers.wsgi import WSGIHandler
from django.core.signals import request_finished, request_started
from django.db import close_old_connections
from django.test import override_settings
from django.utils import timezone
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st
from knox.models import AuthToken
from rest_framework.throttling import SimpleRateThrottle
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from booking.models import TimeOff, WorkingHours
from booking.tests.factories import BookingFactory, ClosureFactory, ShiftFactory
from booking.waitlist import waitlist_join
from clinic.tests.factories import (
    ClientFactory,
    RoomFactory,
    ServiceFactory,
    StaffFactory,
    TherapistFactory,
    clinic_configure,
)
from integrations.models import WebhookSubscription

MAX_EXAMPLES = 25
# Three of the root conftest's ROLES: the fuzz is the slowest module, and who may do what is
# test_role_matrix.py's job.
FUZZED_ROLES = ("anonymous", "client", "staff")
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]
# Schemathesis' WSGI client sends `Host: localhost`.
HOSTS = ["localhost", "testserver"]
NO_THROTTLES = {"auth": "1000000/min", "user": "1000000/min", "anon": "1000000/min"}
FUZZING = hypothesis_settings(
    max_examples=MAX_EXAMPLES,
    derandomize=True,  # the same requests on every run
    database=None,
    deadline=None,
    suppress_health_check=list(HealthCheck),
)
CONFIG = schemathesis.Config.from_dict(
    {
        "seed": 20261201,
        # Credentials are the test's (one token per role), not generated.
        "generation": {"deterministic": True, "database": "none", "with-security-parameters": False},
    }
)


@functools.cache
def api_schema():
    """The schema as the running app serves it."""
    # A handler of its own, built with the test suite's plain HTTP: it is made at
    # collection, before the autouse fixtures turn the HTTPS redirect off, and a
    # handler's middleware reads the settings once.
    with override_settings(ALLOWED_HOSTS=HOSTS, SECURE_SSL_REDIRECT=False):
        application = WSGIHandler()
        return schemathesis.openapi.from_wsgi("/api/schema/?format=json", application, config=CONFIG)


def operations():
    return [result.ok() for result in api_schema().get_all_operations()]


def pytest_generate_tests(metafunc):
    if "operation" in metafunc.fixturenames:
        found = operations()
        metafunc.parametrize("operation", found, ids=[f"{op.method.upper()} {op.path}" for op in found])


@pytest.fixture(params=FUZZED_ROLES)
def role(request):
    return request.param


@pytest.fixture
def world(transactional_db, role):
    """Objects for the path ids to hit, and the caller's token header."""
    clinic_configure()
    client = ClientFactory()
    room = RoomFactory()
    location = room.location
    therapist = TherapistFactory(locations=[location])
    service = ServiceFactory()
    soon = (timezone.now() + timedelta(days=3)).replace(minute=0, second=0, microsecond=0)
    shift = ShiftFactory(therapist=therapist, location=location, starts_at=soon, ends_at=soon + timedelta(hours=8))
    booking = BookingFactory(
        client=client, therapist=therapist, location=location, room=room, service=service, starts_at=soon
    )
    ids = {
        "bookings": booking.pk,
        "shifts": shift.pk,
        "therapists": therapist.pk,
        "locations": location.pk,
        "rooms": room.pk,
        "services": service.pk,
        "closures": ClosureFactory(
            location=location, starts_at=soon + timedelta(days=25), ends_at=soon + timedelta(days=26)
        ).pk,
        "working-hours": WorkingHours.objects.create(
            therapist=therapist, location=location, weekday=1, start_time="09:00", end_time="17:00"
        ).pk,
        "time-off": TimeOff.objects.create(
            therapist=therapist, starts_at=soon + timedelta(days=20), ends_at=soon + timedelta(days=21)
        ).pk,
        # (the offers' paths take an offer's id: none exists, so they answer 404 whatever is sent)
        "waitlist": waitlist_join(
            client=client, service_id=service.pk, from_date=soon.date(), to_date=soon.date() + timedelta(days=7)
        ).pk,
        "webhooks": WebhookSubscription.objects.create(
            url="https://hooks.example.com/clinic", events=["booking.created"], secret="whsec_" + "A" * 43
        ).pk,
    }
    user = {"anonymous": None, "client": client, "staff": StaffFactory()}[role]
    headers = {}
    if user is not None:
        _, token = AuthToken.objects.create(user)
        headers["Authorization"] = f"Token {token}"
    return {"ids": ids, "headers": headers, "feed_token": therapist.feed_token, "service": service.pk}


def known_object(operation, world) -> dict:
    """Fixed parameters that name an object of the world, for the operations that take one."""
    resource = operation.path.removeprefix("/api/v1/").split("/")[0]
    fixed = {}
    if "{id}" in operation.path and resource in world["ids"] and "/offers/" not in operation.path:
        fixed["path_parameters"] = {"id": world["ids"][resource]}
    if operation.path.endswith("calendar.ics"):
        fixed["query"] = {"token": world["feed_token"]}
    if operation.path == "/api/v1/availability/":
        fixed["query"] = {"service": world["service"]}
    return fixed


def cases(operation, world):
    """Valid and invalid requests; half of them about a known object where the operation takes one."""
    fixed = known_object(operation, world)
    strategies = []
    for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
        strategies.append(operation.as_strategy(generation_mode=mode))
        if fixed:
            strategies.append(operation.as_strategy(generation_mode=mode, **fixed))
    return st.one_of(strategies)


@pytest.mark.django_db(transaction=True)
def test_the_api_keeps_its_schema_under_fuzzing(operation, world, settings):
    settings.ALLOWED_HOSTS = HOSTS
    sent = 0

    @given(case=cases(operation, world))
    @FUZZING
    def fuzz(case):
        nonlocal sent
        sent += 1
        case.call_and_validate(headers=world["headers"], checks=CHECKS)

    with mock.patch.object(SimpleRateThrottle, "THROTTLE_RATES", NO_THROTTLES):
        fuzz()
    print(f"fuzzed {operation.method.upper()} {operation.path}: {sent} requests")


# --- What the fuzz found: each finding, replayed ------------------------------------------------
# (found → fixed at its cause; docs/security.md lists them)


def replay(method: str, path: str, *, world=None, headers=None, query=None, body=None, content_type=None, **params):
    """Send one request through the app as the fuzz does, and hold its answer to the same checks."""
    case = api_schema()[path][method].Case(path_parameters=params or None, query=query)
    extra = {}
    if body is not None:
        extra = {"data": body, "content_type": content_type or "application/json"}
    headers = {**(world or {}).get("headers", {}), **(headers or {})}
    return case.call_and_validate(headers=headers, checks=CHECKS, **extra)


@pytest.fixture
def replaying(settings, db):
    """In the test's transaction: as Django's test client does, the app keeps the test's connection."""
    settings.ALLOWED_HOSTS = HOSTS
    clinic_configure()
    for signal in (request_started, request_finished):
        signal.disconnect(close_old_connections)
    yield
    for signal in (request_started, request_finished):
        signal.connect(close_old_connections)


@pytest.fixture
def as_staff(replaying):
    _, token = AuthToken.objects.create(StaffFactory())
    return {"headers": {"Authorization": f"Token {token}"}}


@pytest.fixture
def as_client(replaying):
    _, token = AuthToken.objects.create(ClientFactory())
    return {"headers": {"Authorization": f"Token {token}"}}


@pytest.mark.parametrize("path", ["/api/v1/shifts/{id}/", "/api/v1/therapists/{id}/", "/api/v1/bookings/{id}/"])
def test_found_an_id_the_route_does_not_match_was_an_html_404(as_staff, path):
    assert replay("GET", path, world=as_staff, id=-1).status_code == 404  # JSON, documented


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("POST", "/api/v1/bookings/{id}/cancel/"),
        ("GET", "/api/v1/shifts/"),
        ("POST", "/api/v1/time-off/"),
        ("DELETE", "/api/v1/working-hours/{id}/"),
        ("GET", "/api/v1/bookings/{id}/intake/access-log/"),
    ],
)
def test_found_401_undocumented_where_a_login_is_required(replaying, method, path):
    params = {"id": 1} if "{id}" in path else {}
    assert replay(method, path, **params).status_code == 401


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/api/v1/shifts/{id}/"),
        ("POST", "/api/v1/shifts/"),
        ("DELETE", "/api/v1/time-off/{id}/"),
        ("PATCH", "/api/v1/working-hours/{id}/"),
    ],
)
def test_found_403_undocumented_where_a_role_is_refused(as_client, method, path):
    params = {"id": 1} if "{id}" in path else {}
    assert replay(method, path, world=as_client, **params).status_code == 403


@pytest.mark.parametrize(
    "path",
    ["/api/v1/therapists/", "/api/v1/bookings/", "/api/v1/shifts/", "/api/v1/time-off/", "/api/v1/working-hours/"],
)
def test_found_404_undocumented_for_a_page_past_the_end(as_staff, path):
    assert replay("GET", path, world=as_staff, query={"page": 99}).status_code == 404


def test_found_404_undocumented_for_a_page_of_availability(replaying):
    day = timezone.localdate().isoformat()
    query = {"service": ServiceFactory().pk, "from": day, "to": day, "page": 99}
    assert replay("GET", "/api/v1/availability/", query=query).status_code == 404


@pytest.mark.parametrize("path", ["/api/v1/time-off/", "/api/v1/working-hours/"])
def test_found_400_undocumented_for_a_bad_filter_value(as_staff, path):
    assert replay("GET", path, world=as_staff, query={"therapist": 999999}).status_code == 400


def test_found_a_body_that_is_not_json_was_a_400_outside_the_intake_error_schema(replaying):
    assert replay("POST", "/api/v1/intake/assess/", body=b"\x00").status_code == 400


def test_found_a_body_that_is_not_json_was_an_undocumented_400(as_staff):
    booking = BookingFactory()
    response = replay("POST", "/api/v1/bookings/{id}/cancel/", world=as_staff, body=b"\x00", id=booking.pk)
    assert response.status_code == 400


@pytest.mark.parametrize("content_type", ["text/plain", "application/xml"])
def test_found_an_unreadable_media_type_was_an_undocumented_415(as_staff, content_type):
    therapist = TherapistFactory()
    response = replay(
        "PATCH", "/api/v1/therapists/{id}/", world=as_staff, body=b"bio=x", content_type=content_type, id=therapist.pk
    )
    assert response.status_code == 415


@pytest.mark.parametrize("query", [{}, {"include_inactive": "true"}])
def test_found_the_staff_view_of_a_therapist_matched_both_schemas_of_a_oneof(as_staff, query):
    therapist = TherapistFactory()
    assert replay("GET", "/api/v1/therapists/", world=as_staff, query=query).status_code == 200
    assert replay("GET", "/api/v1/therapists/{id}/", world=as_staff, id=therapist.pk).status_code == 200


def test_found_working_hours_times_did_not_match_their_schema_format(as_staff):
    location = RoomFactory().location
    hours = WorkingHours.objects.create(
        therapist=TherapistFactory(locations=[location]),
        location=location,
        weekday=1,
        start_time="09:00",
        end_time="17:30",
    )
    assert replay("GET", "/api/v1/working-hours/{id}/", world=as_staff, id=hours.pk).json()["end_time"] == "17:30:00"
    assert replay("GET", "/api/v1/working-hours/", world=as_staff).status_code == 200


# --- The contract's own answers, replayed (config/openapi.py) ------------------------------------


@pytest.mark.parametrize("content_type", ["application/x-www-form-urlencoded", "multipart/form-data; boundary=b"])
def test_a_form_body_is_a_documented_415(replaying, content_type):
    assert replay("POST", "/api/v1/auth/register/", body=b"email=a", content_type=content_type).status_code == 415


def test_a_bad_token_on_a_public_read_is_a_documented_401(replaying):
    assert replay("GET", "/api/v1/clinic/", headers={"Authorization": "Token not-a-token"}).status_code == 401


def test_the_calendar_is_documented_text(replaying):
    therapist = TherapistFactory()
    query = {"token": therapist.feed_token}
    response = replay("GET", "/api/v1/therapists/{id}/calendar.ics", query=query, id=therapist.pk)
    assert response.status_code == 200
    assert response.text.startswith("BEGIN:VCALENDAR")
