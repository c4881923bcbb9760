"""A client generated from the served schema, by a tool the project did not write, books a session.

`openapi-python-client` (pinned in requirements-dev.txt) generates a Python
client from `/api/schema/` as this test's URL conf serves it; every module
of it must import, and a booking flow runs through it against the app in
this process (httpx's WSGI transport): register, availability, assess, book
with an Idempotency-Key, reschedule, read the intake; the therapist's day,
review and calendar; the front desk's list; cancel. Every answer, refusals
included, must parse into the generated models. A schema change that breaks
a generated client fails here; fix the schema, not this test.
"""

import importlib
import os
import pkgutil
import subprocess
import sys
import uuid
from datetime import datetime, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import httpx
import pytest
from django.core.wsgi import get_wsgi_application
from django.test import Client as DjangoClient
from django.utils import timezone

from booking.tests.factories import ShiftFactory
from clinic.tests.factories import (
    PASSWORD,
    ClientFactory,
    LocationFactory,
    RoomFactory,
    ServiceFactory,
    StaffFactory,
    TherapistFactory,
    clinic_configure,
)

pytestmark = pytest.mark.slow

PACKAGE = "clinic_api_client"
GENERATOR = Path(sys.executable).parent / "openapi-python-client"
BASE_URL = "http://testserver"
ANSWERS = {
    "pressure_preference": "medium",
    "primary_goal": "stress_relief",
    "focus_areas": ["neck", "shoulders"],
    "notes": "Desk job; my shoulders are tight.",
    "consent": True,
}


