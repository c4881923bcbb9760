"""Mail about bookings (booking/notifications.py): contents, .ics, after commit only, never raising."""

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from django.core import mail
from django.db import transaction
from icalendar import Calendar

from booking import notifications
from booking.models import Booking
from booking.notifications import (
    notify_on_commit,
    send_booking_cancelled,
    send_booking_confirmed,
    send_booking_reminder,
    send_booking_rescheduled,
    send_intake_request,
    send_review_needed,
)
from booking.tests.factories import BookingFactory
from clinic.tests.factories import LocationFactory, RoomFactory, ServiceFactory

# The clinic of the root conftest: New York, 2 hours' notice, 60 days ahead, 24 hours to cancel.
pytestmark = pytest.mark.usefixtures("clinic")

# 2026-12-01 14:00 UTC is 09:00 in New York (EST), 06:00 in Los Angeles (PST).
STARTS_AT = datetime(2026, 12, 1, 14, 0, tzinfo=UTC)

HEALTH_ANSWERS = {
    "pressure_preference": "deep",
    "primary_goal": "injury_recovery",
    "conditions": ["fibromyalgia", "sports_injury"],
    "health_screening": ["pregnancy", "high_blood_pressure"],
    "focus_areas": ["lower_back"],
    "avoid_areas": ["shoulders"],
    "medications": "warfarin",
    "notes": "Torn hamstring in March",
    "consent": True,
}
HEALTH_WORDS = [
    "fibromyalgia",
    "sports_injury",
    "sports injury",
    "pregnan",
    "blood",
    "lower_back",
    "lower back",
    "shoulder",
    "warfarin",
    "hamstring",
    "flag",
    "condition",
    "medication",
    "injury",
]


@pytest.fixture
def downtown():
    return LocationFactory(name="Downtown", address="120 Hudson Street", time_zone="America/New_York", uses_rooms=True)


@pytest.fixture
def service():
    return ServiceFactory(name="Massage, 60 min", duration_minutes=60, buffer_minutes=10, price=Decimal("95.00"))


@pytest.fixture
def booking(therapist, downtown, service):
    return BookingFactory(
        therapist=therapist,
        location=downtown,
        room=RoomFactory(location=downtown, name="Room 2"),
        service=service,
        starts_at=STARTS_AT,
        client__first_name="Ana",
        client__last_name="Diaz",
        client__email="ana@example.com",
        intake__answers=HEALTH_ANSWERS,
        intake__suggested_modality="therapeutic",
        intake__reviewed_modality="deep_tissue",
        intake__reviewed_at=STARTS_AT - timedelta(days=2),
        intake__needs_review=True,
        intake__flags=["pregnancy", "high_blood_pressure"],
    )


@pytest.fixture
def front_desk_booking(therapist, service, staff_user):
    """Booked by the front desk in Los Angeles (no rooms); the client has not given the intake yet."""
    westside = LocationFactory(name="Westside", address="2400 Main Street", time_zone="America/Los_Angeles")
    return BookingFactory(
        therapist=therapist,
        location=westside,
        service=service,
        starts_at=STARTS_AT + timedelta(days=1),
        client__first_name="Bo",
        client__last_name="Lee",
        client__email="bo@example.com",
        intake=None,
        intake_status=Booking.IntakeStatus.PENDING,
        booked_by=staff_user,
    )


def calendar_parts(message):
    return [p for p in message.message().walk() if p.get_content_type() == "text/calendar"]


def assert_no_health_details(message):
    """Nothing of the intake in the subject, the body or any attachment, as sent."""
    text = message.message().as_bytes().decode("utf-8").lower()
    for part in calendar_parts(message):
        text += part.get_payload(decode=True).decode("utf-8").lower()
    for word in HEALTH_WORDS:
        assert word not in text, word


def ics_event(message):
    [part] = calendar_parts(message)
    assert part.get_filename() == "booking.ics"
    assert part.get_content_charset() == "utf-8"
    cal = Calendar.from_ical(part.get_payload(decode=True))
    # iMIP (RFC 6047): the part's method is the calendar's METHOD.
    assert part.get_param("method") == cal["METHOD"]
    [event] = cal.walk("VEVENT")
    return cal, event


