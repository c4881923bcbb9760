"""The front desk's schedule (docs/api.md, Schedules): working hours, shift generation,
single shifts, time off and closures — services and API, as every role.

NOW is Tuesday 2026-12-01 10:00 in New York unless a test says otherwise. The
`location` is in New York, where `therapist` works; `london` is a second location.
"""

from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.core.exceptions import ValidationError
from django.db import connection

from booking import schedule
from booking.errors import ShiftHasBookings, ShiftOverlap
from booking.models import Booking, Closure, Shift, TimeOff, WorkingHours
from booking.tests.factories import (
    BookingFactory,
    ClosureFactory,
    ShiftFactory,
    TimeOffFactory,
    WorkingHoursFactory,
)
from booking.tests.helpers import NOW, assert_conflict, frozen
from clinic.tests.factories import LocationFactory, RoomFactory, ServiceFactory, TherapistFactory
from config.testing.threads import run_together

pytestmark = pytest.mark.django_db

NEW_YORK = ZoneInfo("America/New_York")
LONDON = ZoneInfo("Europe/London")
SYDNEY = ZoneInfo("Australia/Sydney")
UTC = ZoneInfo("UTC")

WORKING_HOURS = "/api/v1/working-hours/"
SHIFTS = "/api/v1/shifts/"
GENERATE = "/api/v1/shifts/generate/"
TIME_OFF = "/api/v1/time-off/"
CLOSURES = "/api/v1/closures/"


@pytest.fixture(autouse=True)
def _now():
    with frozen():
        yield


@pytest.fixture
def location(db):
    return LocationFactory(name="Midtown", time_zone="America/New_York")


@pytest.fixture
def london(db):
    return LocationFactory(name="Soho", time_zone="Europe/London")


@pytest.fixture
def therapist(therapist, location, london):
    """The root fixture's therapist, working at both locations."""
    therapist.locations.add(location, london)
    return therapist


@pytest.fixture
def other_therapist(other_therapist, location):
    other_therapist.locations.add(location)
    return other_therapist


@pytest.fixture
def staff_api(as_user, staff_user):
    return as_user(staff_user)


def at(year, month, day, hour=0, minute=0, tz=NEW_YORK) -> datetime:
    """An aware datetime at that wall-clock time in `tz` (New York unless said)."""
    return datetime(year, month, day, hour, minute, tzinfo=tz)


def _utc(dt: datetime) -> str:
    return dt.astimezone(UTC).isoformat().replace("+00:00", "Z")


def _spans(**filters) -> list[tuple[datetime, datetime]]:
    return list(Shift.objects.filter(**filters).order_by("starts_at").values_list("starts_at", "ends_at"))


def _booking(therapist, location, starts_at, *, minutes=60, buffer=0, **fields) -> Booking:
    """A booking of a `minutes` service with `buffer`, straight in the database (confirmed unless said)."""
    service = ServiceFactory(duration_minutes=minutes, buffer_minutes=buffer)
    return BookingFactory(therapist=therapist, location=location, service=service, starts_at=starts_at, **fields)


def _held(therapist, location, starts_at, **fields) -> Booking:
    """A waitlist offer holding the time (status `held`, no intake yet)."""
    return _booking(
        therapist,
        location,
        starts_at,
        status=Booking.Status.HELD,
        hold_expires_at=NOW + timedelta(minutes=30),
        intake=None,
        intake_status=Booking.IntakeStatus.PENDING,
        **fields,
    )


def _cancelled(therapist, location, starts_at, **fields) -> Booking:
    return _booking(therapist, location, starts_at, status=Booking.Status.CANCELLED, cancelled_at=NOW, **fields)


# --- Who may run the schedule -----------------------------------------------------------


@pytest.fixture
def schedule_rows(therapist, location):
    """One row of each kind the endpoints below act on."""
    return {
        "hours": WorkingHoursFactory(therapist=therapist, location=location, weekday=0),
        "shift": ShiftFactory(
            therapist=therapist, location=location, starts_at=at(2026, 12, 10, 9), ends_at=at(2026, 12, 10, 17)
        ),
        "time_off": TimeOffFactory(therapist=therapist, starts_at=at(2026, 12, 20, 9), ends_at=at(2026, 12, 20, 17)),
        "closure": ClosureFactory(location=location, starts_at=at(2026, 12, 25), ends_at=at(2026, 12, 26)),
    }


def _requests(therapist, location, rows):
    """(method, path, body, status when allowed) of every schedule endpoint."""
    return {
        "list working hours": ("get", WORKING_HOURS, None, 200),
        "add working hours": (
            "post",
            WORKING_HOURS,
            {
                "therapist": therapist.pk,
                "location": location.pk,
                "weekday": 2,
                "start_time": "09:00",
                "end_time": "13:00",
            },
            201,
        ),
        "read working hours": ("get", f"{WORKING_HOURS}{rows['hours'].pk}/", None, 200),
        "change working hours": ("patch", f"{WORKING_HOURS}{rows['hours'].pk}/", {"end_time": "18:00"}, 200),
        "delete working hours": ("delete", f"{WORKING_HOURS}{rows['hours'].pk}/", None, 204),
        "generate shifts": ("post", GENERATE, {"from": "2026-12-07", "to": "2026-12-07"}, 200),
        "list shifts": ("get", SHIFTS, None, 200),
        "read a shift": ("get", f"{SHIFTS}{rows['shift'].pk}/", None, 200),
        "add a shift": (
            "post",
            SHIFTS,
            {
                "therapist": therapist.pk,
                "location": location.pk,
                "starts_at": "2026-12-11T09:00:00-05:00",
                "ends_at": "2026-12-11T17:00:00-05:00",
            },
            201,
        ),
        "change a shift": ("patch", f"{SHIFTS}{rows['shift'].pk}/", {"ends_at": "2026-12-10T18:00:00-05:00"}, 200),
        "delete a shift": ("delete", f"{SHIFTS}{rows['shift'].pk}/", None, 204),
        "list time off": ("get", TIME_OFF, None, 200),
        "read time off": ("get", f"{TIME_OFF}{rows['time_off'].pk}/", None, 200),
        "add time off": (
            "post",
            TIME_OFF,
            {"therapist": therapist.pk, "starts_at": "2026-12-21T09:00:00Z", "ends_at": "2026-12-21T17:00:00Z"},
            201,
        ),
        "delete time off": ("delete", f"{TIME_OFF}{rows['time_off'].pk}/", None, 204),
        "list closures": ("get", CLOSURES, None, 200),
        "read a closure": ("get", f"{CLOSURES}{rows['closure'].pk}/", None, 200),
        "add a closure": (
            "post",
            CLOSURES,
            {"location": location.pk, "starts_at": "2026-12-31T00:00:00-05:00", "ends_at": "2027-01-01T00:00:00-05:00"},
            201,
        ),
        "delete a closure": ("delete", f"{CLOSURES}{rows['closure'].pk}/", None, 204),
    }


