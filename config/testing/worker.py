"""The real worker (`manage.py procrastinate worker`) in its own process, against the test database.

For tests on committed data (`django_db(transaction=True)`): the worker
has its own connections, as in production, and sees only what committed.
`app_env` is the environment of any app process pointed at the live test
database (the worker here, gunicorn in config/testing/servers.py).

    with Worker(app_env(EMAIL_URL=server.url, EMAIL_TIMEOUT="2")) as worker:
        wait_for_jobs(lambda rows: all(row.status == "succeeded" for row in rows))

`jobs()` reads the queue's rows; `terminate_backends()` ends every other
connection to the test database and `database_outage()` also refuses new
ones for a while: the stand-ins for a database restart, which the shared
PostgreSQL cannot take (see booking/tests/test_worker.py).
"""

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import psycopg
import psycopg.sql
from django.db import connection

from config.embedded_db import database_url
from config.testing.servers import PROJECT_DIR

# What makes the queue quick to follow in a test: a scheduled retry is found within half a second.
FAST_POLLING = ("--fetch-job-polling-interval", "0.5", "--abort-job-polling-interval", "1")


def app_env(**overrides: str) -> dict[str, str]:
    """The environment of an app process (worker, gunicorn) on the live test database; `overrides` win."""
    inherited = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("DJANGO_", "EMAIL_", "TASK_RETRY_", "PROCRASTINATE_", "THROTTLE_"))
        and key not in {"DATABASE_URL", "DATABASE_OWNER_URL", "CACHE_URL", "DEBUG"}
    }
    return {
        **inherited,
        "DJANGO_SETTINGS_MODULE": "config.settings",
        "DATABASE_URL": database_url(connection.settings_dict),
        "SECRET_KEY": "worker-tests-only-" + "x" * 40,
        "DEBUG": "false",
        "ALLOWED_HOSTS": "127.0.0.1",
        "SECURE_SSL_REDIRECT": "false",
        "DEFAULT_FROM_EMAIL": "clinic@example.com",
        "THROTTLE_AUTH": "1000/min",
        "THROTTLE_ANON": "1000/min",
        "THROTTLE_USER": "1000/min",
        "LOG_LEVEL": "INFO",
        **overrides,
    }


@dataclass(frozen=True)
class JobRow:
    id: int
    task_name: str
    status: str
    attempts: int
    args: dict
    worker_id: int | None


def jobs(task_name: str | None = "booking.send_mail") -> list[JobRow]:
    """The queue's jobs (of `task_name`; None: all), oldest first."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT id, task_name, status, attempts, args, worker_id FROM procrastinate_jobs "
            "WHERE %s::text IS NULL OR task_name = %s ORDER BY id",
            [task_name, task_name],
        )
        rows = cursor.fetchall()
    # Django's connection hands jsonb over as text (its JSONField decodes it); decoded here.
    return [
        JobRow(id_, name, status, tries, json.loads(args), worker) for id_, name, status, tries, args, worker in rows
    ]


def job_events(job_id: int) -> list[tuple[str, float]]:
    """(type, seconds since the epoch) of a job's events, in order."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT type::text, extract(epoch FROM at)::float FROM procrastinate_events WHERE job_id = %s ORDER BY id",
            [job_id],
        )
        return [(kind, at) for kind, at in cursor.fetchall()]


def wait_for_jobs(
    condition: Callable[[list[JobRow]], bool], *, within: float = 30.0, task_name: str | None = "booking.send_mail"
) -> list[JobRow]:
    """Wait until `condition(jobs(task_name))` holds; the rows then. AssertionError with the rows after `within` s."""
    deadline = time.monotonic() + within
    while True:
        rows = jobs(task_name)
        if condition(rows):
            return rows
        if time.monotonic() > deadline:
            raise AssertionError(f"jobs not as expected within {within:.0f} s: {rows}")
        time.sleep(0.2)


def clear_queue() -> None:
    """Delete every job, event, worker and periodic-defer row (the test database's flush leaves the queue's tables)."""
    with connection.cursor() as cursor:
        cursor.execute(
            "TRUNCATE procrastinate_events, procrastinate_periodic_defers, procrastinate_jobs, procrastinate_workers"
        )


