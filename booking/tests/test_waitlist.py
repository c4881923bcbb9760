"""The waitlist (docs/api.md, Waitlist): joining, offers of freed time held as `held` bookings, accepting,
declining, withdrawing and expiry, over HTTP and through the services.

NOW is Tuesday 2026-12-01 10:00 in New York (the clinic asks 2 hours'
notice, holds offers 30 minutes). `maya` works at `place` (New York, no
rooms) on Thursday 3 December from 09:00 to 11:00 only, so two 60-minute
sessions fill her day: whatever frees up there is worth waiting for.
"""

from datetime import date, time, timedelta

import pytest
from django.core import mail
from django.core.exceptions import ValidationError
from django.db import connection
from django.test import Client
from django.urls import reverse

from booking import services, waitlist
from booking.events import WAITLIST_OFFERED, booking_event
from booking.models import Booking, WaitlistEntry, WaitlistOffer, WorkingHours
from booking.tests.factories import ClosureFactory, TimeOffFactory
from booking.tests.helpers import (
    BOOKINGS,
    DEEP_TISSUE,
    NOW,
    THERAPEUTIC,
    assert_conflict,
    booked,
    hour_service,
    iso_z,
    local,
    new_york,
    offered,
    shift_at,
)
from booking.tests.helpers import frozen as frozen_at
from clinic.models import Role
from clinic.tests.factories import ClientFactory, RoomFactory, TherapistFactory, clinic_configure
from config.testing.jobs import pending_jobs, run_jobs

pytestmark = pytest.mark.django_db

WAITLIST = "/api/v1/waitlist/"
THURSDAY = date(2026, 12, 3)
NINE = local(2026, 12, 3, 9)
TEN = local(2026, 12, 3, 10)
HOLD = timedelta(minutes=30)
ENTRY_FIELDS = {
    "id",
    "client",
    "service",
    "location",
    "therapist",
    "from",
    "to",
    "earliest_time",
    "latest_time",
    "status",
    "offer",
    "booking",
    "created_at",
}


def offer_url(offer_id: int, verb: str) -> str:
    return f"{WAITLIST}offers/{offer_id}/{verb}/"


@pytest.fixture(autouse=True)
def clock(settings):
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    with frozen_at() as traveller:
        yield traveller


@pytest.fixture
def clinic(db):
    return clinic_configure(waitlist_hold_minutes=30)


@pytest.fixture
def place(db):
    return new_york(name="Midtown")


@pytest.fixture
def service(db):
    return hour_service()


@pytest.fixture
def maya(clinic, place):
    therapist = TherapistFactory(user__first_name="Maya", user__last_name="Lin")
    shift_at(therapist, NINE, hours=2, location=place)
    return therapist


@pytest.fixture
def full_day(maya, service):
    """Thursday's two sessions with Maya, booked by two other clients."""
    return [booked(ClientFactory(), service, start, therapist=maya) for start in (NINE, TEN)]


def join(api, service, start=THURSDAY, end=THURSDAY, **fields):
    body = {"service": service.pk, "from": start.isoformat(), "to": end.isoformat(), **fields}
    return api.post(WAITLIST, body, format="json")


def joined(client, service, start=THURSDAY, end=THURSDAY, **fields) -> WaitlistEntry:
    """An entry made through the service, as the API makes it."""
    return waitlist.waitlist_join(client=client, service_id=service.pk, from_date=start, to_date=end, **fields)


def offer_of(entry: WaitlistEntry) -> WaitlistOffer:
    return WaitlistOffer.objects.get(entry=entry, status=WaitlistOffer.Status.OPEN)


def cancel(booking: Booking) -> Booking:
    return services.booking_cancel(booking_id=booking.pk, by=booking.client)


# --- Joining -----------------------------------------------------------------------


