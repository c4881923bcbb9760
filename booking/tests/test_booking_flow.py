"""End-to-end flows through the API: find a start, book, cancel; a phone booking whose intake comes later;
the intake endpoints and their audit trail; the availability list over HTTP (its 400s, its pages, staff).

NOW is Tuesday 2026-12-01 10:00 in New York (booking/tests/helpers.py).
"""

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from booking.models import Booking
from booking.tests.helpers import (
    AVAILABILITY,
    BOOKINGS,
    NOW,
    THERAPEUTIC,
    book,
    booking_at,
    frozen,
    hour_service,
    local,
    new_york,
    shift_at,
    works,
)
from clinic.tests.factories import AdminFactory, TherapistFactory
from intake.models import IntakeAccess

pytestmark = pytest.mark.django_db

FRIDAY = "2026-12-04"
FRIDAY_9 = local(2026, 12, 4, 9)


@pytest.fixture(autouse=True)
def _now():
    with frozen():
        yield


@pytest.fixture
def place(clinic):
    return new_york(name="Downtown")


@pytest.fixture
def service(clinic):
    return hour_service()


@pytest.fixture
def therapist(place):
    """The root conftest's therapist, working at `place` on Friday from 09:00 to 11:00: five starts of an hour."""
    therapist = TherapistFactory()
    shift_at(therapist, FRIDAY_9, hours=2, location=place)
    return therapist


def _friday(api, service, **params):
    return api.get(AVAILABILITY, {"service": service.pk, "from": FRIDAY, "to": FRIDAY, **params})


def test_find_a_start_book_it_and_cancel(as_user, client_user, other_client_user, therapist, service, place):
    api = as_user(client_user)
    listed = _friday(api, service).json()
    assert listed["count"] == 5
    first = listed["results"][0]
    assert first == {
        "therapist": therapist.pk,
        "therapist_name": therapist.name,
        "location": place.pk,
        "starts_at": "2026-12-04T14:00:00Z",
        "ends_at": "2026-12-04T15:00:00Z",
    }

    created = api.post(
        BOOKINGS,
        {"service": service.pk, "starts_at": first["starts_at"], "intake": {"answers": THERAPEUTIC}},
        format="json",
    )
    assert created.status_code == 201, created.json()
    assert created.json()["modality"] == "therapeutic"
    # the hour is taken: the starts overlapping it are no longer offered
    assert _friday(api, service).json()["count"] == 1
    again = book(as_user(other_client_user), service, FRIDAY_9)
    assert (again.status_code, again.json()["code"]) == (409, "slot_unavailable")

    cancelled = api.post(f"{BOOKINGS}{created.json()['id']}/cancel/", {}, format="json")
    assert (cancelled.status_code, cancelled.json()["status"]) == (200, "cancelled")
    assert _friday(api, service).json()["count"] == 5
    bad = book(api, service, FRIDAY_9, {"consent": False})
    assert bad.status_code == 400, bad.json()
    assert Booking.objects.count() == 1


def test_a_phone_booking_then_the_intake(as_user, staff_user, client_user, therapist, service):
    # the front desk books for the client, without answers
    staff = as_user(staff_user)
    created = book(staff, service, FRIDAY_9, None, client=client_user)
    assert created.status_code == 201, created.json()
    pk = created.json()["id"]
    client = as_user(client_user)
    assert client.get(f"{BOOKINGS}{pk}/").json()["intake_status"] == "pending"
    # nothing to read yet, nothing to review
    assert client.get(f"{BOOKINGS}{pk}/intake/").status_code == 404
    review = as_user(therapist.user).post(f"{BOOKINGS}{pk}/review/", {"modality": "therapeutic"}, format="json")
    assert (review.status_code, review.json()["code"]) == (409, "intake_pending")
    assert client.get(f"{BOOKINGS}{pk}/intake/access-log/").json()["results"] == []

    # the client completes it
    put = client.put(f"{BOOKINGS}{pk}/intake/", THERAPEUTIC, format="json")
    assert put.status_code == 200, put.json()
    assert put.json()["assessment"]["modality"] == "therapeutic"

    body = client.get(f"{BOOKINGS}{pk}/").json()
    assert (body["intake_status"], body["modality"]) == ("complete", "therapeutic")
    assert staff.get(f"{BOOKINGS}{pk}/").json()["flags"] == []
    assert client.get(f"{BOOKINGS}{pk}/intake/").status_code == 200


