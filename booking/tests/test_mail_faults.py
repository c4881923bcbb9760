"""Mail server faults, for real (issue 15): a real SMTP server on 127.0.0.1, the real worker, the app under gunicorn.

- The server refuses (451) for a while, then takes mail: every mail is
  delivered once, after the worker's retries.
- The server accepts connections and never answers: the worker gives up
  after `EMAIL_TIMEOUT` and retries; once a server answers, the mail goes.
- No mail is sent from the request path: with the mail server hanging,
  bookings through gunicorn answer at once (well inside `EMAIL_TIMEOUT`),
  each leaves its job, the server hears nothing from the app, and
  /healthz/ answers all along, the worker stuck on that server included.

Servers: config/testing/mail.py; the worker and its environment:
config/testing/worker.py; gunicorn: config/testing/servers.py.
"""

import json
import threading
import time
import urllib.error
import urllib.request
from datetime import timedelta

import pytest
from django.utils import timezone
from knox.models import AuthToken

from booking.mail import CONFIRMED, send_later
from booking.tests.factories import BookingFactory
from booking.tests.helpers import NEW_YORK, THERAPEUTIC, booking_body, hour_service, new_york, shift_at
from clinic.models import SentMail
from clinic.tests.factories import ClientFactory, TherapistFactory
from config.testing.mail import SilentSmtpServer, SmtpServer
from config.testing.servers import Gunicorn
from config.testing.worker import Worker, app_env, clear_queue, job_events, jobs, wait_for_jobs

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]

EMAIL_TIMEOUT = 2  # the worker's, in seconds


@pytest.fixture
def queue(transactional_db):
    """An empty queue before and after (the test database's flush leaves the queue's tables as they are)."""
    clear_queue()
    yield
    clear_queue()


def worker_env(email_url: str) -> dict[str, str]:
    """The worker mailing `email_url`, giving up on a silent server after 2 s, each retry 1 s after the run before."""
    return app_env(EMAIL_URL=email_url, EMAIL_TIMEOUT=str(EMAIL_TIMEOUT), TASK_RETRY_EXPONENTIAL_WAIT="1")


def booking_reference(mail) -> int:
    return int(mail.text.split("Booking reference: #")[1].split()[0])


def test_a_server_that_refuses_for_a_while_then_accepts_gets_every_mail_once(clinic, queue, tmp_path):
    # given: four confirmations to send, and a server that refuses the first six messages it is given
    bookings = [BookingFactory() for _ in range(4)]
    for booking in bookings:
        send_later(CONFIRMED, booking.pk)

    # when: the worker sends them
    with SmtpServer(refuse=6) as server, Worker(worker_env(server.url), log_path=tmp_path / "worker.log"):
        done = wait_for_jobs(lambda rows: all(row.status == "succeeded" for row in rows), within=60)

    # then: six refusals, each retried; every booking's mail delivered exactly once, to its client
    assert server.refused == 6
    assert sum(row.attempts for row in done) == len(bookings) + 6
    delivered = sorted((booking_reference(mail), mail.rcpt_tos) for mail in server.delivered)
    assert delivered == sorted((booking.pk, (booking.client.email,)) for booking in bookings)
    assert SentMail.objects.count() == len(bookings)


def test_a_server_that_never_answers_times_the_worker_out_and_the_job_is_retried(clinic, queue, tmp_path):
    # given: a confirmation to send, and a server that takes the connection and says nothing
    booking = BookingFactory()
    send_later(CONFIRMED, booking.pk)
    (job,) = jobs()
    # (listening before the worker starts: a first try refused at once would not wait for the timeout)
    silent = SilentSmtpServer().start()
    port = silent.port
    with Worker(worker_env(f"smtp://127.0.0.1:{port}"), log_path=tmp_path / "worker.log"):
        try:
            # when: the worker tries twice
            wait_for_jobs(lambda rows: rows[0].attempts >= 2, within=60)
            assert silent.connections >= 2
        finally:
            silent.stop()

        # then: each try gave up after EMAIL_TIMEOUT and was put back for a retry
        # ("scheduled" events carry the time a retry is due, not a time something happened)
        events = [(kind, at) for kind, at in job_events(job.id) if kind != "scheduled"]
        tries = [
            (kind, at - started)
            for (was, started), (kind, at) in zip(events, events[1:], strict=False)
            if was == "started"
        ]
        assert len(tries) >= 2, events
        for kind, lasted in tries[:2]:
            assert kind == "deferred_for_retry"
            # (the upper bound leaves a loaded machine room: what matters is that it gave up, not how fast)
            assert EMAIL_TIMEOUT - 0.2 <= lasted < EMAIL_TIMEOUT + 10, events

        # when: a server that answers is there instead
        with SmtpServer(port=port) as server:
            (done,) = wait_for_jobs(lambda rows: rows[0].status == "succeeded", within=60)

    # then: the mail went, once
    assert len(server.delivered) == 1
    assert booking_reference(server.delivered[0]) == booking.pk
    assert SentMail.objects.count() == 1


