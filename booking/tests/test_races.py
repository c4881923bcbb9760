"""Races, with real threads on real PostgreSQL connections (docs/design.md, Invariants: lock, then check).

Each thread has its own database connection (closed when the thread ends);
a Barrier releases them together. The database's locks and constraints, not
luck, must decide: whatever the interleaving, no two active bookings of a
therapist, a room or a client overlap (checked in SQL afterwards), every
loser is told why in a domain error (a 409), and nothing else is raised.
"""

import random
from datetime import date, datetime
from zoneinfo import ZoneInfo

import pytest
from django.db import connection

from booking import services
from booking.models import Booking
from booking.tests.factories import ShiftFactory
from clinic.errors import DomainError
from clinic.tests.factories import (
    ClientFactory,
    LocationFactory,
    RoomFactory,
    ServiceFactory,
    StaffFactory,
    TherapistFactory,
)
from config.testing.threads import run_together
from intake.models import Intake

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]

NEW_YORK = ZoneInfo("America/New_York")
NOW = datetime(2026, 12, 1, 8, 0, tzinfo=NEW_YORK)
DAY = date(2026, 12, 3)
ANSWERS = {"pressure_preference": "medium", "primary_goal": "relaxation", "consent": True}


def at(hour, minute=0):
    return datetime(DAY.year, DAY.month, DAY.day, hour, minute, tzinfo=NEW_YORK)


def races(calls):
    """The calls at once; a refusal (a domain error, a 409) is a call's result, anything else fails."""
    return run_together(calls, returned=(DomainError,))


def assert_no_overlaps():
    """No two active bookings of one therapist, room (with buffers) or client (sessions) overlap: in SQL."""
    with connection.cursor() as cursor:
        for column, upper in (
            ("therapist_id", "occupied_until"),
            ("room_id", "occupied_until"),
            ("client_id", "ends_at"),
        ):
            cursor.execute(
                f"""
                SELECT count(*) FROM booking_booking a JOIN booking_booking b
                  ON a.id < b.id AND a.{column} = b.{column}
                 AND tstzrange(a.starts_at, a.{upper}) && tstzrange(b.starts_at, b.{upper})
                WHERE a.status IN ('confirmed', 'held') AND b.status IN ('confirmed', 'held')
                """
            )
            assert cursor.fetchone()[0] == 0, column
    assert Intake.objects.filter(booking__isnull=True).count() == 0  # nothing half-written


def book(client, service, starts_at, **choices):
    return lambda: services.booking_create(
        client=client, service_id=service.pk, starts_at=starts_at, answers=ANSWERS, booked_by=client, now=NOW, **choices
    )


@pytest.fixture
def place(clinic):
    return LocationFactory()


def test_forty_clients_with_mixed_lengths_on_one_therapist(place):
    # given one therapist's morning and services of 30, 60 and 90 minutes
    therapist = TherapistFactory(locations=[place])
    ShiftFactory(therapist=therapist, location=place, starts_at=at(9), ends_at=at(13))
    lengths = [ServiceFactory(duration_minutes=m, buffer_minutes=b) for m, b in ((30, 5), (60, 10), (90, 15))]
    rng = random.Random(7)
    calls = []
    for _ in range(40):
        service = rng.choice(lengths)
        start = at(9, 0)
        start = start.replace(hour=9 + rng.randrange(0, 3), minute=rng.choice((0, 15, 30, 45)))
        calls.append(book(ClientFactory(), service, start))
    # when 40 clients book overlapping times at once
    results = races(calls)
    # then some win, the rest are refused with slot_unavailable, and nothing overlaps
    won = [r for r in results if isinstance(r, Booking)]
    assert won
    assert {r.code for r in results if not isinstance(r, Booking)} <= {"slot_unavailable"}
    assert_no_overlaps()


