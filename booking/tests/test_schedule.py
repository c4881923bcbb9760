"""The front desk's schedule (docs/api.md, Schedules and slots): working hours, slot
generation, single slots and time off — services and API, as every role.

NOW is Tuesday 2026-12-01 10:00 in New York unless a test says otherwise.
"""

from datetime import date, time, timedelta

import pytest

from booking import schedule
from booking.errors import SlotOverlap, TimeOffOverlap
from booking.models import Booking, Slot, TimeOff, WorkingHours
from booking.tests.factories import BookingFactory, TimeOffFactory, WorkingHoursFactory
from booking.tests.helpers import (
    NOW,
    UTC,
    assert_conflict,
    frozen,
    local,
    slot_at,
)
from clinic.tests.factories import TherapistFactory

pytestmark = pytest.mark.django_db

HOUR = timedelta(hours=1)
WORKING_HOURS = "/api/v1/working-hours/"
SLOTS = "/api/v1/slots/"
GENERATE = "/api/v1/slots/generate/"
TIME_OFF = "/api/v1/time-off/"


@pytest.fixture(autouse=True)
def _now():
    with frozen():
        yield


@pytest.fixture
def staff_api(as_user, staff_user):
    return as_user(staff_user)


def _utc(dt) -> str:
    return dt.astimezone(UTC).isoformat().replace("+00:00", "Z")


def _local_starts(therapist) -> list[tuple[date, time]]:
    """(local date, local time) of each of the therapist's slots, in order."""
    tz = local(2026, 1, 1).tzinfo
    return [
        (s.astimezone(tz).date(), s.astimezone(tz).time())
        for s in Slot.objects.filter(therapist=therapist).order_by("starts_at").values_list("starts_at", flat=True)
    ]


def _every_day(therapist, start: time, end: time, **fields) -> None:
    for weekday in range(7):
        WorkingHoursFactory(therapist=therapist, weekday=weekday, start_time=start, end_time=end, **fields)


# --- Who may run the schedule ---------------------------------------------------------


@pytest.fixture
def schedule_rows(therapist):
    """One row of each kind the endpoints below act on."""
    return {
        "hours": WorkingHoursFactory(therapist=therapist, weekday=0),
        "slot": slot_at(therapist, local(2026, 12, 10, 9)),
        "time_off": TimeOffFactory(
            therapist=therapist, starts_at=local(2026, 12, 20, 9), ends_at=local(2026, 12, 20, 17)
        ),
    }


def _requests(therapist, rows):
    """(method, path, body, status when allowed) of every schedule endpoint."""
    return {
        "list working hours": ("get", WORKING_HOURS, None, 200),
        "add working hours": (
            "post",
            WORKING_HOURS,
            {"therapist": therapist.pk, "weekday": 2, "start_time": "09:00", "end_time": "13:00"},
            201,
        ),
        "read working hours": ("get", f"{WORKING_HOURS}{rows['hours'].pk}/", None, 200),
        "change working hours": ("patch", f"{WORKING_HOURS}{rows['hours'].pk}/", {"end_time": "18:00"}, 200),
        "delete working hours": ("delete", f"{WORKING_HOURS}{rows['hours'].pk}/", None, 204),
        "generate slots": ("post", GENERATE, {"from": "2026-12-07", "to": "2026-12-07"}, 200),
        "list slots": ("get", SLOTS, None, 200),
        "read a slot": ("get", f"{SLOTS}{rows['slot'].pk}/", None, 200),
        "add a slot": (
            "post",
            SLOTS,
            {
                "therapist": therapist.pk,
                "starts_at": "2026-12-11T09:00:00-05:00",
                "ends_at": "2026-12-11T10:00:00-05:00",
            },
            201,
        ),
        "block a slot": ("patch", f"{SLOTS}{rows['slot'].pk}/", {"status": "blocked"}, 200),
        "delete a slot": ("delete", f"{SLOTS}{rows['slot'].pk}/", None, 204),
        "list time off": ("get", TIME_OFF, None, 200),
        "add time off": (
            "post",
            TIME_OFF,
            {"therapist": therapist.pk, "starts_at": "2026-12-21T09:00:00Z", "ends_at": "2026-12-21T17:00:00Z"},
            201,
        ),
        "delete time off": ("delete", f"{TIME_OFF}{rows['time_off'].pk}/", None, 204),
    }


