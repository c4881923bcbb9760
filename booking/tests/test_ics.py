"""The calendar feed (RFC 5545): booking/ics.py and /therapists/{id}/calendar.ics, /therapists/me/feed/."""

from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qs, urlsplit
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext
from icalendar import Calendar

from booking.ics import booking_event_ics, therapist_calendar
from booking.models import Booking
from booking.tests.factories import BookingFactory
from clinic.tests.factories import LocationFactory, RoomFactory, ServiceFactory

NOW = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)

# Health details a client could give: none of them may ever reach a calendar.
HEALTH_ANSWERS = {
    "pressure_preference": "deep",
    "primary_goal": "injury_recovery",
    "conditions": ["fibromyalgia", "sports_injury", "migraine"],
    "health_screening": ["blood_thinners", "skin_condition"],
    "focus_areas": ["lower_back"],
    "avoid_areas": ["shoulders"],
    "medications": "warfarin 5mg",
    "notes": "Torn hamstring last spring, knee surgery scar",
    "consent": True,
}
HEALTH_WORDS = [
    "fibromyalgia",
    "sports_injury",
    "migraine",
    "blood_thinners",
    "skin_condition",
    "lower_back",
    "shoulders",
    "warfarin",
    "hamstring",
    "surgery",
    "scar",
    "injury",
    "flag",
]


@pytest.fixture
def downtown():
    return LocationFactory(name="Downtown", address="120 Hudson Street", time_zone="America/New_York", uses_rooms=True)


@pytest.fixture
def room(downtown):
    return RoomFactory(location=downtown, name="Room 2")


@pytest.fixture
def service():
    return ServiceFactory(name="Massage, 60 min", duration_minutes=60, buffer_minutes=10)


@pytest.fixture
def booking_at(downtown, room, service):
    """`booking_at(therapist, starts_at, **fields)`: a booking of the 60 minute service in Downtown's Room 2."""

    def make(therapist, starts_at: datetime, **fields) -> Booking:
        fields = {"location": downtown, "room": room, "service": service, **fields}
        if fields["room"] is room and fields["location"] is not downtown:
            fields["room"] = None
        return BookingFactory(therapist=therapist, starts_at=starts_at, **fields)

    return make


def pending() -> dict:
    return {"intake": None, "intake_status": Booking.IntakeStatus.PENDING}


def events(ics: bytes) -> dict[str, object]:
    """UID → VEVENT of a parsed calendar."""
    cal = Calendar.from_ical(ics)
    return {str(e["UID"]): e for e in cal.walk("VEVENT")}


def the_event(ics: bytes):
    [event] = Calendar.from_ical(ics).walk("VEVENT")
    return event


@pytest.fixture(autouse=True)
def _uid_domain(clinic, settings):
    # UIDs end in the slug of the deployment's CLINIC_NAME unless CALENDAR_UID_DOMAIN is set.
    settings.CLINIC_NAME = "Massage Clinic"
    settings.CALENDAR_UID_DOMAIN = ""


@pytest.fixture
def review_booking(therapist, booking_at):
    return booking_at(
        therapist,
        NOW + timedelta(days=2),
        intake__answers=HEALTH_ANSWERS,
        intake__suggested_modality="deep_tissue",
        intake__needs_review=True,
        intake__flags=["blood_thinners", "skin_condition"],
        client__first_name="Ana",
        client__last_name="Diaz",
    )


