"""The clinic's cap on a client's active bookings (docs/api.md, Bookings: `too_many_bookings`).

One account must not hoard the calendar (issue 10, finding 4). A client
holding `max_active_bookings_per_client` active bookings — confirmed and
starting in the future — is refused another with 409 `too_many_bookings`;
a reschedule moves a booking the client already holds, so it is never
refused by the cap. A booking the front desk makes for the client (by
phone, at the desk) does not count against it, nor is it refused by it.

NOW is Tuesday 2026-12-01 10:00 in New York (booking/tests/helpers.py).
"""

from datetime import timedelta

import pytest

from booking import errors
from booking.models import Booking
from booking.tests.helpers import (
    BOOKINGS,
    NOW,
    assert_conflict,
    book,
    booked,
    booking_at,
    frozen,
    hour_service,
    local,
    new_york,
    works,
)
from booking.tests.test_races import run_together
from clinic.models import Clinic
from clinic.tests.factories import TherapistFactory, clinic_configure
from intake.models import Intake

CLINIC = "/api/v1/clinic/"
DEFAULT_CAP = 4


@pytest.fixture(autouse=True)
def _now():
    with frozen():
        yield


@pytest.fixture
def place(clinic):
    return new_york()


@pytest.fixture
def service(clinic):
    return hour_service()


# The root conftest's therapists, working at `place` every day of December from 08:00 to 20:00.
@pytest.fixture
def therapist(place):
    therapist = TherapistFactory()
    works(therapist, place)
    return therapist


@pytest.fixture
def other_therapist(place, therapist):
    other = TherapistFactory()
    works(other, place)
    return other


def _nine(day: int):
    return local(2026, 12, day, 9)


def _book_days(client, therapist, service, days, *, by=None) -> list[Booking]:
    """`client`'s confirmed bookings at 09:00 local on each of these December days, through the service."""
    return [booked(client, service, _nine(day), therapist=therapist, by=by) for day in days]


def _active(client) -> int:
    return Booking.objects.filter(client=client, status=Booking.Status.CONFIRMED).count()


# --- The policy -------------------------------------------------------------------


@pytest.mark.django_db
class TestPolicy:
    def test_the_default_is_four(self, db):
        assert Clinic._meta.get_field("max_active_bookings_per_client").default == DEFAULT_CAP
        assert clinic_configure().max_active_bookings_per_client == DEFAULT_CAP

    def test_anyone_reads_it(self, api, clinic):
        assert api.get(CLINIC).json()["max_active_bookings_per_client"] == DEFAULT_CAP

    @pytest.mark.parametrize("user", ["staff_user", "admin_user"])
    def test_the_front_desk_changes_it(self, as_user, clinic, request, user):
        response = as_user(request.getfixturevalue(user)).patch(
            CLINIC, {"max_active_bookings_per_client": 2}, format="json"
        )

        assert response.status_code == 200, response.json()
        assert response.json()["max_active_bookings_per_client"] == 2
        clinic.refresh_from_db()
        assert clinic.max_active_bookings_per_client == 2

    @pytest.mark.parametrize("value", [0, -1, 10**6, "many", None])
    def test_a_cap_that_is_not_a_sane_positive_number_is_a_400(self, as_user, staff_user, clinic, value):
        response = as_user(staff_user).patch(CLINIC, {"max_active_bookings_per_client": value}, format="json")

        assert response.status_code == 400
        assert "max_active_bookings_per_client" in response.json()
        clinic.refresh_from_db()
        assert clinic.max_active_bookings_per_client == DEFAULT_CAP

    def test_clients_may_not_change_it(self, as_user, client_user, clinic):
        response = as_user(client_user).patch(CLINIC, {"max_active_bookings_per_client": 50}, format="json")

        assert response.status_code == 403
        clinic.refresh_from_db()
        assert clinic.max_active_bookings_per_client == DEFAULT_CAP

    def test_the_admin_edits_it(self, client, admin_user, clinic):
        client.force_login(admin_user)
        form = {
            "name": clinic.name,
            "time_zone": clinic.time_zone,
            "min_notice_hours": 2,
            "booking_horizon_days": 60,
            "cancellation_window_hours": 24,
            "currency": "USD",
            "booking_step_minutes": 15,
            "waitlist_hold_minutes": 30,
            "max_active_bookings_per_client": 6,
        }

        response = client.post("/admin/clinic/clinic/1/change/", form)

        assert response.status_code == 302
        clinic.refresh_from_db()
        assert clinic.max_active_bookings_per_client == 6


