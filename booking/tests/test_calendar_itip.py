"""Calendars by the book: one booking's events through its life, read by two independent parsers.

A calendar app keeps the event it holds unless the new one has a higher
SEQUENCE (RFC 5546 2.1.4), so every change an event shows must bump it:
here a booking is made, moved, reviewed and cancelled through the
services, and after each step the therapist's feed (over HTTP) and every
mailed `.ics` are parsed by `icalendar` (the library that wrote them) and
by `ical` (an independent RFC 5545 parser): both must read the same, the
UID never changes, SEQUENCE strictly increases, LAST-MODIFIED never goes
back, the mails are iTIP (METHOD:REQUEST, then METHOD:CANCEL with
STATUS:CANCELLED; ORGANIZER the clinic, ATTENDEE the client) and the feed
is a plain snapshot (no METHOD, no ORGANIZER, no ATTENDEE).

NOW is Tuesday 2026-12-01 10:00 in New York (booking/tests/helpers.py).
"""

from dataclasses import dataclass
from datetime import datetime, timedelta

import icalendar
import pytest
from django.core import mail
from ical.calendar_stream import IcsCalendarStream

from booking import services
from booking.ics import therapist_calendar
from booking.models import Booking
from booking.tests.helpers import DEEP_TISSUE, NEEDS_REVIEW, NOW, THERAPEUTIC, frozen, hour_service, local, works
from clinic.tests.factories import ClientFactory, LocationFactory, RoomFactory, clinic_configure
from config.testing.jobs import run_jobs

pytestmark = pytest.mark.django_db

# A name with every character a parameter value must quote or encode (RFC 5545 3.2, RFC 6868).
CLINIC_NAME = 'Massage & Co, "Downtown"; NY: since 2020'
CLINIC_ADDRESS = "bookings@clinic.example.com"
FRIDAY_9 = local(2026, 12, 4, 9)


@dataclass(frozen=True)
class Seen:
    """What a parser reads of one event and its calendar, in plain values both parsers can give."""

    method: str | None
    uid: str
    sequence: int
    status: str
    dtstamp: datetime
    last_modified: datetime
    dtstart: datetime
    dtend: datetime
    summary: str
    organizer: tuple[str, str] | None  # (address, CN)
    attendees: tuple[tuple[str, str, str, bool], ...]  # (address, CN, PARTSTAT, RSVP)


def by_icalendar(ics: bytes) -> list[Seen]:
    cal = icalendar.Calendar.from_ical(ics)
    method = str(cal["METHOD"]) if "METHOD" in cal else None
    seen = []
    for event in cal.walk("VEVENT"):
        organizer = event.get("ORGANIZER")
        attendees = event.get("ATTENDEE", [])
        attendees = attendees if isinstance(attendees, list) else [attendees]
        seen.append(
            Seen(
                method=method,
                uid=str(event["UID"]),
                sequence=int(event["SEQUENCE"]),
                status=str(event["STATUS"]),
                dtstamp=event.decoded("DTSTAMP"),
                last_modified=event.decoded("LAST-MODIFIED"),
                dtstart=event.decoded("DTSTART"),
                dtend=event.decoded("DTEND"),
                summary=str(event["SUMMARY"]),
                organizer=None if organizer is None else (str(organizer), organizer.params["CN"]),
                attendees=tuple(
                    (str(a), a.params["CN"], a.params["PARTSTAT"], a.params["RSVP"] == "TRUE") for a in attendees
                ),
            )
        )
    return seen


def by_ical(ics: bytes) -> list[Seen]:
    cal = IcsCalendarStream.calendar_from_ics(ics.decode("utf-8"))
    seen = []
    for event in cal.events:
        organizer = event.organizer
        seen.append(
            Seen(
                method=cal.method,
                uid=event.uid,
                sequence=event.sequence,
                status=event.status.value,
                dtstamp=event.dtstamp,
                last_modified=event.last_modified,
                dtstart=event.dtstart,
                dtend=event.dtend,
                summary=event.summary,
                organizer=None if organizer is None else (organizer.uri, organizer.common_name),
                attendees=tuple((a.uri, a.common_name, a.status, a.rsvp) for a in event.attendees),
            )
        )
    return seen


def read(ics: bytes) -> list[Seen]:
    """The events of `ics` as both parsers read them: they must agree on every field."""
    first, second = by_icalendar(ics), by_ical(ics)
    assert first == second
    return first


@pytest.fixture(autouse=True)
def _world(db, settings):
    settings.DEFAULT_FROM_EMAIL = f"Bookings <{CLINIC_ADDRESS}>"
    settings.CALENDAR_UID_DOMAIN = "clinic.example.com"
    clinic_configure(name=CLINIC_NAME)


