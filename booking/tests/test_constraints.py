"""The invariants PostgreSQL enforces whatever the code does (docs/design.md, Invariants).

These go around the services on purpose: straight through the ORM, the
database must still refuse a therapist in two places (their buffers
included), a double-booked room, a client in two sessions at once and
overlapping shifts. The last part races real transactions on their own
connections: whatever the interleaving, exactly one of several overlapping
bookings is left.
"""

import threading
import time
from datetime import timedelta
from decimal import Decimal

import pytest
from django.db import IntegrityError, OperationalError, connection, transaction

from booking.models import Booking, Closure, Shift, TimeOff, WorkingHours
from booking.tests.factories import BookingFactory, ShiftFactory
from booking.tests.helpers import frozen, local
from clinic.models import Service
from clinic.tests.factories import (
    ClientFactory,
    LocationFactory,
    RoomFactory,
    ServiceFactory,
    TherapistFactory,
    clinic_configure,
)

NINE = local(2026, 12, 10, 9)
HOUR = timedelta(hours=1)
MINUTE = timedelta(minutes=1)

THERAPIST = "booking_therapist_no_overlap"
ROOM = "booking_room_no_overlap"
CLIENT = "booking_client_no_overlap"


def _violated(exc_info) -> str:
    return exc_info.value.__cause__.diag.constraint_name


def _cancelled(**fields) -> dict:
    return {"status": Booking.Status.CANCELLED, "cancelled_at": NINE - 5 * HOUR, **fields}


def _held(**fields) -> dict:
    return {"status": Booking.Status.HELD, "hold_expires_at": NINE - 4 * HOUR, **fields}


# --- The world -------------------------------------------------------------------------------------


class World:
    """A location with one room, a location without rooms, and services with and without a buffer."""

    def __init__(self):
        self.rooms_place = LocationFactory(uses_rooms=True)
        self.room = RoomFactory(location=self.rooms_place)
        self.other_room = RoomFactory(location=self.rooms_place)
        self.place = LocationFactory()
        # 60 minutes of session, then 15 in which neither the therapist nor the room can start another
        self.hour_and_buffer = ServiceFactory(duration_minutes=60, buffer_minutes=15)
        self.half_hour = ServiceFactory(duration_minutes=30, buffer_minutes=0)

    def therapist(self):
        return TherapistFactory(locations=[self.place, self.rooms_place])

    def book(self, *, starts_at, service=None, therapist=None, client=None, room=None, **fields) -> Booking:
        """A booking straight in the database: a new therapist and client unless given; in `room` if given."""
        return BookingFactory(
            therapist=therapist or self.therapist(),
            client=client or ClientFactory(),
            location=self.rooms_place if room else self.place,
            room=room,
            service=service or self.hour_and_buffer,
            starts_at=starts_at,
            **fields,
        )


@pytest.fixture
def world(db):
    with frozen():
        yield World()


# --- 1. A therapist is never in two places ---------------------------------------------------------
# The first booking: 09:00-10:00, occupied until 10:15 (its buffer).


@pytest.mark.parametrize(
    ("start", "service"),
    [
        pytest.param(NINE, "hour_and_buffer", id="the-same-time"),
        pytest.param(NINE + 30 * MINUTE, "hour_and_buffer", id="overlaps-the-session"),
        pytest.param(NINE + 15 * MINUTE, "half_hour", id="inside"),
        pytest.param(NINE - 30 * MINUTE, "hour_and_buffer", id="overlaps-the-start"),
        pytest.param(NINE - HOUR, "hour_and_buffer", id="its-buffer-overlaps-the-start"),
        pytest.param(NINE + HOUR, "half_hour", id="starts-in-the-buffer"),
        pytest.param(NINE + 74 * MINUTE, "half_hour", id="starts-in-the-buffer's-last-minute"),
    ],
)
def test_overlapping_bookings_of_one_therapist_are_refused(world, start, service):
    # given
    therapist = world.therapist()
    world.book(therapist=therapist, starts_at=NINE)

    # when / then
    with pytest.raises(IntegrityError) as exc_info, transaction.atomic():
        world.book(therapist=therapist, starts_at=start, service=getattr(world, service))
    assert _violated(exc_info) == THERAPIST
    assert Booking.objects.filter(therapist=therapist).count() == 1