ENDPOINTS = [
    "list working hours",
    "add working hours",
    "read working hours",
    "change working hours",
    "delete working hours",
    "generate slots",
    "list slots",
    "read a slot",
    "add a slot",
    "block a slot",
    "delete a slot",
    "list time off",
    "add time off",
    "delete time off",
]
DENIED = {"client": 403, "other_client": 403, "therapist": 403, "other_therapist": 403, "anonymous": 401}


def _state():
    return (
        list(WorkingHours.objects.values_list("id", "end_time").order_by("id")),
        list(Slot.objects.values_list("id", "status").order_by("id")),
        list(TimeOff.objects.values_list("id").order_by("id")),
    )


@pytest.mark.parametrize("endpoint", ENDPOINTS)
@pytest.mark.parametrize("role", ["staff", "admin"])
def test_front_desk_runs_the_schedule(api_as, clinic, therapist, schedule_rows, role, endpoint):
    method, path, body, allowed = _requests(therapist, schedule_rows)[endpoint]

    response = getattr(api_as(role), method)(path, body, format="json")

    assert response.status_code == allowed, response.content


@pytest.mark.parametrize("endpoint", ENDPOINTS)
@pytest.mark.parametrize("role", sorted(DENIED))
def test_no_one_else_touches_the_schedule(api_as, clinic, therapist, schedule_rows, role, endpoint):
    method, path, body, _ = _requests(therapist, schedule_rows)[endpoint]
    before = _state()

    response = getattr(api_as(role), method)(path, body, format="json")

    assert response.status_code == DENIED[role], response.content
    assert _state() == before


# --- Working hours -----------------------------------------------------------------


def test_working_hours_round_trip(staff_api, clinic, therapist):
    created = staff_api.post(
        WORKING_HOURS,
        {
            "therapist": therapist.pk,
            "weekday": 0,
            "start_time": "09:00",
            "end_time": "17:00",
            "slot_minutes": 50,
            "buffer_minutes": 10,
        },
        format="json",
    )
    assert created.status_code == 201, created.json()
    row = created.json()
    assert row == {
        "id": row["id"],
        "therapist": therapist.pk,
        "weekday": 0,
        "start_time": "09:00:00",
        "end_time": "17:00:00",
        "slot_minutes": 50,
        "buffer_minutes": 10,
    }

    changed = staff_api.patch(f"{WORKING_HOURS}{row['id']}/", {"start_time": "08:00"}, format="json")
    assert changed.status_code == 200
    assert changed.json()["start_time"] == "08:00:00"

    listed = staff_api.get(WORKING_HOURS, {"therapist": therapist.pk}).json()
    assert [r["id"] for r in listed["results"]] == [row["id"]]

    assert staff_api.delete(f"{WORKING_HOURS}{row['id']}/").status_code == 204
    assert not WorkingHours.objects.exists()


def test_working_hours_defaults(staff_api, clinic, therapist):
    response = staff_api.post(
        WORKING_HOURS,
        {"therapist": therapist.pk, "weekday": 6, "start_time": "10:00", "end_time": "12:00"},
        format="json",
    )

    assert response.status_code == 201
    assert (response.json()["slot_minutes"], response.json()["buffer_minutes"]) == (60, 0)


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"end_time": "09:00"}, "end_time"),
        ({"end_time": "08:00"}, "end_time"),
        ({"weekday": 7}, "weekday"),
        ({"weekday": -1}, "weekday"),
        ({"slot_minutes": 4}, "slot_minutes"),
        ({"slot_minutes": 481}, "slot_minutes"),
        ({"buffer_minutes": -1}, "buffer_minutes"),
        ({"buffer_minutes": 241}, "buffer_minutes"),
        ({"start_time": "9am"}, "start_time"),
        ({"therapist": 10**6}, "therapist"),
        ({"therapist": "x"}, "therapist"),
    ],
)
def test_invalid_working_hours_are_refused(staff_api, clinic, therapist, change, field):
    body = {"therapist": therapist.pk, "weekday": 0, "start_time": "09:00", "end_time": "17:00", **change}

    response = staff_api.post(WORKING_HOURS, body, format="json")

    assert response.status_code == 400
    assert field in response.json()
    assert not WorkingHours.objects.exists()


def test_working_hours_cannot_be_changed_to_end_before_they_start(staff_api, clinic, therapist):
    row = WorkingHoursFactory(therapist=therapist, start_time=time(9), end_time=time(17))

    response = staff_api.patch(f"{WORKING_HOURS}{row.pk}/", {"end_time": "08:30"}, format="json")

    assert response.status_code == 400
    assert "end_time" in response.json()
    row.refresh_from_db()
    assert row.end_time == time(17)