class TestTherapistCalendar:
    def test_is_a_valid_calendar_of_the_therapists_bookings(self, therapist, other_therapist, booking_at):
        mine = [booking_at(therapist, NOW + timedelta(days=d)) for d in (1, 2)]
        booking_at(other_therapist, NOW + timedelta(days=1), room=None)
        booking_at(therapist, NOW + timedelta(days=3), status=Booking.Status.HELD, hold_expires_at=NOW)  # an offer
        cal = Calendar.from_ical(therapist_calendar(therapist=therapist, now=NOW))
        assert cal["VERSION"] == "2.0"
        assert "PRODID" in cal
        assert "METHOD" not in cal  # a feed, not an iTIP message
        uids = [str(e["UID"]) for e in cal.walk("VEVENT")]
        assert sorted(uids) == sorted(f"booking-{b.pk}@massage-clinic" for b in mine)

    def test_event_fields(self, therapist, booking_at):
        booking = booking_at(
            therapist, datetime(2026, 6, 10, 13, 0, tzinfo=UTC), client__first_name="Bo", client__last_name="Lee"
        )
        event = the_event_of(therapist, booking)
        assert event["UID"] == f"booking-{booking.pk}@massage-clinic"
        assert event.decoded("DTSTART") == datetime(2026, 6, 10, 13, 0, tzinfo=UTC)
        # The session's end, not the buffer after it.
        assert event.decoded("DTEND") == datetime(2026, 6, 10, 14, 0, tzinfo=UTC)
        assert event["SEQUENCE"] == 0
        assert event["STATUS"] == "CONFIRMED"
        assert str(event["SUMMARY"]) == "Massage, 60 min (Therapeutic massage) — Bo Lee"
        assert str(event["LOCATION"]) == "Downtown, Room 2, 120 Hudson Street"
        description = str(event["DESCRIPTION"])
        assert "Service: Massage, 60 min" in description
        assert "Modality: Therapeutic massage" in description
        assert "Where: Downtown, Room 2" in description
        # No METHOD: DTSTAMP is the LAST-MODIFIED, the booking's updated_at (RFC 5545 3.8.7.2).
        # iCalendar times have whole seconds.
        updated_at = booking.updated_at.replace(microsecond=0)
        assert event.decoded("DTSTAMP") == event.decoded("LAST-MODIFIED") == updated_at
        assert "ORGANIZER" not in event
        assert "ATTENDEE" not in event

    def test_a_location_without_rooms(self, therapist, booking_at):
        westside = LocationFactory(name="Westside", address="", time_zone="America/Los_Angeles")
        booking = booking_at(therapist, NOW + timedelta(days=1), location=westside)
        assert str(the_event_of(therapist, booking)["LOCATION"]) == "Westside"

    def test_the_service_of_the_booking_gives_the_length(self, therapist, booking_at):
        long = ServiceFactory(name="Massage, 90 min", duration_minutes=90, buffer_minutes=15)
        booking = booking_at(therapist, datetime(2026, 6, 10, 13, 0, tzinfo=UTC), service=long)
        event = the_event_of(therapist, booking)
        assert event.decoded("DTEND") == datetime(2026, 6, 10, 14, 30, tzinfo=UTC)
        assert str(event["SUMMARY"]).startswith("Massage, 90 min (")

    def test_a_pending_intake_is_named_without_a_modality(self, therapist, booking_at):
        booking = booking_at(
            therapist, NOW + timedelta(days=1), client__first_name="Di", client__last_name="Ko", **pending()
        )
        event = the_event_of(therapist, booking)
        assert str(event["SUMMARY"]) == "Massage, 60 min — Di Ko (intake pending)"
        assert "not completed" in str(event["DESCRIPTION"])

    def test_times_are_written_in_utc(self, therapist, booking_at):
        booking_at(therapist, datetime(2026, 6, 10, 9, 0, tzinfo=ZoneInfo("America/New_York")))
        westside = LocationFactory(time_zone="America/Los_Angeles")
        booking_at(therapist, datetime(2026, 6, 11, 9, 0, tzinfo=ZoneInfo("America/Los_Angeles")), location=westside)
        raw = therapist_calendar(therapist=therapist, now=NOW).decode()
        assert "DTSTART:20260610T130000Z" in raw
        assert "DTEND:20260610T140000Z" in raw
        assert "DTSTART:20260611T160000Z" in raw
        assert "VTIMEZONE" not in raw
        assert "TZID" not in raw

    def test_summary_uses_the_final_modality(self, therapist, booking_at):
        booking = booking_at(
            therapist,
            NOW + timedelta(days=1),
            intake__suggested_modality="therapeutic",
            intake__reviewed_modality="deep_tissue",
            intake__reviewed_at=NOW,
            client__first_name="Cy",
            client__last_name="Ng",
        )
        assert str(the_event_of(therapist, booking)["SUMMARY"]) == "Massage, 60 min (Deep tissue massage) — Cy Ng"

    def test_needs_review_is_named_but_no_health_details(self, therapist, review_booking):
        ics = therapist_calendar(therapist=therapist, now=NOW)
        event = events(ics)[f"booking-{review_booking.pk}@massage-clinic"]
        assert str(event["SUMMARY"]) == "Massage, 60 min (Deep tissue massage) — Ana Diaz (intake needs review)"
        text = Calendar.from_ical(ics).to_ical().decode().lower()
        for word in HEALTH_WORDS:
            assert word not in text, word
        assert b"warfarin" not in ics.lower()

    def test_a_review_clears_the_marker_until_the_answers_change(self, therapist, review_booking):
        intake = review_booking.intake
        intake.reviewed_modality, intake.reviewed_at = "therapeutic", NOW
        intake.save()
        summary = str(the_event_of(therapist, review_booking)["SUMMARY"])
        assert summary == "Massage, 60 min (Therapeutic massage) — Ana Diaz"
        intake.review_stale = True
        intake.save()
        assert str(the_event_of(therapist, review_booking)["SUMMARY"]).endswith("(intake needs review)")

    def test_sequence_follows_reschedules(self, therapist, booking_at):
        booking = booking_at(therapist, NOW + timedelta(days=1))
        uid_before = str(the_event_of(therapist, booking)["UID"])
        # a reschedule moves the booking itself (another time, room, service) and bumps its sequence
        long = ServiceFactory(name="Massage, 90 min", duration_minutes=90)
        booking.starts_at = NOW + timedelta(days=3)
        booking.ends_at = booking.occupied_until = booking.starts_at + timedelta(minutes=90)
        booking.service, booking.room = long, RoomFactory(location=booking.location, name="Room 3")
        booking.sequence = 2
        booking.save()
        event = the_event_of(therapist, booking)
        assert str(event["UID"]) == uid_before
        assert event["SEQUENCE"] == 2
        assert event.decoded("DTSTART") == NOW + timedelta(days=3)
        assert event.decoded("DTEND") == NOW + timedelta(days=3, minutes=90)
        assert "Room 3" in str(event["LOCATION"])
        assert str(event["SUMMARY"]).startswith("Massage, 90 min")

    def test_cancelled_bookings_are_status_cancelled(self, therapist, booking_at):
        booking = booking_at(therapist, NOW + timedelta(days=1), status=Booking.Status.CANCELLED, cancelled_at=NOW)
        event = the_event_of(therapist, booking)
        assert event["STATUS"] == "CANCELLED"
        assert str(event["SUMMARY"]).startswith("Cancelled: ")

    def test_recent_past_kept_older_past_left_out(self, therapist, booking_at):
        recent = booking_at(therapist, NOW - timedelta(days=29), status=Booking.Status.COMPLETED)
        old = booking_at(therapist, NOW - timedelta(days=31))
        uids = events(therapist_calendar(therapist=therapist, now=NOW))
        assert f"booking-{recent.pk}@massage-clinic" in uids
        assert f"booking-{old.pk}@massage-clinic" not in uids

    def test_uid_domain_can_be_configured(self, therapist, settings, booking_at):
        settings.CALENDAR_UID_DOMAIN = "clinic.example.com"
        booking = booking_at(therapist, NOW + timedelta(days=1))
        uids = events(therapist_calendar(therapist=therapist, now=NOW))
        assert list(uids) == [f"booking-{booking.pk}@clinic.example.com"]

    def test_bounded_queries(self, therapist, booking_at, django_assert_max_num_queries):
        westside = LocationFactory(time_zone="America/Los_Angeles")
        for d in range(10):
            fields = pending() if d == 3 else {"location": westside} if d % 2 else {}
            booking_at(therapist, NOW + timedelta(days=d, hours=1), **fields)
        with django_assert_max_num_queries(2):
            ics = therapist_calendar(therapist=therapist, now=NOW)
        assert len(Calendar.from_ical(ics).walk("VEVENT")) == 10


