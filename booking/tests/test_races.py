"""Races, with real threads on real PostgreSQL connections (docs/design.md, Invariants: lock, then check).

Each thread has its own APIClient and its own database connection (closed
when the thread ends); a Barrier releases them together. The database's
locks and constraints, not luck, must decide: whatever the interleaving,
the assertions below hold.
"""

import threading
from datetime import time

import pytest
from django.db import connection

from booking import services
from booking.models import Booking, Slot
from booking.tests.factories import WorkingHoursFactory
from booking.tests.helpers import THERAPEUTIC, book, frozen, local, slot_at
from clinic.tests.factories import ClientFactory, TherapistFactory
from intake.models import Intake

pytestmark = pytest.mark.django_db(transaction=True)

BARRIER_TIMEOUT = 60  # seconds; only ever reached when a thread is stuck


@pytest.fixture(autouse=True)
def _now():
    with frozen():
        yield


def run_together(calls):
    """Run each of `calls` in its own thread, released at once; their results in order.

    A call returns what the test needs from its response (status, body),
    read inside the thread.
    """
    barrier = threading.Barrier(len(calls), timeout=BARRIER_TIMEOUT)
    results = [None] * len(calls)
    errors = []

    def worker(index, call):
        try:
            barrier.wait()
            results[index] = call()
        except BaseException as exc:  # noqa: BLE001 (reported below, in the test's thread)
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=worker, args=(i, call)) for i, call in enumerate(calls)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(BARRIER_TIMEOUT * 2)
    assert not any(thread.is_alive() for thread in threads), "a thread is stuck"
    assert not errors, errors
    return results


def _answer(response):
    return response.status_code, response.json()


def _no_orphan_intakes():
    assert Intake.objects.count() == Booking.objects.count()


def test_twenty_clients_for_one_slot_one_wins(as_user, clinic, therapist):
    # given 20 clients, each with their own connection, after the same slot
    slot = slot_at(therapist, local(2026, 12, 4, 9))
    apis = [as_user(ClientFactory()) for _ in range(20)]

    # when they all book it at once
    results = run_together([lambda api=api: _answer(book(api, slot)) for api in apis])

    # then exactly one books it and the rest are told it is taken
    statuses = sorted(status for status, _ in results)
    assert statuses == [201] + [409] * 19
    assert all(body["code"] == "slot_unavailable" for status, body in results if status == 409)
    assert Booking.objects.filter(slot=slot, status=Booking.Status.CONFIRMED).count() == 1
    assert Booking.objects.count() == 1
    _no_orphan_intakes()
    winner = next(body for status, body in results if status == 201)
    assert Booking.objects.get().pk == winner["id"]


def test_one_client_booking_two_overlapping_slots_at_once_gets_one(
    as_user, clinic, client_user, therapist, other_therapist
):
    # given two tabs of one client, each after a different therapist's slot at about the same time
    nine = slot_at(therapist, local(2026, 12, 4, 9))
    half_past = slot_at(other_therapist, local(2026, 12, 4, 9, 30))
    tabs = [(as_user(client_user), nine), (as_user(client_user), half_past)]

    # when both book at once
    results = run_together([lambda api=api, slot=slot: _answer(book(api, slot)) for api, slot in tabs])

    # then the lock on the client lets one through and the other sees it
    assert sorted(status for status, _ in results) == [201, 409]
    assert [body["code"] for status, body in results if status == 409] == ["client_overlap"]
    assert Booking.objects.filter(client=client_user, status=Booking.Status.CONFIRMED).count() == 1
    _no_orphan_intakes()


