"""GET /api/v1/availability/ (docs/api.md, Availability): what a client may book, at a fixed now.

NOW is Tuesday 2026-12-01 10:00 in New York; the clinic asks 2 hours'
notice and books up to 60 days ahead.
"""

from datetime import timedelta

import pytest

from booking.models import Booking, Slot
from booking.tests.factories import BookingFactory
from booking.tests.helpers import (
    AVAILABILITY,
    NOW,
    UTC,
    book,
    frozen,
    local,
    slot_at,
)
from clinic.tests.factories import TherapistFactory
from conftest import ROLES

pytestmark = pytest.mark.django_db

MINUTE = timedelta(minutes=1)
NOTICE = timedelta(hours=2)
HORIZON = timedelta(days=60)
TODAY = "2026-12-01"


@pytest.fixture(autouse=True)
def _now():
    with frozen():
        yield


def _get(api, **params):
    return api.get(AVAILABILITY, params)


def _ids(response) -> list[int]:
    assert response.status_code == 200, response.json()
    return [row["id"] for row in response.json()["results"]]


def _utc(dt) -> str:
    return dt.astimezone(UTC).isoformat().replace("+00:00", "Z")


# --- What is listed ---------------------------------------------------------------


def test_lists_bookable_slots_with_their_therapist(api, clinic):
    therapist = TherapistFactory(user__first_name="Ada", user__last_name="Lovelace")
    slot = slot_at(therapist, local(2026, 12, 2, 9))

    response = _get(api, **{"from": TODAY, "to": "2026-12-02"})

    assert response.status_code == 200
    body = response.json()
    assert body["count"] == 1
    assert body["next"] is None
    assert body["previous"] is None
    assert body["results"] == [
        {
            "id": slot.pk,
            "therapist": therapist.pk,
            "therapist_name": "Ada Lovelace",
            "starts_at": _utc(slot.starts_at),
            "ends_at": _utc(slot.ends_at),
        }
    ]


@pytest.mark.parametrize("role", ROLES)
def test_anyone_may_read_availability(api_as, clinic, therapist, role):
    slot = slot_at(therapist, local(2026, 12, 2, 9))

    assert _ids(_get(api_as(role), **{"from": TODAY, "to": "2026-12-02"})) == [slot.pk]


def test_ordered_by_start_then_therapist(api, clinic):
    first, second = TherapistFactory(), TherapistFactory()
    later = slot_at(first, local(2026, 12, 2, 11))
    second_at_nine = slot_at(second, local(2026, 12, 2, 9))
    first_at_nine = slot_at(first, local(2026, 12, 2, 9))
    earliest = slot_at(second, local(2026, 12, 2, 8))

    assert _ids(_get(api, **{"from": TODAY, "to": "2026-12-02"})) == [
        earliest.pk,
        first_at_nine.pk,
        second_at_nine.pk,
        later.pk,
    ]


def test_hides_what_cannot_be_booked(api, clinic, therapist):
    day = local(2026, 12, 3)
    bookable = slot_at(therapist, day.replace(hour=9))
    slot_at(therapist, day.replace(hour=10), status=Slot.Status.BLOCKED)
    booked = slot_at(therapist, day.replace(hour=11))
    BookingFactory(slot=booked)
    completed = slot_at(therapist, local(2026, 11, 30, 9))
    BookingFactory(slot=completed, status=Booking.Status.COMPLETED)
    freed = slot_at(therapist, day.replace(hour=12))
    BookingFactory(slot=freed, status=Booking.Status.CANCELLED, cancelled_at=NOW)
    slot_at(TherapistFactory(active=False), day.replace(hour=9))

    assert _ids(_get(api, **{"from": "2026-11-30", "to": "2026-12-03"})) == [bookable.pk, freed.pk]


def test_hides_past_slots_and_those_inside_the_notice(api, clinic, therapist):
    slot_at(therapist, NOW - timedelta(hours=3))  # over
    slot_at(therapist, NOW - timedelta(minutes=30))  # running now
    slot_at(therapist, NOW + timedelta(minutes=30))  # inside the notice
    at_notice = slot_at(therapist, NOW + NOTICE)

    assert _ids(_get(api, **{"from": TODAY, "to": TODAY})) == [at_notice.pk]


def test_min_notice_edge(api, clinic, therapist):
    """Exactly now + 2 h is bookable; one minute sooner is not."""
    too_soon = slot_at(therapist, NOW + NOTICE - MINUTE, minutes=1)
    just_in_time = slot_at(therapist, NOW + NOTICE)

    ids = _ids(_get(api, **{"from": TODAY, "to": TODAY}))

    assert just_in_time.pk in ids
    assert too_soon.pk not in ids


