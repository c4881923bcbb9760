"""Mail about bookings (booking/notifications.py, booking/mail.py): contents, .ics, sent by a job, once.

The booking services defer a mail job (`booking.mail.send_later`) in their
own transaction; `run_jobs` does the worker's part here. A `send_*` sends
through the ledger (`clinic.mail.deliver_once`) under the job's key, and
raises when the mail server refuses, so the job is retried.
"""

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from django.core import mail
from django.db import connection, transaction
from icalendar import Calendar

from booking import notifications, services
from booking.mail import (
    CANCELLED,
    CONFIRMED,
    INTAKE_REMINDER,
    INTAKE_REQUEST,
    REMINDER,
    RESCHEDULED,
    REVIEW_NEEDED,
    send_later,
)
from booking.models import Booking
from booking.notifications import (
    send_booking_cancelled,
    send_booking_confirmed,
    send_booking_reminder,
    send_booking_rescheduled,
    send_intake_reminder,
    send_intake_request,
    send_review_needed,
)
from booking.tests.factories import BookingFactory
from clinic.models import SentMail
from clinic.tests.factories import LocationFactory, RoomFactory, ServiceFactory
from config.testing.jobs import pending_jobs, run_jobs

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


KEY = "test-mail"  # the ledger key a direct `send_*` call sends under (a job's is its kind, booking and id)
MAIL_JOB = "booking.send_mail"
LOCMEM = "django.core.mail.backends.locmem.EmailBackend"


def mail_jobs(*bookings) -> list[tuple[str, int]]:
    """(kind, booking id) of each mail job waiting to run, oldest first (of these bookings, if given)."""
    ids = {b.pk for b in bookings}
    jobs = [(job.args["kind"], job.args["booking_id"]) for job in pending_jobs(MAIL_JOB)]
    return [job for job in jobs if not ids or job[1] in ids]


def ledger() -> list[str]:
    return list(SentMail.objects.order_by("pk").values_list("key", flat=True))


def job_key(kind: str, booking, job) -> str:
    return f"{kind}:{booking.pk}:job-{job.id}"


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
        assert send_booking_confirmed(booking.pk, key=KEY) is True
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
        assert ledger() == [KEY]

    def test_rescheduled_carries_the_new_time_and_sequence(self, booking, therapist):
        new_start = STARTS_AT + timedelta(days=1)
        booking.starts_at, booking.ends_at = new_start, new_start + timedelta(hours=1)
        booking.occupied_until = booking.ends_at
        booking.sequence = 1
        booking.save()
        assert send_booking_rescheduled(booking.pk, key=KEY) is True
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
        assert send_booking_confirmed(booking.pk, key=KEY) is True
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
        send_booking_confirmed(booking.pk, key=KEY)
        [message] = mail.outbox
        assert "Price: 95.00 EUR" in message.body

    def test_cancelled(self, booking):
        Booking.objects.filter(pk=booking.pk).update(
            status=Booking.Status.CANCELLED, cancelled_at=STARTS_AT, sequence=1
        )
        assert send_booking_cancelled(booking.pk, key=KEY) is True
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
        assert send_booking_reminder(booking.pk, key=KEY) is True
        [message] = mail.outbox
        assert message.to == ["ana@example.com"]
        assert "reminder" in message.subject.lower()
        assert "09:00" in message.body
        assert_no_health_details(message)

    def test_a_mail_that_no_longer_fits_the_booking_is_not_sent(self, booking):
        Booking.objects.filter(pk=booking.pk).update(status=Booking.Status.CANCELLED, cancelled_at=STARTS_AT)
        assert send_booking_confirmed(booking.pk, key=KEY) is False
        assert send_booking_rescheduled(booking.pk, key=KEY) is False
        assert send_review_needed(booking.pk, key=KEY) is False
        assert mail.outbox == []
        assert ledger() == []

    def test_deactivated_client_gets_nothing(self, booking):
        booking.client.is_active = False
        booking.client.save()
        assert send_booking_confirmed(booking.pk, key=KEY) is False
        assert mail.outbox == []


class TestIntakeRequest:
    def test_asks_the_client_for_the_intake_with_time_service_and_place(self, front_desk_booking, therapist, clinic):
        assert send_intake_request(front_desk_booking.pk, key=KEY) is True
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
        assert send_booking_confirmed(front_desk_booking.pk, key=KEY) is True
        [message] = mail.outbox
        assert "complete your intake" in message.body
        assert "Massage: chosen from your intake" in message.body
        _, event = ics_event(message)
        assert str(event["SUMMARY"]).startswith("Massage, 60 min with ")

    def test_nothing_once_the_intake_is_in(self, booking):
        assert send_intake_request(booking.pk, key=KEY) is False
        assert mail.outbox == []

    def test_nothing_for_a_cancelled_booking(self, front_desk_booking):
        Booking.objects.filter(pk=front_desk_booking.pk).update(status=Booking.Status.CANCELLED, cancelled_at=STARTS_AT)
        assert send_intake_request(front_desk_booking.pk, key=KEY) is False
        assert mail.outbox == []


