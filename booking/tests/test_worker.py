"""The mail jobs and the real worker (issue 15): jobs commit with the booking, and the worker survives its faults.

- A booking refused with a 409 leaves no job, even when the refusal comes
  after its jobs were deferred; a committed one leaves exactly its mail jobs,
  whose arguments are ids only (no address, nothing of the intake).
- A job that keeps failing ends `failed` after the retry policy's attempts
  (config/tasks.py, shortened here by its settings), shown to an admin in the
  admin's list of jobs and to nobody else.
- A worker killed (SIGKILL) while its job waits in the mail server's DATA:
  the job runs again under another worker (clinic.tasks.retry_stalled_jobs,
  30 s after the dead worker's last heartbeat) and the mail arrives once.
- Every connection of the worker ended under it (what a database restart
  does to its clients): the same worker process keeps running jobs. With
  the database also refusing connections for a few seconds, as during a
  real restart, it does not yet (an expected failure, reported).

The worker is `manage.py procrastinate worker` in its own process against
the test database (config/testing/worker.py), mailing a real SMTP server on
127.0.0.1 (config/testing/mail.py); data is committed so it can see it.
"""

import subprocess
import sys
import time
from datetime import timedelta
from types import SimpleNamespace

import pytest
from django.db import connection
from django.urls import reverse
from django.utils import timezone

from booking.errors import SlotUnavailable
from booking.events import booking_event
from booking.mail import CANCELLED, CONFIRMED, INTAKE_REQUEST, REVIEW_NEEDED, send_later
from booking.models import Booking
from booking.tests.factories import BookingFactory
from booking.tests.helpers import NEEDS_REVIEW, NOW, assert_conflict, book, frozen, hour_service, local, new_york, works
from clinic.models import SentMail
from clinic.tests.factories import ClientFactory, TherapistFactory
from config.tasks import RETRY
from config.testing.mail import SmtpServer
from config.testing.servers import PROJECT_DIR
from config.testing.threads import run_together
from config.testing.worker import (
    Worker,
    app_env,
    clear_queue,
    database_outage,
    job_events,
    jobs,
    terminate_backends,
    wait_for_jobs,
    worker_backends,
)
from intake.tests.factories import IntakeFactory

pytestmark = pytest.mark.django_db(transaction=True)

MAIL_JOBS = "/admin/procrastinate/procrastinatejob/"


@pytest.fixture
def queue(transactional_db):
    """An empty queue before and after (the test database's flush leaves the queue's tables as they are)."""
    clear_queue()
    yield
    clear_queue()


def mail_jobs() -> list[tuple[str, int]]:
    """(kind, booking id) of every mail job, in order."""
    return [(row.args["kind"], row.args["booking_id"]) for row in jobs()]


def worker_env(server: SmtpServer, **overrides: str) -> dict[str, str]:
    """The worker mailing `server`, with a retry policy of seconds: each retry 1 s after the run before."""
    return app_env(EMAIL_URL=server.url, EMAIL_TIMEOUT="2", TASK_RETRY_EXPONENTIAL_WAIT="1", **overrides)


def booking_reference(mail) -> int:
    return int(mail.text.split("Booking reference: #")[1].split()[0])


# --- Jobs commit with the booking, or not at all -------------------------------------------


def test_a_refused_booking_leaves_no_job_and_the_one_that_won_leaves_its_own(clinic, queue, as_user):
    # given: one start of one therapist, and two clients asking for it at once
    therapist, place, service = TherapistFactory(), new_york(), hour_service()
    works(therapist, place, days=[3])
    apis = [as_user(ClientFactory()), as_user(ClientFactory())]
    start = local(2026, 12, 3, 10)

    # when
    with frozen(NOW):
        responses = run_together([lambda api=api: book(api, service, start, therapist=therapist) for api in apis])

    # then: one booked, one refused with a 409, and only the booked one has a job
    assert sorted(response.status_code for response in responses) == [201, 409]
    refused = next(response for response in responses if response.status_code == 409)
    assert_conflict(refused, "slot_unavailable")
    booking = Booking.objects.get()
    assert mail_jobs() == [(CONFIRMED, booking.pk)]
    assert jobs(None) == jobs()  # nothing but that mail job either