@pytest.fixture
def downtown():
    return LocationFactory(name="Downtown", address="120 Hudson Street", uses_rooms=True)


@pytest.fixture
def rooms(downtown):
    return [RoomFactory(location=downtown, name=name) for name in ("Room 1", "Room 2")]


@pytest.fixture
def service():
    return hour_service(name="Massage, 60 min")


@pytest.fixture
def therapist(therapist, downtown, rooms):
    works(therapist, downtown, days=range(1, 12))
    return therapist


@pytest.fixture
def client_user():
    return ClientFactory(first_name="Ana", last_name="Díaz", email="ana@example.com")


class Calendars:
    """Runs booking services as of a clock that moves a minute a step, and reads what calendars get after each.

    The mails of a step are those its jobs send, run (as the worker would) at once after it.
    """

    def __init__(self, api, therapist):
        self.api, self.therapist = api, therapist
        self.at = NOW
        self.feeds: list[Seen] = []  # the booking's event in the feed after each step
        self.mails: list[tuple[str, Seen]] = []  # (the part's method parameter, the event) of every mailed .ics

    def step(self, service, **kwargs) -> Booking:
        self.at += timedelta(minutes=1)
        sent = len(mail.outbox)
        with frozen(self.at):
            booking = service(**kwargs)
            run_jobs()
            response = self.api.get(
                f"/api/v1/therapists/{self.therapist.pk}/calendar.ics", {"token": self.therapist.feed_token}
            )
        assert response.status_code == 200
        [event] = [e for e in read(response.content) if e.uid.startswith(f"booking-{booking.pk}@")]
        self.feeds.append(event)
        for message in mail.outbox[sent:]:
            for part in message.message().walk():
                if part.get_content_type() == "text/calendar":
                    [event] = read(part.get_payload(decode=True))
                    self.mails.append((part.get_param("method"), event))
        return booking


@pytest.fixture
def calendars(api, therapist):
    return Calendars(api, therapist)


def strictly_increasing(values) -> bool:
    return all(a < b for a, b in zip(values, values[1:], strict=False))


def never_decreasing(values) -> bool:
    return all(a <= b for a, b in zip(values, values[1:], strict=False))


class TestALifeOfABooking:
    """Create → reschedule → review → cancel: the feed after each step, and the three mails with an .ics."""

    @pytest.fixture
    def lived(self, calendars, client_user, therapist, service):
        booking = calendars.step(
            services.booking_create,
            client=client_user,
            service_id=service.pk,
            starts_at=FRIDAY_9,
            therapist_id=therapist.pk,
            answers=NEEDS_REVIEW,
            booked_by=client_user,
        )
        calendars.step(
            services.booking_reschedule, booking_id=booking.pk, by=client_user, starts_at=FRIDAY_9 + timedelta(hours=2)
        )
        calendars.step(services.booking_review, booking_id=booking.pk, reviewer=therapist.user, modality="therapeutic")
        calendars.step(services.booking_cancel, booking_id=booking.pk, by=client_user)
        return booking, calendars

    def test_the_feed_follows_every_change(self, lived):
        booking, calendars = lived
        feeds = calendars.feeds
        assert {e.uid for e in feeds} == {f"booking-{booking.pk}@clinic.example.com"}
        assert [e.sequence for e in feeds] == [0, 1, 2, 3]
        assert strictly_increasing([e.sequence for e in feeds])
        assert never_decreasing([e.last_modified for e in feeds])
        assert [e.status for e in feeds] == ["CONFIRMED", "CONFIRMED", "CONFIRMED", "CANCELLED"]
        assert [e.dtstart for e in feeds] == [FRIDAY_9, *[FRIDAY_9 + timedelta(hours=2)] * 3]
        # What each step changed is what the event shows.
        assert feeds[1].summary.endswith("(intake needs review)")
        assert feeds[2].summary == "Massage, 60 min (Therapeutic massage) — Ana Díaz"
        assert feeds[3].summary.startswith("Cancelled: ")

    def test_the_feed_is_a_snapshot_not_an_itip_message(self, lived):
        _, calendars = lived
        for event in calendars.feeds:
            assert event.method is None
            assert event.organizer is None
            assert event.attendees == ()
            assert event.dtstamp == event.last_modified  # RFC 5545 3.8.7.2, without a METHOD

    def test_the_mails_are_itip_requests_then_a_cancel(self, lived):
        booking, calendars = lived
        methods = [method for method, _ in calendars.mails]
        events = [event for _, event in calendars.mails]
        # Confirmation, move, cancellation: the review changes the therapist's event, and mails no one.
        assert methods == ["REQUEST", "REQUEST", "CANCEL"]
        assert [e.method for e in events] == methods  # iMIP: the part's method is the calendar's
        assert {e.uid for e in events} == {f"booking-{booking.pk}@clinic.example.com"}
        assert [e.sequence for e in events] == [0, 1, 3]
        assert never_decreasing([e.last_modified for e in events])
        assert [e.status for e in events] == ["CONFIRMED", "CONFIRMED", "CANCELLED"]
        for event in events:
            assert event.organizer == (f"mailto:{CLINIC_ADDRESS}", CLINIC_NAME)
            assert event.attendees == (("mailto:ana@example.com", "Ana Díaz", "ACCEPTED", False),)

    def test_mail_and_feed_are_one_event(self, lived):
        _, calendars = lived
        feed_by_sequence = {e.sequence: e for e in calendars.feeds}
        for _, event in calendars.mails:
            feed = feed_by_sequence[event.sequence]
            assert (event.uid, event.dtstart, event.dtend, event.status) == (
                feed.uid,
                feed.dtstart,
                feed.dtend,
                feed.status,
            )
            assert event.last_modified == feed.last_modified


