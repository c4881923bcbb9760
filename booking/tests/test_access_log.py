"""Who read a client's intake: the client sees the reads, admins also the refused attempts (issue 10, finding 11).

A stranger probing booking ids is refused (404) and the attempt is recorded,
but it must not land in the victim's own access log, where anyone could
write rows at will. Admins see every row: in the access-log endpoint and
in the Django admin's audit log.

A front-desk booking whose intake is pending has nothing to read yet: its
intake is a 404 to everyone who may read it, no row is written, and its
log is empty (but there for its client and admins).
"""

from datetime import timedelta

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from booking.models import Booking
from booking.tests.factories import BookingFactory
from clinic.tests.factories import ClientFactory, StaffFactory, TherapistFactory
from intake.models import IntakeAccess
from intake.selectors import intake_access_list
from intake.services import intake_access_log

pytestmark = pytest.mark.django_db


@pytest.fixture
def probed(clinic, client_user, as_user):
    """A booking its client read once, that a stranger, another therapist and the front desk tried to read."""
    booking = BookingFactory(client=client_user)
    url = f"/api/v1/bookings/{booking.pk}/intake/"
    assert as_user(client_user).get(url).status_code == 200
    for _ in range(3):
        assert as_user(ClientFactory()).get(url).status_code == 404
    assert as_user(TherapistFactory().user).get(url).status_code == 404
    assert as_user(StaffFactory()).get(url).status_code == 403
    return booking


def log_url(booking) -> str:
    return f"/api/v1/bookings/{booking.pk}/intake/access-log/"


def test_refused_attempts_are_recorded(probed):
    outcomes = list(IntakeAccess.objects.filter(intake=probed.intake).values_list("outcome", flat=True))

    assert sorted(outcomes) == ["allowed"] + ["denied"] * 5


def test_the_client_sees_the_reads_of_their_intake_not_the_refused_attempts(probed, client_user, as_user):
    response = as_user(client_user).get(log_url(probed))

    assert response.status_code == 200
    rows = response.json()["results"]
    assert [(row["outcome"], row["accessed_by"]["id"]) for row in rows] == [("allowed", client_user.pk)]
    assert response.json()["count"] == 1


def test_an_admin_sees_every_row_in_the_endpoint(probed, admin_user, as_user):
    response = as_user(admin_user).get(log_url(probed))

    assert response.status_code == 200
    assert sorted(row["outcome"] for row in response.json()["results"]) == ["allowed"] + ["denied"] * 5


def test_an_admin_sees_the_refused_attempts_in_the_django_admin(probed, admin_user):
    web = Client()
    web.force_login(admin_user)

    response = web.get(reverse("admin:intake_intakeaccess_changelist"), {"outcome__exact": "denied"})

    assert response.status_code == 200
    assert response.context["cl"].result_count == 5


def test_probing_more_does_not_grow_the_clients_log(probed, client_user, as_user):
    stranger = as_user(ClientFactory())
    for _ in range(10):
        stranger.get(f"/api/v1/bookings/{probed.pk}/intake/")

    rows = as_user(client_user).get(log_url(probed)).json()["results"]

    assert [row["outcome"] for row in rows] == ["allowed"]


@pytest.mark.parametrize(
    ("reader", "outcomes"),
    [("client", ["allowed", "allowed"]), ("admin", ["allowed", "denied", "allowed"])],
)
def test_the_selector_decides_what_each_reader_sees(client_user, admin_user, therapist, reader, outcomes):
    intake = BookingFactory(client=client_user).intake
    for outcome in ("allowed", "denied", "allowed"):
        intake_access_log(intake=intake, user=therapist.user, channel="api", outcome=outcome)
    user = {"client": client_user, "admin": admin_user}[reader]

    rows = intake_access_list(intake=intake, user=user)

    assert [row.outcome for row in rows] == outcomes  # newest first


@pytest.fixture
def pending(clinic, client_user, staff_user):
    """A front-desk booking of client_user whose intake the client has not completed."""
    return BookingFactory(
        client=client_user, intake=None, intake_status=Booking.IntakeStatus.PENDING, booked_by=staff_user
    )


@pytest.mark.parametrize(("role", "status"), [("client", 404), ("therapist", 404), ("admin", 404), ("staff", 403)])
def test_a_pending_intake_is_nothing_to_read_and_writes_no_row(api_as, pending, therapist, role, status):
    pending.therapist = therapist
    pending.save()

    response = api_as(role).get(f"/api/v1/bookings/{pending.pk}/intake/")

    assert response.status_code == status
    assert not IntakeAccess.objects.exists()


@pytest.mark.parametrize(("role", "status"), [("client", 200), ("admin", 200), ("staff", 403), ("other_client", 404)])
def test_the_log_of_a_pending_intake_is_empty(api_as, pending, role, status):
    response = api_as(role).get(log_url(pending))

    assert response.status_code == status
    if status == 200:
        assert (response.json()["count"], response.json()["results"]) == (0, [])


def test_a_held_offer_is_not_its_clients_to_read(as_user, clinic, client_user):
    held = BookingFactory(
        client=client_user,
        status=Booking.Status.HELD,
        hold_expires_at=timezone.now() + timedelta(minutes=30),
        intake=None,
        intake_status=Booking.IntakeStatus.PENDING,
    )

    assert as_user(client_user).get(log_url(held)).status_code == 404
    assert as_user(client_user).get(f"/api/v1/bookings/{held.pk}/intake/").status_code == 404


def test_a_bookings_log_shows_the_reads_of_its_notes_not_other_bookings_or_histories(as_user, clinic, client_user):
    # given the client's booking, its notes read by its therapist, another booking's notes and a history read
    booking = BookingFactory(client=client_user)
    other = BookingFactory(client=client_user, starts_at=booking.starts_at + timedelta(days=7))
    reader = booking.therapist.user
    intake_access_log(intake=booking.intake, user=reader, booking_id=booking.pk, channel="api")
    intake_access_log(kind="notes", client=client_user, user=reader, booking_id=booking.pk, channel="api")
    intake_access_log(kind="notes", client=client_user, user=reader, booking_id=other.pk, channel="api")
    intake_access_log(kind="history", client=client_user, user=reader, channel="api")

    # when its client reads the booking's log
    rows = as_user(client_user).get(log_url(booking)).json()["results"]

    # then it holds the intake read and the notes read of that booking, newest first
    assert [row["kind"] for row in rows] == ["notes", "intake"]


def test_the_log_of_a_pending_intake_shows_the_reads_of_the_notes(as_user, pending, client_user):
    intake_access_log(
        kind="notes", client=client_user, user=pending.therapist.user, booking_id=pending.pk, channel="api"
    )

    rows = as_user(client_user).get(log_url(pending)).json()["results"]

    assert [(row["kind"], row["accessed_by"]["id"]) for row in rows] == [("notes", pending.therapist.user_id)]