# --- Generating slots from working hours -----------------------------------------------


def test_generate_cuts_working_hours_into_slots(staff_api, clinic, therapist):
    # Mondays 09:00-12:00, 50-minute slots with 10 minutes' rest
    WorkingHoursFactory(
        therapist=therapist, weekday=0, start_time=time(9), end_time=time(12), slot_minutes=50, buffer_minutes=10
    )

    response = staff_api.post(GENERATE, {"from": "2026-12-07", "to": "2026-12-13"}, format="json")

    assert response.status_code == 200
    assert response.json() == {"created": 3, "skipped": 0}
    slots = list(Slot.objects.filter(therapist=therapist).order_by("starts_at"))
    assert [(s.starts_at, s.ends_at) for s in slots] == [
        (local(2026, 12, 7, 9), local(2026, 12, 7, 9, 50)),
        (local(2026, 12, 7, 10), local(2026, 12, 7, 10, 50)),
        (local(2026, 12, 7, 11), local(2026, 12, 7, 11, 50)),
    ]
    assert all(s.status == Slot.Status.OPEN for s in slots)


def test_generate_leaves_out_a_slot_that_would_end_after_the_working_hours(clinic, therapist):
    WorkingHoursFactory(therapist=therapist, weekday=0, start_time=time(9), end_time=time(11, 30))

    result = schedule.slots_generate(start=date(2026, 12, 7), end=date(2026, 12, 7))

    assert result == schedule.GenerateResult(created=2, skipped=0)
    assert _local_starts(therapist) == [(date(2026, 12, 7), time(9)), (date(2026, 12, 7), time(10))]


def test_generate_twice_creates_nothing_new(staff_api, clinic, therapist, other_therapist):
    _every_day(therapist, time(9), time(12))
    WorkingHoursFactory(therapist=other_therapist, weekday=2, start_time=time(13), end_time=time(15))
    dates = {"from": "2026-12-07", "to": "2026-12-20"}

    first = staff_api.post(GENERATE, dates, format="json").json()
    second = staff_api.post(GENERATE, dates, format="json").json()

    assert first == {"created": 14 * 3 + 2 * 2, "skipped": 0}
    assert second == {"created": 0, "skipped": first["created"]}
    assert Slot.objects.count() == first["created"]


def test_generate_only_for_one_therapist(staff_api, clinic, therapist, other_therapist):
    WorkingHoursFactory(therapist=therapist, weekday=0)
    WorkingHoursFactory(therapist=other_therapist, weekday=0)

    response = staff_api.post(
        GENERATE, {"from": "2026-12-07", "to": "2026-12-07", "therapist": therapist.pk}, format="json"
    )

    assert response.json() == {"created": 8, "skipped": 0}
    assert set(Slot.objects.values_list("therapist_id", flat=True)) == {therapist.pk}


def test_generate_skips_inactive_therapists(clinic):
    WorkingHoursFactory(therapist=TherapistFactory(active=False), weekday=0)

    assert schedule.slots_generate(start=date(2026, 12, 7), end=date(2026, 12, 7)).created == 0
    assert not Slot.objects.exists()


def test_generate_never_overlaps_existing_slots_or_time_off(staff_api, clinic, therapist):
    # given Monday hours 09:00-14:00, a slot already at 09:30-10:30 and time off 12:15-13:00
    WorkingHoursFactory(therapist=therapist, weekday=0, start_time=time(9), end_time=time(14))
    existing = slot_at(therapist, local(2026, 12, 7, 9, 30))
    TimeOffFactory(therapist=therapist, starts_at=local(2026, 12, 7, 12, 15), ends_at=local(2026, 12, 7, 13))

    # when
    response = staff_api.post(GENERATE, {"from": "2026-12-07", "to": "2026-12-07"}, format="json")

    # then 09:00 and 10:00 overlap the slot, 12:00 the time off; 11:00 and 13:00 are free
    assert response.json() == {"created": 2, "skipped": 3}
    assert _local_starts(therapist) == [
        (date(2026, 12, 7), time(9, 30)),
        (date(2026, 12, 7), time(11)),
        (date(2026, 12, 7), time(13)),
    ]
    assert Slot.objects.get(pk=existing.pk).starts_at == existing.starts_at