def test_horizon_edge(api, clinic, therapist):
    """Exactly now + 60 days is bookable; one minute later is not."""
    at_horizon = slot_at(therapist, NOW + HORIZON - timedelta(hours=1))
    last = slot_at(therapist, NOW + HORIZON, minutes=1)
    beyond = slot_at(therapist, NOW + HORIZON + MINUTE, minutes=1)

    ids = _ids(_get(api, **{"from": "2027-01-29", "to": "2027-01-31"}))

    assert ids == [at_horizon.pk, last.pk]
    assert beyond.pk not in ids


def test_follows_the_clinics_notice_and_horizon(api, clinic, therapist):
    clinic.min_notice_hours = 0
    clinic.booking_horizon_days = 1
    clinic.save()
    soon = slot_at(therapist, NOW + MINUTE)
    tomorrow = slot_at(therapist, NOW + timedelta(days=1), minutes=1)
    slot_at(therapist, NOW + timedelta(days=1, minutes=1))

    assert _ids(_get(api, **{"from": TODAY, "to": "2026-12-03"})) == [soon.pk, tomorrow.pk]


# --- The date range, in the clinic's local dates ---------------------------------------


def test_from_and_to_are_local_dates_and_to_is_inclusive(api, clinic, therapist):
    slot_at(therapist, local(2026, 12, 4, 23), minutes=30)  # the day before `from`
    first = slot_at(therapist, local(2026, 12, 5, 0))  # local midnight: 05:00 UTC
    last = slot_at(therapist, local(2026, 12, 7, 23), minutes=30)  # 04:00 UTC the next day
    slot_at(therapist, local(2026, 12, 8, 0))  # the day after `to`

    assert _ids(_get(api, **{"from": "2026-12-05", "to": "2026-12-07"})) == [first.pk, last.pk]


def test_local_dates_hold_on_a_23_hour_day(api, clinic, therapist):
    """2026-03-08 in New York runs from 05:00 UTC to 04:00 UTC the next day (spring forward)."""
    with frozen(local(2026, 3, 1, 9)):
        slot_at(therapist, local(2026, 3, 7, 23, 30), minutes=30)
        first = slot_at(therapist, local(2026, 3, 8, 0))  # EST
        last = slot_at(therapist, local(2026, 3, 8, 23))  # EDT: 03:00 UTC on the 9th
        slot_at(therapist, local(2026, 3, 9, 0))

        ids = _ids(_get(api, **{"from": "2026-03-08", "to": "2026-03-08"}))

    assert ids == [first.pk, last.pk]


def test_a_single_day(api, clinic, therapist):
    slot = slot_at(therapist, local(2026, 12, 5, 9))

    assert _ids(_get(api, **{"from": "2026-12-05", "to": "2026-12-05"})) == [slot.pk]


def test_31_days_inclusive_are_allowed(api, clinic, therapist):
    last_day = slot_at(therapist, local(2027, 1, 1, 9))

    assert _ids(_get(api, **{"from": "2026-12-02", "to": "2027-01-01"})) == [last_day.pk]


def test_32_days_are_refused(api, clinic):
    response = _get(api, **{"from": "2026-12-02", "to": "2027-01-02"})

    assert response.status_code == 400
    assert "to" in response.json()


def test_to_before_from_is_refused(api, clinic):
    response = _get(api, **{"from": "2026-12-05", "to": "2026-12-04"})

    assert response.status_code == 400
    assert "to" in response.json()


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"to": "2026-12-05"}, "from"),
        ({"from": "2026-12-05"}, "to"),
        ({"from": "2026-13-01", "to": "2026-12-05"}, "from"),
        ({"from": "2026-12-01", "to": "2026-02-30"}, "to"),
        ({"from": "12/01/2026", "to": "2026-12-05"}, "from"),
        ({"from": "tomorrow", "to": "2026-12-05"}, "from"),
        ({"from": "", "to": "2026-12-05"}, "from"),
        ({"from": "2026-12-01T09:00:00Z", "to": "2026-12-05"}, "from"),
    ],
)
def test_missing_or_malformed_dates_are_refused(api, clinic, params, field):
    response = _get(api, **params)

    assert response.status_code == 400
    assert field in response.json()


def test_no_query_at_all_is_refused(api, clinic):
    response = api.get(AVAILABILITY)

    assert response.status_code == 400
    assert set(response.json()) == {"from", "to"}