ENDPOINTS = [
    "list working hours",
    "add working hours",
    "read working hours",
    "change working hours",
    "delete working hours",
    "generate shifts",
    "list shifts",
    "read a shift",
    "add a shift",
    "change a shift",
    "delete a shift",
    "list time off",
    "read time off",
    "add time off",
    "delete time off",
    "list closures",
    "read a closure",
    "add a closure",
    "delete a closure",
]
DENIED = {"client": 403, "other_client": 403, "therapist": 403, "other_therapist": 403, "anonymous": 401}


def _state():
    return (
        list(WorkingHours.objects.values_list("id", "end_time").order_by("id")),
        list(Shift.objects.values_list("id", "starts_at", "ends_at").order_by("id")),
        list(TimeOff.objects.values_list("id").order_by("id")),
        list(Closure.objects.values_list("id").order_by("id")),
    )


@pytest.mark.parametrize("endpoint", ENDPOINTS)
@pytest.mark.parametrize("role", ["staff", "admin"])
def test_front_desk_runs_the_schedule(api_as, clinic, therapist, location, schedule_rows, role, endpoint):
    method, path, body, allowed = _requests(therapist, location, schedule_rows)[endpoint]

    response = getattr(api_as(role), method)(path, body, format="json")

    assert response.status_code == allowed, response.content


@pytest.mark.parametrize("endpoint", ENDPOINTS)
@pytest.mark.parametrize("role", sorted(DENIED))
def test_no_one_else_touches_the_schedule(api_as, clinic, therapist, location, schedule_rows, role, endpoint):
    method, path, body, _ = _requests(therapist, location, schedule_rows)[endpoint]
    before = _state()

    response = getattr(api_as(role), method)(path, body, format="json")

    assert response.status_code == DENIED[role], response.content
    assert _state() == before


def test_the_v1_slot_endpoints_are_gone(staff_api, clinic):
    assert staff_api.get("/api/v1/slots/").status_code == 404
    assert staff_api.post("/api/v1/slots/generate/", {}, format="json").status_code == 404


# --- Working hours -------------------------------------------------------------------


def _hours_body(therapist, location, **change):
    return {
        "therapist": therapist.pk,
        "location": location.pk,
        "weekday": 0,
        "start_time": "09:00",
        "end_time": "17:00",
        **change,
    }


def test_working_hours_round_trip(staff_api, clinic, therapist, location, london):
    created = staff_api.post(WORKING_HOURS, _hours_body(therapist, location), format="json")
    assert created.status_code == 201, created.json()
    row = created.json()
    assert row == {
        "id": row["id"],
        "therapist": therapist.pk,
        "location": location.pk,
        "weekday": 0,
        "start_time": "09:00:00",
        "end_time": "17:00:00",
    }

    changed = staff_api.patch(
        f"{WORKING_HOURS}{row['id']}/", {"start_time": "08:00", "location": london.pk}, format="json"
    )
    assert changed.status_code == 200, changed.json()
    assert (changed.json()["start_time"], changed.json()["location"]) == ("08:00:00", london.pk)

    listed = staff_api.get(WORKING_HOURS, {"therapist": therapist.pk, "location": london.pk}).json()
    assert [r["id"] for r in listed["results"]] == [row["id"]]
    assert staff_api.get(WORKING_HOURS, {"location": location.pk}).json()["count"] == 0

    assert staff_api.delete(f"{WORKING_HOURS}{row['id']}/").status_code == 204
    assert not WorkingHours.objects.exists()


def test_working_hours_need_a_location_the_therapist_works_at(staff_api, clinic, therapist, other_therapist, london):
    # other_therapist works only at `location`
    response = staff_api.post(WORKING_HOURS, _hours_body(other_therapist, london), format="json")

    assert response.status_code == 400
    assert "location" in response.json()
    assert not WorkingHours.objects.exists()


def test_working_hours_cannot_move_to_a_location_the_therapist_does_not_work_at(
    staff_api, clinic, therapist, other_therapist, location, london
):
    row = WorkingHoursFactory(therapist=other_therapist, location=location)

    moved = staff_api.patch(f"{WORKING_HOURS}{row.pk}/", {"location": london.pk}, format="json")
    given = staff_api.patch(
        f"{WORKING_HOURS}{WorkingHoursFactory(therapist=therapist, location=london).pk}/",
        {"therapist": other_therapist.pk},
        format="json",
    )

    assert moved.status_code == given.status_code == 400
    assert "location" in moved.json()
    assert "location" in given.json()
    row.refresh_from_db()
    assert row.location == location


def test_working_hours_service_refuses_a_location_the_therapist_does_not_work_at(clinic, other_therapist, london):
    with pytest.raises(ValidationError) as refused:
        schedule.working_hours_create(
            therapist=other_therapist, location=london, weekday=0, start_time=time(9), end_time=time(17)
        )

    assert "location" in refused.value.message_dict


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"end_time": "09:00"}, "end_time"),
        ({"end_time": "08:00"}, "end_time"),
        ({"weekday": 7}, "weekday"),
        ({"weekday": -1}, "weekday"),
        ({"weekday": "monday"}, "weekday"),
        ({"start_time": "9am"}, "start_time"),
        ({"start_time": "09:00+01:00"}, "start_time"),
        ({"end_time": "17:00Z"}, "end_time"),
        ({"therapist": 10**6}, "therapist"),
        ({"therapist": "x"}, "therapist"),
        ({"location": 10**6}, "location"),
        ({"location": None}, "location"),
        ({"location": 10**30}, "location"),
    ],
)
def test_invalid_working_hours_are_refused(staff_api, clinic, therapist, location, change, field):
    response = staff_api.post(WORKING_HOURS, {**_hours_body(therapist, location), **change}, format="json")

    assert response.status_code == 400, response.content
    assert field in response.json()
    assert not WorkingHours.objects.exists()