@pytest.fixture(scope="module")
def generated(tmp_path_factory, django_db_setup, django_db_blocker):
    """The client package generated from the served schema, importable; the generator's output."""
    root = tmp_path_factory.mktemp("generated")
    with django_db_blocker.unblock():
        response = DjangoClient().get("/api/schema/", {"format": "json"})
    assert response.status_code == 200
    (root / "schema.json").write_bytes(response.content)
    # The generator formats its output with ruff, found on PATH next to it.
    env = {**os.environ, "PATH": f"{GENERATOR.parent}{os.pathsep}{os.environ.get('PATH', '')}"}
    run = subprocess.run(
        [str(GENERATOR), "generate", "--path", "schema.json", "--output-path", PACKAGE, "--meta", "none"],
        cwd=root,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    sys.path.insert(0, str(root))
    yield run
    sys.path.remove(str(root))
    for name in [name for name in sys.modules if name == PACKAGE or name.startswith(f"{PACKAGE}.")]:
        del sys.modules[name]


def operation(tag: str, operation_id: str):
    """The generated module of one operation: `operation("bookings", "bookings_create").sync(...)`."""
    return importlib.import_module(f"{PACKAGE}.api.{tag.replace('-', '_')}.{operation_id}")


def test_the_client_generates_without_a_warning_and_every_module_imports(generated):
    output = generated.stdout + generated.stderr
    assert generated.returncode == 0, output
    assert "Warning" not in output, output
    assert "Error" not in output, output

    package = importlib.import_module(PACKAGE)
    modules = [info.name for info in pkgutil.walk_packages(package.__path__, f"{PACKAGE}.")]
    for name in modules:
        importlib.import_module(name)  # NameError, SyntaxError... fail here
    assert f"{PACKAGE}.api.bookings.bookings_create" in modules
    assert f"{PACKAGE}.api.calendar.therapist_calendar_feed" in modules


@pytest.fixture
def world(transactional_db):
    """A location with a room, a 60-minute service, a therapist there 09:00-17:00 in three days, the front desk."""
    clinic_configure()
    location = LocationFactory(name="Midtown", uses_rooms=True, time_zone="America/New_York")
    RoomFactory(location=location, name="Room 1")
    therapist = TherapistFactory(locations=[location])
    day = timezone.localdate(timezone=ZoneInfo(location.time_zone)) + timedelta(days=3)
    starts = datetime.combine(day, time(9), tzinfo=ZoneInfo(location.time_zone))
    ShiftFactory(therapist=therapist, location=location, starts_at=starts, ends_at=starts + timedelta(hours=8))
    return {
        "service": ServiceFactory(),
        "therapist": therapist,
        "day": day,
        "staff": StaffFactory(),
        "other_client": ClientFactory(),
    }


@pytest.mark.django_db(transaction=True)
def test_a_booking_flow_through_the_generated_client(generated, world):
    assert generated.returncode == 0, generated.stdout + generated.stderr
    client_module = importlib.import_module(f"{PACKAGE}.client")
    m = importlib.import_module(f"{PACKAGE}.models")
    transport = httpx.WSGITransport(app=get_wsgi_application())

    def signed_in(token: str):
        return client_module.AuthenticatedClient(
            base_url=BASE_URL, token=token, prefix="Token", httpx_args={"transport": transport}
        )

    def log_in(user):
        body = m.CredentialsRequest(email=user.email, password=PASSWORD)
        token = operation("auth", "auth_token").sync_detailed(client=anyone, body=body).parsed
        assert isinstance(token, m.Token)
        return signed_in(token.token)

    anyone = client_module.Client(base_url=BASE_URL, httpx_args={"transport": transport})
    service, therapist = world["service"], world["therapist"]

    # A new client registers.
    registered = (
        operation("auth", "auth_register")
        .sync_detailed(
            client=anyone,
            body=m.RegisterRequest(
                email="maria.lopez@example.com",
                password="wild-lavender-river-42",
                first_name="Maria",
                last_name="Lopez",
            ),
        )
        .parsed
    )
    assert isinstance(registered, m.Registered)
    me = signed_in(registered.token)

    # Availability of the service that day, then the form and an assessment of the answers.
    offered = operation("availability", "availability_list").sync_detailed(
        client=anyone, service=service.pk, from_=world["day"], to=world["day"]
    )
    assert isinstance(offered.parsed, m.PaginatedOfferedStartList), offered.content
    starts = [start.starts_at for start in offered.parsed.results]
    assert len(starts) > 8
    form = operation("intake", "intake_form").sync_detailed(client=anyone).parsed
    assert isinstance(form, m.FormDefinition)
    answers = m.IntakeAnswersRequest.from_dict(ANSWERS)
    assessment = operation("intake", "intake_assess").sync_detailed(client=anyone, body=answers).parsed
    assert isinstance(assessment, m.Assessment)
    assert assessment.modality == m.ModalityEnum.THERAPEUTIC

    # Book the first start with an Idempotency-Key; the same request again replays the booking.
    book = operation("bookings", "bookings_create")
    body = m.BookingCreateRequest(
        service=service.pk, starts_at=starts[0], intake=m.IntakeAnswersInputRequest(answers=answers)
    )
    key = str(uuid.uuid4())
    created = book.sync_detailed(client=me, body=body, idempotency_key=key)
    assert created.status_code == 201
    booking = created.parsed
    assert isinstance(booking, m.Booking), created.content
    assert (booking.starts_at, booking.therapist.id, booking.status) == (starts[0], therapist.pk, "confirmed")
    assert booking.room.name == "Room 1"
    replayed = book.sync_detailed(client=me, body=body, idempotency_key=key)
    assert replayed.headers["Idempotent-Replayed"] == "true"
    assert isinstance(replayed.parsed, m.Booking)
    assert replayed.parsed.id == booking.id

    # A refusal parses too: a time without a UTC offset is a 400 with the field's messages.
    naive = m.BookingCreateRequest(
        service=service.pk,
        starts_at=starts[1].replace(tzinfo=None),
        intake=m.IntakeAnswersInputRequest(answers=answers),
    )
    invalid = book.sync_detailed(client=me, body=naive)
    assert invalid.status_code == 400
    assert isinstance(invalid.parsed, m.ValidationError)
    assert "starts_at" in invalid.parsed.additional_keys

    # Move it to a later start, then read its intake.
    moved = (
        operation("bookings", "bookings_reschedule")
        .sync_detailed(booking.id, client=me, body=m.BookingRescheduleRequest(starts_at=starts[8]))
        .parsed
    )
    assert isinstance(moved, m.Booking)
    assert (moved.id, moved.starts_at) == (booking.id, starts[8])
    intake = operation("bookings", "bookings_intake_retrieve").sync_detailed(booking.id, client=me).parsed
    assert isinstance(intake, m.BookingIntake)
    assert intake.answers.pressure_preference == "medium"

    # The front desk cannot book the therapist at that time for another client: the refusal's code is typed.
    front_desk = log_in(world["staff"])
    taken = book.sync_detailed(
        client=front_desk,
        body=m.StaffBookingCreateRequest(
            client=world["other_client"].pk, service=service.pk, starts_at=starts[8], therapist=therapist.pk
        ),
    )
    assert taken.status_code == 409
    assert isinstance(taken.parsed, m.BookingCreateRefused)
    assert taken.parsed.code == m.BookingCreateRefusedCodeEnum.SLOT_UNAVAILABLE

    # The therapist's day, the review, the calendar.
    treating = log_in(therapist.user)
    day = operation("day-sheet", "therapist_day_sheet").sync_detailed(client=treating, date=world["day"]).parsed
    assert isinstance(day, m.DaySheet)
    assert [session.id for session in day.bookings] == [booking.id]
    reviewed = (
        operation("bookings", "bookings_review")
        .sync_detailed(
            booking.id,
            client=treating,
            body=m.BookingReviewRequest(modality=m.ModalityEnum.DEEP_TISSUE, note="Chronic upper-back tension."),
        )
        .parsed
    )
    assert isinstance(reviewed, m.Booking)
    assert reviewed.modality == m.ModalityEnum.DEEP_TISSUE
    feed = operation("calendar", "therapist_feed_token").sync_detailed(client=treating).parsed
    assert isinstance(feed, m.FeedToken)
    calendar = operation("calendar", "therapist_calendar_feed").sync_detailed(
        therapist.pk, client=anyone, token=feed.token
    )
    assert isinstance(calendar.parsed, str)
    assert calendar.parsed.startswith("BEGIN:VCALENDAR")

    # The front desk's list.
    listed = operation("bookings", "bookings_list").sync_detailed(client=front_desk).parsed
    assert isinstance(listed, m.PaginatedBookingList)
    assert [row.id for row in listed.results] == [booking.id]

    # The client cancels, with a key of its own.
    cancelled = (
        operation("bookings", "bookings_cancel")
        .sync_detailed(
            booking.id,
            client=me,
            body=m.BookingCancelRequest(reason="Flu; I will book again next week."),
            idempotency_key=str(uuid.uuid4()),
        )
        .parsed
    )
    assert isinstance(cancelled, m.Booking)
    assert cancelled.status == m.BookingStatusEnum.CANCELLED
    again = operation("bookings", "bookings_cancel").sync_detailed(booking.id, client=me).parsed
    assert isinstance(again, m.BookingCancelRefused)
    assert again.code == m.BookingCancelRefusedCodeEnum.BOOKING_NOT_ACTIVE