def test_a_therapist_is_refused_across_locations(world):
    therapist = world.therapist()
    world.book(therapist=therapist, starts_at=NINE)

    with pytest.raises(IntegrityError) as exc_info, transaction.atomic():
        world.book(therapist=therapist, starts_at=NINE + 30 * MINUTE, room=world.room)

    assert _violated(exc_info) == THERAPIST


def test_a_therapist_may_start_again_when_the_buffer_ends_or_end_when_another_starts(world):
    therapist = world.therapist()
    world.book(therapist=therapist, starts_at=NINE)

    world.book(therapist=therapist, starts_at=NINE + 75 * MINUTE)  # 10:15, the first's buffer over
    world.book(therapist=therapist, starts_at=NINE - 75 * MINUTE)  # 07:45, its own buffer over at 09:00

    assert Booking.objects.filter(therapist=therapist, status="confirmed").count() == 3


def test_two_therapists_may_work_at_the_same_time(world):
    world.book(starts_at=NINE)
    world.book(starts_at=NINE)

    assert Booking.objects.count() == 2


# --- 2. A room is never double-booked ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("start", "service"),
    [
        pytest.param(NINE, "hour_and_buffer", id="the-same-time"),
        pytest.param(NINE + 45 * MINUTE, "half_hour", id="overlaps-the-session"),
        pytest.param(NINE - HOUR, "hour_and_buffer", id="its-buffer-overlaps-the-start"),
        pytest.param(NINE + 70 * MINUTE, "half_hour", id="starts-in-the-buffer"),
    ],
)
def test_overlapping_bookings_of_one_room_are_refused(world, start, service):
    # given: two therapists, two clients, one room
    world.book(room=world.room, starts_at=NINE)

    # when / then
    with pytest.raises(IntegrityError) as exc_info, transaction.atomic():
        world.book(room=world.room, starts_at=start, service=getattr(world, service))
    assert _violated(exc_info) == ROOM
    assert Booking.objects.filter(room=world.room).count() == 1


def test_two_rooms_may_be_used_at_the_same_time(world):
    world.book(room=world.room, starts_at=NINE)

    world.book(room=world.other_room, starts_at=NINE)
    world.book(starts_at=NINE)  # a location without rooms: no room to share

    assert Booking.objects.count() == 3


def test_a_room_is_free_again_when_the_buffer_ends(world):
    world.book(room=world.room, starts_at=NINE)

    world.book(room=world.room, starts_at=NINE + 75 * MINUTE)
    world.book(room=world.room, starts_at=NINE - 75 * MINUTE)

    assert Booking.objects.filter(room=world.room).count() == 3


# --- 3. A client never holds two overlapping sessions ----------------------------------------------


@pytest.mark.parametrize(
    ("start", "service"),
    [
        pytest.param(NINE, "hour_and_buffer", id="the-same-time"),
        pytest.param(NINE + 30 * MINUTE, "hour_and_buffer", id="overlaps-the-end"),
        pytest.param(NINE - 30 * MINUTE, "hour_and_buffer", id="overlaps-the-start"),
        pytest.param(NINE + 15 * MINUTE, "half_hour", id="inside"),
        pytest.param(NINE + 59 * MINUTE, "half_hour", id="the-last-minute"),
    ],
)
def test_overlapping_sessions_of_one_client_are_refused(world, start, service):
    # given: the client's session with one therapist
    client = ClientFactory()
    world.book(client=client, starts_at=NINE)

    # when / then: another with another therapist
    with pytest.raises(IntegrityError) as exc_info, transaction.atomic():
        world.book(client=client, starts_at=start, service=getattr(world, service))
    assert _violated(exc_info) == CLIENT
    assert Booking.objects.filter(client=client).count() == 1


def test_a_client_s_sessions_may_follow_each_other_the_buffer_is_the_therapist_s(world):
    client = ClientFactory()
    world.book(client=client, starts_at=NINE)

    world.book(client=client, starts_at=NINE + HOUR)  # in the first therapist's buffer, with another
    world.book(client=client, starts_at=NINE - 75 * MINUTE)  # ends at 08:15, its buffer over the 09:00

    assert Booking.objects.filter(client=client).count() == 3


# --- What counts: active and held, not cancelled or closed ------------------------------------------


def _same(world, kind: str) -> dict:
    """What two bookings share to meet `kind`'s constraint (each booking gets its own of the rest)."""
    return {
        THERAPIST: lambda: {"therapist": world.therapist()},
        ROOM: lambda: {"room": world.room},
        CLIENT: lambda: {"client": ClientFactory()},
    }[kind]()