def test_working_hours_without_a_location_are_refused(staff_api, clinic, therapist, location):
    body = _hours_body(therapist, location)
    del body["location"]

    response = staff_api.post(WORKING_HOURS, body, format="json")

    assert response.status_code == 400
    assert "location" in response.json()


def test_working_hours_cannot_be_changed_to_end_before_they_start(staff_api, clinic, therapist, location):
    row = WorkingHoursFactory(therapist=therapist, location=location, start_time=time(9), end_time=time(17))

    response = staff_api.patch(f"{WORKING_HOURS}{row.pk}/", {"end_time": "08:30"}, format="json")

    assert response.status_code == 400
    assert "end_time" in response.json()
    row.refresh_from_db()
    assert row.end_time == time(17)


# --- Generating shifts from working hours -------------------------------------------------


def test_generate_makes_one_shift_per_row_per_date(staff_api, clinic, therapist, location, london):
    # Mondays 09:00-17:00 in New York, Wednesdays 10:00-14:00 in London
    WorkingHoursFactory(therapist=therapist, location=location, weekday=0, start_time=time(9), end_time=time(17))
    WorkingHoursFactory(therapist=therapist, location=london, weekday=2, start_time=time(10), end_time=time(14))

    response = staff_api.post(GENERATE, {"from": "2026-12-07", "to": "2026-12-13"}, format="json")

    assert response.status_code == 200
    assert response.json() == {"created": 2, "skipped": 0}
    assert list(Shift.objects.order_by("starts_at").values_list("location", "starts_at", "ends_at")) == [
        (location.pk, at(2026, 12, 7, 9), at(2026, 12, 7, 17)),
        (london.pk, at(2026, 12, 9, 10, tz=LONDON), at(2026, 12, 9, 14, tz=LONDON)),
    ]


def test_generate_twice_creates_nothing_new(staff_api, clinic, therapist, other_therapist, location):
    for weekday in range(7):
        WorkingHoursFactory(therapist=therapist, location=location, weekday=weekday)
    WorkingHoursFactory(therapist=other_therapist, location=location, weekday=2)
    dates = {"from": "2026-12-07", "to": "2026-12-20"}

    first = staff_api.post(GENERATE, dates, format="json").json()
    second = staff_api.post(GENERATE, dates, format="json").json()

    assert first == {"created": 14 + 2, "skipped": 0}
    assert second == {"created": 0, "skipped": first["created"]}
    assert Shift.objects.count() == first["created"]


def test_generate_only_for_one_therapist(staff_api, clinic, therapist, other_therapist, location):
    WorkingHoursFactory(therapist=therapist, location=location, weekday=0)
    WorkingHoursFactory(therapist=other_therapist, location=location, weekday=0)

    response = staff_api.post(
        GENERATE, {"from": "2026-12-07", "to": "2026-12-07", "therapist": therapist.pk}, format="json"
    )

    assert response.json() == {"created": 1, "skipped": 0}
    assert set(Shift.objects.values_list("therapist_id", flat=True)) == {therapist.pk}


def test_generate_leaves_out_inactive_therapists_and_locations_and_places_they_left(clinic, location, london):
    WorkingHoursFactory(therapist=TherapistFactory(active=False, locations=[location]), location=location)
    closed_for_good = LocationFactory(active=False)
    WorkingHoursFactory(therapist=TherapistFactory(locations=[closed_for_good]), location=closed_for_good)
    left = TherapistFactory(locations=[location, london])
    WorkingHoursFactory(therapist=left, location=location)
    left.locations.remove(location)

    result = schedule.shifts_generate(start=date(2026, 12, 7), end=date(2026, 12, 7))

    assert result == schedule.GenerateResult(created=0, skipped=0)


def test_generate_skips_what_would_overlap_a_shift_of_the_therapist_anywhere(clinic, therapist, location, london):
    # given Monday 09:00-17:00 in New York, and shifts made by hand:
    WorkingHoursFactory(therapist=therapist, location=location, weekday=0, start_time=time(9), end_time=time(17))
    # the 7th: 13:00-14:00 New York time, at the London location
    ShiftFactory(therapist=therapist, location=london, starts_at=at(2026, 12, 7, 13), ends_at=at(2026, 12, 7, 14))
    # the 14th: back to back, before and after
    ShiftFactory(therapist=therapist, location=london, starts_at=at(2026, 12, 14, 7), ends_at=at(2026, 12, 14, 9))
    ShiftFactory(therapist=therapist, location=location, starts_at=at(2026, 12, 14, 17), ends_at=at(2026, 12, 14, 18))
    # the 21st: someone else's shift at the same time
    ShiftFactory(starts_at=at(2026, 12, 21, 9), ends_at=at(2026, 12, 21, 17), location=location)

    result = schedule.shifts_generate(start=date(2026, 12, 7), end=date(2026, 12, 21))

    assert result == schedule.GenerateResult(created=2, skipped=1)
    assert _spans(therapist=therapist, location=location) == [
        (at(2026, 12, 14, 9), at(2026, 12, 14, 17)),
        (at(2026, 12, 14, 17), at(2026, 12, 14, 18)),
        (at(2026, 12, 21, 9), at(2026, 12, 21, 17)),
    ]


def test_generate_skips_overlapping_rows_across_zones(clinic, therapist, location, london):
    # Mondays 09:00-17:00 New York (14:00-22:00 UTC) and 15:00-16:00 London (15:00-16:00 UTC)
    WorkingHoursFactory(therapist=therapist, location=location, weekday=0, start_time=time(9), end_time=time(17))
    WorkingHoursFactory(therapist=therapist, location=london, weekday=0, start_time=time(15), end_time=time(16))

    result = schedule.shifts_generate(start=date(2026, 12, 7), end=date(2026, 12, 7))

    assert result == schedule.GenerateResult(created=1, skipped=1)
    assert Shift.objects.count() == 1