def test_generate_skips_overlapping_working_hours_rows(clinic, therapist):
    WorkingHoursFactory(therapist=therapist, weekday=0, start_time=time(9), end_time=time(12))
    WorkingHoursFactory(therapist=therapist, weekday=0, start_time=time(10, 30), end_time=time(13, 30))

    result = schedule.slots_generate(start=date(2026, 12, 7), end=date(2026, 12, 7))

    assert result.created + result.skipped == 6
    starts = Slot.objects.filter(therapist=therapist).order_by("starts_at").values_list("starts_at", "ends_at")
    assert all(prev_end <= start for (_, prev_end), (start, _) in zip(starts, list(starts)[1:], strict=False))


@pytest.fixture
def before_dst_changes():
    with frozen(local(2026, 2, 1, 9)):
        yield


@pytest.mark.usefixtures("before_dst_changes")
def test_a_nine_oclock_slot_stays_at_nine_across_spring_forward(staff_api, clinic, therapist):
    _every_day(therapist, time(9), time(10))

    response = staff_api.post(GENERATE, {"from": "2026-03-07", "to": "2026-03-09"}, format="json")

    assert response.json() == {"created": 3, "skipped": 0}
    slots = list(Slot.objects.order_by("starts_at"))
    assert [s.starts_at.astimezone(UTC).hour for s in slots] == [14, 13, 13]  # EST, then EDT
    assert _local_starts(therapist) == [
        (date(2026, 3, 7), time(9)),
        (date(2026, 3, 8), time(9)),
        (date(2026, 3, 9), time(9)),
    ]
    assert all(s.ends_at - s.starts_at == HOUR for s in slots)


@pytest.mark.usefixtures("before_dst_changes")
def test_a_nine_oclock_slot_stays_at_nine_across_fall_back(clinic, therapist):
    _every_day(therapist, time(9), time(10))

    result = schedule.slots_generate(start=date(2026, 10, 31), end=date(2026, 11, 2))

    assert result == schedule.GenerateResult(created=3, skipped=0)
    hours = [s.astimezone(UTC).hour for s in Slot.objects.order_by("starts_at").values_list("starts_at", flat=True)]
    assert hours == [13, 14, 14]  # EDT, then EST
    assert _local_starts(therapist) == [
        (date(2026, 10, 31), time(9)),
        (date(2026, 11, 1), time(9)),
        (date(2026, 11, 2), time(9)),
    ]


@pytest.mark.usefixtures("before_dst_changes")
def test_a_local_time_that_does_not_exist_is_skipped_not_shifted(staff_api, clinic, therapist):
    # Sundays 02:00-03:00: on 2026-03-08 clocks jump from 02:00 to 03:00
    WorkingHoursFactory(therapist=therapist, weekday=6, start_time=time(2), end_time=time(3))

    on_the_day = staff_api.post(GENERATE, {"from": "2026-03-08", "to": "2026-03-08"}, format="json")
    a_week_later = staff_api.post(GENERATE, {"from": "2026-03-15", "to": "2026-03-15"}, format="json")

    assert on_the_day.json() == {"created": 0, "skipped": 1}
    assert a_week_later.json() == {"created": 1, "skipped": 0}
    assert _local_starts(therapist) == [(date(2026, 3, 15), time(2))]


@pytest.mark.usefixtures("before_dst_changes")
def test_around_spring_forward_only_the_missing_hour_is_skipped(clinic, therapist):
    WorkingHoursFactory(therapist=therapist, weekday=6, start_time=time(1), end_time=time(4))

    result = schedule.slots_generate(start=date(2026, 3, 8), end=date(2026, 3, 8))

    assert result == schedule.GenerateResult(created=2, skipped=1)
    assert _local_starts(therapist) == [(date(2026, 3, 8), time(1)), (date(2026, 3, 8), time(3))]


@pytest.mark.usefixtures("before_dst_changes")
def test_an_ambiguous_local_time_means_its_first_occurrence(clinic, therapist):
    # 01:00 happens twice on 2026-11-01: first in EDT (05:00 UTC), then in EST (06:00 UTC)
    WorkingHoursFactory(therapist=therapist, weekday=6, start_time=time(0), end_time=time(3))

    result = schedule.slots_generate(start=date(2026, 11, 1), end=date(2026, 11, 1))

    assert result.created == 3
    starts = list(Slot.objects.order_by("starts_at").values_list("starts_at", flat=True))
    assert [s.astimezone(UTC).hour for s in starts] == [4, 5, 7]