@pytest.mark.parametrize("kind", [THERAPIST, ROOM, CLIENT])
@pytest.mark.parametrize(
    "inactive",
    [
        pytest.param(_cancelled(), id="cancelled"),
        pytest.param({"status": Booking.Status.COMPLETED, "closed_at": NINE + HOUR}, id="completed"),
        pytest.param({"status": Booking.Status.NO_SHOW, "closed_at": NINE + HOUR}, id="no-show"),
    ],
)
def test_a_booking_no_longer_active_leaves_its_time_free(world, kind, inactive):
    # given
    same = _same(world, kind)
    world.book(starts_at=NINE, **same, **inactive)

    # when
    world.book(starts_at=NINE, **same)

    # then
    assert sorted(Booking.objects.values_list("status", flat=True)) == sorted([inactive["status"], "confirmed"])


@pytest.mark.parametrize("kind", [THERAPIST, ROOM, CLIENT])
def test_cancelled_bookings_do_not_count_even_against_each_other(world, kind):
    same = _same(world, kind)

    for _ in range(3):
        world.book(starts_at=NINE, **same, **_cancelled())

    assert Booking.objects.filter(status="cancelled").count() == 3


@pytest.mark.parametrize(("kind", "start"), [(THERAPIST, NINE + HOUR), (ROOM, NINE + 70 * MINUTE)])
@pytest.mark.parametrize("held_first", [True, False], ids=["hold-then-booking", "booking-then-hold"])
def test_a_held_offer_takes_the_therapist_and_the_room_like_a_booking(world, kind, start, held_first):
    # given: a waitlist offer held 09:00-10:15 (with its buffer), or a booking there
    same = _same(world, kind)
    world.book(starts_at=NINE, **same, **(_held() if held_first else {}))

    # when / then: the other, starting in its buffer
    with pytest.raises(IntegrityError) as exc_info, transaction.atomic():
        world.book(starts_at=start, service=world.half_hour, **same, **({} if held_first else _held()))
    assert _violated(exc_info) == kind


def test_a_client_s_own_hold_is_not_a_session_of_theirs(world):
    """The client constraint counts confirmed sessions only (booking/models.py): a hold is time kept
    for a waitlist offer, and becomes a session of theirs when accepted; then it must not overlap one."""
    client = ClientFactory()
    world.book(client=client, starts_at=NINE)

    world.book(client=client, starts_at=NINE, **_held())

    with pytest.raises(IntegrityError) as exc_info, transaction.atomic():
        Booking.objects.filter(client=client, status="held").update(status="confirmed", hold_expires_at=None)
    assert _violated(exc_info) == CLIENT


def test_a_cancelled_booking_cannot_be_revived_over_its_replacement(world):
    therapist = world.therapist()
    old = world.book(therapist=therapist, starts_at=NINE, **_cancelled())
    world.book(therapist=therapist, starts_at=NINE + 30 * MINUTE)

    with pytest.raises(IntegrityError) as exc_info, transaction.atomic():
        Booking.objects.filter(pk=old.pk).update(status="confirmed")
    assert _violated(exc_info) == THERAPIST


def test_a_move_onto_another_session_is_refused_too(world):
    therapist = world.therapist()
    world.book(therapist=therapist, starts_at=NINE)
    later = world.book(therapist=therapist, starts_at=NINE + 2 * HOUR)

    with pytest.raises(IntegrityError) as exc_info, transaction.atomic():
        Booking.objects.filter(pk=later.pk).update(
            starts_at=NINE + HOUR, ends_at=NINE + 2 * HOUR, occupied_until=NINE + 2 * HOUR + 15 * MINUTE
        )
    assert _violated(exc_info) == THERAPIST


# --- 4. A therapist's shifts never overlap ----------------------------------------------------------


@pytest.mark.parametrize(
    ("starts", "ends"),
    [
        (NINE + timedelta(minutes=30), NINE + timedelta(minutes=90)),  # overlaps the end
        (NINE - timedelta(minutes=30), NINE + timedelta(minutes=30)),  # overlaps the start
        (NINE + timedelta(minutes=15), NINE + timedelta(minutes=45)),  # inside
        (NINE - HOUR, NINE + 2 * HOUR),  # around
        (NINE, NINE + HOUR),  # the same span
    ],
)
def test_overlapping_shifts_of_one_therapist_are_refused(world, starts, ends):
    therapist = world.therapist()
    ShiftFactory(therapist=therapist, location=world.place, starts_at=NINE, ends_at=NINE + HOUR)

    with pytest.raises(IntegrityError) as exc_info, transaction.atomic():
        ShiftFactory(therapist=therapist, location=world.place, starts_at=starts, ends_at=ends)

    assert _violated(exc_info) == "shift_no_overlap_per_therapist"
    assert Shift.objects.filter(therapist=therapist).count() == 1