def test_two_therapists_compete_for_the_last_room(place):
    place.uses_rooms = True
    place.save()
    RoomFactory(location=place)
    a, b = TherapistFactory(locations=[place]), TherapistFactory(locations=[place])
    for therapist in (a, b):
        ShiftFactory(therapist=therapist, location=place, starts_at=at(9), ends_at=at(12))
    hour = ServiceFactory()
    results = races(
        [book(ClientFactory(), hour, at(10), therapist_id=a.pk), book(ClientFactory(), hour, at(10), therapist_id=b.pk)]
    )
    assert sorted(type(r).__name__ for r in results) == ["Booking", "SlotUnavailable"]
    assert_no_overlaps()


def test_two_bookings_that_each_fit_a_room_both_succeed(place):
    place.uses_rooms = True
    place.save()
    RoomFactory(location=place)
    RoomFactory(location=place)
    a, b = TherapistFactory(locations=[place]), TherapistFactory(locations=[place])
    for therapist in (a, b):
        ShiftFactory(therapist=therapist, location=place, starts_at=at(9), ends_at=at(12))
    hour = ServiceFactory()
    # neither names a therapist: losing the race for one moves on to the next, not a 409
    results = races([book(ClientFactory(), hour, at(10)), book(ClientFactory(), hour, at(10))])
    assert all(isinstance(r, Booking) for r in results), results
    assert {r.room_id for r in results} == set(place.rooms.values_list("pk", flat=True))
    assert {r.therapist_id for r in results} == {a.pk, b.pk}
    assert_no_overlaps()


def test_one_client_books_two_therapists_at_once(place):
    client = ClientFactory()
    a, b = TherapistFactory(locations=[place]), TherapistFactory(locations=[place])
    for therapist in (a, b):
        ShiftFactory(therapist=therapist, location=place, starts_at=at(9), ends_at=at(12))
    hour = ServiceFactory()
    results = races([book(client, hour, at(10), therapist_id=a.pk), book(client, hour, at(10, 30), therapist_id=b.pk)])
    assert sorted(type(r).__name__ for r in results) == ["Booking", "ClientOverlap"]
    assert_no_overlaps()


def test_a_reschedule_races_a_booking(place):
    therapist = TherapistFactory(locations=[place])
    ShiftFactory(therapist=therapist, location=place, starts_at=at(9), ends_at=at(13))
    hour = ServiceFactory()
    mover = ClientFactory()
    moved = book(mover, hour, at(9))()
    staff = StaffFactory()
    results = races(
        [
            lambda: services.booking_reschedule(booking_id=moved.pk, by=staff, starts_at=at(11), now=NOW),
            book(ClientFactory(), hour, at(11, 30)),
        ]
    )
    assert sum(isinstance(r, Booking) for r in results) == 1
    assert all(isinstance(r, Booking) or r.code == "slot_unavailable" for r in results)
    assert_no_overlaps()
    # a refused move left the booking where it was
    moved.refresh_from_db()
    assert moved.starts_at in (at(9), at(11))


def test_many_reschedules_and_bookings_of_one_day(place):
    # given two therapists sharing two rooms, a dozen clients booking and moving at once
    place.uses_rooms = True
    place.save()
    RoomFactory(location=place)
    RoomFactory(location=place)
    therapists = [TherapistFactory(locations=[place]) for _ in range(2)]
    for therapist in therapists:
        ShiftFactory(therapist=therapist, location=place, starts_at=at(9), ends_at=at(17))
    services_ = [ServiceFactory(duration_minutes=m, buffer_minutes=10) for m in (30, 60, 90)]
    staff = StaffFactory()
    existing = [book(ClientFactory(), services_[i % 3], at(9 + i))() for i in range(4)]
    rng = random.Random(11)
    calls = [
        book(ClientFactory(), rng.choice(services_), at(rng.randrange(9, 16), rng.choice((0, 30)))) for _ in range(12)
    ]
    calls += [
        (
            lambda b=b: services.booking_reschedule(
                booking_id=b.pk, by=staff, starts_at=at(rng.randrange(9, 15)), now=NOW
            )
        )
        for b in existing
    ]
    races(calls)
    assert_no_overlaps()