def test_generate_accepts_92_days(staff_api, clinic, therapist):
    WorkingHoursFactory(therapist=therapist, weekday=0, start_time=time(9), end_time=time(10))

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
        ({"from": "2026-12-07", "to": "2026-12-08", "therapist": 10**6}, "therapist"),
        ({"from": "9999-12-30", "to": "9999-12-31"}, "to"),
        ({"from": "0001-01-01", "to": "0001-01-02"}, "from"),
    ],
)
def test_generate_refuses_bad_ranges(staff_api, clinic, therapist, body, field):
    WorkingHoursFactory(therapist=therapist, weekday=0)

    response = staff_api.post(GENERATE, body, format="json")

    assert response.status_code == 400, response.content
    assert field in response.json()
    assert not Slot.objects.exists()


# --- One slot ----------------------------------------------------------------------


def _slot_body(therapist, starts_at="2026-12-10T09:00:00-05:00", ends_at="2026-12-10T10:00:00-05:00"):
    return {"therapist": therapist.pk, "starts_at": starts_at, "ends_at": ends_at}


def test_create_one_slot(staff_api, clinic, therapist):
    response = staff_api.post(SLOTS, _slot_body(therapist), format="json")

    assert response.status_code == 201, response.json()
    body = response.json()
    assert body == {
        "id": body["id"],
        "therapist": therapist.pk,
        "starts_at": "2026-12-10T14:00:00Z",
        "ends_at": "2026-12-10T15:00:00Z",
        "status": "open",
        "booking": None,
    }
    assert Slot.objects.get(pk=body["id"]).starts_at == local(2026, 12, 10, 9)


@pytest.mark.parametrize(
    ("starts_at", "ends_at"),
    [
        ("2026-12-10T09:30:00-05:00", "2026-12-10T10:30:00-05:00"),
        ("2026-12-10T08:30:00-05:00", "2026-12-10T09:01:00-05:00"),
        ("2026-12-10T14:15:00Z", "2026-12-10T14:45:00Z"),  # inside, given in UTC
    ],
)
def test_an_overlapping_slot_is_refused(staff_api, clinic, therapist, starts_at, ends_at):
    slot_at(therapist, local(2026, 12, 10, 9))

    response = staff_api.post(SLOTS, _slot_body(therapist, starts_at, ends_at), format="json")

    assert_conflict(response, "slot_overlap")
    assert Slot.objects.count() == 1


def test_back_to_back_and_other_therapists_slots_are_fine(staff_api, clinic, therapist, other_therapist):
    slot_at(therapist, local(2026, 12, 10, 9))

    after = staff_api.post(
        SLOTS, _slot_body(therapist, "2026-12-10T10:00:00-05:00", "2026-12-10T11:00:00-05:00"), format="json"
    )
    before = staff_api.post(
        SLOTS, _slot_body(therapist, "2026-12-10T08:00:00-05:00", "2026-12-10T09:00:00-05:00"), format="json"
    )
    same_time = staff_api.post(SLOTS, _slot_body(other_therapist), format="json")

    assert (after.status_code, before.status_code, same_time.status_code) == (201, 201, 201)


def test_a_slot_during_time_off_is_refused(staff_api, clinic, therapist):
    TimeOffFactory(therapist=therapist, starts_at=local(2026, 12, 10, 8), ends_at=local(2026, 12, 10, 12))

    response = staff_api.post(SLOTS, _slot_body(therapist), format="json")

    assert_conflict(response, "time_off_overlap")
    assert not Slot.objects.exists()


def test_slot_create_service_refuses_overlaps(clinic, therapist):
    schedule.slot_create(therapist=therapist, starts_at=local(2026, 12, 10, 9), ends_at=local(2026, 12, 10, 10))
    TimeOffFactory(therapist=therapist, starts_at=local(2026, 12, 10, 12), ends_at=local(2026, 12, 10, 13))

    with pytest.raises(SlotOverlap):
        schedule.slot_create(therapist=therapist, starts_at=local(2026, 12, 10, 9, 59), ends_at=local(2026, 12, 10, 11))
    with pytest.raises(TimeOffOverlap):
        schedule.slot_create(
            therapist=therapist, starts_at=local(2026, 12, 10, 11, 30), ends_at=local(2026, 12, 10, 12, 30)
        )