# --- No mail from the request path ------------------------------------------------------------


class App(Gunicorn):
    """The app under gunicorn against the test database, mailing a server that never answers (EMAIL_TIMEOUT 20 s)."""

    def __init__(self, email_url: str, log_path):
        env = app_env(EMAIL_URL=email_url, EMAIL_TIMEOUT="20", CONN_MAX_AGE="60")
        super().__init__(env, workers=1, threads=4, args=["--timeout", "60"], log_path=log_path)

    def request(self, method: str, path: str, body: dict | None = None, token: str | None = None):
        """(status, parsed JSON body, seconds it took)."""
        headers = {"Content-Type": "application/json"}
        if token:
            headers["Authorization"] = f"Token {token}"
        data = json.dumps(body).encode() if body is not None else None
        request = urllib.request.Request(
            f"http://127.0.0.1:{self.port}{path}", data=data, headers=headers, method=method
        )
        started = time.monotonic()
        try:
            with urllib.request.urlopen(request, timeout=30) as response:
                status, raw = response.status, response.read()
        except urllib.error.HTTPError as error:
            status, raw = error.code, error.read()
        return status, json.loads(raw), time.monotonic() - started


class HealthWatch:
    """GET /healthz/ every 0.1 s on a thread of its own, keeping (status, seconds) of each answer."""

    def __init__(self, app: App):
        self.app = app
        self.answers: list[tuple[int | None, float]] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._watch, daemon=True)

    def _watch(self) -> None:
        while not self._stop.is_set():
            started = time.monotonic()
            status = self.app.healthz()
            self.answers.append((status, time.monotonic() - started))
            time.sleep(0.1)

    def __enter__(self) -> "HealthWatch":
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join(10)


def test_no_mail_is_sent_from_the_request_path(clinic, queue, tmp_path):
    # given: a therapist's shift three days ahead (real time: the server's clock is not ours), nine clients
    therapist, place, service = TherapistFactory(), new_york(), hour_service()
    day = (timezone.now().astimezone(NEW_YORK) + timedelta(days=3)).replace(hour=8, minute=0, second=0, microsecond=0)
    shift_at(therapist, day, hours=12, location=place)
    clients = [ClientFactory() for _ in range(9)]
    tokens = [AuthToken.objects.create(client)[1] for client in clients]
    bodies = [booking_body(service, day + timedelta(hours=hour), THERAPEUTIC, therapist=therapist) for hour in range(9)]

    with SilentSmtpServer() as silent, App(silent.url, tmp_path / "gunicorn.log") as app:
        # when: eight clients book at once while /healthz/ is watched
        answers: list = [None] * 8

        def book(index: int) -> None:
            answers[index] = app.request("POST", "/api/v1/bookings/", bodies[index], token=tokens[index])

        with HealthWatch(app) as health:
            threads = [threading.Thread(target=book, args=(index,)) for index in range(8)]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join(60)

        # then: every booking answered 201 well inside the mail timeout; the server heard nothing; /healthz/ was up
        assert [status for status, _, _ in answers] == [201] * 8, answers
        assert max(seconds for _, _, seconds in answers) < 10, answers  # a mail sent here would take 20 s
        assert silent.connections == 0
        assert health.answers
        assert all(status == 200 for status, _ in health.answers), health.answers
        assert max(seconds for _, seconds in health.answers) < 5, health.answers
        # and: each booking left its confirmation job, for the worker
        booked = sorted(body["id"] for _, body, _ in answers)
        assert sorted(row.args["booking_id"] for row in jobs()) == booked
        assert {row.args["kind"] for row in jobs()} == {CONFIRMED}

        # when: a worker takes the jobs and hangs on that server
        with Worker(worker_env(silent.url), log_path=tmp_path / "worker.log") as worker, HealthWatch(app) as health:
            silent.wait_until(lambda: silent.connections >= 1, within=30, what="the worker connecting")
            ninth = app.request("POST", "/api/v1/bookings/", bodies[8], token=tokens[8])
            silent.stop()  # the worker's try ends now rather than at its timeout
            worker.stop()

        # then: the app answered as before
        assert (ninth[0], ninth[2] < 10) == (201, True), ninth
        assert health.answers
        assert all(status == 200 for status, _ in health.answers), health.answers