def test_a_reschedule_racing_new_bookings_for_one_slot(as_user, clinic, client_user, therapist, other_therapist):
    """Round after round, one of {the reschedule, four new bookings} gets the slot;
    when the reschedule loses, its booking is exactly as it was."""
    booking = services.booking_create(
        client=client_user, slot_id=slot_at(therapist, local(2026, 12, 4, 9)).pk, answers=THERAPEUTIC
    )
    mover = as_user(client_user)
    rivals = [as_user(ClientFactory()) for _ in range(4)]

    for day in (7, 8, 9):
        # given
        target = slot_at(other_therapist, local(2026, 12, day, 14))
        before = Booking.objects.get(pk=booking.pk)

        # when
        calls = [
            lambda target=target: _answer(
                mover.post(f"/api/v1/bookings/{booking.pk}/reschedule/", {"slot": target.pk}, format="json")
            )
        ]
        calls += [lambda api=api, target=target: _answer(book(api, target)) for api in rivals]
        moved, *booked = run_together(calls)

        # then exactly one request got the slot
        successes = [moved[0] == 200] + [status == 201 for status, _ in booked]
        assert sum(successes) == 1, (moved, booked)
        assert Booking.objects.filter(slot=target, status=Booking.Status.CONFIRMED).count() == 1
        assert all(body["code"] == "slot_unavailable" for status, body in [moved, *booked] if status == 409)
        after = Booking.objects.get(pk=booking.pk)
        if moved[0] == 200:
            assert (after.slot_id, after.sequence) == (target.pk, before.sequence + 1)
            assert not Booking.objects.filter(slot_id=before.slot_id, status=Booking.Status.CONFIRMED).exists()
        else:
            assert moved[0] == 409
            assert (after.slot_id, after.status, after.sequence, after.updated_at, after.intake_id) == (
                before.slot_id,
                Booking.Status.CONFIRMED,
                before.sequence,
                before.updated_at,
                before.intake_id,
            )
    _no_orphan_intakes()


def test_the_same_idempotency_key_twice_at_once_books_once(as_user, clinic, client_user, therapist):
    for hour, key in ((9, "double-tap-1"), (11, "double-tap-2"), (13, "double-tap-3")):
        # given two tabs of one client sending the same request with the same key
        slot = slot_at(therapist, local(2026, 12, 4, hour))
        tabs = [as_user(client_user), as_user(client_user)]

        # when both arrive at once
        results = run_together(
            [lambda api=api, slot=slot, key=key: _answer(book(api, slot, HTTP_IDEMPOTENCY_KEY=key)) for api in tabs]
        )

        # then one booking; the other answer is its replay or "still running"
        (first_status, first_body), (second_status, second_body) = sorted(results, key=lambda r: r[0])
        assert first_status == 201
        if second_status == 201:
            assert second_body == first_body
        else:
            assert (second_status, second_body["code"]) == (409, "idempotency_key_in_use")
        assert Booking.objects.filter(slot=slot).count() == 1
    assert Booking.objects.count() == 3
    _no_orphan_intakes()


def _overlapping_slot_pairs() -> int:
    with connection.cursor() as cursor:
        cursor.execute(
            """
            SELECT count(*) FROM booking_slot a JOIN booking_slot b
              ON a.therapist_id = b.therapist_id AND a.id < b.id
             AND a.starts_at < b.ends_at AND b.starts_at < a.ends_at
            """
        )
        return cursor.fetchone()[0]


@pytest.mark.parametrize(
    ("ranges", "days"),
    [
        ((("2026-12-07", "2026-12-20"), ("2026-12-07", "2026-12-20")), 14),  # the same two weeks
        ((("2026-12-07", "2026-12-16"), ("2026-12-11", "2026-12-20")), 14),  # overlapping ranges
    ],
    ids=["same-range", "overlapping-ranges"],
)
def test_two_generate_runs_at_once_never_duplicate_slots(as_user, staff_user, clinic, ranges, days):
    # given two therapists working every day 09:00-17:00 (8 slots a day each)
    for therapist in (TherapistFactory(), TherapistFactory()):
        for weekday in range(7):
            WorkingHoursFactory(therapist=therapist, weekday=weekday, start_time=time(9), end_time=time(17))
    desks = [as_user(staff_user), as_user(staff_user)]

    # when two front-desk sessions generate at once
    results = run_together(
        [
            lambda api=api, span=span: _answer(
                api.post("/api/v1/slots/generate/", {"from": span[0], "to": span[1]}, format="json")
            )
            for api, span in zip(desks, ranges, strict=True)
        ]
    )

    # then every slot exists once, none overlap, and the counts add up
    assert [status for status, _ in results] == [200, 200]
    expected = 2 * 8 * days
    assert Slot.objects.count() == expected
    assert sum(body["created"] for _, body in results) == expected
    candidates = [2 * 8 * ((int(end[-2:]) - int(start[-2:])) + 1) for start, end in ranges]
    assert [body["created"] + body["skipped"] for _, body in results] == candidates
    assert _overlapping_slot_pairs() == 0