def the_event_of(therapist, booking):
    return events(therapist_calendar(therapist=therapist, now=NOW))[f"booking-{booking.pk}@massage-clinic"]


class TestBookingEventIcs:
    def test_single_event_for_the_client(self, therapist, review_booking):
        ics = booking_event_ics(booking=review_booking, now=NOW)
        cal = Calendar.from_ical(ics)
        assert cal["METHOD"] == "REQUEST"
        assert "X-WR-CALNAME" not in cal  # an invitation, not a calendar to add
        event = the_event(ics)
        assert event["STATUS"] == "CONFIRMED"
        assert event.decoded("DTSTAMP") == NOW
        assert str(event["UID"]) == f"booking-{review_booking.pk}@massage-clinic"
        assert event["SEQUENCE"] == review_booking.sequence
        summary = f"Massage, 60 min (Deep tissue massage) with {therapist.user.display_name}"
        assert str(event["SUMMARY"]) == summary
        assert str(event["LOCATION"]) == "Downtown, Room 2, 120 Hudson Street"
        assert event.decoded("DTSTART") == review_booking.starts_at
        assert event.decoded("DTEND") == review_booking.ends_at
        lowered = ics.lower()
        for word in HEALTH_WORDS + ["review"]:
            assert word.encode() not in lowered, word

    def test_same_uid_as_the_feed(self, therapist, review_booking):
        feed_uids = events(therapist_calendar(therapist=therapist, now=NOW))
        assert str(the_event(booking_event_ics(booking=review_booking))["UID"]) in feed_uids

    def test_the_clinic_organizes_and_the_client_attends(self, clinic, settings, review_booking):
        settings.DEFAULT_FROM_EMAIL = "Massage Clinic <bookings@clinic.example.com>"
        event = the_event(booking_event_ics(booking=review_booking, now=NOW))
        organizer = event["ORGANIZER"]
        assert str(organizer) == "mailto:bookings@clinic.example.com"
        assert organizer.params["CN"] == clinic.name
        [attendee] = [event["ATTENDEE"]]  # exactly one: the client
        assert str(attendee) == f"mailto:{review_booking.client.email}"
        assert attendee.params["CN"] == "Ana Diaz"
        assert (attendee.params["PARTSTAT"], attendee.params["RSVP"]) == ("ACCEPTED", "FALSE")

    def test_a_pending_intake_asks_the_client_for_it(self, therapist, booking_at):
        booking = booking_at(therapist, NOW + timedelta(days=1), **pending())
        event = the_event(booking_event_ics(booking=booking, now=NOW))
        assert str(event["SUMMARY"]) == f"Massage, 60 min with {therapist.user.display_name}"
        assert "complete your intake" in str(event["DESCRIPTION"])

    def test_cancelled_is_an_itip_cancel(self, therapist, booking_at):
        booking = booking_at(
            therapist, NOW + timedelta(days=1), status=Booking.Status.CANCELLED, cancelled_at=NOW, sequence=1
        )
        ics = booking_event_ics(booking=booking)
        assert Calendar.from_ical(ics)["METHOD"] == "CANCEL"
        event = the_event(ics)
        assert event["STATUS"] == "CANCELLED"
        assert event["SEQUENCE"] == 1
        assert "ORGANIZER" in event
        assert "ATTENDEE" in event