@pytest.mark.parametrize("who", ["therapist", "admin"])
def test_a_pending_intake_is_completed_with_the_client_from_the_start(
    as_user, staff_user, client_user, admin_user, therapist, service, who
):
    booking = Booking.objects.get(
        pk=book(as_user(staff_user), service, FRIDAY_9, None, client=client_user).json()["id"]
    )
    api = as_user(therapist.user if who == "therapist" else admin_user)

    before = api.put(f"{BOOKINGS}{booking.pk}/intake/", THERAPEUTIC, format="json")
    assert (before.status_code, before.json()["code"]) == (409, "too_early")

    with frozen(FRIDAY_9 + timedelta(minutes=5)):
        late_client = as_user(client_user).put(f"{BOOKINGS}{booking.pk}/intake/", THERAPEUTIC, format="json")
        assert (late_client.status_code, late_client.json()["code"]) == (409, "intake_locked")
        done = api.put(f"{BOOKINGS}{booking.pk}/intake/", THERAPEUTIC, format="json")
        assert done.status_code == 200, done.json()
        # once complete, the answers are the client's: the therapist no longer changes them
        assert api.put(f"{BOOKINGS}{booking.pk}/intake/", THERAPEUTIC, format="json").status_code == 403
    booking.refresh_from_db()
    assert (booking.intake_status, booking.intake.client) == ("complete", client_user)


def test_intake_read_review_and_log(as_user, client_user, therapist, staff_user, other_client_user, service):
    pk = book(as_user(client_user), service, FRIDAY_9).json()["id"]
    assert as_user(client_user).get(f"{BOOKINGS}{pk}/intake/").status_code == 200
    assert as_user(staff_user).get(f"{BOOKINGS}{pk}/intake/").status_code == 403
    assert as_user(other_client_user).get(f"{BOOKINGS}{pk}/intake/").status_code == 404
    rv = as_user(therapist.user).post(
        f"{BOOKINGS}{pk}/review/", {"modality": "deep_tissue", "note": "ok"}, format="json"
    )
    assert rv.status_code == 200, rv.json()
    assert rv.json()["modality"] == "deep_tissue"
    log = as_user(client_user).get(f"{BOOKINGS}{pk}/intake/access-log/")
    assert log.status_code == 200, log.json()
    # The refused attempts (staff, another client) are for admins: the client sees the reads.
    assert [row["outcome"] for row in log.json()["results"]] == ["allowed"]
    admin_log = as_user(AdminFactory()).get(f"{BOOKINGS}{pk}/intake/access-log/")
    assert [row["outcome"] for row in admin_log.json()["results"]] == ["denied", "denied", "allowed"]
    put = as_user(client_user).put(f"{BOOKINGS}{pk}/intake/", {**THERAPEUTIC, "pressure_preference": "deep"})
    assert put.status_code == 200, put.json()
    assert put.json()["review"]["stale"] is True


def test_audit_rows_record_the_client_address_behind_a_proxy(client_user, as_user, therapist, settings):
    settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, "NUM_PROXIES": 1}
    booking = booking_at(therapist, FRIDAY_9, client=client_user)
    response = as_user(client_user).get(
        f"{BOOKINGS}{booking.pk}/intake/", HTTP_X_FORWARDED_FOR="203.0.113.9", REMOTE_ADDR="10.0.0.2"
    )
    assert response.status_code == 200
    assert IntakeAccess.objects.get(intake=booking.intake).remote_addr == "203.0.113.9"


# --- The availability list over HTTP --------------------------------------------------


def _offered_queries(queries) -> int:
    return sum("generate_series" in query["sql"] for query in queries)


def test_each_page_is_one_query_with_its_exact_count(api, therapist, service):
    with CaptureQueriesContext(connection) as first:
        page1 = _friday(api, service, page_size=2).json()
    offered_queries = _offered_queries(first.captured_queries)  # read now: the next request resets the log
    page3 = _friday(api, service, page_size=2, page=3).json()

    assert (page1["count"], page3["count"]) == (5, 5)
    assert [row["starts_at"][11:16] for row in page1["results"]] == ["14:00", "14:15"]
    assert [row["starts_at"][11:16] for row in page3["results"]] == ["15:00"]
    assert page1["previous"] is None
    assert "page=2" in page1["next"]
    assert page3["next"] is None
    assert "page=2" in page3["previous"]
    assert offered_queries == 1


@pytest.mark.parametrize("page", ["4", "0", "-1", "abc", "last", "²", "1.0", str(10**30)])
def test_a_page_that_is_not_one_is_a_404(api, therapist, service, page):
    response = _friday(api, service, page_size=2, page=page)

    assert response.status_code == 404
    assert "detail" in response.json()