# --- Booking against the cap ------------------------------------------------------------


@pytest.mark.django_db
class TestCap:
    def test_a_client_at_the_cap_is_refused_another_booking(self, as_user, client_user, therapist, service):
        # given four active bookings, the default cap
        _book_days(client_user, therapist, service, [3, 4, 7, 8])

        # when the client books a fifth
        response = book(as_user(client_user), service, _nine(9), therapist=therapist)

        # then a 409 that says what to do, and nothing is stored
        assert_conflict(response, "too_many_bookings")
        assert str(DEFAULT_CAP) in response.json()["detail"]
        assert "cancel" in response.json()["detail"].lower()
        assert Booking.objects.count() == DEFAULT_CAP
        assert Intake.objects.count() == DEFAULT_CAP

    def test_up_to_the_cap_every_booking_goes_through(self, as_user, client_user, therapist, service):
        api = as_user(client_user)

        statuses = [book(api, service, _nine(day), therapist=therapist).status_code for day in (2, 3, 4, 7)]

        assert statuses == [201] * DEFAULT_CAP
        assert _active(client_user) == DEFAULT_CAP

    def test_the_cap_is_the_clinic_policy(self, as_user, client_user, therapist, service):
        clinic_configure(max_active_bookings_per_client=1)
        _book_days(client_user, therapist, service, [2])

        response = book(as_user(client_user), service, _nine(3), therapist=therapist)

        assert_conflict(response, "too_many_bookings")
        assert "1 upcoming booking" in response.json()["detail"]

    def test_the_cap_is_per_client(self, as_user, client_user, other_client_user, therapist, service):
        _book_days(client_user, therapist, service, [3, 4, 7, 8])

        response = book(as_user(other_client_user), service, _nine(9), therapist=therapist)

        assert response.status_code == 201, response.json()

    @pytest.mark.parametrize(
        "status", [Booking.Status.CANCELLED, Booking.Status.COMPLETED, Booking.Status.NO_SHOW], ids=str
    )
    def test_bookings_that_are_not_active_do_not_count(self, as_user, client_user, therapist, service, status):
        # given three active bookings and many that are no longer active
        _book_days(client_user, therapist, service, [2, 3, 4])
        for day in (7, 8, 9, 10):
            booking_at(
                therapist,
                _nine(day),
                client=client_user,
                status=status,
                cancelled_at=NOW if status == Booking.Status.CANCELLED else None,
            )

        # when the client books a fourth
        response = book(as_user(client_user), service, _nine(11), therapist=therapist)

        # then it goes through
        assert response.status_code == 201, response.json()

    def test_past_confirmed_bookings_not_yet_closed_do_not_count(self, as_user, client_user, therapist, service):
        # given four sessions that took place but were never marked completed
        for days_ago in (1, 2, 3, 4):
            booking_at(therapist, NOW - timedelta(days=days_ago), client=client_user)
        # ... and one that started an hour ago
        booking_at(therapist, NOW - timedelta(hours=1), client=client_user)

        response = book(as_user(client_user), service, _nine(4), therapist=therapist)

        assert response.status_code == 201, response.json()

    def test_a_held_offer_does_not_count(self, as_user, client_user, therapist, other_therapist, service):
        _book_days(client_user, therapist, service, [2, 3, 4])
        booking_at(
            other_therapist,
            _nine(7),
            client=client_user,
            status=Booking.Status.HELD,
            hold_expires_at=NOW + timedelta(minutes=30),
            intake=None,
            intake_status=Booking.IntakeStatus.PENDING,
        )

        response = book(as_user(client_user), service, _nine(8), therapist=therapist)

        assert response.status_code == 201, response.json()

    def test_a_reschedule_at_the_cap_is_not_refused(self, as_user, client_user, therapist, other_therapist, service):
        # given a client at the cap
        first, *_ = _book_days(client_user, therapist, service, [3, 4, 7, 8])
        target = local(2026, 12, 8, 14)

        # when one of the bookings moves
        response = as_user(client_user).post(
            f"{BOOKINGS}{first.pk}/reschedule/",
            {"starts_at": target.isoformat(), "therapist": other_therapist.pk},
            format="json",
        )

        # then the booking itself is not in the way
        assert response.status_code == 200, response.json()
        moved = Booking.objects.get(pk=first.pk)
        assert (moved.therapist, moved.starts_at) == (other_therapist, target)
        assert _active(client_user) == DEFAULT_CAP

    def test_a_reschedule_above_a_lowered_cap_is_not_refused(
        self, as_user, client_user, therapist, other_therapist, service
    ):
        # given a client above a cap the clinic lowered after they booked
        first, *_ = _book_days(client_user, therapist, service, [3, 4, 7, 8])
        clinic_configure(max_active_bookings_per_client=2)

        response = as_user(client_user).post(
            f"{BOOKINGS}{first.pk}/reschedule/", {"starts_at": local(2026, 12, 8, 14).isoformat()}, format="json"
        )

        # a move adds no booking: it is allowed, but a new booking is not
        assert response.status_code == 200, response.json()
        refused = book(as_user(client_user), service, _nine(10), therapist=therapist)
        assert_conflict(refused, "too_many_bookings")

    def test_cancelling_one_frees_a_place(self, as_user, client_user, therapist, service):
        first, *_ = _book_days(client_user, therapist, service, [3, 4, 7, 8])
        api = as_user(client_user)

        assert api.post(f"{BOOKINGS}{first.pk}/cancel/", {}, format="json").status_code == 200
        response = book(api, service, _nine(9), therapist=therapist)

        assert response.status_code == 201, response.json()

    def test_the_service_refuses_too(self, client_user, therapist, service):
        _book_days(client_user, therapist, service, [3, 4, 7, 8])

        with pytest.raises(errors.TooManyBookings):
            _book_days(client_user, therapist, service, [9])
        assert Intake.objects.count() == DEFAULT_CAP

    def test_the_schema_documents_the_refusal(self, api, clinic):
        schema = api.get("/api/schema/", {"format": "json"}).json()

        create = schema["paths"][BOOKINGS]["post"]["responses"]["409"]
        assert "too_many_bookings" in create["description"]
        clinic_schema = schema["components"]["schemas"]["Clinic"]["properties"]
        assert "max_active_bookings_per_client" in clinic_schema


