"""Who read a client's intake: the client sees the reads, admins also the refused attempts (issue 10, finding 11).

A stranger probing booking ids is refused (404) and the attempt is recorded,
but it must not land in the victim's own access log, where anyone could
write rows at will. Admins see every row: in the access-log endpoint and
in the Django admin's audit log.
"""

import pytest
from django.test import Client
from django.urls import reverse

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
