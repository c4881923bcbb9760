"""Reminders (booking/reminders.py, manage.py send_reminders): one per booking, whatever runs them."""

import threading
from datetime import UTC, datetime, timedelta
from io import StringIO

import pytest
import time_machine
from django.core import mail
from django.core.management import call_command
from django.db import connection

from booking import reminders
from booking.models import Booking
from booking.reminders import reminders_send
from booking.tests.factories import BookingFactory
from clinic.tests.factories import LocationFactory, ServiceFactory, TherapistFactory

NOW = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)
HEALTH_WORDS = ["pregnancy", "warfarin", "hamstring", "lower_back", "flag"]


def booking_at(therapist, starts_at: datetime, *, minutes: int = 60, **fields) -> Booking:
    """A booking (confirmed unless `fields` say otherwise) of a `minutes` service, made in the database."""
    service = ServiceFactory(duration_minutes=minutes)
    return BookingFactory(therapist=therapist, starts_at=starts_at, service=service, **fields)


# The clinic of the root conftest: New York, 2 hours' notice, 60 days ahead, 24 hours to cancel.
pytestmark = pytest.mark.usefixtures("clinic")


@pytest.fixture
def run(django_capture_on_commit_callbacks):
    """`run(**kwargs)` → reminders_send with its after-commit mails executed (the test holds a transaction)."""

    def call(**kwargs):
        kwargs.setdefault("now", NOW)
        with django_capture_on_commit_callbacks(execute=True):
            return reminders_send(**kwargs)

    return call


class TestWindow:
    def test_reminds_bookings_starting_within_24_hours_once(self, run, therapist):
        # given
        soon = booking_at(therapist, NOW + timedelta(hours=2), minutes=30)
        tomorrow = booking_at(therapist, NOW + timedelta(hours=24), minutes=30)
        booking_at(therapist, NOW + timedelta(hours=24, minutes=30), minutes=30)  # outside the window
        booking_at(therapist, NOW - timedelta(hours=1), minutes=30)  # already started
        booking_at(therapist, NOW + timedelta(hours=3), minutes=30, status=Booking.Status.CANCELLED, cancelled_at=NOW)
        booking_at(therapist, NOW + timedelta(hours=4), status=Booking.Status.HELD, hold_expires_at=NOW)  # an offer
        # when
        assert run() == 2
        # then
        assert sorted(m.to[0] for m in mail.outbox) == sorted([soon.client.email, tomorrow.client.email])
        assert set(Booking.objects.filter(reminder_sent_at=NOW).values_list("pk", flat=True)) == {soon.pk, tomorrow.pk}
        # and never twice: an hour later only the booking that entered the window is reminded
        assert run() == 0
        assert run(now=NOW + timedelta(hours=1)) == 1
        assert len(mail.outbox) == 3
        assert len({m.to[0] for m in mail.outbox}) == 3

    def test_later_run_picks_up_what_entered_the_window(self, run, therapist):
        later = booking_at(therapist, NOW + timedelta(hours=30), minutes=30)
        assert run() == 0
        assert run(now=NOW + timedelta(hours=7)) == 1
        later.refresh_from_db()
        assert later.reminder_sent_at == NOW + timedelta(hours=7)

    def test_custom_window(self, run, therapist):
        booking_at(therapist, NOW + timedelta(hours=2), minutes=30)
        booking_at(therapist, NOW + timedelta(hours=5), minutes=30)
        assert run(window=timedelta(hours=3)) == 1

    def test_rescheduled_booking_is_reminded_again(self, run, therapist):
        booking = booking_at(therapist, NOW + timedelta(hours=2), minutes=30)
        run()
        # the reschedule service clears the stamp when it moves a booking
        Booking.objects.filter(pk=booking.pk).update(reminder_sent_at=None, sequence=1)
        assert run() == 1
        assert len(mail.outbox) == 2

    def test_batches(self, run, therapist):
        for i in range(7):
            booking_at(therapist, NOW + timedelta(hours=1, minutes=30 * i), minutes=30)
        assert run(batch_size=3) == 7
        assert len(mail.outbox) == 7
        assert not Booking.objects.filter(reminder_sent_at__isnull=True).exists()

    def test_the_reminder_gives_the_service_and_the_local_time(self, run, therapist):
        # 2026-12-01 14:00 UTC is 06:00 in Los Angeles
        westside = LocationFactory(name="Westside", time_zone="America/Los_Angeles")
        booking_at(therapist, NOW + timedelta(hours=2), minutes=90, location=westside)
        run()
        [message] = mail.outbox
        assert "Massage, 90 min" in message.subject
        assert "Tuesday 1 December 2026, 06:00–07:30 (America/Los_Angeles)" in message.body
        assert "Where: Westside" in message.body

    def test_a_pending_intake_is_reminded_and_asked_for(self, run, therapist):
        booking_at(therapist, NOW + timedelta(hours=2), intake=None, intake_status=Booking.IntakeStatus.PENDING)
        assert run() == 1
        [message] = mail.outbox
        assert "complete your intake" in message.body

    def test_mail_has_no_health_details(self, run, therapist):
        booking_at(
            therapist,
            NOW + timedelta(hours=2),
            minutes=30,
            intake__answers={
                "pressure_preference": "medium",
                "primary_goal": "relaxation",
                "consent": True,
                "health_screening": ["pregnancy"],
                "medications": "warfarin",
                "notes": "hamstring",
                "focus_areas": ["lower_back"],
            },
            intake__needs_review=True,
            intake__flags=["pregnancy"],
        )
        run()
        [message] = mail.outbox
        assert "reminder" in message.subject.lower()
        text = message.message().as_string().lower()
        for word in HEALTH_WORDS:
            assert word not in text, word

    def test_nothing_is_sent_before_the_claim_commits(self, therapist, django_capture_on_commit_callbacks):
        booking_at(therapist, NOW + timedelta(hours=2), minutes=30)
        with django_capture_on_commit_callbacks(execute=False) as callbacks:
            assert reminders_send(now=NOW) == 1
        assert mail.outbox == []
        assert len(callbacks) == 1

    def test_failed_mail_is_unclaimed_for_a_later_run(self, run, therapist, monkeypatch):
        booking = booking_at(therapist, NOW + timedelta(hours=2), minutes=30)
        monkeypatch.setattr(reminders, "send_booking_reminder", lambda booking_id: False)
        assert run() == 1  # claimed once in this run, not retried in a loop
        booking.refresh_from_db()
        assert booking.reminder_sent_at is None
        monkeypatch.undo()
        assert run() == 1
        assert len(mail.outbox) == 1


