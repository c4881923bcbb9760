"""Waitlist races, with real threads on real PostgreSQL connections (booking.waitlist: lock, then check).

Whatever the interleaving: an offer accepted twice makes one booking; a
held time is never booked by someone else; a cancellation's freed time is
held for the waiting client in the cancellation's own transaction, so a
booking racing it cannot take it; one entry never holds two offers.
"""

from datetime import timedelta

import pytest
from django.core.exceptions import ValidationError

from booking import services, waitlist
from booking.errors import SlotUnavailable
from booking.models import Booking, WaitlistEntry, WaitlistOffer
from booking.tests.helpers import NOW, THERAPEUTIC, booked, frozen, hour_service, local, new_york, shift_at
from booking.tests.test_races import assert_no_overlaps, races
from clinic.tests.factories import ClientFactory, TherapistFactory, clinic_configure
from config.testing.threads import run_together

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]

THURSDAY = local(2026, 12, 3).date()
NINE = local(2026, 12, 3, 9)
TEN = local(2026, 12, 3, 10)


@pytest.fixture(autouse=True)
def clock():
    with frozen(NOW):
        yield


@pytest.fixture
def world():
    """Maya's Thursday 09:00-11:00 at Midtown, both hours booked by other clients."""
    clinic_configure()
    place = new_york(name="Midtown")
    maya = TherapistFactory()
    shift_at(maya, NINE, hours=2, location=place)
    service = hour_service()
    bookings = [booked(ClientFactory(), service, start, therapist=maya) for start in (NINE, TEN)]
    return {"place": place, "maya": maya, "service": service, "bookings": bookings}


def waiting(service, client=None) -> WaitlistEntry:
    return waitlist.waitlist_join(
        client=client or ClientFactory(), service_id=service.pk, from_date=THURSDAY, to_date=THURSDAY
    )


def cancel(booking: Booking) -> Booking:
    return services.booking_cancel(booking_id=booking.pk, by=booking.client)


def test_an_offer_accepted_twice_at_once_makes_one_booking(world):
    # given: Thursday 10:00 held for a waiting client
    entry = waiting(world["service"])
    cancel(world["bookings"][1])
    offer = WaitlistOffer.objects.get(entry=entry)

    # when: they accept it twice at once (two devices, a double tap)
    def accept():
        return waitlist.waitlist_offer_accept(offer_id=offer.pk, client=entry.client, answers=THERAPEUTIC)

    results = races([accept, accept])

    # then: one booking, the other told the offer is no longer open
    bookings = [result for result in results if isinstance(result, Booking)]
    refusals = [result for result in results if isinstance(result, waitlist.OfferExpired)]
    assert (len(bookings), len(refusals)) == (1, 1)
    assert Booking.objects.filter(client=entry.client, status=Booking.Status.CONFIRMED).count() == 1
    assert WaitlistOffer.objects.get(pk=offer.pk).status == WaitlistOffer.Status.ACCEPTED
    assert WaitlistEntry.objects.get(pk=entry.pk).status == WaitlistEntry.Status.BOOKED
    assert_no_overlaps()


def test_an_accept_racing_a_booking_of_the_held_time_wins(world):
    entry = waiting(world["service"])
    cancel(world["bookings"][1])
    offer = WaitlistOffer.objects.get(entry=entry)
    someone = ClientFactory()

    results = races(
        [
            lambda: waitlist.waitlist_offer_accept(offer_id=offer.pk, client=entry.client, answers=THERAPEUTIC),
            lambda: booked(someone, world["service"], TEN, therapist=world["maya"]),
        ]
    )

    assert isinstance(results[0], Booking)
    assert isinstance(results[1], SlotUnavailable)
    confirmed = Booking.objects.filter(starts_at=TEN, status=Booking.Status.CONFIRMED)
    assert list(confirmed.values_list("client", flat=True)) == [entry.client_id]
    assert_no_overlaps()