def worker_backends() -> list[int]:
    """The server pids of every other connection to the test database (the worker's, gunicorn's)."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid() "
            "AND backend_type = 'client backend'"
        )
        return [row[0] for row in cursor.fetchall()]


def terminate_backends() -> list[int]:
    """End every other connection to the test database at once, as a restart of the server would; the pids ended.

    Only this database's: other databases on the same server (other test
    runs) are not touched.
    """
    with connection.cursor() as cursor:
        # In the select list, so it runs only on the rows the WHERE clause kept (never another database's).
        cursor.execute(
            "SELECT pid, pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = current_database() "
            "AND pid <> pg_backend_pid() AND backend_type = 'client backend'"
        )
        return [pid for pid, ended in cursor.fetchall() if ended]


@contextmanager
def database_outage() -> Iterator[list[int]]:
    """The test database down for the block, as during a restart: every other connection ended, none let in.

    The server itself keeps running (other databases, other test runs, and
    this test's own connection are untouched): `ALLOW_CONNECTIONS false` on
    the test database, from a connection to the `postgres` database, then
    `terminate_backends()`; on leaving, connections are allowed again.
    Yields the pids ended.
    """
    params = connection.get_connection_params()
    name = psycopg.sql.Identifier(connection.settings_dict["NAME"])
    maintenance = psycopg.connect(
        dbname="postgres",
        host=params.get("host"),
        port=params.get("port"),
        user=params.get("user"),
        password=params.get("password"),
        autocommit=True,
    )
    try:
        maintenance.execute(psycopg.sql.SQL("ALTER DATABASE {} ALLOW_CONNECTIONS false").format(name))
        try:
            yield terminate_backends()
        finally:
            maintenance.execute(psycopg.sql.SQL("ALTER DATABASE {} ALLOW_CONNECTIONS true").format(name))
    finally:
        maintenance.close()


class Worker:
    """`manage.py procrastinate worker` in a process of its own, started and stopped by this test only.

    `env` is its whole environment (`app_env(...)`); `args` are the worker
    command's options (default: all queues, polling fast). Its output goes
    to `log_path`, or nowhere.
    """

    def __init__(
        self, env: Mapping[str, str], *, args: Sequence[str] = FAST_POLLING, log_path: str | Path | None = None
    ):
        self.env = dict(env)
        self.command = [sys.executable, "manage.py", "procrastinate", "worker", *args]
        self.log_path = log_path
        self.process: subprocess.Popen | None = None
        self.worker_id: int | None = None
        self._log = None

    def start(self, *, within: float = 60.0) -> "Worker":
        """Start it and wait until it has registered in the queue's table of workers (it then takes jobs).

        Raises RuntimeError, the process stopped, if it exits or does not register in time.
        """
        before = self._last_worker_id()
        self._log = open(self.log_path, "w") if self.log_path else subprocess.DEVNULL  # closed in _closed()
        self.process = subprocess.Popen(
            self.command, cwd=PROJECT_DIR, env=self.env, stdout=self._log, stderr=subprocess.STDOUT
        )
        deadline = time.monotonic() + within
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                self._closed()
                raise RuntimeError(f"the worker exited ({self.process.returncode}); see {self._where}")
            if (last := self._last_worker_id()) is not None and last != before:
                self.worker_id = last
                return self
            time.sleep(0.2)
        self.stop()
        raise RuntimeError(f"the worker did not register within {within:.0f} s; see {self._where}")

    @staticmethod
    def _last_worker_id() -> int | None:
        with connection.cursor() as cursor:
            cursor.execute("SELECT max(id) FROM procrastinate_workers")
            return cursor.fetchone()[0]

    @property
    def _where(self) -> str:
        return str(self.log_path) if self.log_path else "its output (pass log_path to keep it)"

    @property
    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def kill(self) -> None:
        """SIGKILL: the process ends at once, mid-job if it was in one, without a word to the database."""
        if self.running:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait()
        self._closed()

    def stop(self, *, within: float = 30.0) -> None:
        """SIGTERM (the worker finishes its jobs and unregisters), then SIGKILL after `within` s."""
        if self.running:
            self.process.terminate()
            try:
                self.process.wait(timeout=within)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self._closed()

    def _closed(self) -> None:
        if hasattr(self._log, "close"):
            self._log.close()

    def __enter__(self) -> "Worker":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()