def feed_url(therapist_id: int, token: str | None = None) -> str:
    url = f"/api/v1/therapists/{therapist_id}/calendar.ics"
    return url if token is None else f"{url}?token={token}"


@pytest.fixture
def _now():
    with time_machine.travel(NOW, tick=False):
        yield


@pytest.mark.usefixtures("_now")
class TestFeedView:
    def test_calendar_with_the_token(self, api, therapist, review_booking):
        response = api.get(feed_url(therapist.pk, therapist.feed_token))
        assert response.status_code == 200
        assert response["Content-Type"] == "text/calendar; charset=utf-8"
        body = response.content
        assert f"booking-{review_booking.pk}@massage-clinic" in events(body)
        for word in HEALTH_WORDS:
            assert word.encode() not in body.lower(), word

    def test_calendar_apps_accept_headers_are_fine(self, api, therapist):
        response = api.get(feed_url(therapist.pk, therapist.feed_token), HTTP_ACCEPT="text/calendar")
        assert response.status_code == 200

    @pytest.mark.parametrize("token", [None, "", "wrong", "x" * 43])
    def test_missing_or_wrong_token_is_404(self, api, therapist, token):
        assert api.get(feed_url(therapist.pk, token)).status_code == 404

    def test_another_therapists_token_is_404(self, api, therapist, other_therapist):
        assert api.get(feed_url(therapist.pk, other_therapist.feed_token)).status_code == 404

    def test_unknown_therapist_is_404(self, api, therapist):
        assert api.get(feed_url(therapist.pk + 1000, therapist.feed_token)).status_code == 404

    def test_credentials_are_not_needed_nor_enough(self, as_user, therapist):
        # logged in as the therapist, but without the token
        assert as_user(therapist.user).get(feed_url(therapist.pk)).status_code == 404

    def test_an_inactive_therapists_feed_is_404(self, api, therapist):
        therapist.active = False
        therapist.save()
        assert api.get(feed_url(therapist.pk, therapist.feed_token)).status_code == 404

    def test_same_number_of_queries_for_1_and_10_bookings(self, api, therapist, other_therapist, booking_at):
        def count(t, n):
            for i in range(n):
                booking_at(t, NOW + timedelta(days=1, hours=2 * i), room=None)
            with CaptureQueriesContext(connection) as ctx:
                assert api.get(feed_url(t.pk, t.feed_token)).status_code == 200
            return len(ctx.captured_queries)

        assert count(therapist, 1) == count(other_therapist, 10) <= 3


