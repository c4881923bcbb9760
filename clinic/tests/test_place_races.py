"""Changes to locations and rooms against bookings in flight, with real threads on real connections.

Every booking is made under its therapist's row lock (booking.services), so a
change that could strand bookings locks the therapists of the location before
it looks: a booking in flight is either seen, or waits and then sees the change.
"""

import threading
from datetime import timedelta

import pytest
from django.db import DatabaseError, connection, transaction
from django.utils import timezone

from booking.tests.factories import BookingFactory
from clinic.errors import HasFutureBookings
from clinic.models import Location, Room, Therapist
from clinic.services import LOCATION_NAME_TAKEN, location_create, location_update, room_delete, room_update
from clinic.tests.factories import LocationFactory, RoomFactory, TherapistFactory

pytestmark = pytest.mark.django_db(transaction=True)
WAIT = 10  # seconds: far beyond any real wait, so a hang fails instead of blocking the suite


def run_in_threads(*targets) -> list[BaseException]:
    """Run each target in its own thread (and connection); the errors they raised that were not expected."""
    errors: list[BaseException] = []

    def guarded(target):
        try:
            target()
        except BaseException as exc:  # a failure in a thread must fail the test
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=guarded, args=(target,)) for target in targets]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=3 * WAIT)
    assert not any(thread.is_alive() for thread in threads), "a thread hung"
    return errors


def booking_in_flight(*, therapist: Therapist, location: Location, room: Room | None, inserted, released, created):
    """What booking.services does: the therapist's row lock, the booking inserted, a pause, then commit."""

    def book():
        with transaction.atomic():
            Therapist.objects.select_for_update().get(pk=therapist.pk)
            created.append(
                BookingFactory(
                    therapist=therapist,
                    location=location,
                    room=room,
                    starts_at=(timezone.now() + timedelta(days=2)).replace(minute=0, second=0, microsecond=0),
                )
            )
            inserted.set()
            released.wait(WAIT)

    return book


@pytest.mark.parametrize("change", ["deactivate location", "new time zone", "deactivate room", "delete room"])
def test_a_change_waits_for_a_booking_in_flight_and_then_refuses(change):
    # given: a booking being made at the location, not yet committed
    location = LocationFactory(uses_rooms=True)
    room = RoomFactory(location=location)
    therapist = TherapistFactory(locations=[location])
    inserted, released = threading.Event(), threading.Event()
    created, outcome = [], []

    def make_the_change():
        inserted.wait(WAIT)
        # The booking's transaction is still open: release it shortly, while the change waits on its lock.
        threading.Timer(0.3, released.set).start()
        try:
            if change == "deactivate location":
                location_update(location=location, active=False)
            elif change == "new time zone":
                location_update(location=location, time_zone="Europe/Paris")
            elif change == "deactivate room":
                room_update(room=room, active=False)
            else:
                room_delete(room=room)
        except HasFutureBookings as exc:
            outcome.append(exc.extra["conflicts"])

    # when
    errors = run_in_threads(
        booking_in_flight(
            therapist=therapist, location=location, room=room, inserted=inserted, released=released, created=created
        ),
        make_the_change,
    )

    # then: the change saw the booking once it was committed, and changed nothing
    assert not errors
    assert outcome == [[created[0].pk]]
    location.refresh_from_db()
    room.refresh_from_db()
    assert (location.active, location.time_zone, room.active) == (True, "America/New_York", True)


@pytest.mark.parametrize("change", ["deactivate location", "deactivate room"])
def test_a_booking_cannot_start_while_a_change_is_deciding(change):
    """The change holds the location's therapists until it commits: a booking (which locks its therapist first)
    waits for it, and then reads the location and its rooms as changed (booking.availability)."""
    location = LocationFactory(uses_rooms=True)
    room = RoomFactory(location=location)
    therapist = TherapistFactory(locations=[location])
    changed, done = threading.Event(), threading.Event()
    refused: list[bool] = []

    def make_the_change():
        with transaction.atomic():
            if change == "deactivate location":
                location_update(location=location, active=False)
            else:
                room_update(room=room, active=False)
            changed.set()
            done.wait(WAIT)

    def try_to_book():
        changed.wait(WAIT)
        try:
            with transaction.atomic():
                Therapist.objects.select_for_update(nowait=True).get(pk=therapist.pk)
        except DatabaseError:
            refused.append(True)
        finally:
            done.set()

    assert not run_in_threads(make_the_change, try_to_book)
    assert refused == [True]


def test_two_concurrent_locations_of_one_name_make_one():
    start = threading.Barrier(2)
    outcomes: list[str] = []

    def create():
        start.wait(timeout=WAIT)
        try:
            location_create(name="Harbour", time_zone="Europe/Paris")
            outcomes.append("created")
        except Exception as exc:  # the loser's ValidationError
            outcomes.append(str(getattr(exc, "message_dict", exc)))

    assert not run_in_threads(create, create)
    assert sorted(outcomes) == sorted(["created", str({"name": [LOCATION_NAME_TAKEN]})])
    assert Location.objects.filter(name="Harbour").count() == 1