def test_a_refusal_after_the_jobs_were_deferred_takes_them_back(clinic, queue, as_user):
    # given: a subscriber to the booking's events that refuses, after the mail job was deferred
    therapist, place, service = TherapistFactory(), new_york(), hour_service()
    works(therapist, place, days=[3])
    seen = []

    def refuse(sender, event, booking, **kwargs):
        seen.append(len(jobs()))  # inside the booking's transaction
        raise SlotUnavailable()

    booking_event.connect(refuse)
    try:
        # when
        with frozen(NOW):
            response = book(as_user(ClientFactory()), service, local(2026, 12, 3, 10), therapist=therapist)
    finally:
        booking_event.disconnect(refuse)

    # then: the job was there in the transaction, and went with it
    assert_conflict(response, "slot_unavailable")
    assert seen == [1]
    assert not Booking.objects.exists()
    assert jobs(None) == []


def test_a_committed_booking_leaves_exactly_its_mail_jobs_holding_only_ids(clinic, queue, as_user, staff_user):
    # given
    therapist, place, service = TherapistFactory(), new_york(), hour_service()
    works(therapist, place, days=[3])
    client = ClientFactory()

    # when: a client books with answers that need review; the front desk books for a client; the client cancels
    with frozen(NOW):
        reviewed = book(as_user(client), service, local(2026, 12, 3, 10), NEEDS_REVIEW, therapist=therapist)
        by_desk = book(
            as_user(staff_user), service, local(2026, 12, 3, 12), None, therapist=therapist, client=ClientFactory()
        )
        assert (reviewed.status_code, by_desk.status_code) == (201, 201), (reviewed.json(), by_desk.json())
        reviewed_id, by_desk_id = reviewed.json()["id"], by_desk.json()["id"]
        cancelled = as_user(client).post(f"/api/v1/bookings/{reviewed_id}/cancel/", {}, format="json")
        assert cancelled.status_code == 200, cancelled.json()

    # then: each change its mails, once; the arguments name a kind and a booking, nothing else
    assert mail_jobs() == [
        (CONFIRMED, reviewed_id),
        (REVIEW_NEEDED, reviewed_id),
        (CONFIRMED, by_desk_id),
        (INTAKE_REQUEST, by_desk_id),
        (CANCELLED, reviewed_id),
    ]
    assert all(set(row.args) == {"kind", "booking_id"} for row in jobs())


@pytest.mark.slow
def test_a_job_deferred_inside_the_worker_rolls_back_with_the_task_s_transaction(queue):
    """Inside the worker, procrastinate's app has the worker's own connector (a pool); a job deferred by a
    job (the reminders' mails) must still commit with that job's transaction (config.tasks.defer)."""
    # given: what the worker does for a sync task: its connector, its app opened, the task in a thread
    script = """
import asyncio, django
django.setup()
from asgiref.sync import sync_to_async
from django.db import transaction
from procrastinate.contrib.django import app
from booking.mail import CONFIRMED, send_later

def task():
    try:
        with transaction.atomic():
            send_later(CONFIRMED, 424242)
            raise RuntimeError("the claim fails after the defer")
    except RuntimeError:
        pass

async def main():
    async with app.open_async():
        await sync_to_async(task, thread_sensitive=False)()

with app.replace_connector(app.connector.get_worker_connector()):
    asyncio.run(main())
"""
    # when
    done = subprocess.run(
        [sys.executable, "-c", script], cwd=PROJECT_DIR, env=app_env(), capture_output=True, text=True, timeout=120
    )

    # then: the transaction rolled back, so no job
    assert done.returncode == 0, done.stderr
    assert jobs(None) == []


# --- The retry policy ----------------------------------------------------------------