class TestClientMails:
    def test_confirmed(self, booking, therapist, clinic, settings):
        assert send_booking_confirmed(booking.pk) is True
        [message] = mail.outbox
        assert message.to == ["ana@example.com"]
        assert message.from_email == settings.DEFAULT_FROM_EMAIL
        assert "confirmed" in message.subject.lower()
        assert "Massage, 60 min" in message.subject
        assert "Deep tissue massage" in message.subject  # the final modality, not the suggestion
        assert "Therapeutic" not in message.body
        assert "Tuesday 1 December 2026, 09:00–10:00 (America/New_York)" in message.body
        assert "Service: Massage, 60 min" in message.body
        assert "Where: Downtown, Room 2, 120 Hudson Street" in message.body
        assert "Price: 95.00 USD" in message.body
        assert therapist.user.display_name in message.body
        assert "Ana Diaz" in message.body
        assert clinic.name in message.body
        cal, event = ics_event(message)
        assert cal["METHOD"] == "REQUEST"
        assert str(event["ORGANIZER"]) == f"mailto:{settings.DEFAULT_FROM_EMAIL}"
        assert event["ORGANIZER"].params["CN"] == clinic.name
        assert str(event["ATTENDEE"]) == "mailto:ana@example.com"
        assert event["STATUS"] == "CONFIRMED"
        assert event.decoded("DTSTART") == STARTS_AT
        assert str(event["UID"]).startswith(f"booking-{booking.pk}@")
        assert_no_health_details(message)

    def test_rescheduled_carries_the_new_time_and_sequence(self, booking, therapist):
        new_start = STARTS_AT + timedelta(days=1)
        booking.starts_at, booking.ends_at = new_start, new_start + timedelta(hours=1)
        booking.occupied_until = booking.ends_at
        booking.sequence = 1
        booking.save()
        assert send_booking_rescheduled(booking.pk) is True
        [message] = mail.outbox
        assert message.to == ["ana@example.com"]
        assert "moved" in message.subject.lower()
        assert "Wednesday 2 December 2026, 09:00–10:00" in message.body
        cal, event = ics_event(message)
        assert cal["METHOD"] == "REQUEST"
        assert event["SEQUENCE"] == 1
        assert event.decoded("DTSTART") == new_start
        assert_no_health_details(message)

    def test_the_time_is_the_locations(self, booking):
        # the same instant in Los Angeles: 06:00 there
        booking.location = LocationFactory(name="Westside", time_zone="America/Los_Angeles")
        booking.room = None
        booking.save()
        assert send_booking_confirmed(booking.pk) is True
        [message] = mail.outbox
        assert "Tuesday 1 December 2026, 06:00–07:00 (America/Los_Angeles)" in message.body
        assert "06:00" in message.subject
        _, event = ics_event(message)
        assert event.decoded("DTSTART") == STARTS_AT

    def test_the_price_is_the_bookings(self, booking, service):
        # a later change of the service's price does not touch the booking
        service.price = Decimal("120.00")
        service.save()
        Booking.objects.filter(pk=booking.pk).update(currency="EUR")
        send_booking_confirmed(booking.pk)
        [message] = mail.outbox
        assert "Price: 95.00 EUR" in message.body

    def test_cancelled(self, booking):
        Booking.objects.filter(pk=booking.pk).update(
            status=Booking.Status.CANCELLED, cancelled_at=STARTS_AT, sequence=1
        )
        assert send_booking_cancelled(booking.pk) is True
        [message] = mail.outbox
        assert message.to == ["ana@example.com"]
        assert "cancelled" in message.subject.lower()
        cal, event = ics_event(message)
        assert cal["METHOD"] == "CANCEL"
        assert str(event["UID"]).startswith(f"booking-{booking.pk}@")
        assert event["SEQUENCE"] == 1
        assert event["STATUS"] == "CANCELLED"
        assert str(event["ATTENDEE"]) == "mailto:ana@example.com"
        assert "ORGANIZER" in event
        assert_no_health_details(message)

    def test_reminder(self, booking):
        assert send_booking_reminder(booking.pk) is True
        [message] = mail.outbox
        assert message.to == ["ana@example.com"]
        assert "reminder" in message.subject.lower()
        assert "09:00" in message.body
        assert_no_health_details(message)

    def test_a_mail_that_no_longer_fits_the_booking_is_not_sent(self, booking):
        Booking.objects.filter(pk=booking.pk).update(status=Booking.Status.CANCELLED, cancelled_at=STARTS_AT)
        assert send_booking_confirmed(booking.pk) is False
        assert send_booking_rescheduled(booking.pk) is False
        assert send_review_needed(booking.pk) is False
        assert mail.outbox == []

    def test_deactivated_client_gets_nothing(self, booking):
        booking.client.is_active = False
        booking.client.save()
        assert send_booking_confirmed(booking.pk) is False
        assert mail.outbox == []


class TestIntakeRequest:
    def test_asks_the_client_for_the_intake_with_time_service_and_place(self, front_desk_booking, therapist, clinic):
        assert send_intake_request(front_desk_booking.pk) is True
        [message] = mail.outbox
        assert message.to == ["bo@example.com"]
        assert "intake" in message.subject.lower()
        assert "Massage, 60 min" in message.subject
        assert "Wednesday 2 December 2026, 06:00–07:00 (America/Los_Angeles)" in message.body
        assert "Where: Westside, 2400 Main Street" in message.body
        assert "Price: 95.00 USD" in message.body
        assert therapist.user.display_name in message.body
        assert "complete your intake" in message.body
        assert clinic.name in message.body
        assert calendar_parts(message) == []
        assert_no_health_details(message)

    def test_the_confirmation_of_a_pending_booking_asks_too(self, front_desk_booking):
        assert send_booking_confirmed(front_desk_booking.pk) is True
        [message] = mail.outbox
        assert "complete your intake" in message.body
        assert "Massage: chosen from your intake" in message.body
        _, event = ics_event(message)
        assert str(event["SUMMARY"]).startswith("Massage, 60 min with ")

    def test_nothing_once_the_intake_is_in(self, booking):
        assert send_intake_request(booking.pk) is False
        assert mail.outbox == []

    def test_nothing_for_a_cancelled_booking(self, front_desk_booking):
        Booking.objects.filter(pk=front_desk_booking.pk).update(status=Booking.Status.CANCELLED, cancelled_at=STARTS_AT)
        assert send_intake_request(front_desk_booking.pk) is False
        assert mail.outbox == []