@pytest.mark.parametrize(
    ("params", "status"),
    [
        ({"from": "9999-12-31", "to": "9999-12-31"}, 400),  # past the last day whose bounds exist
        ({"from": "9999-12-30", "to": "9999-12-31"}, 400),
        ({"from": "0001-01-01", "to": "0001-01-01"}, 400),
        ({"from": TODAY, "to": TODAY, "therapist": str(10**30)}, 200),  # no such therapist: nothing to book
        ({"from": TODAY, "to": TODAY, "therapist": "-1"}, 400),
        ({"from": TODAY, "to": TODAY, "therapist": "abc"}, 400),
        ({"from": TODAY, "to": TODAY, "modality": "shiatsu"}, 400),
        ({"from": TODAY, "to": TODAY, "page": str(10**30)}, 404),
        ({"from": TODAY, "to": TODAY, "page_size": "-5"}, 200),  # the default page size
    ],
)
def test_hostile_queries_are_answered_as_what_they_are(api, clinic, params, status):
    response = _get(api, **params)

    assert response.status_code == status, response.content


@pytest.mark.parametrize("params", [{"therapist": "abc"}, {"therapist": "0"}, {"modality": "shiatsu"}])
def test_bad_filters_are_refused(api, clinic, params):
    assert _get(api, **{"from": TODAY, "to": TODAY, **params}).status_code == 400


def test_dates_at_the_end_of_the_calendar_are_refused(api, clinic):
    assert _get(api, **{"from": "9999-12-31", "to": "9999-12-31"}).status_code == 400


# --- Filters -------------------------------------------------------------------


def test_filter_by_therapist(api, clinic, therapist, other_therapist):
    mine = slot_at(therapist, local(2026, 12, 2, 9))
    slot_at(other_therapist, local(2026, 12, 2, 9))

    assert _ids(_get(api, **{"from": TODAY, "to": "2026-12-02", "therapist": therapist.pk})) == [mine.pk]


def test_filter_by_an_unknown_therapist_lists_nothing(api, clinic, therapist):
    slot_at(therapist, local(2026, 12, 2, 9))

    assert _ids(_get(api, **{"from": TODAY, "to": "2026-12-02", "therapist": therapist.pk + 1000})) == []


def test_filter_by_modality(api, clinic):
    both = TherapistFactory(gives_therapeutic=True, gives_deep_tissue=True)
    gentle = TherapistFactory(gives_therapeutic=True, gives_deep_tissue=False)
    deep_only = TherapistFactory(gives_therapeutic=False, gives_deep_tissue=True)
    at_both = slot_at(both, local(2026, 12, 2, 9))
    at_gentle = slot_at(gentle, local(2026, 12, 2, 10))
    at_deep_only = slot_at(deep_only, local(2026, 12, 2, 11))
    query = {"from": TODAY, "to": "2026-12-02"}

    assert _ids(_get(api, **query, modality="deep_tissue")) == [at_both.pk, at_deep_only.pk]
    assert _ids(_get(api, **query, modality="therapeutic")) == [at_both.pk, at_gentle.pk]
    assert _ids(_get(api, **query)) == [at_both.pk, at_gentle.pk, at_deep_only.pk]


def test_a_cancelled_booking_makes_its_slot_available_at_once(api, as_user, clinic, client_user, therapist):
    # given a booked slot
    slot = slot_at(therapist, local(2026, 12, 5, 9))
    owner = as_user(client_user)
    booking = book(owner, slot).json()
    assert _ids(_get(api, **{"from": "2026-12-05", "to": "2026-12-05"})) == []

    # when its client cancels
    assert owner.post(f"/api/v1/bookings/{booking['id']}/cancel/", {}, format="json").status_code == 200

    # then the slot is listed again
    assert _ids(_get(api, **{"from": "2026-12-05", "to": "2026-12-05"})) == [slot.pk]


# --- Cost --------------------------------------------------------------------------


def _bulk_slots(count: int) -> None:
    therapists = [TherapistFactory() for _ in range(4)]
    start = local(2026, 12, 2, 0)
    Slot.objects.bulk_create(
        Slot(
            therapist=therapists[i % 4],
            starts_at=start + timedelta(minutes=30 * (i // 4)),
            ends_at=start + timedelta(minutes=30 * (i // 4) + 30),
        )
        for i in range(count)
    )


def test_one_slot_and_two_hundred_cost_the_same_few_queries(api, clinic, django_assert_max_num_queries):
    _bulk_slots(1)
    with django_assert_max_num_queries(5) as one:
        _get(api, **{"from": TODAY, "to": "2026-12-31", "page_size": 500})
    Slot.objects.all().delete()
    _bulk_slots(200)

    with django_assert_max_num_queries(5) as many:
        response = _get(api, **{"from": TODAY, "to": "2026-12-31", "page_size": 500})

    assert len(response.json()["results"]) == 200
    assert len(many) == len(one)