class TestCommand:
    def test_sends_and_reports(self, therapist, django_capture_on_commit_callbacks):
        booking_at(therapist, NOW + timedelta(hours=2), minutes=30)
        out = StringIO()
        with time_machine.travel(NOW, tick=False), django_capture_on_commit_callbacks(execute=True):
            call_command("send_reminders", stdout=out)
        assert "Reminders sent: 1." in out.getvalue()
        assert len(mail.outbox) == 1

    def test_hours_option(self, therapist, django_capture_on_commit_callbacks):
        booking_at(therapist, NOW + timedelta(hours=30), minutes=30)
        with time_machine.travel(NOW, tick=False), django_capture_on_commit_callbacks(execute=True):
            call_command("send_reminders", "--hours", "36", stdout=StringIO())
        assert len(mail.outbox) == 1


@pytest.mark.django_db(transaction=True)
def test_two_workers_at_once_remind_each_booking_exactly_once():
    """Two real threads, two connections, started together: every booking is reminded by exactly one."""
    # given: more bookings than one batch, so the workers interleave their claims
    therapists = [TherapistFactory() for _ in range(2)]
    bookings = [
        booking_at(therapists[i % 2], NOW + timedelta(hours=1, minutes=30 * (i // 2)), minutes=30) for i in range(40)
    ]
    barrier = threading.Barrier(2)
    results: list[int] = []
    errors: list[BaseException] = []

    def worker():
        try:
            barrier.wait(timeout=10)
            results.append(reminders_send(now=NOW, batch_size=5))
        except BaseException as exc:  # noqa: BLE001 - reported by the assertion below
            errors.append(exc)
        finally:
            connection.close()

    # when
    threads = [threading.Thread(target=worker) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)

    # then
    assert errors == []
    assert sum(results) == len(bookings)
    recipients = sorted(m.to[0] for m in mail.outbox)
    assert recipients == sorted(b.client.email for b in bookings)  # each exactly once
    assert not Booking.objects.filter(reminder_sent_at__isnull=True).exists()
    assert Booking.objects.filter(reminder_sent_at=NOW).count() == len(bookings)


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("workers", [4])
def test_many_workers_with_skip_locked_never_double_send(workers):
    therapist = TherapistFactory()
    bookings = [booking_at(therapist, NOW + timedelta(hours=1, minutes=30 * i), minutes=30) for i in range(12)]
    barrier = threading.Barrier(workers)
    results: list[int] = []

    def worker():
        try:
            barrier.wait(timeout=10)
            results.append(reminders_send(now=NOW, batch_size=1))
        finally:
            connection.close()

    threads = [threading.Thread(target=worker) for _ in range(workers)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)

    assert sorted(results)
    assert sum(results) == len(bookings)
    assert sorted(m.to[0] for m in mail.outbox) == sorted(b.client.email for b in bookings)