def test_generate_does_not_carve_out_time_off(clinic, therapist, location):
    WorkingHoursFactory(therapist=therapist, location=location, weekday=0, start_time=time(9), end_time=time(17))
    TimeOffFactory(therapist=therapist, starts_at=at(2026, 12, 7, 12), ends_at=at(2026, 12, 7, 13))

    result = schedule.shifts_generate(start=date(2026, 12, 7), end=date(2026, 12, 7))

    assert result.created == 1
    assert _spans() == [(at(2026, 12, 7, 9), at(2026, 12, 7, 17))]


def test_generate_accepts_92_days(staff_api, clinic, therapist, location):
    WorkingHoursFactory(therapist=therapist, location=location, weekday=0)

    response = staff_api.post(GENERATE, {"from": "2026-12-07", "to": "2027-03-08"}, format="json")

    assert response.status_code == 200
    assert response.json() == {"created": 14, "skipped": 0}


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"from": "2026-12-07", "to": "2027-03-09"}, "to"),  # 93 days
        ({"from": "2026-12-07", "to": "2026-12-06"}, "to"),
        ({"to": "2026-12-07"}, "from"),
        ({"from": "2026-12-07"}, "to"),
        ({"from": "2026-12-32", "to": "2026-12-07"}, "from"),
        ({"from": "2026-12-07T00:00:00Z", "to": "2026-12-08"}, "from"),
        ({"from": "2026-12-07", "to": "2026-12-08", "therapist": 10**6}, "therapist"),
        ({"from": "2026-12-07", "to": "2026-12-08", "therapist": 10**30}, "therapist"),
        ({"from": "9999-12-30", "to": "9999-12-31"}, "to"),
        ({"from": "0001-01-01", "to": "0001-01-02"}, "from"),
    ],
)
def test_generate_refuses_bad_ranges(staff_api, clinic, therapist, location, body, field):
    WorkingHoursFactory(therapist=therapist, location=location, weekday=0)

    response = staff_api.post(GENERATE, body, format="json")

    assert response.status_code == 400, response.content
    assert field in response.json()
    assert not Shift.objects.exists()


def test_generate_service_refuses_more_than_92_days(clinic):
    with pytest.raises(ValidationError):
        schedule.shifts_generate(start=date(2026, 12, 7), end=date(2027, 3, 9))


# --- One shift ------------------------------------------------------------------


def _shift_body(therapist, location, starts_at="2026-12-10T09:00:00-05:00", ends_at="2026-12-10T17:00:00-05:00"):
    return {"therapist": therapist.pk, "location": location.pk, "starts_at": starts_at, "ends_at": ends_at}


def _shift(therapist, location, starts_at, ends_at) -> Shift:
    return ShiftFactory(therapist=therapist, location=location, starts_at=starts_at, ends_at=ends_at)


def test_create_one_shift(staff_api, clinic, therapist, location):
    response = staff_api.post(SHIFTS, _shift_body(therapist, location), format="json")

    assert response.status_code == 201, response.json()
    body = response.json()
    assert body == {
        "id": body["id"],
        "therapist": therapist.pk,
        "location": location.pk,
        "starts_at": "2026-12-10T14:00:00Z",
        "ends_at": "2026-12-10T22:00:00Z",
    }
    assert _spans() == [(at(2026, 12, 10, 9), at(2026, 12, 10, 17))]


@pytest.mark.parametrize(
    ("starts_at", "ends_at"),
    [
        ("2026-12-10T12:00:00-05:00", "2026-12-10T20:00:00-05:00"),
        ("2026-12-10T08:00:00-05:00", "2026-12-10T09:01:00-05:00"),
        ("2026-12-10T15:00:00Z", "2026-12-10T16:00:00Z"),  # inside, given in UTC
        ("2026-12-10T08:00:00-05:00", "2026-12-10T18:00:00-05:00"),  # around it
    ],
)
@pytest.mark.parametrize("where", ["same location", "another location"])
def test_an_overlapping_shift_is_refused(staff_api, clinic, therapist, location, london, starts_at, ends_at, where):
    _shift(therapist, location, at(2026, 12, 10, 9), at(2026, 12, 10, 17))
    place = location if where == "same location" else london

    response = staff_api.post(SHIFTS, _shift_body(therapist, place, starts_at, ends_at), format="json")

    assert_conflict(response, "shift_overlap")
    assert Shift.objects.count() == 1


def test_back_to_back_and_other_therapists_shifts_are_fine(staff_api, clinic, therapist, other_therapist, location):
    _shift(therapist, location, at(2026, 12, 10, 9), at(2026, 12, 10, 17))

    after = staff_api.post(
        SHIFTS,
        _shift_body(therapist, location, "2026-12-10T17:00:00-05:00", "2026-12-10T19:00:00-05:00"),
        format="json",
    )
    before = staff_api.post(
        SHIFTS,
        _shift_body(therapist, location, "2026-12-10T07:00:00-05:00", "2026-12-10T09:00:00-05:00"),
        format="json",
    )
    same_time = staff_api.post(SHIFTS, _shift_body(other_therapist, location), format="json")

    assert (after.status_code, before.status_code, same_time.status_code) == (201, 201, 201)


def test_a_shift_needs_a_location_the_therapist_works_at(staff_api, clinic, other_therapist, london):
    response = staff_api.post(SHIFTS, _shift_body(other_therapist, london), format="json")

    assert response.status_code == 400
    assert "location" in response.json()
    assert not Shift.objects.exists()


def test_shift_create_service_refuses_overlaps(clinic, therapist, location, london):
    schedule.shift_create(
        therapist=therapist, location=location, starts_at=at(2026, 12, 10, 9), ends_at=at(2026, 12, 10, 17)
    )

    with pytest.raises(ShiftOverlap):
        schedule.shift_create(
            therapist=therapist, location=london, starts_at=at(2026, 12, 10, 16, 59), ends_at=at(2026, 12, 10, 18)
        )


def test_the_exclusion_constraint_is_a_shift_overlap_too(clinic, therapist, location, monkeypatch):
    # given the check before the insert misses (as a writer racing without the lock would)
    _shift(therapist, location, at(2026, 12, 10, 9), at(2026, 12, 10, 17))
    monkeypatch.setattr(schedule, "_require_no_other_shift", lambda *args, **kwargs: None)

    # when / then the database refuses, and the service says so in the clinic's words
    with pytest.raises(ShiftOverlap):
        schedule.shift_create(
            therapist=therapist, location=location, starts_at=at(2026, 12, 10, 10), ends_at=at(2026, 12, 10, 11)
        )
    assert Shift.objects.count() == 1