# --- The front desk's bookings ------------------------------------------------------------


@pytest.mark.django_db
class TestFrontDesk:
    def test_the_front_desk_books_for_a_client_at_the_cap(self, as_user, staff_user, client_user, therapist, service):
        _book_days(client_user, therapist, service, [3, 4, 7, 8])

        response = book(as_user(staff_user), service, _nine(9), None, therapist=therapist, client=client_user)

        assert response.status_code == 201, response.json()
        assert _active(client_user) == DEFAULT_CAP + 1

    def test_front_desk_bookings_do_not_count_against_the_cap(
        self, as_user, staff_user, client_user, therapist, service
    ):
        # given as many front-desk bookings as the cap, and one the client made
        _book_days(client_user, therapist, service, [2, 3, 4, 7], by=staff_user)
        _book_days(client_user, therapist, service, [8])

        # the client may still book up to the cap themselves
        api = as_user(client_user)
        statuses = [book(api, service, _nine(day), therapist=therapist).status_code for day in (9, 10, 11)]

        assert statuses == [201, 201, 201]
        assert_conflict(book(api, service, _nine(14), therapist=therapist), "too_many_bookings")


# --- Under concurrency -------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_concurrent_bookings_at_cap_minus_one_let_exactly_one_through(as_user, client_user, therapist, service):
    # given a client one booking below the cap, and six tabs of theirs after six different free times
    _book_days(client_user, therapist, service, [2, 3, 4])
    days = (7, 8, 9, 10, 11, 14)
    tabs = [(as_user(client_user), _nine(day)) for day in days]

    # when they all book at once
    results = run_together(
        [
            lambda api=api, at=at: (lambda r: (r.status_code, r.json()))(book(api, service, at, therapist=therapist))
            for api, at in tabs
        ]
    )

    # then the lock on the client lets exactly one through; the rest are told why
    statuses = sorted(status for status, _ in results)
    assert statuses == [201] + [409] * (len(days) - 1), results
    assert {body["code"] for status, body in results if status == 409} == {"too_many_bookings"}
    assert _active(client_user) == DEFAULT_CAP
    assert Intake.objects.count() == Booking.objects.count()