def test_the_retry_policy_is_13_attempts_2_to_4096_seconds_apart_about_2_hours_17_minutes():
    # when: a job has failed its 1st, 2nd, ... run
    waits = []
    for attempts in range(20):
        before = timezone.now()
        decision = RETRY.get_retry_decision(exception=RuntimeError("refused"), job=SimpleNamespace(attempts=attempts))
        if decision is None:
            break
        waits.append(round((decision.retry_at - before).total_seconds()))

    # then: 12 retries after the first run, each twice as far as the one before; then the job fails
    assert waits == [2**n for n in range(1, 13)]
    assert 1 + len(waits) == 13
    assert timedelta(hours=2, minutes=16) < timedelta(seconds=sum(waits)) < timedelta(hours=2, minutes=17)


# --- The real worker ---------------------------------------------------------------


@pytest.mark.slow
def test_a_job_that_keeps_failing_ends_failed_and_an_admin_sees_it(clinic, queue, tmp_path, client, admin_user):
    # given: a booking whose intake holds health data, and a mail server that refuses everything
    booking = BookingFactory(intake=IntakeFactory(answers=NEEDS_REVIEW, flags=["high_blood_pressure"]))
    send_later(CONFIRMED, booking.pk)
    (job,) = jobs()

    # when: the worker runs the job with a policy of 3 attempts
    with (
        SmtpServer(refuse=10**6) as server,
        Worker(worker_env(server, TASK_RETRY_MAX_ATTEMPTS="3"), log_path=tmp_path / "worker.log"),
    ):
        (failed,) = wait_for_jobs(lambda rows: rows[0].status == "failed", within=60)

    # then: three runs, each refused; no ledger row; the job's history says so
    assert (failed.attempts, server.refused, server.delivered) == (3, 3, [])
    assert not SentMail.objects.exists()
    events = [kind for kind, _ in job_events(job.id) if kind != "scheduled"]  # (each retry's time is "scheduled")
    assert events == ["deferred"] + ["started", "deferred_for_retry"] * 2 + ["started", "failed"]

    # and: an admin finds it among the failed jobs, with ids only, nothing of the client or the intake
    client.force_login(admin_user)
    listed = client.get(MAIL_JOBS, {"status": "failed"})
    assert listed.status_code == 200
    page = listed.content.decode()
    assert f"/admin/procrastinate/procrastinatejob/{job.id}/change/" in page
    assert "Failed" in page
    shown = client.get(reverse("admin:procrastinate_procrastinatejob_change", args=[job.id]))
    assert shown.status_code == 200
    for private in ("high_blood_pressure", booking.client.email, booking.client.last_name):
        assert private not in page
        assert private not in shown.content.decode()
    assert failed.args == {"kind": CONFIRMED, "booking_id": booking.pk}


@pytest.mark.parametrize(
    ("role", "status"),
    [("staff", 403), ("therapist", 302), ("client", 302), ("anonymous", 302)],
)
def test_nobody_but_an_admin_sees_the_jobs(clinic, queue, client, role, status, request):
    # given: a job in the queue
    send_later(CONFIRMED, BookingFactory().pk)
    (job,) = jobs()
    user = {
        "staff": "staff_user",
        "therapist": "therapist",
        "client": "client_user",
        "anonymous": None,
    }[role]
    if user is not None:
        person = request.getfixturevalue(user)
        client.force_login(getattr(person, "user", person))

    # when / then: the front desk is refused (no permission on the queue), the others sent to log in
    for url in (MAIL_JOBS, reverse("admin:procrastinate_procrastinatejob_change", args=[job.id])):
        response = client.get(url)
        assert response.status_code == status, url
        if status == 302:
            assert response["Location"].startswith("/admin/login/")