def test_an_empty_list_is_one_page(api, service):
    body = _friday(api, service).json()

    assert (body["count"], body["results"], body["next"], body["previous"]) == (0, [], None, None)


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"from": FRIDAY, "to": FRIDAY}, "service"),
        ({"service": "SERVICE", "to": FRIDAY}, "from"),
        ({"service": "SERVICE", "from": FRIDAY}, "to"),
        ({"service": "SERVICE", "from": "2026-12-01", "to": "2027-01-01"}, "to"),  # 32 days
        ({"service": "SERVICE", "from": FRIDAY, "to": "2026-12-03"}, "to"),
        ({"service": "SERVICE", "from": "2026-02-30", "to": FRIDAY}, "from"),
        ({"service": "SERVICE", "from": "Friday", "to": FRIDAY}, "from"),
        ({"service": "SERVICE", "from": "0001-01-01", "to": "0001-01-02"}, "from"),
        ({"service": "SERVICE", "from": "9999-12-30", "to": "9999-12-31"}, "from"),
        ({"service": 987654, "from": FRIDAY, "to": FRIDAY}, "service"),
        ({"service": "INACTIVE", "from": FRIDAY, "to": FRIDAY}, "service"),
        ({"service": "x", "from": FRIDAY, "to": FRIDAY}, "service"),
        ({"service": "SERVICE", "from": FRIDAY, "to": FRIDAY, "therapist": "x"}, "therapist"),
        ({"service": "SERVICE", "from": FRIDAY, "to": FRIDAY, "location": 2**63}, "location"),
        ({"service": "SERVICE", "from": FRIDAY, "to": FRIDAY, "modality": "hot_stone"}, "modality"),
    ],
)
def test_a_bad_query_is_a_400(api, service, params, field):
    inactive = hour_service(active=False)
    values = {"SERVICE": service.pk, "INACTIVE": inactive.pk}
    params = {key: values.get(value, value) for key, value in params.items()}

    response = api.get(AVAILABILITY, params)

    assert response.status_code == 400
    assert field in response.json()


def test_31_days_is_the_most(api, service):
    assert api.get(AVAILABILITY, {"service": service.pk, "from": "2026-12-01", "to": "2026-12-31"}).status_code == 200


def test_the_filters_narrow_the_list(api, place, therapist, service):
    gentle = TherapistFactory(gives_deep_tissue=False)
    shift_at(gentle, FRIDAY_9, hours=2, location=place)
    elsewhere = new_york(name="Uptown")
    far = TherapistFactory()
    shift_at(far, FRIDAY_9, hours=2, location=elsewhere)

    def who(**params):
        return sorted({row["therapist"] for row in _friday(api, service, page_size=500, **params).json()["results"]})

    assert who() == sorted([therapist.pk, gentle.pk, far.pk])
    assert who(therapist=gentle.pk) == [gentle.pk]
    assert who(location=elsewhere.pk) == [far.pk]
    assert who(modality="deep_tissue") == sorted([therapist.pk, far.pk])
    assert who(therapist=987654) == []


@pytest.mark.parametrize(
    ("role", "first"),
    [("anonymous", "17:00"), ("client", "17:00"), ("therapist", "17:00"), ("staff", "15:15"), ("admin", "15:15")],
)
def test_the_front_desk_sees_starts_inside_the_notice(api_as, place, therapist, service, role, first):
    # today from 10:15 local (15:15 UTC); clients need two hours' notice: from 12:00 (17:00 UTC)
    shift_at(therapist, NOW + timedelta(minutes=15), hours=4, location=place)
    today = NOW.date().isoformat()

    body = api_as(role).get(AVAILABILITY, {"service": service.pk, "from": today, "to": today}).json()

    assert body["results"][0]["starts_at"][11:16] == first


def test_the_list_is_ordered_by_start_then_therapist(api, place, service):
    lower, higher = TherapistFactory(), TherapistFactory()
    works(higher, place, [4], start=9, end=10)
    works(lower, place, [4], start=9, end=10)
    shift_at(lower, local(2026, 12, 4, 8), hours=1, location=place)

    rows = _friday(api, service).json()["results"]

    assert [(row["starts_at"], row["therapist"]) for row in rows] == [
        ("2026-12-04T13:00:00Z", lower.pk),
        ("2026-12-04T14:00:00Z", lower.pk),
        ("2026-12-04T14:00:00Z", higher.pk),
    ]