@pytest.mark.parametrize(
    ("starts_at", "ends_at", "field"),
    [
        ("2026-12-10T09:00:00", "2026-12-10T10:00:00-05:00", "starts_at"),  # no offset
        ("2026-12-10T09:00:00-05:00", "2026-12-10T10:00:00", "ends_at"),
        ("2026-12-10T09:00", "2026-12-10T10:00", "starts_at"),
        ("2026-12-10", "2026-12-10T10:00:00-05:00", "starts_at"),
        ("2026-12-10T10:00:00-05:00", "2026-12-10T09:00:00-05:00", "ends_at"),  # ends before it starts
        ("2026-12-10T09:00:00-05:00", "2026-12-10T09:00:00-05:00", "ends_at"),  # lasts nothing
        ("2026-12-10T09:00:00-05:00", "2026-12-10T17:01:00-05:00", "ends_at"),  # over 8 hours
        ("tomorrow", "2026-12-10T10:00:00-05:00", "starts_at"),
        (None, "2026-12-10T10:00:00-05:00", "starts_at"),
        (12, "2026-12-10T10:00:00-05:00", "starts_at"),
        ("0001-01-01T00:00:00+01:00", "0001-01-01T01:00:00+01:00", "starts_at"),
    ],
)
def test_invalid_slot_times_are_refused(staff_api, clinic, therapist, starts_at, ends_at, field):
    response = staff_api.post(SLOTS, _slot_body(therapist, starts_at, ends_at), format="json")

    assert response.status_code == 400, response.content
    assert field in response.json()
    assert not Slot.objects.exists()


@pytest.mark.parametrize("body", [{}, [], "slot", {"therapist": 10**6}, {"therapist": 10**30}])
def test_malformed_slot_bodies_are_refused(staff_api, clinic, therapist, body):
    response = staff_api.post(SLOTS, body, format="json")

    assert response.status_code == 400, response.content


# --- Listing slots -------------------------------------------------------------------


def test_slot_list_shows_the_active_booking(staff_api, clinic, therapist):
    free = slot_at(therapist, local(2026, 12, 10, 9))
    booked = slot_at(therapist, local(2026, 12, 10, 10))
    booking = BookingFactory(slot=booked)
    freed = slot_at(therapist, local(2026, 12, 10, 11))
    BookingFactory(slot=freed, status=Booking.Status.CANCELLED, cancelled_at=NOW)

    rows = {row["id"]: row for row in staff_api.get(SLOTS).json()["results"]}

    assert rows[free.pk]["booking"] is None
    assert rows[booked.pk]["booking"] == booking.pk
    assert rows[freed.pk]["booking"] is None
    assert rows[booked.pk] == {
        "id": booked.pk,
        "therapist": therapist.pk,
        "starts_at": _utc(booked.starts_at),
        "ends_at": _utc(booked.ends_at),
        "status": "open",
        "booking": booking.pk,
    }


def test_slot_list_filters(staff_api, clinic, therapist, other_therapist):
    late_evening = slot_at(therapist, local(2026, 12, 10, 23), minutes=30)  # 04:00 UTC on the 11th
    next_morning = slot_at(therapist, local(2026, 12, 11, 0))
    blocked = slot_at(therapist, local(2026, 12, 9, 9), status=Slot.Status.BLOCKED)
    others = slot_at(other_therapist, local(2026, 12, 10, 9))

    def ids(**params):
        response = staff_api.get(SLOTS, params)
        assert response.status_code == 200, response.json()
        return [row["id"] for row in response.json()["results"]]

    assert ids() == [blocked.pk, others.pk, late_evening.pk, next_morning.pk]
    assert ids(therapist=other_therapist.pk) == [others.pk]
    assert ids(**{"from": "2026-12-10", "to": "2026-12-10"}) == [others.pk, late_evening.pk]
    assert ids(**{"from": "2026-12-11"}) == [next_morning.pk]
    assert ids(status="blocked") == [blocked.pk]
    assert ids(status="open", therapist=therapist.pk) == [late_evening.pk, next_morning.pk]


@pytest.mark.parametrize(
    "params", [{"status": "booked"}, {"from": "2026-13-01"}, {"to": "yesterday"}, {"therapist": "x"}]
)
def test_slot_list_refuses_bad_filters(staff_api, clinic, params):
    assert staff_api.get(SLOTS, params).status_code == 400


@pytest.mark.parametrize("params", [{"to": "9999-12-31"}, {"from": "0001-01-01"}, {"therapist": str(10**30)}])
def test_slot_list_refuses_hostile_filters(staff_api, clinic, params):
    response = staff_api.get(SLOTS, params)

    assert response.status_code == 400
    assert list(response.json()) == list(params)


# --- Opening and blocking ---------------------------------------------------------------


