"""Availability (docs/api.md, its five rules), one SQL statement: each rule, for clients and the front desk."""

from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from booking.availability import offered_starts
from booking.tests.factories import BookingFactory, ClosureFactory, ShiftFactory, TimeOffFactory
from clinic.models import Modality
from clinic.tests.factories import LocationFactory, RoomFactory, ServiceFactory, TherapistFactory

pytestmark = pytest.mark.django_db

NEW_YORK = ZoneInfo("America/New_York")
NOW = datetime(2026, 12, 1, 8, 0, tzinfo=NEW_YORK)
DAY = date(2026, 12, 3)


def at(hour, minute=0, day=DAY, tz=NEW_YORK):
    return datetime(day.year, day.month, day.day, hour, minute, tzinfo=tz)


@pytest.fixture
def place(clinic):
    return LocationFactory(time_zone="America/New_York")


@pytest.fixture
def maya(place):
    return TherapistFactory(locations=[place])


@pytest.fixture
def hour(clinic):
    return ServiceFactory(duration_minutes=60, buffer_minutes=0)


def starts(service, *, day=DAY, to=None, for_staff=False, **filters):
    count, rows = offered_starts(
        service=service, from_date=day, to_date=to or day, for_staff=for_staff, now=NOW, **filters
    )
    assert count == len(rows)
    return [(row.therapist_id, row.starts_at.astimezone(NEW_YORK).strftime("%H:%M")) for row in rows]


def test_the_grid_of_a_shift_by_the_clinic_step(maya, place, hour):
    ShiftFactory(therapist=maya, location=place, starts_at=at(9), ends_at=at(11))
    assert [t for _, t in starts(hour)] == ["09:00", "09:15", "09:30", "09:45", "10:00"]


def test_a_booking_and_its_buffer_are_occupied_and_its_end_is_offered(maya, place, hour, clinic):
    ShiftFactory(therapist=maya, location=place, starts_at=at(9), ends_at=at(13))
    fifty = ServiceFactory(duration_minutes=50, buffer_minutes=10)
    BookingFactory(therapist=maya, location=place, service=fifty, starts_at=at(9, 5))  # busy 09:05-10:05
    got = [t for _, t in starts(hour)]
    assert "09:00" not in got
    assert "10:00" not in got
    assert "10:05" in got  # the end of the occupied range, off the grid
    assert "10:15" in got


def test_time_off_and_closures_are_subtracted(maya, place, hour):
    ShiftFactory(therapist=maya, location=place, starts_at=at(9), ends_at=at(13))
    TimeOffFactory(therapist=maya, starts_at=at(9), ends_at=at(10, 10))
    ClosureFactory(location=place, starts_at=at(12), ends_at=at(13))
    got = [t for _, t in starts(hour)]
    assert got[0] == "10:10"
    assert got[-1] == "11:00"


def test_rooms_limit_the_sessions(place, hour, clinic):
    place.uses_rooms = True
    place.save()
    room = RoomFactory(location=place)
    a, b = TherapistFactory(locations=[place]), TherapistFactory(locations=[place])
    for therapist in (a, b):
        ShiftFactory(therapist=therapist, location=place, starts_at=at(9), ends_at=at(10))
    assert {tid for tid, t in starts(hour) if t == "09:00"} == {a.pk, b.pk}
    BookingFactory(therapist=a, location=place, room=room, service=hour, starts_at=at(9))
    assert starts(hour) == []  # one room, taken
    room.active = False
    room.save()
    assert starts(hour) == []  # no active room: nothing at a location with rooms


def test_notice_horizon_and_staff(maya, place, hour, clinic):
    today = NOW.date()
    ShiftFactory(therapist=maya, location=place, starts_at=at(8, day=today), ends_at=at(12, day=today))
    client = [t for _, t in starts(hour, day=today)]
    staff = [t for _, t in starts(hour, day=today, for_staff=True)]
    assert client[0] == "10:00"  # two hours' notice
    assert staff[0] == "08:00"