def test_a_client_joins_the_waitlist(as_user, client_user, service, place, maya):
    response = join(
        as_user(client_user),
        service,
        location=place.pk,
        therapist=maya.pk,
        earliest_time="09:00",
        latest_time="12:30",
    )

    assert response.status_code == 201, response.json()
    body = response.json()
    assert set(body) == ENTRY_FIELDS
    assert body["client"] == {"id": client_user.pk, "name": client_user.display_name}
    assert body["service"] == {"id": service.pk, "name": service.name, "duration_minutes": 60}
    assert body["location"] == {"id": place.pk, "name": "Midtown"}
    assert body["therapist"] == {"id": maya.pk, "name": maya.name}
    assert (body["from"], body["to"]) == ("2026-12-03", "2026-12-03")
    assert (body["earliest_time"], body["latest_time"]) == ("09:00:00", "12:30:00")
    assert (body["status"], body["offer"], body["booking"]) == ("waiting", None, None)


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"from": "2026-12-05", "to": "2026-12-04"}, "to"),
        ({"from": "2026-11-20", "to": "2026-11-25"}, "from"),
        ({"from": "2026-11-30", "to": "2026-12-04"}, "from"),
        ({"from": "2026-12-02", "to": "2027-03-15"}, "to"),
        ({"service": 999_999}, "service"),
        ({"location": 999_999}, "location"),
        ({"therapist": 999_999}, "therapist"),
        ({"earliest_time": "12:00", "latest_time": "12:00"}, "latest_time"),
        ({"earliest_time": "9 o'clock"}, "earliest_time"),
        ({"from": "not a date"}, "from"),
    ],
)
def test_joining_with_a_bad_request_is_a_400(as_user, client_user, service, clinic, fields, field):
    body = {"service": service.pk, "from": "2026-12-03", "to": "2026-12-04", **fields}

    response = as_user(client_user).post(WAITLIST, body, format="json")

    assert response.status_code == 400, response.json()
    assert field in response.json()
    assert not WaitlistEntry.objects.exists()


def test_an_inactive_service_or_a_therapist_elsewhere_is_a_400(as_user, client_user, service, maya, clinic):
    elsewhere = new_york(name="Uptown")
    service.active = False
    service.save()

    inactive = join(as_user(client_user), service)
    service.active = True
    service.save()
    not_there = join(as_user(client_user), service, location=elsewhere.pk, therapist=maya.pk)

    assert (inactive.status_code, list(inactive.json())) == (400, ["service"])
    assert (not_there.status_code, list(not_there.json())) == (400, ["therapist"])


@pytest.mark.parametrize(("role", "status"), [("staff", 403), ("admin", 403), ("therapist", 403), ("anonymous", 401)])
def test_only_clients_join(api_as, service, clinic, role, status):
    assert join(api_as(role), service).status_code == status


def test_a_client_lists_their_own_entries_and_the_front_desk_all(api_as, client_user, other_client_user, service):
    mine = joined(client_user, service)
    theirs = joined(other_client_user, service)

    as_client = api_as("client").get(WAITLIST).json()
    as_staff = api_as("staff").get(WAITLIST).json()
    as_therapist = api_as("therapist").get(WAITLIST)

    assert [row["id"] for row in as_client["results"]] == [mine.pk]
    assert [row["id"] for row in as_staff["results"]] == [mine.pk, theirs.pk]
    assert as_therapist.status_code == 403
    assert api_as("client").get(f"{WAITLIST}{theirs.pk}/").status_code == 404
    assert api_as("client").get(f"{WAITLIST}{mine.pk}/").json()["status"] == "waiting"


# --- A freed time reaches the first matching client ---------------------------------------


def test_a_cancellation_holds_the_time_for_the_first_matching_client(full_day, service, maya, place, api):
    # given: two clients waiting for Thursday, the first one joined first
    first, second = ClientFactory(), ClientFactory()
    first_entry, second_entry = joined(first, service), joined(second, service)
    announced = []

    def listen(sender, event, booking, **kwargs):
        announced.append((event, booking.pk))

    booking_event.connect(listen)
    try:
        # when: the 10:00 session is cancelled
        cancel(full_day[1])
    finally:
        booking_event.disconnect(listen)

    # then: that time is held for the first client, in a booking row with status `held`
    offer = offer_of(first_entry)
    hold = offer.hold
    assert (hold.status, hold.client, hold.therapist, hold.location) == ("held", first, maya, place)
    assert (hold.starts_at, hold.ends_at) == (TEN, TEN + timedelta(hours=1))
    assert hold.hold_expires_at == offer.expires_at == NOW + HOLD
    assert hold.intake is None
    first_entry.refresh_from_db()
    second_entry.refresh_from_db()
    assert (first_entry.status, second_entry.status) == ("offered", "waiting")
    assert (WAITLIST_OFFERED, hold.pk) in announced
    # and nobody else may take it meanwhile
    assert offered(api, service, TEN) == []