class TestEveryChangeShown:
    """Each service that changes what an event shows bumps SEQUENCE; one that does not, does not."""

    @pytest.fixture
    def booking(self, calendars, client_user, therapist, service):
        return calendars.step(
            services.booking_create,
            client=client_user,
            service_id=service.pk,
            starts_at=FRIDAY_9,
            therapist_id=therapist.pk,
            answers=THERAPEUTIC,
            booked_by=client_user,
        )

    def test_a_service_change(self, calendars, booking, client_user):
        longer = hour_service(name="Massage, 90 min", duration_minutes=90)
        calendars.step(
            services.booking_reschedule, booking_id=booking.pk, by=client_user, starts_at=FRIDAY_9, service_id=longer.pk
        )
        before, after = calendars.feeds
        assert after.sequence == before.sequence + 1
        assert after.summary.startswith("Massage, 90 min")
        assert after.dtend == FRIDAY_9 + timedelta(minutes=90)
        assert [(m, e.sequence) for m, e in calendars.mails] == [("REQUEST", 0), ("REQUEST", 1)]

    def test_a_room_move(self, calendars, booking, rooms):
        other = next(room for room in rooms if room.pk != booking.room_id)
        calendars.step(services.booking_move_room, booking_id=booking.pk, room_id=other.pk)
        before, after = calendars.feeds
        assert after.sequence == before.sequence + 1
        assert after.last_modified > before.last_modified
        assert [(m, e.sequence) for m, e in calendars.mails] == [("REQUEST", 0), ("REQUEST", 1)]

    def test_an_intake_edit_that_changes_the_modality(self, calendars, booking):
        calendars.step(services.booking_intake_update, booking_id=booking.pk, answers=DEEP_TISSUE)
        before, after = calendars.feeds
        assert after.sequence == before.sequence + 1
        assert "(Deep tissue massage)" in after.summary
        assert after.last_modified > before.last_modified

    def test_an_intake_edit_that_changes_nothing_shown(self, calendars, booking):
        calendars.step(
            services.booking_intake_update, booking_id=booking.pk, answers={**THERAPEUTIC, "notes": "Tired."}
        )
        before, after = calendars.feeds
        assert after == before

    def test_a_review_that_changes_nothing_shown(self, calendars, booking, therapist):
        calendars.step(services.booking_review, booking_id=booking.pk, reviewer=therapist.user, modality="therapeutic")
        before, after = calendars.feeds
        assert after == before

    def test_a_review_that_changes_the_modality(self, calendars, booking, therapist):
        calendars.step(services.booking_review, booking_id=booking.pk, reviewer=therapist.user, modality="deep_tissue")
        before, after = calendars.feeds
        assert after.sequence == before.sequence + 1
        assert "(Deep tissue massage)" in after.summary


class TestAPendingIntake:
    def test_completing_it_is_a_change_shown(self, calendars, client_user, therapist, service, staff_user):
        booking = calendars.step(
            services.booking_create,
            client=client_user,
            service_id=service.pk,
            starts_at=FRIDAY_9,
            therapist_id=therapist.pk,
            booked_by=staff_user,
        )
        calendars.step(services.booking_intake_update, booking_id=booking.pk, answers=NEEDS_REVIEW)
        before, after = calendars.feeds
        assert before.summary.endswith("(intake pending)")
        assert after.summary.endswith("(intake needs review)")
        assert after.sequence == before.sequence + 1
        assert after.last_modified > before.last_modified


def test_an_empty_feed_parses(therapist):
    """A feed without a booking is a valid calendar to both parsers too."""
    assert read(therapist_calendar(therapist=therapist)) == []