class TestReviewNeeded:
    def test_mails_the_therapist_without_health_details(self, booking, therapist):
        assert send_review_needed(booking.pk) is True
        [message] = mail.outbox
        assert message.to == [therapist.user.email]
        assert "review" in message.subject.lower()
        assert f"#{booking.pk}" in message.subject
        assert "Ana Diaz" in message.body
        assert "Tuesday 1 December 2026, 09:00–10:00" in message.body
        assert "Deep tissue massage" in message.body
        assert "Service: Massage, 60 min" in message.body
        assert "Where: Downtown, Room 2" in message.body
        assert calendar_parts(message) == []
        assert_no_health_details(message)

    def test_nothing_when_the_intake_needs_no_review(self, booking):
        booking.intake.needs_review = False
        booking.intake.save()
        assert send_review_needed(booking.pk) is False
        assert mail.outbox == []


class TestNeverRaise:
    @pytest.mark.parametrize(
        "send",
        [
            send_booking_confirmed,
            send_booking_cancelled,
            send_booking_rescheduled,
            send_review_needed,
            send_booking_reminder,
            send_intake_request,
        ],
    )
    def test_unknown_booking(self, send):
        assert send(999_999) is False
        assert mail.outbox == []

    def test_a_failing_mail_server_is_logged_not_raised(self, booking, monkeypatch, caplog):
        def broken(self, fail_silently=False):
            raise ConnectionRefusedError("SMTP down")

        monkeypatch.setattr("django.core.mail.EmailMessage.send", broken)
        assert send_booking_confirmed(booking.pk) is False
        assert send_review_needed(booking.pk) is False
        assert "Could not send the confirmation mail" in caplog.text
        assert "SMTP down" in caplog.text

    def test_a_failing_calendar_is_logged_not_raised(self, booking, monkeypatch):
        def broken(**kwargs):
            raise ValueError("bad calendar")

        monkeypatch.setattr(notifications, "booking_event_ics", broken)
        assert send_booking_confirmed(booking.pk) is False
        assert mail.outbox == []


class TestOnCommit:
    def test_sent_once_the_transaction_commits(self, booking, django_capture_on_commit_callbacks):
        with django_capture_on_commit_callbacks(execute=True) as callbacks:
            with transaction.atomic():
                notify_on_commit(send_booking_confirmed, booking.pk)
                assert mail.outbox == []  # not before the commit
        assert len(callbacks) == 1
        [message] = mail.outbox
        assert message.to == ["ana@example.com"]

    def test_rolled_back_transaction_sends_nothing(self, booking, django_capture_on_commit_callbacks):
        with django_capture_on_commit_callbacks(execute=True) as callbacks:
            with pytest.raises(RuntimeError, match="the booking failed"), transaction.atomic():  # noqa: PT012 - the rollback is the point
                notify_on_commit(send_booking_confirmed, booking.pk)
                notify_on_commit(send_review_needed, booking.pk)
                raise RuntimeError("the booking failed")
        assert callbacks == []
        assert mail.outbox == []

    def test_a_failing_callback_does_not_stop_the_next(self, booking, django_capture_on_commit_callbacks):
        def explodes(booking_id):
            raise RuntimeError("boom")

        with django_capture_on_commit_callbacks(execute=True):
            with transaction.atomic():
                notify_on_commit(explodes, booking.pk)
                notify_on_commit(send_booking_confirmed, booking.pk)
        assert len(mail.outbox) == 1


@pytest.mark.django_db(transaction=True)
def test_real_commit_and_rollback(therapist):
    """Without the test's wrapping transaction: the mail leaves on the real COMMIT, never on ROLLBACK."""
    committed, rolled_back = (
        BookingFactory(therapist=therapist, starts_at=start) for start in (STARTS_AT, STARTS_AT + timedelta(hours=2))
    )

    with transaction.atomic():
        notify_on_commit(send_booking_confirmed, committed.pk)
    try:
        with transaction.atomic():
            notify_on_commit(send_booking_confirmed, rolled_back.pk)
            raise RuntimeError
    except RuntimeError:
        pass

    assert [m.to for m in mail.outbox] == [[committed.client.email]]