def test_a_booking_racing_a_cancellation_never_takes_the_time_held_for_the_waitlist(world):
    # given: a client waiting for Thursday, and someone else watching for the same hour
    entry = waiting(world["service"])
    someone = ClientFactory()

    # when: the 10:00 session is cancelled while the other client books 10:00
    results = races(
        [
            lambda: cancel(world["bookings"][1]),
            lambda: booked(someone, world["service"], TEN, therapist=world["maya"]),
        ]
    )

    # then: the cancellation held the time for the waiting client in its own transaction; the booking lost
    assert results[0].status == Booking.Status.CANCELLED
    assert isinstance(results[1], SlotUnavailable)
    hold = WaitlistOffer.objects.get(entry=entry).hold
    assert (hold.status, hold.starts_at) == (Booking.Status.HELD, TEN)
    assert_no_overlaps()


def test_two_cancellations_at_once_give_one_entry_one_offer(world):
    entry = waiting(world["service"])

    results = races([lambda: cancel(world["bookings"][0]), lambda: cancel(world["bookings"][1])])

    assert all(result.status == Booking.Status.CANCELLED for result in results)
    assert WaitlistOffer.objects.filter(entry=entry).count() == 1
    assert WaitlistEntry.objects.get(pk=entry.pk).status == WaitlistEntry.Status.OFFERED
    assert_no_overlaps()


def test_a_decline_racing_an_accept_of_another_offer_keeps_each_time_once(world):
    # given: both hours freed, each held for its own waiting client
    first, second = waiting(world["service"]), waiting(world["service"])
    cancel(world["bookings"][0])
    cancel(world["bookings"][1])
    first_offer, second_offer = (WaitlistOffer.objects.get(entry=entry) for entry in (first, second))
    third = waiting(world["service"])

    # when: the first declines while the second accepts
    results = races(
        [
            lambda: waitlist.waitlist_offer_decline(offer_id=first_offer.pk, client=first.client),
            lambda: waitlist.waitlist_offer_accept(offer_id=second_offer.pk, client=second.client, answers=THERAPEUTIC),
        ]
    )

    # then: the declined hour went to the third client, the accepted one is the second's booking
    assert isinstance(results[1], Booking)
    assert WaitlistOffer.objects.get(entry=third).hold.starts_at == first_offer.hold.starts_at
    assert Booking.objects.get(pk=second_offer.pk).status == Booking.Status.CONFIRMED
    assert_no_overlaps()


def test_a_late_accept_racing_a_booking_of_a_stale_hold_never_gives_the_time_twice(world):
    entry = waiting(world["service"])
    cancel(world["bookings"][1])
    offer = WaitlistOffer.objects.get(entry=entry)
    someone = ClientFactory()

    # the hold ran out a minute ago and no worker has expired it
    with frozen(NOW + timedelta(minutes=31)):
        results = races(
            [
                lambda: waitlist.waitlist_offer_accept(offer_id=offer.pk, client=entry.client, answers=THERAPEUTIC),
                lambda: booked(someone, world["service"], TEN, therapist=world["maya"]),
            ]
        )

    # the accept is too late; the booking gets the time, unless it met the accept holding the entry's
    # lock (then the stale hold is left to it, and the booking is told the time is taken): never both
    assert isinstance(results[0], waitlist.OfferExpired)
    assert isinstance(results[1], Booking | SlotUnavailable)
    confirmed = Booking.objects.filter(starts_at=TEN, status=Booking.Status.CONFIRMED)
    assert list(confirmed.values_list("client", flat=True)) == ([someone.pk] if isinstance(results[1], Booking) else [])
    assert_no_overlaps()


def test_joining_twice_at_once_makes_one_entry(world):
    # given: a client who taps Join twice
    client = ClientFactory()

    # when: both requests arrive together
    join = lambda: waiting(world["service"], client)  # noqa: E731
    results = run_together([join, join], returned=(ValidationError,))

    # then: one entry; the other request is told it is already there
    entries = [result for result in results if isinstance(result, WaitlistEntry)]
    refusals = [result for result in results if isinstance(result, ValidationError)]
    assert (len(entries), len(refusals)) == (1, 1)
    assert f"entry #{entries[0].pk}" in str(refusals[0])
    assert WaitlistEntry.objects.filter(client=client).count() == 1