class TestReviewNeeded:
    def test_mails_the_therapist_without_health_details(self, booking, therapist):
        assert send_review_needed(booking.pk, key=KEY) is True
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
        assert send_review_needed(booking.pk, key=KEY) is False
        assert mail.outbox == []


class TestTheLedger:
    """A `send_*` sends under a key once: whatever runs it again with that key sends nothing."""

    def test_a_key_sends_once(self, booking):
        assert send_booking_confirmed(booking.pk, key=KEY) is True
        assert send_booking_confirmed(booking.pk, key=KEY) is False
        assert len(mail.outbox) == 1
        assert ledger() == [KEY]

    def test_another_key_sends_again(self, booking):
        # a booking moved twice: two jobs, two keys, two mails
        assert send_booking_rescheduled(booking.pk, key="first move") is True
        assert send_booking_rescheduled(booking.pk, key="second move") is True
        assert len(mail.outbox) == 2

    def test_nothing_sent_writes_nothing(self, booking):
        Booking.objects.filter(pk=booking.pk).update(status=Booking.Status.CANCELLED, cancelled_at=STARTS_AT)
        assert send_booking_confirmed(booking.pk, key=KEY) is False
        assert ledger() == []
        # so the mail that does fit is not kept from going by the first's key
        assert send_booking_cancelled(booking.pk, key="cancelled") is True
        assert ledger() == ["cancelled"]


class TestFailuresRaise:
    """Nothing to send is False; a mail that cannot be sent raises (so its job is retried) and leaves no ledger row."""

    @pytest.mark.parametrize(
        "send",
        [
            send_booking_confirmed,
            send_booking_cancelled,
            send_booking_rescheduled,
            send_review_needed,
            send_booking_reminder,
            send_intake_request,
            send_intake_reminder,
        ],
    )
    def test_unknown_booking(self, send):
        assert send(999_999, key=KEY) is False
        assert mail.outbox == []
        assert ledger() == []

    @pytest.mark.parametrize("send", [send_booking_confirmed, send_review_needed])
    def test_a_refusing_mail_server_raises(self, booking, send, refusing_mail_server):
        with pytest.raises(ConnectionRefusedError):
            send(booking.pk, key=KEY)
        assert ledger() == []
        # the retry, once the server is back, sends it
        refusing_mail_server.EMAIL_BACKEND = LOCMEM
        assert send(booking.pk, key=KEY) is True
        assert len(mail.outbox) == 1
        assert ledger() == [KEY]

    def test_a_failing_calendar_raises_and_sends_nothing(self, booking, monkeypatch):
        def broken(**kwargs):
            raise ValueError("bad calendar")

        monkeypatch.setattr(notifications, "booking_event_ics", broken)
        with pytest.raises(ValueError, match="bad calendar"):
            send_booking_confirmed(booking.pk, key=KEY)
        assert mail.outbox == []
        assert ledger() == []