@pytest.mark.usefixtures("_now")
class TestFeedToken:
    URL = "/api/v1/therapists/me/feed/"

    def test_shows_token_and_absolute_url(self, as_user, therapist):
        response = as_user(therapist.user).get(self.URL)
        assert response.status_code == 200
        body = response.json()
        assert body["token"] == therapist.feed_token
        url = urlsplit(body["url"])
        assert url.scheme in ("http", "https")
        assert url.netloc
        assert url.path == feed_url(therapist.pk)
        assert parse_qs(url.query) == {"token": [therapist.feed_token]}

    def test_url_opens_the_calendar(self, as_user, api, therapist):
        url = urlsplit(as_user(therapist.user).get(self.URL).json()["url"])
        assert api.get(f"{url.path}?{url.query}").status_code == 200

    def test_post_rotates_and_the_old_token_stops_working(self, as_user, api, therapist):
        # given
        old = therapist.feed_token
        # when
        response = as_user(therapist.user).post(self.URL)
        # then
        assert response.status_code == 200
        new = response.json()["token"]
        assert new != old
        therapist.refresh_from_db()
        assert therapist.feed_token == new
        assert parse_qs(urlsplit(response.json()["url"]).query) == {"token": [new]}
        assert api.get(feed_url(therapist.pk, old)).status_code == 404
        assert api.get(feed_url(therapist.pk, new)).status_code == 200
        assert as_user(therapist.user).get(self.URL).json()["token"] == new

    @pytest.mark.parametrize("role", ["client_user", "staff_user", "admin_user"])
    @pytest.mark.parametrize("method", ["get", "post"])
    def test_other_roles_are_403(self, as_user, request, role, method, therapist):
        old = therapist.feed_token
        response = getattr(as_user(request.getfixturevalue(role)), method)(self.URL)
        assert response.status_code == 403
        therapist.refresh_from_db()
        assert therapist.feed_token == old

    @pytest.mark.parametrize("method", ["get", "post"])
    def test_anonymous_is_401(self, api, method):
        assert getattr(api, method)(self.URL).status_code == 401