def test_the_offer_is_mailed_with_its_time_place_price_and_expiry(full_day, service, maya, place):
    client = ClientFactory(email="waiting@example.com")
    joined(client, service)
    mail.outbox.clear()

    cancel(full_day[1])
    run_jobs()

    offers = [message for message in mail.outbox if message.to == ["waiting@example.com"]]
    assert len(offers) == 1
    body = offers[0].body
    assert offers[0].subject.startswith("A time held for you")
    assert "Thursday 3 December 2026, 10:00–11:00 (America/New_York)" in body
    assert "Held for you until: Tuesday 1 December 2026, 10:30 (America/New_York)" in body
    for detail in ("Midtown", service.name, "90.00 USD", maya.user.display_name):
        assert detail in body
    assert "Accept it in the app" in body
    # nothing of anyone's health: the client has given no intake yet, and mail never carries one
    for word in ("pressure", "blood", "screening", "flags"):
        assert word not in body.lower()


def test_the_client_sees_the_offer_and_nobody_else_sees_the_hold(
    full_day, service, maya, as_user, api_as, client_user, staff_user
):
    entry = joined(client_user, service)
    cancel(full_day[1])
    hold = offer_of(entry).hold

    listed = as_user(client_user).get(WAITLIST).json()["results"]
    mine = as_user(client_user).get(BOOKINGS).json()["results"]
    therapists = as_user(maya.user).get(BOOKINGS).json()["results"]
    staff = as_user(staff_user).get(BOOKINGS, {"status": "held"}).json()["results"]

    assert listed[0]["status"] == "offered"
    assert listed[0]["offer"] == {
        "id": hold.pk,
        "therapist": {"id": maya.pk, "name": maya.name},
        "location": {"id": hold.location_id, "name": "Midtown"},
        "room": None,
        "starts_at": iso_z(TEN),
        "ends_at": iso_z(TEN + timedelta(hours=1)),
        "price": "90.00",
        "currency": "USD",
        "expires_at": iso_z(NOW + HOLD),
    }
    assert hold.pk not in {row["id"] for row in mine}
    assert hold.pk not in {row["id"] for row in therapists}
    assert [row["id"] for row in staff] == [hold.pk]
    assert as_user(client_user).get(f"{BOOKINGS}{hold.pk}/").status_code == 404


def test_entries_that_do_not_fit_are_passed_over(full_day, service, maya, place):
    # given: entries joined in this order, each unable to take Thursday 10:00 but the last
    other_day = joined(ClientFactory(), service, date(2026, 12, 4), date(2026, 12, 5))
    too_late = joined(ClientFactory(), service, earliest_time=time(10, 30))
    too_early = joined(ClientFactory(), service, latest_time=time(10, 30))
    elsewhere = joined(ClientFactory(), service, location_id=new_york(name="Uptown").pk)
    someone_else = TherapistFactory(locations=[place])
    with_another = joined(ClientFactory(), service, therapist_id=someone_else.pk)
    longer = joined(ClientFactory(), hour_service(duration_minutes=90))
    fits = joined(ClientFactory(), service, earliest_time=time(10), latest_time=time(11))

    cancel(full_day[1])

    statuses = {
        entry.pk: WaitlistEntry.objects.get(pk=entry.pk).status
        for entry in (other_day, too_late, too_early, elsewhere, with_another, longer, fits)
    }
    assert [entry for entry, status in statuses.items() if status == "offered"] == [fits.pk]


def test_a_client_is_not_offered_a_time_overlapping_their_own_session(full_day, service, maya, place):
    # given: the first client waiting already has a session at 10:00 with another therapist
    busy = ClientFactory()
    colleague = TherapistFactory(locations=[place])
    shift_at(colleague, NINE, hours=2, location=place)
    booked(busy, service, TEN, therapist=colleague)
    busy_entry = joined(busy, service)
    free_entry = joined(ClientFactory(), service)

    cancel(full_day[1])

    assert WaitlistEntry.objects.get(pk=busy_entry.pk).status == "waiting"
    assert offer_of(free_entry).hold.starts_at == TEN


def test_one_offer_per_entry_at_a_time(full_day, service):
    entry = joined(ClientFactory(), service)

    cancel(full_day[1])
    cancel(full_day[0])

    assert WaitlistOffer.objects.filter(entry=entry).count() == 1
    assert offer_of(entry).hold.starts_at == TEN