class TestMailJobs:
    """`send_later` defers a job in the caller's transaction; the job sends its mail once."""

    def test_the_job_is_deferred_with_the_transaction_and_sends_nothing_itself(self, booking):
        with transaction.atomic():
            send_later(CONFIRMED, booking.pk)
            assert mail_jobs() == [(CONFIRMED, booking.pk)]
        assert mail.outbox == []  # the worker sends it, not the caller

        [job] = run_jobs()

        [message] = mail.outbox
        assert message.to == ["ana@example.com"]
        assert mail_jobs() == []
        assert ledger() == [job_key(CONFIRMED, booking, job)]

    def test_a_rolled_back_transaction_leaves_no_job(self, booking):
        with pytest.raises(RuntimeError, match="the booking failed"), transaction.atomic():  # noqa: PT012 - the rollback is the point
            send_later(CONFIRMED, booking.pk)
            send_later(REVIEW_NEEDED, booking.pk)
            raise RuntimeError("the booking failed")
        assert mail_jobs() == []
        assert run_jobs(MAIL_JOB) == []
        assert mail.outbox == []

    def test_an_unknown_kind_is_refused_and_deferred_never(self, booking):
        with pytest.raises(ValueError, match="Unknown booking mail"):
            send_later("booking_lost", booking.pk)
        assert mail_jobs() == []

    @pytest.mark.parametrize(
        ("kind", "of", "subject", "to"),
        [
            (CONFIRMED, "booking", "Booking confirmed: ", "client"),
            (RESCHEDULED, "booking", "Booking moved: ", "client"),
            (CANCELLED, "cancelled", "Booking cancelled: ", "client"),
            (REMINDER, "booking", "Reminder: Massage, 60 min", "client"),
            (INTAKE_REQUEST, "front_desk_booking", "Please complete your intake: ", "client"),
            (INTAKE_REMINDER, "front_desk_booking", "Reminder: please complete your intake: ", "client"),
            (REVIEW_NEEDED, "booking", "Intake needs review: ", "therapist"),
        ],
    )
    def test_each_kind_sends_its_mail(self, request, therapist, kind, of, subject, to):
        if of == "cancelled":
            booking = request.getfixturevalue("booking")
            Booking.objects.filter(pk=booking.pk).update(status=Booking.Status.CANCELLED, cancelled_at=STARTS_AT)
        else:
            booking = request.getfixturevalue(of)
        send_later(kind, booking.pk)

        [job] = run_jobs()

        [message] = mail.outbox
        assert message.subject.startswith(subject)
        assert message.to == [booking.client.email if to == "client" else therapist.user.email]
        assert_no_health_details(message)
        assert ledger() == [job_key(kind, booking, job)]

    def test_a_job_run_twice_sends_once(self, booking):
        send_later(CONFIRMED, booking.pk)
        [job] = run_jobs()
        # The worker died after the server took the mail, before it marked the job done: the
        # stalled-job check (clinic.tasks.retry_stalled_jobs) puts it back, under the same id.
        with connection.cursor() as cursor:
            cursor.execute("UPDATE procrastinate_jobs SET status = 'doing' WHERE id = %s", [job.id])
            cursor.execute("SELECT procrastinate_retry_job_v2(%s, now(), NULL, NULL, NULL)", [job.id])

        assert run_jobs() == [job]  # it ran again

        assert len(mail.outbox) == 1
        assert ledger() == [job_key(CONFIRMED, booking, job)]

    def test_a_job_whose_booking_was_cancelled_since_sends_nothing(self, booking, staff_user):
        # given the confirmation's job, still waiting when the booking is cancelled
        send_later(CONFIRMED, booking.pk)
        services.booking_cancel(booking_id=booking.pk, by=staff_user, now=STARTS_AT - timedelta(days=2))
        assert mail_jobs() == [(CONFIRMED, booking.pk), (CANCELLED, booking.pk)]

        # when both run
        _, cancelled = run_jobs()

        # then only the cancellation is sent, and the confirmation's job is done all the same
        [message] = mail.outbox
        assert message.subject.startswith("Booking cancelled: ")
        assert ledger() == [job_key(CANCELLED, booking, cancelled)]
        assert mail_jobs() == []

    def test_a_refused_mail_fails_its_job_which_is_retried_and_sends_once(self, booking, refusing_mail_server):
        send_later(CONFIRMED, booking.pk)

        with pytest.raises(ConnectionRefusedError):
            run_jobs()

        # the job is left to retry, and nothing says it was sent
        [job] = pending_jobs(MAIL_JOB)
        assert mail_jobs() == [(CONFIRMED, booking.pk)]
        assert (mail.outbox, ledger()) == ([], [])
        # the server is back: the retry sends it, once
        refusing_mail_server.EMAIL_BACKEND = LOCMEM
        assert run_jobs() == [job]
        assert run_jobs() == []
        assert len(mail.outbox) == 1
        assert ledger() == [job_key(CONFIRMED, booking, job)]

    def test_a_failing_job_leaves_the_others_to_run(self, booking, monkeypatch):
        def broken(**kwargs):
            raise ValueError("bad calendar")

        # the review mail has no calendar; the confirmation's fails to build
        send_later(REVIEW_NEEDED, booking.pk)
        send_later(CONFIRMED, booking.pk)
        monkeypatch.setattr(notifications, "booking_event_ics", broken)

        with pytest.raises(ValueError, match="bad calendar"):
            run_jobs()

        assert [m.subject.split(":")[0] for m in mail.outbox] == ["Intake needs review"]
        assert mail_jobs() == [(CONFIRMED, booking.pk)]
        monkeypatch.undo()
        run_jobs()
        assert [m.subject.split(":")[0] for m in mail.outbox] == ["Intake needs review", "Booking confirmed"]


@pytest.mark.django_db(transaction=True)
def test_real_commit_and_rollback(therapist):
    """Without the test's wrapping transaction: the job commits with the change, never with a rollback."""
    committed, rolled_back = (
        BookingFactory(therapist=therapist, starts_at=start) for start in (STARTS_AT, STARTS_AT + timedelta(hours=2))
    )

    with transaction.atomic():
        send_later(CONFIRMED, committed.pk)
    with pytest.raises(RuntimeError), transaction.atomic():  # noqa: PT012 - the rollback is the point
        send_later(CONFIRMED, rolled_back.pk)
        raise RuntimeError

    assert mail_jobs() == [(CONFIRMED, committed.pk)]
    assert mail.outbox == []
    run_jobs()
    assert [m.to for m in mail.outbox] == [[committed.client.email]]
