"""The client's waitlist pages: join when a day is full, answer an offer (accept with the intake, decline), leave.

The clock stands at the booking tests' NOW (Tuesday 1 December 2026, 10:00 in New York).
"""

from datetime import timedelta

import pytest
from django.utils.html import escape

from booking import waitlist
from booking.models import Booking, WaitlistEntry
from booking.services import booking_create
from booking.tests.helpers import frozen
from clinic.tests.factories import ClientFactory
from intake.models import IntakeAccess
from web.tests.conftest import waitlist_offer

ANSWERS = {"pressure_preference": "medium", "primary_goal": "relaxation", "consent": True}


@pytest.fixture(autouse=True)
def _clock():
    with frozen():
        yield


@pytest.fixture
def signed_in(client, web_client_user):
    client.force_login(web_client_user)
    return client


@pytest.fixture
def offered(clinic_world, web_client_user):
    return waitlist_offer(clinic_world, web_client_user)


def test_a_full_day_links_to_its_waitlist(signed_in, clinic_world):
    world = clinic_world
    week = (world.first_day() + timedelta(days=8)).isoformat()  # shifts end two days into this week
    html = signed_in.get(
        "/book/times/", {"service": world.session_90.pk, "location": world.location.pk, "week": week}
    ).content.decode()
    full_day = (world.first_day() + timedelta(days=11)).isoformat()
    assert f"/waitlist/join/?service={world.session_90.pk}&amp;location={world.location.pk}&amp;from={full_day}" in html


def test_joining_refuses_bad_dates_beside_their_fields_and_then_joins(signed_in, clinic_world, web_client_user):
    world = clinic_world
    day = world.first_day() + timedelta(days=2)
    base = {"service": world.session_90.pk, "location": world.location.pk}
    page = signed_in.get("/waitlist/join/", {**base, "from": day})
    assert page.status_code == 200
    assert f'value="{day.isoformat()}"' in page.content.decode()
    backwards = signed_in.post("/waitlist/join/", {**base, "from": day, "to": day - timedelta(days=1)})
    assert backwards.status_code == 400
    assert 'id="id_to_error">Must be on or after `from`.</p>' in backwards.content.decode()
    past = signed_in.post("/waitlist/join/", {**base, "from": "2026-11-30", "to": day})
    assert "The dates must be from today (2026-12-01) on." in past.content.decode()
    times = signed_in.post(
        "/waitlist/join/", {**base, "from": day, "to": day, "earliest_time": "13:00", "latest_time": "9am"}
    )
    assert times.status_code == 400
    assert 'id="id_latest_time_error">Time has wrong format.' in times.content.decode()  # DRF's words
    joined = signed_in.post("/waitlist/join/", {**base, "from": day, "to": day, "earliest_time": "09:00"})
    assert (joined.status_code, joined.url) == (302, "/waitlist/")
    entry = WaitlistEntry.objects.get(client=web_client_user)
    assert (entry.from_date, entry.to_date, entry.therapist, str(entry.earliest_time)) == (day, day, None, "09:00:00")


def test_an_offer_is_shown_and_accepted_with_the_intake(signed_in, offered, web_client_user):
    entry, offer = offered
    listing = signed_in.get("/waitlist/").content.decode()
    assert "A time is held for you" in listing
    assert "Saturday 5 December, 08:00" in listing
    invalid = signed_in.post(f"/waitlist/offers/{offer.pk}/", {"pressure_preference": "medium"})
    assert invalid.status_code == 400
    assert 'id="q-primary_goal-error">This field is required.</p>' in invalid.content.decode()
    accepted = signed_in.post(
        f"/waitlist/offers/{offer.pk}/",
        {"pressure_preference": "medium", "primary_goal": "relaxation", "consent": "true"},
    )
    assert (accepted.status_code, accepted.url) == (302, f"/bookings/{offer.pk}/")
    booking = Booking.objects.get(pk=offer.pk)
    assert (booking.status, booking.client) == (Booking.Status.CONFIRMED, web_client_user)
    entry.refresh_from_db()
    assert entry.status == WaitlistEntry.Status.BOOKED


def test_the_accept_page_prefills_a_returning_client_s_answers_as_an_audited_read(
    signed_in, offered, clinic_world, web_client_user
):
    _, offer = offered
    earlier = booking_create(
        client=web_client_user,
        service_id=clinic_world.session_60.pk,
        starts_at=clinic_world.local(clinic_world.first_day() + timedelta(days=6), 9),
        location_id=clinic_world.location.pk,
        answers={**ANSWERS, "pressure_preference": "firm"},
        booked_by=web_client_user,
    )
    html = signed_in.get(f"/waitlist/offers/{offer.pk}/").content.decode()
    assert 'id="q-pressure_preference-firm" value="firm" checked' in html
    assert IntakeAccess.objects.filter(intake=earlier.intake, accessed_by=web_client_user).exists()


def test_an_expired_offer_says_so_in_the_service_s_words(signed_in, offered):
    _, offer = offered
    with frozen(offer.expires_at + timedelta(minutes=1)):
        page = signed_in.get(f"/waitlist/offers/{offer.pk}/")
        post = signed_in.post(f"/waitlist/offers/{offer.pk}/", {**ANSWERS, "consent": "true"})
    assert escape(waitlist.OfferExpired.default_detail) in page.content.decode()
    assert post.status_code == 409
    assert escape(waitlist.OfferExpired.default_detail) in post.content.decode()


def test_declining_keeps_the_client_waiting_and_leaving_withdraws(signed_in, offered):
    entry, offer = offered
    assert signed_in.post(f"/waitlist/offers/{offer.pk}/decline/").status_code == 302
    entry.refresh_from_db()
    assert entry.status == WaitlistEntry.Status.WAITING
    assert signed_in.post(f"/waitlist/{entry.pk}/withdraw/").status_code == 302
    entry.refresh_from_db()
    assert entry.status == WaitlistEntry.Status.WITHDRAWN


def test_another_client_s_offer_and_entry_are_not_found(client, offered):
    entry, offer = offered
    client.force_login(ClientFactory())
    assert client.get(f"/waitlist/offers/{offer.pk}/").status_code == 404
    assert client.post(f"/waitlist/offers/{offer.pk}/decline/").status_code == 404
    assert client.post(f"/waitlist/{entry.pk}/withdraw/").status_code == 404
    entry.refresh_from_db()
    assert entry.status == WaitlistEntry.Status.OFFERED