@pytest.mark.parametrize(
    ("starts_at", "ends_at", "field"),
    [
        ("2026-12-10T09:00:00", "2026-12-10T17:00:00-05:00", "starts_at"),  # no offset
        ("2026-12-10T09:00:00-05:00", "2026-12-10T17:00:00", "ends_at"),
        ("2026-12-10T09:00", "2026-12-10T17:00", "starts_at"),
        ("2026-12-10", "2026-12-10T17:00:00-05:00", "starts_at"),
        ("2026-12-10T17:00:00-05:00", "2026-12-10T09:00:00-05:00", "ends_at"),  # ends before it starts
        ("2026-12-10T09:00:00-05:00", "2026-12-10T09:00:00-05:00", "ends_at"),  # lasts nothing
        ("2026-12-10T09:00:00-05:00", "2026-12-11T09:01:00-05:00", "ends_at"),  # over 24 hours
        ("tomorrow", "2026-12-10T17:00:00-05:00", "starts_at"),
        (None, "2026-12-10T17:00:00-05:00", "starts_at"),
        (12, "2026-12-10T17:00:00-05:00", "starts_at"),
        ("0001-01-01T00:00:00+01:00", "0001-01-01T01:00:00+01:00", "starts_at"),
    ],
)
def test_invalid_shift_times_are_refused(staff_api, clinic, therapist, location, starts_at, ends_at, field):
    response = staff_api.post(SHIFTS, _shift_body(therapist, location, starts_at, ends_at), format="json")

    assert response.status_code == 400, response.content
    assert field in response.json()
    assert not Shift.objects.exists()


@pytest.mark.parametrize("body", [{}, [], "shift", {"therapist": 10**6}, {"therapist": 10**30}, {"location": "x"}])
def test_malformed_shift_bodies_are_refused(staff_api, clinic, therapist, body):
    response = staff_api.post(SHIFTS, body, format="json")

    assert response.status_code == 400, response.content


# --- Changing and deleting a shift -------------------------------------------------------


@pytest.fixture
def day_shift(therapist, location):
    """Thursday 2026-12-10, 09:00-17:00 in New York."""
    return _shift(therapist, location, at(2026, 12, 10, 9), at(2026, 12, 10, 17))


def test_move_a_shift(staff_api, clinic, day_shift):
    response = staff_api.patch(
        f"{SHIFTS}{day_shift.pk}/",
        {"starts_at": "2026-12-11T10:00:00-05:00", "ends_at": "2026-12-11T16:00:00-05:00"},
        format="json",
    )

    assert response.status_code == 200, response.json()
    assert (response.json()["starts_at"], response.json()["ends_at"]) == (
        "2026-12-11T15:00:00Z",
        "2026-12-11T21:00:00Z",
    )
    day_shift.refresh_from_db()
    assert (day_shift.starts_at, day_shift.ends_at) == (at(2026, 12, 11, 10), at(2026, 12, 11, 16))


def test_a_shift_may_shrink_around_its_bookings(staff_api, clinic, therapist, location, day_shift):
    # given bookings 10:00-11:00 and 15:00-16:00 (with a 15 minute buffer past the new end)
    _booking(therapist, location, at(2026, 12, 10, 10))
    _booking(therapist, location, at(2026, 12, 10, 15), buffer=15)

    response = staff_api.patch(
        f"{SHIFTS}{day_shift.pk}/",
        {"starts_at": "2026-12-10T10:00:00-05:00", "ends_at": "2026-12-10T16:00:00-05:00"},
        format="json",
    )

    assert response.status_code == 200, response.json()


@pytest.mark.parametrize(
    ("change", "stranded"),
    [
        ({"ends_at": "2026-12-10T15:30:00-05:00"}, ["afternoon"]),  # ends inside the 15:00 booking
        ({"starts_at": "2026-12-10T10:30:00-05:00"}, ["morning"]),  # starts after the 10:00 booking began
        (
            {"starts_at": "2026-12-11T09:00:00-05:00", "ends_at": "2026-12-11T17:00:00-05:00"},
            ["morning", "afternoon"],
        ),  # another day
    ],
)
def test_a_change_that_strands_bookings_is_refused_with_them(
    staff_api, clinic, therapist, location, day_shift, change, stranded
):
    bookings = {
        "morning": _booking(therapist, location, at(2026, 12, 10, 10)),
        "afternoon": _held(therapist, location, at(2026, 12, 10, 15)),
    }
    before = (day_shift.starts_at, day_shift.ends_at)

    response = staff_api.patch(f"{SHIFTS}{day_shift.pk}/", change, format="json")

    assert_conflict(response, "shift_has_bookings")
    assert response.json()["conflicts"] == sorted(bookings[name].pk for name in stranded)
    day_shift.refresh_from_db()
    assert (day_shift.starts_at, day_shift.ends_at) == before


def test_giving_a_shift_with_bookings_to_someone_else_is_refused(
    staff_api, clinic, therapist, other_therapist, location, london, day_shift
):
    booking = _booking(therapist, location, at(2026, 12, 10, 10))

    to_someone_else = staff_api.patch(f"{SHIFTS}{day_shift.pk}/", {"therapist": other_therapist.pk}, format="json")
    to_another_place = staff_api.patch(f"{SHIFTS}{day_shift.pk}/", {"location": london.pk}, format="json")

    for response in (to_someone_else, to_another_place):
        assert_conflict(response, "shift_has_bookings")
        assert response.json()["conflicts"] == [booking.pk]
    day_shift.refresh_from_db()
    assert (day_shift.therapist, day_shift.location) == (therapist, location)


def test_bookings_that_are_not_active_or_not_in_the_shift_do_not_hold_it(
    staff_api, clinic, therapist, other_therapist, location, london, day_shift
):
    _cancelled(therapist, location, at(2026, 12, 10, 10))
    _booking(therapist, location, at(2026, 12, 10, 11), status=Booking.Status.COMPLETED)
    _booking(other_therapist, location, at(2026, 12, 10, 12))  # someone else's
    _booking(therapist, location, at(2026, 12, 10, 18))  # after the shift, in no shift at all

    shrunk = staff_api.patch(f"{SHIFTS}{day_shift.pk}/", {"ends_at": "2026-12-10T09:30:00-05:00"}, format="json")
    deleted = staff_api.delete(f"{SHIFTS}{day_shift.pk}/")

    assert (shrunk.status_code, deleted.status_code) == (200, 204)
    assert not Shift.objects.exists()


