"""Reminders (booking/reminders.py, booking.tasks.send_reminders, manage.py send_reminders): one per booking,
whatever runs them.

A run claims the due bookings (stamp) and defers their mail jobs in one
transaction; `run_jobs` then does the worker's part and sends the mails.
"""

from collections import Counter
from datetime import UTC, datetime, timedelta
from io import StringIO

import pytest
import time_machine
from django.core import mail
from django.core.management import CommandError, call_command
from django.db import transaction

from booking.mail import INTAKE_REMINDER, REMINDER
from booking.models import Booking
from booking.reminders import intake_reminders_send, reminders_send
from booking.tasks import send_reminders
from booking.tests.factories import BookingFactory
from clinic.models import SentMail
from clinic.tests.factories import LocationFactory, ServiceFactory, TherapistFactory
from config.testing.jobs import pending_jobs, run_jobs
from config.testing.threads import run_together
from intake.tests.factories import IntakeFactory

NOW = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)
HEALTH_WORDS = ["pregnancy", "warfarin", "hamstring", "lower_back", "flag"]
MAIL_JOB = "booking.send_mail"
LOCMEM = "django.core.mail.backends.locmem.EmailBackend"


def booking_at(therapist, starts_at: datetime, *, minutes: int = 60, **fields) -> Booking:
    """A booking (confirmed unless `fields` say otherwise) of a `minutes` service, made in the database."""
    service = ServiceFactory(duration_minutes=minutes)
    return BookingFactory(therapist=therapist, starts_at=starts_at, service=service, **fields)


# The clinic of the root conftest: New York, 2 hours' notice, 60 days ahead, 24 hours to cancel.
pytestmark = pytest.mark.usefixtures("clinic")


def mail_jobs(kind: str) -> Counter:
    """How many `kind` mail jobs wait to run, per booking id."""
    return Counter(job.args["booking_id"] for job in pending_jobs(MAIL_JOB) if job.args["kind"] == kind)


@pytest.fixture
def run():
    """`run(**kwargs)` → reminders_send (as of NOW unless told), then the mail jobs it deferred, run."""

    def call(**kwargs):
        kwargs.setdefault("now", NOW)
        claimed = reminders_send(**kwargs)
        run_jobs()
        return claimed

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

    def test_the_mail_job_exists_if_and_only_if_the_claim_committed(self, therapist):
        booking = booking_at(therapist, NOW + timedelta(hours=2), minutes=30)
        # a claim whose transaction rolls back leaves neither the stamp nor the job
        with pytest.raises(RuntimeError), transaction.atomic():  # noqa: PT012 - the rollback is the point
            assert reminders_send(now=NOW) == 1
            raise RuntimeError
        booking.refresh_from_db()
        assert (booking.reminder_sent_at, mail_jobs(REMINDER)) == (None, Counter())
        # one that commits leaves both, and sends nothing by itself
        assert reminders_send(now=NOW) == 1
        booking.refresh_from_db()
        assert (booking.reminder_sent_at, mail_jobs(REMINDER)) == (NOW, Counter({booking.pk: 1}))
        assert mail.outbox == []
        # the worker sends it
        run_jobs()
        assert [m.to for m in mail.outbox] == [[booking.client.email]]

    def test_a_failing_mail_leaves_the_job_to_retry_and_the_stamp_stays(self, therapist, refusing_mail_server):
        booking = booking_at(therapist, NOW + timedelta(hours=2), minutes=30)
        assert reminders_send(now=NOW) == 1

        with pytest.raises(ConnectionRefusedError):
            run_jobs()

        # the claim is kept: no later run claims it again, the job retries instead
        booking.refresh_from_db()
        assert booking.reminder_sent_at == NOW
        assert mail_jobs(REMINDER) == Counter({booking.pk: 1})
        assert reminders_send(now=NOW) == 0
        assert (mail.outbox, SentMail.objects.count()) == ([], 0)
        # the retry, once the server is back, sends it once
        refusing_mail_server.EMAIL_BACKEND = LOCMEM
        run_jobs()
        run_jobs()
        assert [m.to for m in mail.outbox] == [[booking.client.email]]
        assert mail_jobs(REMINDER) == Counter()