def test_joining_offers_nothing_by_itself(maya, service):
    entry = joined(ClientFactory(), service)

    assert WaitlistEntry.objects.get(pk=entry.pk).status == "waiting"
    assert not Booking.objects.filter(status=Booking.Status.HELD).exists()


def test_a_reschedule_away_offers_the_time_it_left(full_day, service, maya, place):
    colleague = TherapistFactory(locations=[place])
    shift_at(colleague, NINE, hours=2, location=place)
    entry = joined(ClientFactory(), service, therapist_id=maya.pk)
    moving = full_day[1]

    services.booking_reschedule(booking_id=moving.pk, by=moving.client, starts_at=TEN, therapist_id=colleague.pk)

    hold = offer_of(entry).hold
    assert (hold.therapist, hold.starts_at) == (maya, TEN)


def test_the_hold_takes_a_free_room_where_the_location_has_rooms(clinic, service):
    rooms = new_york(name="Rooms", uses_rooms=True)
    first_room, second_room = RoomFactory(location=rooms), RoomFactory(location=rooms)
    ana = TherapistFactory()
    shift_at(ana, TEN, hours=1, location=rooms)
    other = TherapistFactory()
    shift_at(other, TEN, hours=1, location=rooms)
    taken = booked(ClientFactory(), service, TEN, therapist=ana)
    booked(ClientFactory(), service, TEN, therapist=other)
    assert taken.room == first_room
    entry = joined(ClientFactory(), service)

    cancel(taken)

    assert offer_of(entry).hold.room == first_room
    assert Booking.objects.get(status="confirmed", therapist=other).room == second_room


# --- Schedule changes: one matching job ---------------------------------------------


def test_time_off_removed_offers_its_time_by_a_job(maya, service, staff_user, as_user):
    time_off = TimeOffFactory(therapist=maya, starts_at=NINE, ends_at=NINE + timedelta(hours=2))
    entry = joined(ClientFactory(), service)

    response = as_user(staff_user).delete(f"/api/v1/time-off/{time_off.pk}/")

    assert response.status_code == 204
    assert [job.task_name for job in pending_jobs("booking.waitlist_match")] == ["booking.waitlist_match"]
    assert WaitlistEntry.objects.get(pk=entry.pk).status == "waiting"
    run_jobs("booking.waitlist_match")
    assert offer_of(entry).hold.starts_at == NINE


def test_a_closure_removed_offers_its_time_by_a_job(maya, service, place, staff_user, as_user):
    closure = ClosureFactory(location=place, starts_at=NINE - timedelta(hours=1), ends_at=NINE + timedelta(hours=3))
    entry = joined(ClientFactory(), service)

    assert as_user(staff_user).delete(f"/api/v1/closures/{closure.pk}/").status_code == 204
    run_jobs("booking.waitlist_match")

    assert offer_of(entry).hold.starts_at == NINE


def test_a_new_shift_offers_its_time_by_a_job(clinic, place, service, staff_user, as_user):
    ana = TherapistFactory(locations=[place])
    entry = joined(ClientFactory(), service, earliest_time=time(14))
    body = {
        "therapist": ana.pk,
        "location": place.pk,
        "starts_at": local(2026, 12, 3, 13).isoformat(),
        "ends_at": local(2026, 12, 3, 17).isoformat(),
    }

    assert as_user(staff_user).post("/api/v1/shifts/", body, format="json").status_code == 201
    run_jobs("booking.waitlist_match")

    assert offer_of(entry).hold.starts_at == local(2026, 12, 3, 14)


def test_shift_generation_defers_one_matching_job_for_all_it_made(clinic, place, service, staff_user, as_user):
    for therapist in (TherapistFactory(locations=[place]), TherapistFactory(locations=[place])):
        for weekday in range(7):
            WorkingHours.objects.create(
                therapist=therapist, location=place, weekday=weekday, start_time=time(9), end_time=time(12)
            )
    early = joined(ClientFactory(), service)
    late = joined(ClientFactory(), service, date(2026, 12, 7), date(2026, 12, 7))

    response = as_user(staff_user).post(
        "/api/v1/shifts/generate/", {"from": "2026-12-02", "to": "2026-12-08"}, format="json"
    )

    assert response.json()["created"] == 14
    assert len(pending_jobs("booking.waitlist_match")) == 1
    run_jobs("booking.waitlist_match")
    assert offer_of(early).hold.starts_at == NINE
    assert offer_of(late).hold.starts_at == local(2026, 12, 7, 9)