def test_block_and_reopen_a_slot(staff_api, clinic, therapist, api):
    slot = slot_at(therapist, local(2026, 12, 10, 9))
    day = {"from": "2026-12-10", "to": "2026-12-10"}

    blocked = staff_api.patch(f"{SLOTS}{slot.pk}/", {"status": "blocked"}, format="json")
    assert blocked.status_code == 200
    assert blocked.json()["status"] == "blocked"
    assert api.get("/api/v1/availability/", day).json()["count"] == 0

    reopened = staff_api.patch(f"{SLOTS}{slot.pk}/", {"status": "open"}, format="json")
    assert reopened.status_code == 200
    assert reopened.json()["status"] == "open"
    assert api.get("/api/v1/availability/", day).json()["count"] == 1


def test_blocking_a_booked_slot_keeps_its_booking(staff_api, clinic, therapist):
    slot = slot_at(therapist, local(2026, 12, 10, 9))
    booking = BookingFactory(slot=slot)

    response = staff_api.patch(f"{SLOTS}{slot.pk}/", {"status": "blocked"}, format="json")

    assert response.status_code == 200
    assert response.json()["booking"] == booking.pk
    booking.refresh_from_db()
    assert booking.status == Booking.Status.CONFIRMED


@pytest.mark.parametrize("body", [{"status": "booked"}, {"status": ""}, {}, {"status": None}, ["open"]])
def test_a_slot_status_is_open_or_blocked(staff_api, clinic, therapist, body):
    slot = slot_at(therapist, local(2026, 12, 10, 9))

    response = staff_api.patch(f"{SLOTS}{slot.pk}/", body, format="json")

    assert response.status_code == 400
    slot.refresh_from_db()
    assert slot.status == Slot.Status.OPEN


def test_patching_an_unknown_slot_is_a_404(staff_api, clinic):
    assert staff_api.patch(f"{SLOTS}999999/", {"status": "blocked"}, format="json").status_code == 404


# --- Deleting slots -----------------------------------------------------------------


def test_delete_a_free_slot(staff_api, clinic, therapist):
    slot = slot_at(therapist, local(2026, 12, 10, 9))

    response = staff_api.delete(f"{SLOTS}{slot.pk}/")

    assert response.status_code == 204
    assert not Slot.objects.filter(pk=slot.pk).exists()


def test_a_booked_slot_cannot_be_deleted(staff_api, clinic, therapist):
    slot = slot_at(therapist, local(2026, 12, 10, 9))
    BookingFactory(slot=slot)

    response = staff_api.delete(f"{SLOTS}{slot.pk}/")

    assert_conflict(response, "slot_booked")
    assert Slot.objects.filter(pk=slot.pk).exists()


@pytest.mark.parametrize("status", [Booking.Status.CANCELLED, Booking.Status.COMPLETED, Booking.Status.NO_SHOW])
def test_a_slot_with_history_cannot_be_deleted(staff_api, clinic, therapist, status):
    slot = slot_at(therapist, local(2026, 12, 10, 9))
    BookingFactory(slot=slot, status=status, cancelled_at=NOW if status == Booking.Status.CANCELLED else None)

    response = staff_api.delete(f"{SLOTS}{slot.pk}/")

    assert_conflict(response, "slot_has_history")
    assert Slot.objects.filter(pk=slot.pk).exists()


def test_deleting_an_unknown_slot_is_a_404(staff_api, clinic):
    assert staff_api.delete(f"{SLOTS}999999/").status_code == 404


# --- Time off --------------------------------------------------------------------