class TestCommand:
    def test_queues_and_reports(self, therapist):
        booking = booking_at(therapist, NOW + timedelta(hours=2), minutes=30)
        out = StringIO()
        with time_machine.travel(NOW, tick=False):
            call_command("send_reminders", stdout=out)
        assert "Reminders queued: 1." in out.getvalue()
        assert mail_jobs(REMINDER) == Counter({booking.pk: 1})
        assert mail.outbox == []  # the worker sends it
        run_jobs()
        assert len(mail.outbox) == 1

    def test_hours_option(self, therapist):
        booking_at(therapist, NOW + timedelta(hours=30), minutes=30)
        with time_machine.travel(NOW, tick=False):
            call_command("send_reminders", "--hours", "36", stdout=StringIO())
        run_jobs()
        assert len(mail.outbox) == 1


@pytest.mark.django_db(transaction=True)
def test_two_workers_at_once_remind_each_booking_exactly_once():
    """Two real threads, two connections, started together: every booking is claimed by exactly one."""
    # given: more bookings than one batch, so the workers interleave their claims
    therapists = [TherapistFactory() for _ in range(2)]
    bookings = [
        booking_at(therapists[i % 2], NOW + timedelta(hours=1, minutes=30 * (i // 2)), minutes=30) for i in range(40)
    ]

    # when
    claimed = run_together([lambda: reminders_send(now=NOW, batch_size=5)] * 2)

    # then each booking has exactly one mail job, deferred with its claim
    assert sum(claimed) == len(bookings)
    assert mail_jobs(REMINDER) == Counter({b.pk: 1 for b in bookings})
    assert Booking.objects.filter(reminder_sent_at=NOW).count() == len(bookings)
    # and the worker sends each exactly once
    run_jobs()
    assert sorted(m.to[0] for m in mail.outbox) == sorted(b.client.email for b in bookings)


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("workers", [4])
def test_many_workers_with_skip_locked_never_double_send(workers):
    therapist = TherapistFactory()
    bookings = [booking_at(therapist, NOW + timedelta(hours=1, minutes=30 * i), minutes=30) for i in range(12)]

    claimed = run_together([lambda: reminders_send(now=NOW, batch_size=1)] * workers)

    assert sum(claimed) == len(bookings)
    assert mail_jobs(REMINDER) == Counter({b.pk: 1 for b in bookings})
    run_jobs()
    assert sorted(m.to[0] for m in mail.outbox) == sorted(b.client.email for b in bookings)


def pending_at(therapist, starts_at: datetime, **fields) -> Booking:
    """A front-desk booking whose client has not completed the intake yet."""
    return booking_at(therapist, starts_at, intake=None, intake_status=Booking.IntakeStatus.PENDING, **fields)


@pytest.fixture
def run_intake():
    """`run_intake(**kwargs)` → intake_reminders_send (as of NOW unless told), then the mail jobs it deferred, run."""

    def call(**kwargs):
        kwargs.setdefault("now", NOW)
        claimed = intake_reminders_send(**kwargs)
        run_jobs()
        return claimed

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

    def test_an_intake_completed_after_the_claim_gets_no_mail(self, therapist):
        booking = pending_at(therapist, NOW + timedelta(hours=5))
        assert intake_reminders_send(now=NOW) == 1
        # the client completes the intake before the mail job runs
        intake = IntakeFactory(client=booking.client)
        Booking.objects.filter(pk=booking.pk).update(intake=intake, intake_status=Booking.IntakeStatus.COMPLETE)

        [job] = run_jobs()

        assert job.args == {"kind": INTAKE_REMINDER, "booking_id": booking.pk}
        assert (mail.outbox, SentMail.objects.count()) == ([], 0)
        assert mail_jobs(INTAKE_REMINDER) == Counter()  # the job is done, not retried
        booking.refresh_from_db()
        assert booking.intake_reminder_sent_at == NOW  # the claim stays; the intake is in, so it is not due anyway

    def test_a_failing_mail_leaves_the_job_to_retry_and_the_stamp_stays(self, therapist, refusing_mail_server):
        booking = pending_at(therapist, NOW + timedelta(hours=5))
        assert intake_reminders_send(now=NOW) == 1

        with pytest.raises(ConnectionRefusedError):
            run_jobs()

        booking.refresh_from_db()
        assert booking.intake_reminder_sent_at == NOW
        assert mail_jobs(INTAKE_REMINDER) == Counter({booking.pk: 1})
        assert intake_reminders_send(now=NOW) == 0
        assert (mail.outbox, SentMail.objects.count()) == ([], 0)
        refusing_mail_server.EMAIL_BACKEND = LOCMEM
        run_jobs()
        run_jobs()
        assert [m.to for m in mail.outbox] == [[booking.client.email]]

    def test_mail_has_no_health_details(self, run_intake, therapist):
        pending_at(therapist, NOW + timedelta(hours=5))
        run_intake()
        [message] = mail.outbox
        text = message.message().as_string().lower()
        for word in HEALTH_WORDS:
            assert word not in text, word

    def test_the_command_queues_both_kinds(self, therapist):
        pending = pending_at(therapist, NOW + timedelta(hours=30))
        due = booking_at(therapist, NOW + timedelta(hours=2), minutes=30)
        out = StringIO()
        with time_machine.travel(NOW, tick=False):
            call_command("send_reminders", stdout=out)
        assert "Reminders queued: 1. Intake reminders queued: 1." in out.getvalue()
        assert (mail_jobs(REMINDER), mail_jobs(INTAKE_REMINDER)) == (
            Counter({due.pk: 1}),
            Counter({pending.pk: 1}),
        )
        run_jobs()
        assert len(mail.outbox) == 2

    def test_the_command_takes_the_intake_window(self, therapist):
        pending_at(therapist, NOW + timedelta(hours=30))
        with time_machine.travel(NOW, tick=False):
            call_command("send_reminders", "--intake-hours", "24", stdout=StringIO())
        assert pending_jobs(MAIL_JOB) == []
        assert mail.outbox == []
        with pytest.raises(CommandError):
            call_command("send_reminders", "--intake-hours", "0", stdout=StringIO())


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("workers", [2, 4])
def test_workers_at_once_remind_each_pending_intake_exactly_once(workers):
    """Real threads on their own connections, started together, one sending session reminders meanwhile."""
    # given more pending intakes than one batch, inside both windows for some
    therapists = [TherapistFactory() for _ in range(2)]
    bookings = [
        pending_at(therapists[i % 2], NOW + timedelta(hours=1, minutes=90 * (i // 2)), minutes=30) for i in range(30)
    ]

    # when
    *intake, session = run_together(
        [lambda: intake_reminders_send(now=NOW, batch_size=3)] * workers
        + [lambda: reminders_send(now=NOW, batch_size=3)]
    )
    # a booking the session reminders held locked at that moment was skipped: the next run takes it
    late = intake_reminders_send(now=NOW)

    # then each pending intake has exactly one intake-reminder job, and each session reminder one
    assert sum(intake) + late == len(bookings)
    assert mail_jobs(INTAKE_REMINDER) == Counter({b.pk: 1 for b in bookings})
    assert sum(mail_jobs(REMINDER).values()) == session
    assert set(mail_jobs(REMINDER).values()) <= {1}
    assert Booking.objects.filter(intake_reminder_sent_at=NOW).count() == len(bookings)
    # and the worker sends each intake reminder exactly once
    run_jobs()
    intake_mails = [m for m in mail.outbox if "complete your intake" in m.subject]
    assert sorted(m.to[0] for m in intake_mails) == sorted(b.client.email for b in bookings)


@pytest.fixture
def clock():
    with time_machine.travel(NOW, tick=False):
        yield


@pytest.mark.usefixtures("clock")
class TestTheWorkersMinuteJob:
    def test_it_claims_both_kinds_and_their_mails_are_sent(self, therapist):
        # given a pending intake inside both windows, and a booking due its session reminder only
        pending = pending_at(therapist, NOW + timedelta(hours=5))
        due = booking_at(therapist, NOW + timedelta(hours=2), minutes=30)
        send_reminders.defer(timestamp=int(NOW.timestamp()))
        # when the worker runs it (and the mail jobs it defers)
        ran = run_jobs()
        # then
        assert [job.task_name for job in ran] == ["booking.send_reminders", *[MAIL_JOB] * 3]
        intake_reminder = "Reminder: please complete your intake"
        assert sorted((m.to[0], m.subject.startswith(intake_reminder)) for m in mail.outbox) == sorted(
            [(due.client.email, False), (pending.client.email, False), (pending.client.email, True)]
        )
        # and the next minute finds nothing more to do
        send_reminders.defer(timestamp=int(NOW.timestamp()) + 60)
        assert [job.task_name for job in run_jobs()] == ["booking.send_reminders"]
        assert len(mail.outbox) == 3