# --- Accepting ---------------------------------------------------------------------


@pytest.fixture
def offer(full_day, service, client_user):
    """Thursday 10:00 held for `client_user`, who was waiting."""
    entry = joined(client_user, service)
    cancel(full_day[1])
    return offer_of(entry)


def accept(api, offer, answers=THERAPEUTIC, **headers):
    return api.post(offer_url(offer.pk, "accept"), {"intake": {"answers": answers}}, format="json", **headers)


def test_accepting_makes_the_hold_the_confirmed_booking(offer, as_user, client_user, maya):
    mail.outbox.clear()

    response = accept(as_user(client_user), offer)
    run_jobs()

    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["id"] == offer.pk
    assert (body["status"], body["intake_status"], body["modality"]) == ("confirmed", "complete", "therapeutic")
    assert (body["starts_at"], body["warnings"]) == (iso_z(TEN), [])
    booking = Booking.objects.get(pk=offer.pk)
    assert (booking.status, booking.hold_expires_at, booking.booked_by) == ("confirmed", None, client_user)
    assert booking.intake.answers["primary_goal"] == "relaxation"
    entry = as_user(client_user).get(f"{WAITLIST}{offer.entry_id}/").json()
    assert (entry["status"], entry["offer"], entry["booking"]) == ("booked", None, offer.pk)
    assert offer.pk in {row["id"] for row in as_user(client_user).get(BOOKINGS).json()["results"]}
    assert offer.pk in {row["id"] for row in as_user(maya.user).get(BOOKINGS).json()["results"]}
    assert any(m.subject.startswith("Booking confirmed") and m.to == [client_user.email] for m in mail.outbox)


def test_a_deep_tissue_intake_with_an_untrained_therapist_keeps_the_booking_with_a_warning(
    offer, as_user, client_user, maya
):
    maya.gives_deep_tissue = False
    maya.save()

    response = accept(as_user(client_user), offer, DEEP_TISSUE)

    assert response.status_code == 201, response.json()
    body = response.json()
    assert (body["status"], body["suggested_modality"]) == ("confirmed", "deep_tissue")
    assert (body["warnings"], body["needs_review"]) == (["therapist_not_qualified"], True)


def test_invalid_answers_are_a_400_and_keep_the_offer(offer, as_user, client_user):
    response = accept(as_user(client_user), offer, {"pressure_preference": "volcanic"})

    assert response.status_code == 400
    assert "answers" in response.json()["intake"]
    assert WaitlistOffer.objects.get(pk=offer.pk).status == "open"


def test_an_expired_offer_is_a_409(offer, as_user, client_user, clock):
    clock.move_to(NOW + HOLD)

    assert_conflict(accept(as_user(client_user), offer), "offer_expired")
    assert Booking.objects.get(pk=offer.pk).status == "held"


def test_a_withdrawn_offer_is_a_409(offer, as_user, client_user):
    assert as_user(client_user).delete(f"{WAITLIST}{offer.entry_id}/").status_code == 204

    assert_conflict(accept(as_user(client_user), offer), "offer_expired")


def test_someone_elses_offer_is_a_404_and_staff_may_not_answer(offer, as_user, api_as, other_client_user):
    assert accept(as_user(other_client_user), offer).status_code == 404
    assert as_user(other_client_user).post(offer_url(offer.pk, "decline")).status_code == 404
    assert accept(api_as("staff"), offer).status_code == 403
    assert accept(api_as("therapist"), offer).status_code == 403
    assert accept(api_as("anonymous"), offer).status_code == 401
    assert accept(as_user(other_client_user), type("Gone", (), {"pk": 999_999})).status_code == 404
    assert WaitlistOffer.objects.get(pk=offer.pk).status == "open"


def test_at_the_cap_accepting_is_refused_and_the_offer_stays(offer, as_user, client_user, clinic, service, place):
    clinic.max_active_bookings_per_client = 1
    clinic.save()
    other = TherapistFactory(locations=[place])
    shift_at(other, local(2026, 12, 4, 9), hours=2, location=place)
    booked(client_user, service, local(2026, 12, 4, 9), therapist=other)

    assert_conflict(accept(as_user(client_user), offer), "too_many_bookings")
    assert WaitlistOffer.objects.get(pk=offer.pk).status == "open"