@pytest.mark.slow
def test_a_worker_killed_mid_job_has_its_job_run_again_and_the_mail_arrives_once(clinic, queue, tmp_path):
    # given: a confirmation to send, and a mail server that holds the first message in DATA
    booking = BookingFactory()
    send_later(CONFIRMED, booking.pk)
    (job,) = jobs()
    with SmtpServer(hold=1) as server:
        first = Worker(worker_env(server), log_path=tmp_path / "first.log").start()
        try:
            server.wait_until(lambda: server.held == 1, within=30, what="the message held in DATA")
            assert jobs()[0].status == "doing"

            # when: the worker dies mid-job, and another takes over
            first.kill()
        finally:
            first.stop()
        assert jobs()[0].status == "doing"  # nobody told the database
        with Worker(worker_env(server), log_path=tmp_path / "second.log"):
            # then: the dead worker's job runs again (its heartbeat is 30 s old, the check runs every 30 s)
            (done,) = wait_for_jobs(lambda rows: rows[0].status == "succeeded", within=100)

    # and: the mail reached the server twice, was taken once (the first connection died in DATA)
    assert (server.arrived, len(server.delivered)) == (2, 1)
    assert booking_reference(server.delivered[0]) == booking.pk
    assert server.delivered[0].rcpt_tos == (booking.client.email,)
    assert list(SentMail.objects.values_list("key", flat=True)) == [f"{CONFIRMED}:{booking.pk}:job-{job.id}"]
    assert [kind for kind, _ in job_events(job.id)].count("started") == 2


# A database restart, as this suite can have one: the embedded PostgreSQL is shared with other test
# runs, so it is not restarted. Its clients see a restart as two things, and these are made here on the
# test database alone: every connection ended (pg_terminate_backend), and, while the server is down,
# no new one let in (ALLOW_CONNECTIONS false). config/tests/test_faults.py restarts a cluster of its own
# under gunicorn.


@pytest.mark.slow
def test_the_worker_outlives_its_database_connections_ending(clinic, queue, tmp_path):
    first, second = BookingFactory(), BookingFactory()
    with SmtpServer() as server, Worker(worker_env(server), log_path=tmp_path / "worker.log") as worker:
        # given: a worker that has run a job (its pool, its listener and its task thread's connection are
        # open), and is between two polls of the queue
        send_later(CONFIRMED, first.pk)
        wait_for_jobs(lambda rows: rows[0].status == "succeeded", within=30)
        time.sleep(1)

        # when: every connection it has is ended at once
        ended = terminate_backends()
        ended_at = time.time()

        # then: it goes on: the next job is done, and it still beats its heartbeat (a side task that died
        # would have stopped it)
        assert len(ended) >= 2, ended
        send_later(CONFIRMED, second.pk)
        wait_for_jobs(lambda rows: len(rows) == 2 and rows[1].status == "succeeded", within=60)
        assert _heartbeat_after(worker.worker_id, ended_at, within=30)
        assert worker.running
        assert not set(worker_backends()) & set(ended)

    assert sorted(booking_reference(mail) for mail in server.delivered) == sorted([first.pk, second.pk])


@pytest.mark.slow
def test_the_worker_rides_out_a_database_down_for_a_few_seconds(clinic, queue, tmp_path):
    first, second = BookingFactory(), BookingFactory()
    with SmtpServer() as server, Worker(worker_env(server), log_path=tmp_path / "worker.log") as worker:
        # given: a worker that has run a job
        send_later(CONFIRMED, first.pk)
        wait_for_jobs(lambda rows: rows[0].status == "succeeded", within=30)

        # when: the database goes away for 5 seconds, as during a restart
        with database_outage() as ended:
            time.sleep(5)
        assert len(ended) >= 2, ended

        # then: the same worker goes on with the next job
        send_later(CONFIRMED, second.pk)
        rows = wait_for_jobs(
            lambda rows: (len(rows) == 2 and rows[1].status == "succeeded") or not worker.running, within=60
        )
        assert worker.running, f"the worker exited ({worker.process.returncode}); see {tmp_path / 'worker.log'}"
        assert rows[1].status == "succeeded"

    assert sorted(booking_reference(mail) for mail in server.delivered) == sorted([first.pk, second.pk])


def _heartbeat_after(worker_id: int, moment: float, *, within: float) -> bool:
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT extract(epoch FROM last_heartbeat) FROM procrastinate_workers WHERE id = %s", [worker_id]
            )
            row = cursor.fetchone()
        if row and row[0] > moment:
            return True
        time.sleep(0.5)
    return False
