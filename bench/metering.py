"""What a run measures besides latency: CPU of the server and of the database, the server's memory
(from /proc), the SQL of one request, and the machine it ran on."""

import json
import os
import platform
import subprocess
import threading
import time

from bench.load import Result

# --- Memory and CPU, from /proc --------------------------------------------------------------


def _rss_kib(pid: int) -> int:
    try:
        with open(f"/proc/{pid}/status") as fh:
            for line in fh:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


def _children(pid: int) -> list[int]:
    kids = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as fh:
                stat = fh.read()
        except OSError:
            continue
        # The command may contain spaces and parentheses: fields follow the last ')'.
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        if ppid == pid:
            kids.append(int(entry))
    return kids


class RssSampler:
    """Samples the server's resident memory (master + workers, from /proc) every `interval` s."""

    def __init__(self, master_pid: int, interval: float = 0.1):
        self.master_pid = master_pid
        self.interval = interval
        self.samples: list[tuple[float, int]] = []
        self.workers: list[int] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        refresh = 0.0
        while not self._stop.is_set():
            now = time.perf_counter()
            if now >= refresh:
                self.workers = _children(self.master_pid)
                refresh = now + 1.0
            total = _rss_kib(self.master_pid) + sum(_rss_kib(pid) for pid in self.workers)
            self.samples.append((now, total))
            self._stop.wait(self.interval)

    def start(self) -> "RssSampler":
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self._thread.join()

    def peak_mib(self, start: float, end: float) -> float:
        inside = [kib for t, kib in self.samples if start <= t <= end]
        return max(inside, default=0) / 1024


_TICK = os.sysconf("SC_CLK_TCK")


def _cpu_ticks(pid: int) -> int | None:
    try:
        with open(f"/proc/{pid}/stat") as fh:
            fields = fh.read().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return int(fields[11]) + int(fields[12])  # utime + stime (fields 14 and 15 of stat)


class CpuMeter:
    """CPU seconds spent by a set of processes between two snapshots.

    Less sensitive to a busy machine than wall-clock figures: time spent
    waiting for a core is not counted. `pids()` is asked at each snapshot, so
    processes that appear in between (new database backends) are counted
    from zero.
    """

    def __init__(self, pids):
        self.pids = pids
        self._before: dict[int, int] = {}

    def _snapshot(self) -> dict[int, int]:
        ticks = {}
        for pid in self.pids():
            value = _cpu_ticks(pid)
            if value is not None:
                ticks[pid] = value
        return ticks

    def start(self) -> None:
        self._before = self._snapshot()

    def seconds(self) -> float:
        after = self._snapshot()
        return sum(v - self._before.get(pid, 0) for pid, v in after.items()) / _TICK


def process_tree(pid: int) -> list[int]:
    """`pid` and its direct children (gunicorn's master and workers)."""
    return [pid, *_children(pid)]


# --- One scenario's CPU --------------------------------------------------------------------


def db_backend_pids(application_name: str) -> list[int]:
    """PostgreSQL backends connected to the bench database under `application_name` (bench/env.py)."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid() "
            "AND application_name = %s",
            [application_name],
        )
        return [row[0] for row in cursor.fetchall()]


class Metered:
    """CPU of the server, the worker, their database backends and this driver while a scenario runs."""

    def __init__(self, server_pid: int | None, worker_pid: int | None = None):
        from bench.env import APP_CONNECTIONS, WORKER_CONNECTIONS

        self.app = CpuMeter(lambda: process_tree(server_pid) if server_pid else [])
        self.db = CpuMeter(lambda: db_backend_pids(APP_CONNECTIONS))
        self.worker = CpuMeter(lambda: process_tree(worker_pid) if worker_pid else [])
        self.worker_db = CpuMeter(lambda: db_backend_pids(WORKER_CONNECTIONS))

    def __enter__(self):
        for meter in (self.app, self.db, self.worker, self.worker_db):
            meter.start()
        self.client = time.process_time()
        return self

    def record(self, result: Result) -> None:
        result.app_cpu_s = self.app.seconds()
        result.db_cpu_s = self.db.seconds()
        result.worker_cpu_s = self.worker.seconds()
        result.worker_db_cpu_s = self.worker_db.seconds()
        result.client_cpu_s = time.process_time() - self.client

    def __exit__(self, *exc):
        return False


# --- In-process: one request's SQL, and the machine --------------------------------------------


TRANSACTION_CONTROL = ("BEGIN", "COMMIT", "ROLLBACK", "SAVEPOINT", "RELEASE SAVEPOINT", "ROLLBACK TO SAVEPOINT")


def count_queries(method: str, path: str, body=None, token: str | None = None) -> dict:
    """One request through Django's test client against the bench database: its SQL."""
    from django.db import connection
    from django.test import Client as TestClient
    from django.test.utils import CaptureQueriesContext

    client = TestClient()
    headers = {"Authorization": f"Token {token}"} if token else {}
    data = json.dumps(body) if body is not None else ""
    with CaptureQueriesContext(connection) as ctx:
        response = client.generic(method, path, data, content_type="application/json", headers=headers)
    sql = [q["sql"] for q in ctx.captured_queries]
    return {
        "status": response.status_code,
        # As assertNumQueries counts them: transaction control included (each is a round trip).
        "queries": len(sql),
        "transaction_control": sum(1 for q in sql if q.split(' "')[0].strip() in TRANSACTION_CONTROL),
        "sql": sql,
    }


def count_job_queries() -> dict:
    """One mail job's body in-process (bench.worker.mail_job_sender): its SQL, as count_queries counts it.
    procrastinate's own statements around it (fetching the job, finishing it) are not counted."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from bench.worker import mail_job_sender

    send = mail_job_sender(1)
    try:
        with CaptureQueriesContext(connection) as ctx:
            send(0)
    finally:
        send.cleanup()
    sql = [q["sql"] for q in ctx.captured_queries]
    return {
        "status": 0,
        "queries": len(sql),
        "transaction_control": sum(1 for q in sql if q.split(' "')[0].strip() in TRANSACTION_CONTROL),
        "sql": sql,
    }


def machine() -> dict:
    """The machine and the database server the run measures, for the report's header."""

    def sh(cmd):
        try:
            return subprocess.run(cmd, capture_output=True, text=True, timeout=10).stdout.strip()
        except Exception as exc:  # a missing tool must not fail the bench
            return f"? ({exc})"

    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SHOW server_version")
        pg = cursor.fetchone()[0]
    return {
        "nproc": sh(["nproc"]),
        "free_h": sh(["free", "-h"]),
        "loadavg_at_start": open("/proc/loadavg").read().strip(),
        "postgresql": pg,
        "python": platform.python_version(),
    }