def test_a_change_onto_another_shift_is_refused(staff_api, clinic, therapist, location, london, day_shift):
    _shift(therapist, london, at(2026, 12, 11, 9), at(2026, 12, 11, 17))

    response = staff_api.patch(
        f"{SHIFTS}{day_shift.pk}/",
        {"starts_at": "2026-12-11T08:00:00-05:00", "ends_at": "2026-12-11T10:00:00-05:00"},
        format="json",
    )

    assert_conflict(response, "shift_overlap")
    day_shift.refresh_from_db()
    assert day_shift.starts_at == at(2026, 12, 10, 9)


def test_a_shift_moved_to_another_therapist_may_not_overlap_theirs(
    staff_api, clinic, therapist, other_therapist, location, day_shift
):
    _shift(other_therapist, location, at(2026, 12, 10, 16), at(2026, 12, 10, 20))

    response = staff_api.patch(f"{SHIFTS}{day_shift.pk}/", {"therapist": other_therapist.pk}, format="json")

    assert_conflict(response, "shift_overlap")


def test_a_shift_may_grow_over_its_own_time(staff_api, clinic, day_shift):
    response = staff_api.patch(f"{SHIFTS}{day_shift.pk}/", {"ends_at": "2026-12-10T19:00:00-05:00"}, format="json")

    assert response.status_code == 200, response.json()


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"ends_at": "2026-12-10T08:00:00-05:00"}, "ends_at"),  # before the stored start
        ({"starts_at": "2026-12-10T17:00:00-05:00"}, "ends_at"),  # at the stored end
        ({"starts_at": "2026-12-10T08:00:00"}, "starts_at"),  # no offset
        ({"ends_at": "2026-12-11T09:01:00-05:00"}, "ends_at"),  # over 24 hours
        ({"location": 10**6}, "location"),
    ],
)
def test_invalid_shift_changes_are_refused(staff_api, clinic, day_shift, change, field):
    response = staff_api.patch(f"{SHIFTS}{day_shift.pk}/", change, format="json")

    assert response.status_code == 400, response.content
    assert field in response.json()
    day_shift.refresh_from_db()
    assert (day_shift.starts_at, day_shift.ends_at) == (at(2026, 12, 10, 9), at(2026, 12, 10, 17))


def test_a_shift_with_active_bookings_cannot_be_deleted(staff_api, clinic, therapist, location, day_shift):
    confirmed = _booking(therapist, location, at(2026, 12, 10, 13))
    held = _held(therapist, location, at(2026, 12, 10, 9))

    response = staff_api.delete(f"{SHIFTS}{day_shift.pk}/")

    assert_conflict(response, "shift_has_bookings")
    assert response.json()["conflicts"] == sorted([confirmed.pk, held.pk])
    assert Shift.objects.filter(pk=day_shift.pk).exists()


def test_shift_services_name_the_stranded_bookings(clinic, therapist, location, day_shift):
    booking = _booking(therapist, location, at(2026, 12, 10, 16))

    with pytest.raises(ShiftHasBookings) as on_delete:
        schedule.shift_delete(shift_id=day_shift.pk)
    with pytest.raises(ShiftHasBookings) as on_update:
        schedule.shift_update(shift_id=day_shift.pk, ends_at=at(2026, 12, 10, 16, 30))

    assert on_delete.value.extra == on_update.value.extra == {"conflicts": [booking.pk]}


@pytest.mark.parametrize("method", ["get", "patch", "delete"])
@pytest.mark.parametrize("pk", ["999999", "x", str(10**30)])
def test_an_unknown_shift_is_a_404(staff_api, clinic, method, pk):
    response = getattr(staff_api, method)(f"{SHIFTS}{pk}/", {}, format="json")

    assert response.status_code == 404


# --- Listing shifts ------------------------------------------------------------------


def test_shift_list_filters_by_local_date_of_each_location(staff_api, clinic, therapist, other_therapist, location):
    sydney = LocationFactory(name="Bondi", time_zone="Australia/Sydney")
    other_therapist.locations.add(sydney)
    # 23:00 in New York on the 10th is 04:00 UTC on the 11th
    late_new_york = _shift(therapist, location, at(2026, 12, 10, 23), at(2026, 12, 11, 1))
    # 08:00 in Sydney on the 11th is 21:00 UTC on the 10th
    early_sydney = _shift(other_therapist, sydney, at(2026, 12, 11, 8, tz=SYDNEY), at(2026, 12, 11, 12, tz=SYDNEY))
    earlier = _shift(therapist, location, at(2026, 12, 9, 9), at(2026, 12, 9, 17))

    def ids(**params):
        response = staff_api.get(SHIFTS, params)
        assert response.status_code == 200, response.json()
        return [row["id"] for row in response.json()["results"]]

    assert ids() == [earlier.pk, early_sydney.pk, late_new_york.pk]
    assert ids(**{"from": "2026-12-10", "to": "2026-12-10"}) == [late_new_york.pk]
    assert ids(**{"from": "2026-12-11"}) == [early_sydney.pk]
    assert ids(to="2026-12-10") == [earlier.pk, late_new_york.pk]
    assert ids(therapist=therapist.pk) == [earlier.pk, late_new_york.pk]
    assert ids(location=sydney.pk) == [early_sydney.pk]
    assert ids(therapist=therapist.pk, **{"from": "2026-12-10"}) == [late_new_york.pk]


def test_shift_list_rows(staff_api, clinic, day_shift):
    assert staff_api.get(SHIFTS).json()["results"] == [
        {
            "id": day_shift.pk,
            "therapist": day_shift.therapist_id,
            "location": day_shift.location_id,
            "starts_at": "2026-12-10T14:00:00Z",
            "ends_at": "2026-12-10T22:00:00Z",
        }
    ]


