"""The procrastinate worker beside the server, and the worker_mail scenario.

The worker runs as docker-compose.yml runs it (`manage.py procrastinate
worker`, its defaults) against the bench database, with Django's locmem mail
backend: each mail is built in full (MIME, the .ics) and kept in the worker's
memory. Its connections are named (bench/env.py), so its database CPU is
counted apart from the server's.

worker_mail defers N confirmation mails of existing bookings in one
transaction, as `booking.mail.send_later` does in a booking's, and times the
worker draining them: jobs/s, CPU per job (the worker and its database
backends), each job's run time (its `started` to `succeeded` events), and
the checks: every job `succeeded`, one SentMail row per job (the ledger's key
names the job).
"""

import os
import signal
import subprocess
import sys
import time
from datetime import UTC, datetime

from bench.env import PROJECT_DIR, worker_env
from bench.load import Result

MAIL_TASK = "booking.send_mail"
WORKER_MAIL_JOBS = 2_000


class BenchWorker:
    """`manage.py procrastinate worker` in its own process, its output in `log_path`."""

    def __init__(self, log_path: str):
        self.log_path = log_path
        self.command = [sys.executable, "manage.py", "procrastinate", "worker"]
        self.process: subprocess.Popen | None = None

    @property
    def pid(self) -> int | None:
        return self.process.pid if self.process is not None else None

    def start(self, *, within: float = 30.0) -> "BenchWorker":
        """Start it and wait until it has connected (its backends show in pg_stat_activity)."""
        from bench.env import WORKER_CONNECTIONS
        from bench.metering import db_backend_pids

        self._log = open(self.log_path, "w")  # closed in stop()
        env = {**os.environ, **worker_env()}
        out = {"stdout": self._log, "stderr": subprocess.STDOUT}
        self.process = subprocess.Popen(self.command, cwd=PROJECT_DIR, env=env, **out)
        deadline = time.monotonic() + within
        while not db_backend_pids(WORKER_CONNECTIONS):
            if self.process.poll() is not None or time.monotonic() > deadline:
                self.stop()
                raise SystemExit(f"The worker did not start; see {self.log_path}")
            time.sleep(0.2)
        return self

    def stop(self) -> None:
        """SIGTERM (procrastinate finishes the jobs it runs), then SIGKILL after 30 s."""
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        if self.process is not None:
            self._log.close()


# --- The queue, read in SQL --------------------------------------------------------------


def last_job_id() -> int:
    """The newest job's id (0 with none): jobs deferred from now on have a larger one."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT COALESCE(max(id), 0) FROM procrastinate_jobs")
        return cursor.fetchone()[0]


def job_statuses(after_id: int, kind: str | None = None) -> dict[str, int]:
    """How many mail jobs (of `kind`, e.g. booking_confirmed) deferred after `after_id` are in each status."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT status, count(*) FROM procrastinate_jobs WHERE id > %s AND task_name = %s "
            "AND (%s::text IS NULL OR args->>'kind' = %s) GROUP BY 1",
            [after_id, MAIL_TASK, kind, kind],
        )
        return dict(cursor.fetchall())


def wait_drained(after_id: int, *, within: float, kind: str | None = None) -> dict[str, int]:
    """Wait until no mail job (of `kind`) deferred after `after_id` is waiting or running; their statuses."""
    deadline = time.monotonic() + within
    while True:
        statuses = job_statuses(after_id, kind)
        if not statuses.get("todo") and not statuses.get("doing") or time.monotonic() > deadline:
            return statuses
        time.sleep(0.1)


def ledger_rows(job_ids: list[int]) -> int:
    """SentMail rows whose key names one of these jobs (booking.mail: `<kind>:<booking>:job-<id>`)."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM clinic_sentmail WHERE key = ANY(ARRAY(SELECT (j.args->>'kind') || ':' || "
            "(j.args->>'booking_id') || ':job-' || j.id FROM procrastinate_jobs j WHERE j.id = ANY(%s)))",
            [job_ids],
        )
        return cursor.fetchone()[0]


def remove_run_jobs(after_id: int, since: datetime) -> tuple[int, int]:
    """Delete the jobs deferred after `after_id` (their events go with them) and the ledger rows written
    since `since`: a run leaves the queue as it found it. (jobs, ledger rows) deleted."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("DELETE FROM procrastinate_jobs WHERE id > %s", [after_id])
        jobs = cursor.rowcount
        cursor.execute("DELETE FROM clinic_sentmail WHERE sent_at >= %s", [since])
        return jobs, cursor.rowcount