def test_overlapping_shifts_at_two_locations_are_refused(world):
    therapist = world.therapist()
    ShiftFactory(therapist=therapist, location=world.place, starts_at=NINE, ends_at=NINE + 4 * HOUR)

    with pytest.raises(IntegrityError) as exc_info, transaction.atomic():
        ShiftFactory(therapist=therapist, location=world.rooms_place, starts_at=NINE + HOUR, ends_at=NINE + 5 * HOUR)

    assert _violated(exc_info) == "shift_no_overlap_per_therapist"


def test_back_to_back_shifts_are_allowed(world):
    therapist = world.therapist()
    ShiftFactory(therapist=therapist, location=world.place, starts_at=NINE, ends_at=NINE + HOUR)

    ShiftFactory(therapist=therapist, location=world.rooms_place, starts_at=NINE + HOUR, ends_at=NINE + 2 * HOUR)
    ShiftFactory(therapist=therapist, location=world.place, starts_at=NINE - HOUR, ends_at=NINE)

    assert Shift.objects.filter(therapist=therapist).count() == 3


def test_overlapping_shifts_of_two_therapists_are_allowed(world):
    ShiftFactory(therapist=world.therapist(), location=world.place, starts_at=NINE, ends_at=NINE + HOUR)

    ShiftFactory(therapist=world.therapist(), location=world.place, starts_at=NINE, ends_at=NINE + HOUR)

    assert Shift.objects.count() == 2


# --- Check constraints ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("make", "constraint"),
    [
        pytest.param(
            lambda w: w.book(starts_at=NINE, ends_at=NINE, occupied_until=NINE),
            "booking_ends_after_start",
            id="booking-zero-length",
        ),
        pytest.param(
            lambda w: w.book(starts_at=NINE, ends_at=NINE - HOUR, occupied_until=NINE),
            "booking_ends_after_start",
            id="booking-ends-before-start",
        ),
        pytest.param(
            lambda w: w.book(starts_at=NINE, occupied_until=NINE + 30 * MINUTE),
            "booking_occupied_covers",
            id="booking-occupied-short-of-its-end",
        ),
        pytest.param(
            lambda w: w.book(starts_at=NINE, intake_status=Booking.IntakeStatus.PENDING),
            "booking_intake_status_matches",
            id="pending-with-an-intake",
        ),
        pytest.param(
            lambda w: w.book(starts_at=NINE, intake=None, intake_status=Booking.IntakeStatus.COMPLETE),
            "booking_intake_status_matches",
            id="complete-without-an-intake",
        ),
        pytest.param(
            lambda w: w.book(starts_at=NINE, intake_status="other"),
            "booking_intake_status_matches",
            id="an-unknown-intake-status",
        ),
        pytest.param(
            lambda w: w.book(starts_at=NINE, status=Booking.Status.HELD),
            "booking_hold_expires",
            id="held-without-an-expiry",
        ),
        pytest.param(
            lambda w: w.book(starts_at=NINE, status=Booking.Status.CANCELLED),
            "booking_cancelled_has_time",
            id="cancelled-without-a-time",
        ),
        pytest.param(
            lambda w: ShiftFactory(location=w.place, starts_at=NINE, ends_at=NINE),
            "shift_ends_after_start",
            id="shift-zero-length",
        ),
        pytest.param(
            lambda w: ShiftFactory(location=w.place, starts_at=NINE, ends_at=NINE - HOUR),
            "shift_ends_after_start",
            id="shift-ends-before-start",
        ),
        pytest.param(
            lambda w: TimeOff.objects.create(therapist=w.therapist(), starts_at=NINE, ends_at=NINE),
            "time_off_ends_after_start",
            id="time-off-zero-length",
        ),
        pytest.param(
            lambda w: Closure.objects.create(location=w.place, starts_at=NINE, ends_at=NINE - HOUR),
            "closure_ends_after_start",
            id="closure-ends-before-start",
        ),
        pytest.param(
            lambda w: WorkingHours.objects.create(
                therapist=w.therapist(), location=w.place, weekday=0, start_time="17:00", end_time="09:00"
            ),
            "working_hours_end_after_start",
            id="working-hours-end-before-start",
        ),
        pytest.param(
            lambda w: WorkingHours.objects.create(
                therapist=w.therapist(), location=w.place, weekday=7, start_time="09:00", end_time="17:00"
            ),
            "working_hours_weekday_valid",
            id="working-hours-weekday-7",
        ),
    ],
)
def test_spans_and_states_are_checked(world, make, constraint):
    with pytest.raises(IntegrityError) as exc_info, transaction.atomic():
        make(world)

    assert _violated(exc_info) == constraint