@pytest.mark.parametrize(
    "params",
    [
        {"from": "2026-13-01"},
        {"to": "yesterday"},
        {"therapist": "x"},
        {"location": "x"},
        {"to": "9999-12-31"},
        {"from": "0001-01-01"},
        {"therapist": str(10**30)},
        {"location": "999999"},
    ],
)
def test_shift_list_refuses_bad_filters(staff_api, clinic, params):
    response = staff_api.get(SHIFTS, params)

    assert response.status_code == 400
    assert list(response.json()) == list(params)


# --- Time off --------------------------------------------------------------------


def test_time_off_reports_the_active_bookings_it_overlaps(
    staff_api, clinic, therapist, other_therapist, location, london
):
    # given on 2026-12-10 (New York)
    touching_before = _booking(therapist, location, at(2026, 12, 10, 9))  # 09:00-10:00
    inside = _booking(therapist, location, at(2026, 12, 10, 10, 30))
    held = _held(therapist, london, at(2026, 12, 10, 12))  # a waitlist offer, another location
    buffer_only = _booking(therapist, location, at(2026, 12, 10, 14), buffer=15)  # its buffer reaches 15:00-15:15
    _cancelled(therapist, location, at(2026, 12, 10, 11, 30))
    _booking(therapist, location, at(2026, 12, 10, 15, 15))  # touching after
    _booking(other_therapist, location, at(2026, 12, 10, 11))  # someone else's

    # when the therapist takes 10:00-15:15 off
    response = staff_api.post(
        TIME_OFF,
        {
            "therapist": therapist.pk,
            "starts_at": "2026-12-10T10:00:00-05:00",
            "ends_at": "2026-12-10T15:15:00-05:00",
            "reason": "Dentist",
        },
        format="json",
    )

    # then
    assert response.status_code == 201, response.json()
    body = response.json()
    assert body == {
        "id": body["id"],
        "therapist": therapist.pk,
        "starts_at": "2026-12-10T15:00:00Z",
        "ends_at": "2026-12-10T20:15:00Z",
        "reason": "Dentist",
        "conflicts": [inside.pk, held.pk, buffer_only.pk],
    }
    assert touching_before.pk not in body["conflicts"]
    assert set(Booking.objects.values_list("status", flat=True)) == {"confirmed", "held", "cancelled"}


def test_time_off_without_bookings_has_no_conflicts(staff_api, clinic, therapist, staff_user):
    response = staff_api.post(
        TIME_OFF,
        {"therapist": therapist.pk, "starts_at": "2026-12-10T09:00:00Z", "ends_at": "2026-12-10T10:00:00Z"},
        format="json",
    )

    assert response.status_code == 201
    assert response.json()["conflicts"] == []
    assert response.json()["reason"] == ""
    assert TimeOff.objects.get().created_by == staff_user


def test_time_off_service_returns_the_conflicts(clinic, therapist, location, staff_user):
    booking = _booking(therapist, location, at(2026, 12, 10, 9))

    time_off, conflicts = schedule.time_off_create(
        therapist=therapist, starts_at=at(2026, 12, 10, 8), ends_at=at(2026, 12, 10, 9, 30), by=staff_user
    )

    assert conflicts == [booking.pk]
    assert time_off.created_by == staff_user


@pytest.mark.parametrize(
    ("starts_at", "ends_at", "field"),
    [
        ("2026-12-10T09:00:00", "2026-12-10T10:00:00Z", "starts_at"),
        ("2026-12-10T09:00:00Z", "2026-12-10T10:00:00", "ends_at"),
        ("2026-12-10T10:00:00Z", "2026-12-10T09:00:00Z", "ends_at"),
        ("2026-12-10T10:00:00Z", "2026-12-10T10:00:00Z", "ends_at"),
        ("soon", "2026-12-10T10:00:00Z", "starts_at"),
    ],
)
def test_invalid_time_off_is_refused(staff_api, clinic, therapist, starts_at, ends_at, field):
    response = staff_api.post(
        TIME_OFF, {"therapist": therapist.pk, "starts_at": starts_at, "ends_at": ends_at}, format="json"
    )

    assert response.status_code == 400, response.content
    assert field in response.json()
    assert not TimeOff.objects.exists()


def test_delete_time_off(staff_api, clinic, therapist):
    time_off = TimeOffFactory(therapist=therapist)

    response = staff_api.delete(f"{TIME_OFF}{time_off.pk}/")

    assert response.status_code == 204
    assert not TimeOff.objects.exists()
    assert staff_api.delete(f"{TIME_OFF}{time_off.pk}/").status_code == 404


def test_time_off_list_filters_by_therapist(staff_api, clinic, therapist, other_therapist):
    mine = TimeOffFactory(therapist=therapist)
    TimeOffFactory(therapist=other_therapist)

    response = staff_api.get(TIME_OFF, {"therapist": therapist.pk})

    assert [row["id"] for row in response.json()["results"]] == [mine.pk]
    assert set(response.json()["results"][0]) == {"id", "therapist", "starts_at", "ends_at", "reason"}


# --- Closures -----------------------------------------------------------------------


def _closure_body(location, room=None, starts_at="2026-12-24T12:00:00-05:00", ends_at="2026-12-25T00:00:00-05:00"):
    body = {"location": location.pk, "starts_at": starts_at, "ends_at": ends_at, "reason": "Christmas Eve"}
    if room is not None:
        body["room"] = room.pk
    return body


def test_a_closed_location_reports_every_active_booking_there(
    staff_api, clinic, therapist, other_therapist, location, london
):
    mine = _booking(therapist, location, at(2026, 12, 24, 13))
    theirs = _held(other_therapist, location, at(2026, 12, 24, 11, 30))  # its session runs into 12:00-12:30
    _booking(therapist, location, at(2026, 12, 24, 11))  # ends at 12:00
    _cancelled(other_therapist, location, at(2026, 12, 24, 15))
    _booking(therapist, london, at(2026, 12, 24, 14))  # elsewhere

    response = staff_api.post(CLOSURES, _closure_body(location), format="json")

    assert response.status_code == 201, response.json()
    body = response.json()
    assert body == {
        "id": body["id"],
        "location": location.pk,
        "room": None,
        "starts_at": "2026-12-24T17:00:00Z",
        "ends_at": "2026-12-25T05:00:00Z",
        "reason": "Christmas Eve",
        "conflicts": [theirs.pk, mine.pk],
    }
    assert Closure.objects.get().created_by is not None
    assert Booking.objects.filter(status=Booking.Status.CANCELLED).count() == 1


