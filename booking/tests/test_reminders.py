"""Reminders (booking/reminders.py, manage.py send_reminders): one per booking, whatever runs them."""

import threading
from datetime import UTC, datetime, timedelta
from io import StringIO

import pytest
import time_machine
from django.core import mail
from django.core.management import CommandError, call_command
from django.db import connection

from booking import reminders
from booking.models import Booking
from booking.reminders import intake_reminders_send, reminders_send
from booking.tests.factories import BookingFactory
from clinic.tests.factories import LocationFactory, ServiceFactory, TherapistFactory
from intake.tests.factories import IntakeFactory

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


def pending_at(therapist, starts_at: datetime, **fields) -> Booking:
    """A front-desk booking whose client has not completed the intake yet."""
    return booking_at(therapist, starts_at, intake=None, intake_status=Booking.IntakeStatus.PENDING, **fields)


@pytest.fixture
def run_intake(django_capture_on_commit_callbacks):
    """`run_intake(**kwargs)` → intake_reminders_send with its after-commit mails executed."""

    def call(**kwargs):
        kwargs.setdefault("now", NOW)
        with django_capture_on_commit_callbacks(execute=True):
            return intake_reminders_send(**kwargs)

    return call


class TestIntakeReminders:
    def test_a_pending_intake_is_reminded_once_48_hours_before(self, run_intake, therapist):
        # given
        due = pending_at(therapist, NOW + timedelta(hours=48), minutes=30)
        pending_at(therapist, NOW + timedelta(hours=48, minutes=30), minutes=30)  # not yet
        booking_at(therapist, NOW + timedelta(hours=30))  # its intake is complete
        pending_at(therapist, NOW + timedelta(hours=31), status=Booking.Status.CANCELLED, cancelled_at=NOW)
        pending_at(therapist, NOW + timedelta(hours=32), status=Booking.Status.HELD, hold_expires_at=NOW)
        pending_at(therapist, NOW - timedelta(minutes=30))  # already started
        # when
        assert run_intake() == 1
        # then
        [message] = mail.outbox
        assert message.to == [due.client.email]
        assert message.subject.startswith("Reminder: please complete your intake")
        assert "intake form is not complete yet" in message.body
        assert Booking.objects.get(intake_reminder_sent_at=NOW) == due
        # and never twice; half an hour later the next one is due
        assert run_intake() == 0
        assert run_intake(now=NOW + timedelta(minutes=30)) == 1
        assert len(mail.outbox) == 2

    def test_a_booking_made_nearer_than_48_hours_is_reminded_at_once(self, run_intake, therapist):
        booking = pending_at(therapist, NOW + timedelta(hours=5))

        assert run_intake() == 1

        booking.refresh_from_db()
        assert booking.intake_reminder_sent_at == NOW
        assert [m.to for m in mail.outbox] == [[booking.client.email]]

    def test_it_is_independent_of_the_session_reminder(self, run, run_intake, therapist):
        # given a pending intake inside both windows
        booking = pending_at(therapist, NOW + timedelta(hours=5))
        # when both run
        assert (run(), run_intake()) == (1, 1)
        # then each stamped its own column and sent its own mail
        booking.refresh_from_db()
        assert (booking.reminder_sent_at, booking.intake_reminder_sent_at) == (NOW, NOW)
        assert sorted(m.subject.split(":")[0] for m in mail.outbox) == ["Reminder", "Reminder"]
        assert len(mail.outbox) == 2

    def test_a_client_who_cannot_be_mailed_is_not_due(self, run_intake, therapist):
        # a phone client without an address: the therapist completes the intake with them
        no_address = pending_at(therapist, NOW + timedelta(hours=5))
        no_address.client.email = ""
        no_address.client.save(update_fields=["email"])

        assert run_intake() == 0
        assert mail.outbox == []

    def test_an_intake_completed_after_the_claim_gets_no_mail_and_is_unclaimed(
        self, therapist, django_capture_on_commit_callbacks
    ):
        booking = pending_at(therapist, NOW + timedelta(hours=5))
        with django_capture_on_commit_callbacks(execute=False) as callbacks:
            assert intake_reminders_send(now=NOW) == 1
        # the client completes the intake before the mail goes out
        intake = IntakeFactory(client=booking.client)
        Booking.objects.filter(pk=booking.pk).update(intake=intake, intake_status=Booking.IntakeStatus.COMPLETE)
        for callback in callbacks:
            callback()

        assert mail.outbox == []
        booking.refresh_from_db()
        assert booking.intake_reminder_sent_at is None  # and it is not due: the intake is in

    def test_failed_mail_is_unclaimed_for_a_later_run(self, run_intake, therapist, monkeypatch):
        booking = pending_at(therapist, NOW + timedelta(hours=5))
        monkeypatch.setattr(reminders, "send_intake_reminder", lambda booking_id: False)
        assert run_intake() == 1
        booking.refresh_from_db()
        assert booking.intake_reminder_sent_at is None
        monkeypatch.undo()
        assert run_intake() == 1
        assert len(mail.outbox) == 1

    def test_mail_has_no_health_details(self, run_intake, therapist):
        pending_at(therapist, NOW + timedelta(hours=5))
        run_intake()
        [message] = mail.outbox
        text = message.message().as_string().lower()
        for word in HEALTH_WORDS:
            assert word not in text, word

    def test_the_command_sends_both_kinds(self, therapist, django_capture_on_commit_callbacks):
        pending_at(therapist, NOW + timedelta(hours=30))
        booking_at(therapist, NOW + timedelta(hours=2), minutes=30)
        out = StringIO()
        with time_machine.travel(NOW, tick=False), django_capture_on_commit_callbacks(execute=True):
            call_command("send_reminders", stdout=out)
        assert "Reminders sent: 1. Intake reminders sent: 1." in out.getvalue()
        assert len(mail.outbox) == 2

    def test_the_command_takes_the_intake_window(self, therapist, django_capture_on_commit_callbacks):
        pending_at(therapist, NOW + timedelta(hours=30))
        with time_machine.travel(NOW, tick=False), django_capture_on_commit_callbacks(execute=True):
            call_command("send_reminders", "--intake-hours", "24", stdout=StringIO())
        assert mail.outbox == []
        with pytest.raises(CommandError):
            call_command("send_reminders", "--intake-hours", "0", stdout=StringIO())


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("workers", [2, 4])
def test_workers_at_once_remind_each_pending_intake_exactly_once(workers):
    """Real threads on their own connections, started together, some sending session reminders meanwhile."""
    # given more pending intakes than one batch, inside both windows for some
    therapists = [TherapistFactory() for _ in range(2)]
    bookings = [
        pending_at(therapists[i % 2], NOW + timedelta(hours=1, minutes=90 * (i // 2)), minutes=30) for i in range(30)
    ]
    barrier = threading.Barrier(workers + 1)
    claimed: dict[str, list[int]] = {"intake": [], "session": []}
    errors: list[BaseException] = []

    def worker(kind, send):
        try:
            barrier.wait(timeout=10)
            claimed[kind].append(send(now=NOW, batch_size=3))
        except BaseException as exc:  # noqa: BLE001 - reported by the assertion below
            errors.append(exc)
        finally:
            connection.close()

    # when
    threads = [threading.Thread(target=worker, args=("intake", intake_reminders_send)) for _ in range(workers)]
    threads.append(threading.Thread(target=worker, args=("session", reminders_send)))
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    # a booking the session reminders held locked at that moment was skipped: the next run takes it
    late = intake_reminders_send(now=NOW)

    # then
    assert errors == []
    assert sum(claimed["intake"]) + late == len(bookings)
    intake_mails = [m for m in mail.outbox if "complete your intake" in m.subject]
    assert sorted(m.to[0] for m in intake_mails) == sorted(b.client.email for b in bookings)  # each exactly once
    assert Booking.objects.filter(intake_reminder_sent_at=NOW).count() == len(bookings)