def test_time_off_blocks_the_open_slots_it_overlaps_and_reports_active_bookings(
    as_user, staff_user, clinic, therapist, other_therapist, client_user
):
    # given on 2026-12-10: free slots at 09, 10, 13 and 14, a booked one at 11, a freed one at 12
    def day(hour):
        return local(2026, 12, 10, hour)

    touching_before = slot_at(therapist, day(9))
    inside = slot_at(therapist, day(10))
    booked = slot_at(therapist, day(11))
    booking = BookingFactory(slot=booked, client=client_user, intake__flags=["pregnancy"], intake__needs_review=True)
    freed = slot_at(therapist, day(12))
    BookingFactory(slot=freed, status=Booking.Status.CANCELLED, cancelled_at=NOW)
    partly = slot_at(therapist, day(13))
    touching_after = slot_at(therapist, day(14))
    someone_elses = slot_at(other_therapist, day(11))

    # when the therapist takes 10:00-13:30 off
    response = as_user(staff_user).post(
        TIME_OFF,
        {
            "therapist": therapist.pk,
            "starts_at": "2026-12-10T10:00:00-05:00",
            "ends_at": "2026-12-10T13:30:00-05:00",
            "reason": "Dentist",
        },
        format="json",
    )

    # then
    assert response.status_code == 201, response.json()
    body = response.json()
    assert {k: v for k, v in body.items() if k != "conflicts"} == {
        "id": body["id"],
        "therapist": therapist.pk,
        "starts_at": "2026-12-10T15:00:00Z",
        "ends_at": "2026-12-10T18:30:00Z",
        "reason": "Dentist",
    }
    assert [c["id"] for c in body["conflicts"]] == [booking.pk]
    conflict = body["conflicts"][0]
    assert conflict["status"] == "confirmed"
    assert conflict["slot"]["id"] == booked.pk
    assert conflict["client"] == {"id": client_user.pk, "name": client_user.display_name}
    assert conflict["needs_review"] is True
    assert conflict["flags"] == []  # front desk never sees health flags
    status = dict(Slot.objects.values_list("id", "status"))
    assert status[inside.pk] == status[freed.pk] == status[partly.pk] == status[booked.pk] == "blocked"
    assert status[touching_before.pk] == status[touching_after.pk] == status[someone_elses.pk] == "open"
    booking.refresh_from_db()
    assert booking.status == Booking.Status.CONFIRMED


def test_an_admin_sees_the_flags_of_the_conflicting_bookings(as_user, admin_user, clinic, therapist):
    booking = BookingFactory(
        slot=slot_at(therapist, local(2026, 12, 10, 9)), intake__flags=["pregnancy"], intake__needs_review=True
    )

    response = as_user(admin_user).post(
        TIME_OFF,
        {"therapist": therapist.pk, "starts_at": "2026-12-10T00:00:00-05:00", "ends_at": "2026-12-11T00:00:00-05:00"},
        format="json",
    )

    assert response.status_code == 201
    assert [(c["id"], c["flags"]) for c in response.json()["conflicts"]] == [(booking.pk, ["pregnancy"])]


def test_time_off_without_bookings_has_no_conflicts(staff_api, clinic, therapist):
    response = staff_api.post(
        TIME_OFF,
        {"therapist": therapist.pk, "starts_at": "2026-12-10T09:00:00Z", "ends_at": "2026-12-10T10:00:00Z"},
        format="json",
    )

    assert response.status_code == 201
    assert response.json()["conflicts"] == []
    assert response.json()["reason"] == ""
    assert TimeOff.objects.get().created_by is not None


def test_time_off_service_returns_the_conflicts(clinic, therapist, staff_user):
    booking = BookingFactory(slot=slot_at(therapist, local(2026, 12, 10, 9)))

    time_off, conflicts = schedule.time_off_create(
        therapist=therapist, starts_at=local(2026, 12, 10, 8), ends_at=local(2026, 12, 10, 9, 30), by=staff_user
    )

    assert conflicts == [booking]
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
    slot = slot_at(therapist, local(2026, 12, 10, 4))

    response = staff_api.post(
        TIME_OFF, {"therapist": therapist.pk, "starts_at": starts_at, "ends_at": ends_at}, format="json"
    )

    assert response.status_code == 400, response.content
    assert field in response.json()
    assert not TimeOff.objects.exists()
    slot.refresh_from_db()
    assert slot.status == Slot.Status.OPEN


def test_deleting_time_off_leaves_its_blocked_slots_blocked(staff_api, clinic, therapist):
    slot = slot_at(therapist, local(2026, 12, 10, 9))
    created = staff_api.post(
        TIME_OFF,
        {"therapist": therapist.pk, "starts_at": "2026-12-10T00:00:00Z", "ends_at": "2026-12-11T00:00:00Z"},
        format="json",
    ).json()

    response = staff_api.delete(f"{TIME_OFF}{created['id']}/")

    assert response.status_code == 204
    assert not TimeOff.objects.exists()
    slot.refresh_from_db()
    assert slot.status == Slot.Status.BLOCKED


def test_time_off_list_filters_by_therapist(staff_api, clinic, therapist, other_therapist):
    mine = TimeOffFactory(therapist=therapist)
    TimeOffFactory(therapist=other_therapist)

    response = staff_api.get(TIME_OFF, {"therapist": therapist.pk})

    assert [row["id"] for row in response.json()["results"]] == [mine.pk]
    assert set(response.json()["results"][0]) == {"id", "therapist", "starts_at", "ends_at", "reason"}