def settle(after_id: int, *, within: float = 180.0) -> dict:
    """Claim the reminders due now, as the worker's minute job would, and wait until the worker has sent
    every mail deferred since `after_id`: the first run after a build finds a day's reminders due, and
    they must not land in a scenario's CPU."""
    from booking.reminders import intake_reminders_send, reminders_send

    claimed = 0
    while batch := reminders_send() + intake_reminders_send():
        claimed += batch
    started = time.perf_counter()
    statuses = wait_drained(after_id, within=within)
    return {"reminders_claimed": claimed, "mail_jobs": statuses, "seconds": round(time.perf_counter() - started, 1)}


# --- worker_mail ---------------------------------------------------------------------------


def run_worker_mail(worker: BenchWorker, n: int = WORKER_MAIL_JOBS, *, within: float = 300.0) -> tuple[Result, dict]:
    """Defer `n` confirmation mails of existing future bookings in one transaction; time the worker draining them."""
    from django.db import connection, transaction
    from django.utils import timezone

    from bench import metering
    from booking import mail
    from booking.models import Booking

    booking_ids = list(
        Booking.objects.filter(status=Booking.Status.CONFIRMED, starts_at__gt=timezone.now())
        .order_by("starts_at", "pk")
        .values_list("pk", flat=True)[:n]
    )
    # Nothing else of this task waiting: the drain timed is these jobs'.
    wait_drained(0, within=within)
    after = last_job_id()
    result = Result(name="worker_mail", concurrency=1)
    with metering.Metered(None, worker.pid) as meter:
        with transaction.atomic():
            for booking_id in booking_ids:
                mail.send_later(mail.CONFIRMED, booking_id)
        committed = datetime.now(UTC)
        result.started_at = time.perf_counter()
        statuses = wait_drained(after, within=within, kind=mail.CONFIRMED)
        result.ended_at = time.perf_counter()
        meter.record(result)
    with connection.cursor() as cursor:
        cursor.execute(
            """SELECT j.id, max(e.at) FILTER (WHERE e.type = 'started'), max(e.at) FILTER (WHERE e.type = 'succeeded')
               FROM procrastinate_jobs j JOIN procrastinate_events e ON e.job_id = j.id
               WHERE j.id > %s AND j.task_name = %s AND j.args->>'kind' = %s GROUP BY j.id""",
            [after, MAIL_TASK, mail.CONFIRMED],
        )
        rows = cursor.fetchall()
    job_ids = [row[0] for row in rows]
    finished = [row[2] for row in rows if row[2] is not None]
    result.requests = len(booking_ids)
    # The drain: from the commit that made the jobs visible to the last one's success.
    result.seconds = (max(finished) - committed).total_seconds() if finished else result.ended_at - result.started_at
    result.latencies = [(done - began).total_seconds() for _, began, done in rows if began and done]
    result.statuses.update({status: count for status, count in statuses.items()})
    succeeded = statuses.get("succeeded", 0)
    ledger = ledger_rows(job_ids)
    result.errors = (len(booking_ids) - succeeded) + (len(booking_ids) - ledger)
    check = {
        "jobs_deferred": len(booking_ids),
        "jobs_by_status": statuses,
        "succeeded": succeeded,
        "ledger_rows": ledger,
        "all_succeeded_and_ledgered": int(succeeded == len(booking_ids) == ledger),
    }
    return result, check


def mail_job_sender(count: int):
    """worker_mail's job in-process: the body of `booking.mail.send_mail` (a confirmation, built in full by
    the locmem backend, its ledger row committed) for existing future bookings; `cleanup()` deletes the
    ledger rows. procrastinate's own statements (fetching and finishing the job) are not in it."""
    import uuid

    from django.test.utils import override_settings
    from django.utils import timezone

    from booking import mail
    from booking.models import Booking
    from clinic.models import SentMail

    ids = list(
        Booking.objects.filter(status=Booking.Status.CONFIRMED, starts_at__gt=timezone.now())
        .order_by("starts_at", "pk")
        .values_list("pk", flat=True)[:count]
    )
    prefix = f"bench-profile-{uuid.uuid4().hex[:8]}"
    locmem = override_settings(EMAIL_BACKEND="django.core.mail.backends.locmem.EmailBackend")

    def send(n):
        with locmem:
            mail.MAILS[mail.CONFIRMED](ids[n], key=f"{prefix}:{n}")

    send.cleanup = lambda: SentMail.objects.filter(key__startswith=prefix).delete()
    return send