@pytest.mark.parametrize(
    ("fields", "constraint"),
    [
        ({"duration_minutes": 10}, "service_duration_valid"),
        ({"duration_minutes": 245}, "service_duration_valid"),
        ({"duration_minutes": 62}, "service_duration_valid"),
        ({"buffer_minutes": 65}, "service_buffer_valid"),
        ({"buffer_minutes": 7}, "service_buffer_valid"),
        ({"price": Decimal("-0.01")}, "service_price_not_negative"),
    ],
)
def test_a_service_s_length_buffer_and_price_are_checked(db, fields, constraint):
    with pytest.raises(IntegrityError) as exc_info, transaction.atomic():
        ServiceFactory(**fields)

    assert _violated(exc_info) == constraint


@pytest.mark.parametrize(
    "fields",
    [
        {"duration_minutes": 15, "buffer_minutes": 0, "price": Decimal("0.00")},
        {"duration_minutes": 240, "buffer_minutes": 60, "price": Decimal("1000.00")},
        {"duration_minutes": 95, "buffer_minutes": 5, "price": Decimal("99.99")},
    ],
)
def test_services_at_the_limits_are_allowed(db, fields):
    ServiceFactory(**fields)

    assert Service.objects.filter(**fields).exists()


@pytest.mark.parametrize(
    ("fields", "constraint"),
    [
        ({"booking_step_minutes": 0}, "clinic_booking_step_valid"),
        ({"booking_step_minutes": 7}, "clinic_booking_step_valid"),
        ({"booking_step_minutes": 65}, "clinic_booking_step_valid"),
        ({"waitlist_hold_minutes": 4}, "clinic_waitlist_hold_valid"),
        ({"waitlist_hold_minutes": 24 * 60 + 1}, "clinic_waitlist_hold_valid"),
    ],
)
def test_the_clinic_s_step_and_hold_are_checked(db, fields, constraint):
    clinic_configure()

    with pytest.raises(IntegrityError) as exc_info, transaction.atomic():
        clinic_configure(**fields)

    assert _violated(exc_info) == constraint


@pytest.mark.parametrize("step", [5, 10, 15, 20, 30, 60])
def test_the_clinic_s_usual_steps_are_allowed(db, step):
    assert clinic_configure(booking_step_minutes=step).booking_step_minutes == step


# --- Racing transactions (real threads, real connections) ------------------------------------------

TIMEOUT = 30  # seconds; only ever reached when something is stuck
DEADLOCK = "40P01"


def _loss(exc: Exception) -> str:
    """What refused a racer: the constraint it broke, or the deadlock PostgreSQL broke (both a 409 in the API)."""
    cause = exc.__cause__
    if isinstance(exc, IntegrityError):
        return cause.diag.constraint_name
    if isinstance(exc, OperationalError) and getattr(cause, "sqlstate", None) == DEADLOCK:
        return "deadlock"
    raise exc


def _in_thread(target, *args) -> tuple[threading.Thread, dict]:
    """Run `target(*args)` in a thread with its own connection; its result or error lands in the dict."""
    outcome = {}

    def run():
        try:
            outcome["result"] = target(*args)
        except BaseException as exc:  # noqa: BLE001 (judged by the test, in its own thread)
            outcome["error"] = exc
        finally:
            connection.close()

    thread = threading.Thread(target=run)
    thread.start()
    return thread, outcome


def _join(*threads) -> None:
    for thread in threads:
        thread.join(TIMEOUT * 2)
    assert not any(thread.is_alive() for thread in threads), "a thread is stuck"


