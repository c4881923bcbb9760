"""A returning client: their next intake shows the therapist what changed and which flags are new.

Through the API: the booking's intake, the day sheet, the client's own
latest intake (`me/intake/latest/`), the admin for superusers; never the
front desk, and never the booking itself (docs/api.md, Returning clients).

NOW is Tuesday 2026-12-01 10:00 in New York (booking/tests/helpers.py).
"""

import pytest

from booking.tests.helpers import BOOKINGS, THERAPEUTIC, book, frozen, hour_service, local, new_york, shift_at
from clinic.tests.factories import TherapistFactory
from intake.models import Intake, IntakeAccess

pytestmark = pytest.mark.django_db

FRIDAY = "2026-12-04"
FRIDAY_9 = local(2026, 12, 4, 9)
FRIDAY_10 = local(2026, 12, 4, 10)
LATEST = "/api/v1/me/intake/latest/"
DAY_SHEET = "/api/v1/therapists/me/day/"
# The second visit: firmer pressure, and now pregnant (a deep-pressure contraindication).
RETURNING = {**THERAPEUTIC, "pressure_preference": "firm", "health_screening": ["pregnancy"], "notes": " "}
CHANGE_KEYS = {"changes_since_last", "new_flags"}


@pytest.fixture(autouse=True)
def _now():
    with frozen():
        yield


@pytest.fixture
def therapist(clinic):
    therapist = TherapistFactory()
    shift_at(therapist, FRIDAY_9, hours=3, location=new_york(name="Downtown"))
    return therapist


@pytest.fixture
def service(clinic):
    return hour_service()


@pytest.fixture
def visits(as_user, client_user, therapist, service):
    """The client's first booking, then a second with changed answers: their ids."""
    api = as_user(client_user)
    first = book(api, service, FRIDAY_9, THERAPEUTIC)
    second = book(api, service, FRIDAY_10, RETURNING)
    assert (first.status_code, second.status_code) == (201, 201), (first.json(), second.json())
    return first.json()["id"], second.json()["id"]


def test_the_second_bookings_intake_shows_what_changed_and_the_new_contraindication(as_user, therapist, visits):
    first, second = visits
    api = as_user(therapist.user)

    later = api.get(f"{BOOKINGS}{second}/intake/").json()
    earlier = api.get(f"{BOOKINGS}{first}/intake/").json()

    # the notes were blank and are still blank once trimmed: not a change
    assert (later["changes_since_last"], later["new_flags"]) == (
        ["pressure_preference", "health_screening"],
        ["pregnancy"],
    )
    assert (earlier["changes_since_last"], earlier["new_flags"]) == (None, [])


def test_editing_the_answers_recomputes_against_the_same_previous_intake(as_user, client_user, visits):
    _, second = visits

    put = as_user(client_user).put(
        f"{BOOKINGS}{second}/intake/", {**THERAPEUTIC, "notes": "Back again."}, format="json"
    )

    assert put.status_code == 200, put.json()
    assert (put.json()["changes_since_last"], put.json()["new_flags"]) == (["notes"], [])


def test_a_pending_intake_completed_later_compares_with_the_last_one_given(
    as_user, staff_user, client_user, therapist, service, visits
):
    # given a phone booking after the two visits, when the client completes its intake
    created = book(as_user(staff_user), service, local(2026, 12, 4, 11), None, client=client_user)
    assert created.status_code == 201, created.json()
    put = as_user(client_user).put(f"{BOOKINGS}{created.json()['id']}/intake/", RETURNING, format="json")

    # then it compares with the second visit's answers
    assert (put.json()["changes_since_last"], put.json()["new_flags"]) == ([], [])


def test_the_day_sheet_shows_them(as_user, therapist, visits):
    sheet = as_user(therapist.user).get(DAY_SHEET, {"date": FRIDAY}).json()

    rows = {row["id"]: (row["changes_since_last"], row["new_flags"]) for row in sheet["bookings"]}
    assert rows == {visits[0]: (None, []), visits[1]: (["pressure_preference", "health_screening"], ["pregnancy"])}


@pytest.mark.parametrize("role", ["client", "therapist", "staff", "admin"])
def test_the_booking_itself_never_carries_them(api_as, visits, role):
    api = api_as(role)

    listed = api.get(BOOKINGS).json()["results"]
    details = [api.get(f"{BOOKINGS}{pk}/").json() for pk in visits]

    assert {row["id"] for row in listed} >= set(visits)
    for body in [*listed, *details]:
        assert not CHANGE_KEYS & body.keys()
    if role == "staff":
        assert "pregnancy" not in str([*listed, *details])


def test_the_front_desk_cannot_read_them(as_user, staff_user, visits):
    response = as_user(staff_user).get(f"{BOOKINGS}{visits[1]}/intake/")

    assert response.status_code == 403
    assert "pregnancy" not in response.content.decode()


class TestLatestIntake:
    def test_the_client_gets_their_latest_answers_and_the_read_is_audited(self, as_user, client_user, visits):
        response = as_user(client_user).get(LATEST, REMOTE_ADDR="203.0.113.7")

        assert response.status_code == 200
        latest = Intake.objects.get(booking__pk=visits[1])
        assert response.json() == {
            "form_version": latest.form_version,
            "answers": latest.answers,
            "created_at": response.json()["created_at"],
        }
        assert response.json()["answers"]["health_screening"] == ["pregnancy"]
        row = IntakeAccess.objects.get(accessed_by=client_user)
        assert (row.intake, row.client, row.kind, row.booking_id) == (latest, client_user, "intake", None)
        assert row.remote_addr == "203.0.113.7"

    def test_a_cancelled_bookings_intake_still_counts(self, as_user, client_user, visits):
        as_user(client_user).post(f"{BOOKINGS}{visits[1]}/cancel/", {}, format="json")

        assert as_user(client_user).get(LATEST).json()["answers"]["health_screening"] == ["pregnancy"]

    def test_none_yet_is_a_404(self, as_user, client_user):
        assert as_user(client_user).get(LATEST).status_code == 404
        assert not IntakeAccess.objects.exists()

    @pytest.mark.parametrize(
        ("role", "status"), [("therapist", 403), ("staff", 403), ("admin", 403), ("anonymous", 401)]
    )
    def test_only_clients_have_one(self, api_as, visits, role, status):
        assert api_as(role).get(LATEST).status_code == status


def test_the_admin_shows_them_to_superusers(client, admin_user, visits):
    client.force_login(admin_user)
    intake = Intake.objects.get(booking__pk=visits[1])

    page = client.get(f"/admin/intake/intake/{intake.pk}/change/").content.decode()

    assert "field-changes_since_last" in page
    assert "field-new_flags" in page


def test_deleting_the_account_erases_what_changed_with_the_answers(as_user, client_user, visits):
    assert as_user(client_user).delete("/api/v1/me/").status_code == 204

    erased = Intake.objects.filter(client=client_user).values_list("answers", "changes_since_last", "new_flags")
    assert set(map(str, erased)) == {str(({}, None, []))}