def test_a_session_booked_over_the_hold_since_is_a_client_overlap(offer, as_user, client_user, service, place):
    other = TherapistFactory(locations=[place])
    shift_at(other, TEN, hours=1, location=place)
    booked(client_user, service, TEN, therapist=other)

    assert_conflict(accept(as_user(client_user), offer), "client_overlap")
    assert Booking.objects.get(pk=offer.pk).status == "held"


def test_accepting_twice_with_one_key_replays_one_booking(offer, as_user, client_user):
    api = as_user(client_user)

    first = accept(api, offer, HTTP_IDEMPOTENCY_KEY="accept-1")
    again = accept(api, offer, HTTP_IDEMPOTENCY_KEY="accept-1")
    other_body = accept(api, offer, {**THERAPEUTIC, "pressure_preference": "light"}, HTTP_IDEMPOTENCY_KEY="accept-1")
    without_key = accept(api, offer)

    assert (first.status_code, again.status_code) == (201, 201)
    assert again.json() == first.json()
    assert again["Idempotent-Replayed"] == "true"
    assert_conflict(other_body, "idempotency_key_reused", status=422)
    assert_conflict(without_key, "offer_expired")
    assert Booking.objects.filter(client=client_user, status="confirmed").count() == 1


# --- Declining, withdrawing, expiring -----------------------------------------------------


def test_declining_offers_the_time_to_the_next_entry(full_day, service, as_user, client_user):
    entry = joined(client_user, service)
    next_entry = joined(ClientFactory(), service)
    cancel(full_day[1])
    offer = offer_of(entry)

    response = as_user(client_user).post(offer_url(offer.pk, "decline"))

    assert response.status_code == 200
    assert (response.json()["status"], response.json()["offer"]) == ("waiting", None)
    assert Booking.objects.get(pk=offer.pk).status == "cancelled"
    assert offer_of(next_entry).hold.starts_at == TEN
    # declining again changes nothing; accepting what was declined is too late
    assert as_user(client_user).post(offer_url(offer.pk, "decline")).status_code == 200
    assert_conflict(accept(as_user(client_user), offer), "offer_expired")


def test_a_declined_time_is_not_offered_again_to_the_same_entry(full_day, service, client_user, maya):
    entry = joined(client_user, service)
    cancel(full_day[1])
    waitlist.waitlist_offer_decline(offer_id=offer_of(entry).pk, client=client_user)
    # nobody else waits: the time stays free, and a later change of the schedule frees it again
    waitlist.waitlist_offer_freed(starts_at=TEN, ends_at=TEN + timedelta(hours=1), therapist_id=maya.pk)

    assert WaitlistEntry.objects.get(pk=entry.pk).status == "waiting"
    assert not WaitlistOffer.objects.filter(status="open").exists()


def test_withdrawing_releases_the_hold_to_the_next_entry(full_day, service, as_user, client_user, staff_user):
    entry = joined(client_user, service)
    next_entry = joined(ClientFactory(), service)
    cancel(full_day[1])
    offer = offer_of(entry)

    assert as_user(ClientFactory()).delete(f"{WAITLIST}{entry.pk}/").status_code == 404
    assert as_user(client_user).delete(f"{WAITLIST}{entry.pk}/").status_code == 204

    assert as_user(client_user).get(f"{WAITLIST}{entry.pk}/").json()["status"] == "withdrawn"
    assert WaitlistOffer.objects.get(pk=offer.pk).status == "withdrawn"
    assert Booking.objects.get(pk=offer.pk).status == "cancelled"
    assert offer_of(next_entry).hold.starts_at == TEN
    # the front desk may withdraw any entry; a second withdrawal changes nothing
    assert as_user(staff_user).delete(f"{WAITLIST}{next_entry.pk}/").status_code == 204
    assert as_user(staff_user).delete(f"{WAITLIST}{next_entry.pk}/").status_code == 204


def test_an_entry_that_became_a_booking_cannot_be_withdrawn(offer, as_user, client_user):
    assert accept(as_user(client_user), offer).status_code == 201

    response = as_user(client_user).delete(f"{WAITLIST}{offer.entry_id}/")

    assert_conflict(response, "waitlist_entry_booked")
    assert Booking.objects.get(pk=offer.pk).status == "confirmed"