def test_a_closed_room_reports_only_its_bookings(staff_api, clinic, therapist, other_therapist):
    rooms_place = LocationFactory(uses_rooms=True)
    therapist.locations.add(rooms_place)
    one, two = RoomFactory(location=rooms_place), RoomFactory(location=rooms_place)
    in_it = _booking(therapist, rooms_place, at(2026, 12, 24, 13), room=one)
    _booking(other_therapist, rooms_place, at(2026, 12, 24, 13), room=two)

    response = staff_api.post(CLOSURES, _closure_body(rooms_place, one), format="json")

    assert response.status_code == 201, response.json()
    assert (response.json()["room"], response.json()["conflicts"]) == (one.pk, [in_it.pk])


def test_a_closure_of_another_locations_room_is_refused(staff_api, clinic, location):
    elsewhere = RoomFactory()

    response = staff_api.post(CLOSURES, _closure_body(location, elsewhere), format="json")

    assert response.status_code == 400
    assert "room" in response.json()
    assert not Closure.objects.exists()


def test_closure_service_refuses_another_locations_room(clinic, location):
    with pytest.raises(ValidationError):
        schedule.closure_create(
            location=location, room=RoomFactory(), starts_at=at(2026, 12, 24), ends_at=at(2026, 12, 25)
        )


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"starts_at": "2026-12-24T12:00:00"}, "starts_at"),
        ({"ends_at": "2026-12-25T00:00:00"}, "ends_at"),
        ({"ends_at": "2026-12-24T12:00:00-05:00"}, "ends_at"),
        ({"location": 10**6}, "location"),
        ({"location": None}, "location"),
        ({"room": 10**6}, "room"),
        ({"reason": "x" * 201}, "reason"),
    ],
)
def test_invalid_closures_are_refused(staff_api, clinic, location, change, field):
    response = staff_api.post(CLOSURES, {**_closure_body(location), **change}, format="json")

    assert response.status_code == 400, response.content
    assert field in response.json()
    assert not Closure.objects.exists()


def test_delete_and_list_closures(staff_api, clinic, location, london):
    here = ClosureFactory(location=location)
    there = ClosureFactory(location=london)

    listed = staff_api.get(CLOSURES, {"location": london.pk}).json()["results"]
    deleted = staff_api.delete(f"{CLOSURES}{there.pk}/")

    assert [row["id"] for row in listed] == [there.pk]
    assert set(listed[0]) == {"id", "location", "room", "starts_at", "ends_at", "reason"}
    assert deleted.status_code == 204
    assert list(Closure.objects.values_list("pk", flat=True)) == [here.pk]


# --- Races: real threads on real connections -------------------------------------------


def _overlapping_shift_pairs() -> int:
    with connection.cursor() as cursor:
        cursor.execute(
            """
            SELECT count(*) FROM booking_shift a JOIN booking_shift b
              ON a.therapist_id = b.therapist_id AND a.id < b.id
             AND a.starts_at < b.ends_at AND b.starts_at < a.ends_at
            """
        )
        return cursor.fetchone()[0]


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize(
    "ranges",
    [
        (("2026-12-07", "2026-12-20"), ("2026-12-07", "2026-12-20")),  # the same two weeks
        (("2026-12-07", "2026-12-16"), ("2026-12-11", "2026-12-20")),  # overlapping ranges
    ],
    ids=["same-range", "overlapping-ranges"],
)
def test_two_generate_runs_at_once_never_duplicate_shifts(as_user, staff_user, clinic, location, london, ranges):
    # given two therapists working every day: 09:00-13:00 in New York and 19:00-21:00 in London
    for therapist in (TherapistFactory(locations=[location, london]), TherapistFactory(locations=[location, london])):
        for weekday in range(7):
            WorkingHoursFactory(
                therapist=therapist, location=location, weekday=weekday, start_time=time(9), end_time=time(13)
            )
            WorkingHoursFactory(
                therapist=therapist, location=london, weekday=weekday, start_time=time(19), end_time=time(21)
            )
    desks = [as_user(staff_user), as_user(staff_user)]

    # when two front-desk sessions generate at once
    results = run_together(
        [
            lambda api=api, span=span: (lambda r: (r.status_code, r.json()))(
                api.post(GENERATE, {"from": span[0], "to": span[1]}, format="json")
            )
            for api, span in zip(desks, ranges, strict=True)
        ]
    )

    # then every shift exists once, none overlap, and the counts add up
    assert [status for status, _ in results] == [200, 200]
    expected = 2 * 2 * 14
    assert Shift.objects.count() == expected
    assert sum(body["created"] for _, body in results) == expected
    candidates = [2 * 2 * ((date.fromisoformat(end) - date.fromisoformat(start)).days + 1) for start, end in ranges]
    assert [body["created"] + body["skipped"] for _, body in results] == candidates
    assert _overlapping_shift_pairs() == 0


@pytest.mark.django_db(transaction=True)
def test_overlapping_shifts_added_at_once_one_wins(as_user, staff_user, clinic, location, london):
    therapist = TherapistFactory(locations=[location, london])
    bodies = [
        _shift_body(therapist, location, "2026-12-10T09:00:00-05:00", "2026-12-10T17:00:00-05:00"),
        _shift_body(therapist, london, "2026-12-10T16:00:00-05:00", "2026-12-10T20:00:00-05:00"),
        _shift_body(therapist, location, "2026-12-10T12:00:00-05:00", "2026-12-10T13:00:00-05:00"),
    ]
    desks = [as_user(staff_user) for _ in bodies]

    results = run_together(
        [
            lambda api=api, body=body: (lambda r: (r.status_code, r.json().get("code")))(
                api.post(SHIFTS, body, format="json")
            )
            for api, body in zip(desks, bodies, strict=True)
        ]
    )

    created = [r for r in results if r[0] == 201]
    assert 1 <= len(created) <= 2  # the 09:00-17:00 shift, or the other two
    assert all(result in ((201, None), (409, "shift_overlap")) for result in results)
    assert Shift.objects.count() == len(created)
    assert _overlapping_shift_pairs() == 0