def test_modality_and_inactive(place, hour):
    gentle = TherapistFactory(locations=[place], gives_deep_tissue=False)
    deep = TherapistFactory(locations=[place])
    for therapist in (gentle, deep):
        ShiftFactory(therapist=therapist, location=place, starts_at=at(9), ends_at=at(10))
    assert {tid for tid, _ in starts(hour, modality=Modality.DEEP_TISSUE)} == {deep.pk}
    deep.active = False
    deep.save()
    assert {tid for tid, _ in starts(hour)} == {gentle.pk}


def test_local_dates_per_location(hour, clinic):
    london = LocationFactory(time_zone="Europe/London")
    therapist = TherapistFactory(locations=[london])
    # 23:30 London on Dec 2 is Dec 2 there (18:30 in New York)
    ShiftFactory(
        therapist=therapist,
        location=london,
        starts_at=datetime(2026, 12, 2, 23, 0, tzinfo=ZoneInfo("Europe/London")),
        ends_at=datetime(2026, 12, 3, 1, 0, tzinfo=ZoneInfo("Europe/London")),
    )
    count, rows = offered_starts(service=hour, from_date=date(2026, 12, 2), to_date=date(2026, 12, 2), now=NOW)
    assert [r.starts_at.astimezone(ZoneInfo("Europe/London")).strftime("%d %H:%M") for r in rows] == [
        "02 23:00",
        "02 23:15",
        "02 23:30",
        "02 23:45",
    ]


def test_one_query_per_page(maya, place, hour, django_assert_num_queries, clinic):
    """The clinic's policies (read once per request) and one statement for the page and its count."""
    for day in range(3, 10):
        d = date(2026, 12, day)
        ShiftFactory(therapist=maya, location=place, starts_at=at(9, day=d), ends_at=at(17, day=d))
    with django_assert_num_queries(2):
        count, rows = offered_starts(
            service=hour, from_date=date(2026, 12, 3), to_date=date(2026, 12, 9), now=NOW, limit=10, offset=0
        )
    assert count == 7 * 29
    assert len(rows) == 10


def test_what_is_listed_is_what_can_be_booked(place, clinic):
    """Every offered start books; a start next to them that is not offered does not (same definition)."""
    from django.db import transaction

    from booking import services
    from booking.errors import SlotUnavailable
    from clinic.tests.factories import ClientFactory

    place.uses_rooms = True
    place.save()
    RoomFactory(location=place)
    therapists = [TherapistFactory(locations=[place]) for _ in range(2)]
    for therapist in therapists:
        ShiftFactory(therapist=therapist, location=place, starts_at=at(9), ends_at=at(13))
    ninety = ServiceFactory(duration_minutes=90, buffer_minutes=15)
    BookingFactory(therapist=therapists[0], location=place, room=place.rooms.get(), service=ninety, starts_at=at(10))
    TimeOffFactory(therapist=therapists[1], starts_at=at(9), ends_at=at(9, 40))
    hour = ServiceFactory(duration_minutes=60, buffer_minutes=5)
    _, offered = offered_starts(service=hour, from_date=DAY, to_date=DAY, now=NOW)
    offered_pairs = {(o.therapist_id, o.starts_at) for o in offered}
    assert offered_pairs
    for therapist in therapists:
        for minutes in range(0, 4 * 60, 5):
            start = at(9) + timedelta(minutes=minutes)
            client = ClientFactory()
            sid = transaction.savepoint()
            try:
                services.booking_create(
                    client=client,
                    service_id=hour.pk,
                    starts_at=start,
                    therapist_id=therapist.pk,
                    answers={"pressure_preference": "medium", "primary_goal": "relaxation", "consent": True},
                    booked_by=client,
                    now=NOW,
                )
                booked = True
            except SlotUnavailable:
                booked = False
            finally:
                transaction.savepoint_rollback(sid)
            assert booked == ((therapist.pk, start) in offered_pairs), (therapist.pk, start)