def test_the_expiry_job_is_scheduled_at_the_expiry_and_offers_the_next_entry(full_day, service, client_user, clock):
    entry = joined(client_user, service)
    next_entry = joined(ClientFactory(), service)
    cancel(full_day[1])
    offer = offer_of(entry)
    jobs = pending_jobs("booking.waitlist_expire_offer")
    assert [job.args for job in jobs] == [{"offer_id": offer.pk}]
    with connection.cursor() as cursor:
        cursor.execute("SELECT scheduled_at FROM procrastinate_jobs WHERE id = %s", [jobs[0].id])
        assert cursor.fetchone()[0] == NOW + HOLD

    # run early (a worker never does, the test's runner may): nothing happens
    run_jobs("booking.waitlist_expire_offer")
    assert WaitlistOffer.objects.get(pk=offer.pk).status == "open"

    # at the expiry
    clock.move_to(NOW + HOLD)
    assert waitlist.waitlist_offer_expire(offer_id=offer.pk) is True

    assert WaitlistEntry.objects.get(pk=entry.pk).status == "expired"
    assert (WaitlistOffer.objects.get(pk=offer.pk).status, Booking.objects.get(pk=offer.pk).status) == (
        "expired",
        "cancelled",
    )
    assert offer_of(next_entry).hold.starts_at == TEN
    assert offer_of(next_entry).expires_at == NOW + 2 * HOLD


def test_the_sweep_expires_what_the_jobs_missed(full_day, service, client_user, clock):
    entry = joined(client_user, service)
    old = joined(ClientFactory(), service, date(2026, 12, 1), date(2026, 12, 1))
    cancel(full_day[1])
    offer = offer_of(entry)

    # the worker was down: by Thursday morning the offer is long past its expiry, and today's entry past its day
    clock.move_to(local(2026, 12, 3, 8))
    expired = waitlist.waitlist_sweep()

    assert expired == 1
    assert WaitlistOffer.objects.get(pk=offer.pk).status == "expired"
    assert WaitlistEntry.objects.get(pk=entry.pk).status == "expired"
    assert WaitlistEntry.objects.get(pk=old.pk).status == "expired"


def test_a_stale_hold_no_longer_counts_and_a_booking_expires_it(offer, client_user, service, maya, clock, api):
    # given: the hold ran out and no worker has expired it yet
    clock.move_to(NOW + HOLD + timedelta(minutes=1))
    someone = ClientFactory()

    # then: the time is offered again, and booking it expires the hold under the therapist's lock
    assert offered(api, service, TEN) == [(maya.pk, iso_z(TEN))]
    booking = booked(someone, service, TEN, therapist=maya)

    assert booking.status == "confirmed"
    assert Booking.objects.get(pk=offer.pk).status == "cancelled"
    assert WaitlistOffer.objects.get(pk=offer.pk).status == "expired"
    assert WaitlistEntry.objects.get(pk=offer.entry_id).status == "expired"
    assert pending_jobs("booking.waitlist_match")  # what the hold freed beyond the booking is offered by a job


def test_the_staff_role_sees_every_entry_with_its_offer(offer, api_as):
    rows = api_as("staff").get(WAITLIST, {"status": "offered"}).json()["results"]

    assert [(row["id"], row["offer"]["id"]) for row in rows] == [(offer.entry_id, offer.pk)]
    assert api_as("staff").get(WAITLIST, {"status": "booked"}).json()["count"] == 0


def test_a_client_account_is_needed_to_join_through_the_service(staff_user, service, clinic):
    assert staff_user.role == Role.STAFF
    with pytest.raises(ValidationError) as refused:
        joined(staff_user, service)
    assert "client" in refused.value.message_dict


# --- The front desk's admin ------------------------------------------------------------


@pytest.fixture
def desk(staff_user) -> Client:
    web = Client()
    web.force_login(staff_user)
    return web


def test_the_front_desk_reads_entries_in_the_admin_with_the_time_held(desk, offer, client_user):
    response = desk.get(reverse("admin:booking_waitlistentry_changelist"))

    assert response.status_code == 200
    content = response.content.decode()
    assert client_user.email in content or client_user.display_name in content
    assert "2026-12-03 10:00 EST" in content
    assert "(until 2026-12-01 10:30 EST)" in content
    assert desk.get(reverse("admin:booking_waitlistentry_add")).status_code == 403
    assert desk.get(reverse("admin:booking_waitlistentry_delete", args=[offer.entry_id])).status_code == 403