def _waits_on_a_lock(pid: int) -> bool:
    with connection.cursor() as cursor:
        cursor.execute("SELECT wait_event_type FROM pg_stat_activity WHERE pid = %s", [pid])
        row = cursor.fetchone()
    return row is not None and row[0] == "Lock"


def _race_world(kind: str):
    """What each racer books: its own of everything but what `kind`'s constraint compares.

    Each `(service, start)` overlaps every other one on that constraint's range:
    the therapist's and the room's with their buffers, the client's sessions alone.
    """
    world = World()
    therapist, client = world.therapist(), ClientFactory()
    shared = {
        THERAPIST: lambda: {"therapist": therapist},
        ROOM: lambda: {"room": world.room},
        CLIENT: lambda: {"client": client},
    }[kind]
    if kind == CLIENT:
        starts = [NINE + n * 15 * MINUTE for n in range(4)]  # 09:00..09:45, each an hour
    else:
        starts = [NINE + n * 20 * MINUTE for n in range(4)]  # 09:00..10:00, each till 10:15 and later
    return [lambda start=start: world.book(starts_at=start, **shared()) for start in starts]


@pytest.mark.parametrize("kind", [THERAPIST, ROOM, CLIENT])
@pytest.mark.parametrize("first_commits", [True, False], ids=["first-commits", "first-rolls-back"])
@pytest.mark.django_db(transaction=True)
@pytest.mark.slow
def test_a_booking_waits_for_an_overlapping_one_in_flight_and_only_one_stands(kind, first_commits):
    """Both transactions have inserted (the second waits on the first's row), then the first ends."""
    first_insert, second_insert = _race_world(kind)[:2]
    inserted, finish = threading.Event(), threading.Event()
    second_pid = {}

    def first():
        with transaction.atomic():
            booking = first_insert()
            inserted.set()
            assert finish.wait(TIMEOUT)
            if not first_commits:
                transaction.set_rollback(True)
            return booking

    def second():
        assert inserted.wait(TIMEOUT)
        with transaction.atomic():
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_backend_pid()")
                second_pid["pid"] = cursor.fetchone()[0]
            return second_insert()

    # given: the first transaction holds an uncommitted booking
    first_thread, first_outcome = _in_thread(first)
    second_thread, second_outcome = _in_thread(second)
    # when: the second, overlapping it, waits for the first to end
    deadline = time.monotonic() + TIMEOUT
    while not (second_pid and _waits_on_a_lock(second_pid["pid"])):
        assert time.monotonic() < deadline, "the second insert never waited on the first"
        assert second_thread.is_alive(), second_outcome
        time.sleep(0.01)
    assert Booking.objects.count() == 0  # neither is visible yet
    finish.set()
    _join(first_thread, second_thread)

    # then: a committed first refuses the second; a rolled-back one lets it through
    assert "error" not in first_outcome, first_outcome
    if first_commits:
        assert _loss(second_outcome["error"]) == kind
        assert list(Booking.objects.values_list("pk", flat=True)) == [first_outcome["result"].pk]
    else:
        assert "error" not in second_outcome, second_outcome
        assert list(Booking.objects.values_list("pk", flat=True)) == [second_outcome["result"].pk]


@pytest.mark.parametrize("kind", [THERAPIST, ROOM, CLIENT])
@pytest.mark.django_db(transaction=True)
@pytest.mark.slow
def test_racing_transactions_leave_exactly_one_of_overlapping_bookings(kind):
    """Released together; each holds its row a moment before committing, so the others meet it in flight."""
    inserts = _race_world(kind)
    barrier = threading.Barrier(len(inserts), timeout=TIMEOUT)

    def racer(insert):
        barrier.wait()
        with transaction.atomic():
            booking = insert()
            time.sleep(0.2)
            return booking

    # when
    runs = [_in_thread(racer, insert) for insert in inserts]
    _join(*(thread for thread, _ in runs))

    # then: one stands; every other was refused by the constraint (or a deadlock PostgreSQL broke)
    outcomes = [outcome for _, outcome in runs]
    won = [outcome["result"] for outcome in outcomes if "result" in outcome]
    losses = {_loss(outcome["error"]) for outcome in outcomes if "error" in outcome}
    assert len(won) == 1, outcomes
    assert losses <= {kind, "deadlock"}, outcomes
    assert list(Booking.objects.values_list("pk", flat=True)) == [won[0].pk]
    assert not Booking.objects.exclude(pk=won[0].pk).exists()