def test_the_admin_withdraws_through_the_service(desk, offer, full_day, service):
    next_entry = joined(ClientFactory(), service)

    response = desk.post(
        reverse("admin:booking_waitlistentry_changelist"),
        {"action": "withdraw", "_selected_action": [offer.entry_id]},
        follow=True,
    )

    assert response.status_code == 200
    assert "Withdrew 1 waitlist entries." in response.content.decode()
    assert WaitlistEntry.objects.get(pk=offer.entry_id).status == "withdrawn"
    assert offer_of(next_entry).hold.starts_at == TEN


def test_a_deleted_account_leaves_the_waitlist_and_its_held_time_goes_on(offer, client_user, service):
    # given: the offered client also waits for Friday; another client waits for Thursday
    friday = joined(client_user, service, date(2026, 12, 4), date(2026, 12, 4))
    next_entry = joined(ClientFactory(), service)

    # when: their account is being deleted
    withdrawn = waitlist.waitlist_client_withdraw_all(client=client_user)

    # then: every entry of theirs is withdrawn, the hold released, and Thursday 10:00 held for the other client
    assert withdrawn == 2
    assert set(WaitlistEntry.objects.filter(client=client_user).values_list("status", flat=True)) == {"withdrawn"}
    assert Booking.objects.get(pk=offer.pk).status == "cancelled"
    assert WaitlistEntry.objects.get(pk=friday.pk).status == "withdrawn"
    assert offer_of(next_entry).hold.starts_at == TEN


# --- A client's account deleted ------------------------------------------------------


def test_deleting_the_account_of_an_offered_client_passes_the_held_time_on(offer, service, client_user):
    # given: the 10:00 held for `client_user`, and another client waiting behind them
    from records.account_data import account_delete

    behind = joined(ClientFactory(), service)
    hold = offer.hold

    # when: the offered client deletes their account
    account_delete(user=client_user)

    # then: their entry is withdrawn, the hold let go, and the time offered to the next in line
    entry = WaitlistEntry.objects.get(pk=offer.entry_id)
    hold.refresh_from_db()
    assert entry.status == "withdrawn"
    assert hold.status != "held"
    assert offer_of(behind).hold.starts_at == TEN


def test_deleting_an_account_offers_its_cancelled_sessions_by_a_job(full_day, service):
    # given: a client waiting for Thursday, full with two others' sessions
    from records.account_data import account_delete

    entry = joined(ClientFactory(), service)
    leaving = full_day[0]

    # when: the client of the 09:00 session deletes their account
    account_delete(user=leaving.client)

    # then: the session is cancelled and one job offers its time, which goes to the waiting client
    leaving.refresh_from_db()
    assert leaving.status == "cancelled"
    assert [job.args["therapist_id"] for job in pending_jobs("booking.waitlist_match")] == [leaving.therapist_id]
    run_jobs("booking.waitlist_match")
    assert offer_of(entry).hold.starts_at == NINE


def test_the_export_holds_the_clients_waitlist_entries(offer, as_user, client_user, service):
    # given: the client's entry with its open offer, and an entry of someone else's
    joined(ClientFactory(), service)

    # when: the client exports their data
    exported = as_user(client_user).get("/api/v1/me/export/").json()

    # then: their entry is there, as the waitlist shows it, and nobody else's
    assert [(entry["id"], entry["status"]) for entry in exported["waitlist"]] == [(offer.entry_id, "offered")]
    assert exported["waitlist"][0]["offer"]["id"] == offer.pk


def test_joining_past_the_booking_horizon_is_a_400(as_user, client_user, service, clinic):
    far = THURSDAY + timedelta(days=clinic.booking_horizon_days + 5)

    response = join(as_user(client_user), service, far, far)

    assert response.status_code == 400
    assert "days ahead" in response.json()["from"][0]
    assert not WaitlistEntry.objects.exists()


def test_joining_twice_for_the_same_is_one_entry(as_user, client_user, service, maya):
    api = as_user(client_user)
    first = join(api, service, therapist=maya.pk)

    again = join(api, service, therapist=maya.pk)

    assert first.status_code == 201
    assert again.status_code == 400
    assert f"entry #{first.json()['id']}" in str(again.json())
    assert WaitlistEntry.objects.count() == 1
    # another wish (another therapist: anyone) is another entry
    assert join(api, service).status_code == 201
