"""Drive the running service and print the table: `python -m bench.run`.

Starts gunicorn against the bench database (built by `python -m bench.build`)
with production settings (DEBUG off, pooled connections) and the throttles
raised out of the way, waits for /healthz/, warms the workers up, then runs
each scenario over HTTP from concurrent worker threads, bounded by a request
count and a time. For each: requests, req/s, p50/p95/p99 latency, errors,
SQL queries per request (one request of each, in-process with Django's test
client and CaptureQueriesContext against the same database) and the server's
peak RSS (master + workers, from /proc); every figure also as a ratio to
/healthz/ measured in the same run. Slot generation is timed in-process on
the real `slots_generate`, inside a transaction that is rolled back.

Results: the table on stdout and in bench/results/table.md, the details in
bench/results/run.json, the server's log in bench/results/gunicorn.log.
Bookings the run makes are deleted at the end, so it can be run again
without rebuilding.
"""

import argparse
import json
import logging
import os
import platform
import signal
import socket
import statistics
import subprocess
import sys
import threading
import time
from collections import defaultdict
from datetime import date, datetime, timedelta

from bench.env import PROJECT_DIR, ensure_results_dir, server_env, setup_django
from bench.load import Client, CpuMeter, Result, RssSampler, drive, process_tree

BOOKING_ANSWERS = {"pressure_preference": "medium", "primary_goal": "relaxation", "consent": True}
ASSESS_ANSWERS = {
    "pressure_preference": "firm",
    "primary_goal": "pain_relief",
    "conditions": ["chronic_pain", "muscle_tension"],
    "health_screening": ["high_blood_pressure"],
    "focus_areas": ["neck", "shoulders"],
    "consent": True,
}
LOAD_CLIENTS = 60  # 8 booking + 50 contention + 1 warm-up + 1 in-process
BOOKING_CONCURRENCY = 8
CONTENTION_CLIENTS = 50
CONTENTION_SLOTS = 20


# --- Targets -----------------------------------------------------------------------


def _le(value, bound):
    return value <= bound


def _ge(value, bound):
    return value >= bound


TARGETS = {
    # scenario: [(label, metric, comparison, bound)]
    "availability_week": [("p50 ≤ 40 ms", "p50_ms", _le, 40), ("≤ 5 queries", "queries", _le, 5)],
    "availability_day": [("p50 ≤ 10 ms", "p50_ms", _le, 10)],
    "booking_create": [
        ("≥ 150 bookings/s", "rps", _ge, 150),
        ("p95 ≤ 100 ms", "p95_ms", _le, 100),
        ("0 errors", "errors", _le, 0),
    ],
    "contention": [("1 booking per slot", "one_per_slot", _ge, 1), ("0 server errors", "server_errors", _le, 0)],
    "day_sheet": [("p50 ≤ 15 ms", "p50_ms", _le, 15), ("≤ 4 queries", "queries", _le, 4)],
    "slot_generation": [("≤ 5 s", "seconds", _le, 5)],
    "intake_assess": [("≥ 1000 req/s", "rps", _ge, 1000)],
}


# --- The server ----------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    """gunicorn on 127.0.0.1:<free port>, started and stopped by this process only."""

    def __init__(self, *, workers: int, threads: int, log_path: str):
        self.port = free_port()
        self.workers = workers
        self.threads = threads
        self.log_path = log_path
        self.proc: subprocess.Popen | None = None

    @property
    def command(self) -> list[str]:
        cmd = [
            sys.executable,
            "-m",
            "gunicorn",
            "config.wsgi",
            "-w",
            str(self.workers),
            "-b",
            f"127.0.0.1:{self.port}",
            # As production (Dockerfile) runs it: an access log line per request.
            "--access-logfile",
            os.path.join(os.path.dirname(self.log_path), "access.log"),
        ]
        if self.threads > 1:
            cmd += ["-k", "gthread", "--threads", str(self.threads)]
        return cmd

    def start(self) -> None:
        env = {**os.environ, **server_env()}
        self.log = open(self.log_path, "w")
        self.proc = subprocess.Popen(self.command, cwd=PROJECT_DIR, env=env, stdout=self.log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 60
        client = Client(self.port, timeout=5)
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise SystemExit(f"gunicorn exited ({self.proc.returncode}); see {self.log_path}")
            status, _, _ = client.request("GET", "/healthz/")
            if status == 200:
                client.close()
                return
            time.sleep(0.25)
        self.stop()
        raise SystemExit(f"gunicorn did not answer /healthz/ within 60 s; see {self.log_path}")

    def stop(self) -> None:
        if self.proc is None or self.proc.poll() is not None:
            return
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self.log.close()


# --- Fixtures: who asks for what ---------------------------------------------------------


def next_monday(day: date) -> date:
    return day + timedelta(days=(7 - day.weekday()) % 7 or 7)


class Fixtures:
    """Tokens, dates and slots each scenario uses, disjoint so scenarios don't disturb each other:
    week 1 for reads and the day sheet, week 2 for contention, weeks 3+ for bookings."""

    def __init__(self):
        from django.contrib.auth.hashers import make_password
        from knox.models import AuthToken

        from booking.availability import BookingWindow
        from clinic.models import Role, Therapist, User
        from clinic.selectors import clinic_get

        self.clinic = clinic_get()
        tz = self.clinic.tz
        self.today = datetime.now(tz).date()
        self.week1 = next_monday(self.today)
        self.week2 = self.week1 + timedelta(days=7)
        self.booking_from = self.week1 + timedelta(days=14)
        self.window = BookingWindow.of(self.clinic)

        therapists = list(Therapist.objects.filter(active=True).select_related("user").order_by("pk"))
        if len(therapists) < 10:
            raise SystemExit("The bench database looks empty: run `python -m bench.build` first.")
        self.therapist_ids = [t.pk for t in therapists]
        # One token per user, fresh each run: knox reads all of a user's tokens on every request,
        # so tokens piling up over runs would slow authentication down run after run.
        AuthToken.objects.filter(user__in=[t.user for t in therapists]).delete()
        self.therapist_tokens = [AuthToken.objects.create(t.user)[1] for t in therapists]

        emails = [f"load{i:02d}@bench.example" for i in range(LOAD_CLIENTS)]
        existing = set(User.objects.filter(email__in=emails).values_list("email", flat=True))
        password = make_password(None)  # unusable: they log in by token only
        User.objects.bulk_create(
            User(email=e, first_name=f"Load{i:02d}", last_name="Bench", role=Role.CLIENT, password=password)
            for i, e in enumerate(emails)
            if e not in existing
        )
        users = {u.email: u for u in User.objects.filter(email__in=emails)}
        self.load_users = [users[e] for e in emails]
        self.remove_load_bookings()
        AuthToken.objects.filter(user__in=self.load_users).delete()
        self.load_tokens = [AuthToken.objects.create(u)[1] for u in self.load_users]
        self.booking_tokens = self.load_tokens[:BOOKING_CONCURRENCY]
        self.contention_tokens = self.load_tokens[BOOKING_CONCURRENCY : BOOKING_CONCURRENCY + CONTENTION_CLIENTS]
        self.warmup_token = self.load_tokens[-2]
        self.inprocess_user = self.load_users[-1]
        self.inprocess_token = self.load_tokens[-1]

        self._pick_slots()

    def local_midnight(self, day: date) -> datetime:
        return datetime.combine(day, datetime.min.time(), tzinfo=self.clinic.tz)

    def _open_slots_by_start(self, start: datetime, end: datetime) -> list[list[int]]:
        from booking.availability import active_booking_exists
        from booking.models import Slot

        rows = (
            Slot.objects.filter(
                status=Slot.Status.OPEN, starts_at__gte=start, starts_at__lt=end, therapist__active=True
            )
            .filter(~active_booking_exists())
            .order_by("starts_at", "therapist_id")
            .values_list("starts_at", "pk")
        )
        groups = defaultdict(list)
        for starts_at, pk in rows:
            groups[starts_at].append(pk)
        return [groups[k] for k in sorted(groups)]

    def _pick_slots(self) -> None:
        # Contention: one open slot at each of 20 distinct times in week 2, so a
        # winner of one round is never refused another for overlapping itself.
        groups = self._open_slots_by_start(self.local_midnight(self.week2), self.local_midnight(self.booking_from))
        if len(groups) < CONTENTION_SLOTS:
            raise SystemExit("Not enough open slots in week 2: rebuild with `python -m bench.build`.")
        self.contention_slots = [g[0] for g in groups[:CONTENTION_SLOTS]]

        # Bookings: each of the 8 clients books at most one slot per start time.
        groups = self._open_slots_by_start(self.local_midnight(self.booking_from), self.window.latest)
        reserve = groups[-2:]  # the last two times: warm-up and the in-process request
        groups = groups[:-2]
        self.warmup_slots = reserve[0][:BOOKING_CONCURRENCY]
        self.inprocess_slot = reserve[1][0]
        self.booking_slots = [[] for _ in range(BOOKING_CONCURRENCY)]
        for group in groups:
            for worker, slot in zip(range(BOOKING_CONCURRENCY), group, strict=False):
                self.booking_slots[worker].append(slot)

    def remove_load_bookings(self) -> int:
        """Delete the bookings (and their intakes, unless an audit row keeps one) of the load clients."""
        from booking.models import Booking
        from intake.models import Intake, IntakeAccess

        users = [u.pk for u in self.load_users]
        intake_ids = list(Booking.objects.filter(client_id__in=users).values_list("intake_id", flat=True))
        deleted, _ = Booking.objects.filter(client_id__in=users).delete()
        audited = set(IntakeAccess.objects.filter(intake_id__in=intake_ids).values_list("intake_id", flat=True))
        Intake.objects.filter(pk__in=[i for i in intake_ids if i not in audited]).delete()
        return deleted


# --- Scenarios ---------------------------------------------------------------------


def rotate(items, worker: int, n: int, stride: int = 1):
    return items[(worker * stride + n) % len(items)]


def availability_week_path(fx: Fixtures) -> str:
    return f"/api/v1/availability/?from={fx.week1}&to={fx.week1 + timedelta(days=6)}&page_size=500"


def scenario_requests(fx: Fixtures):
    """(name, token per worker or None, next_request, ok statuses) of each plain load scenario."""
    week1_days = [fx.week1 + timedelta(days=i) for i in range(5)]
    two_weeks = week1_days + [fx.week2 + timedelta(days=i) for i in range(5)]
    week_path = availability_week_path(fx)

    def healthz(worker, n):
        return "GET", "/healthz/", None

    def availability_week(worker, n):
        return "GET", week_path, None

    def availability_day(worker, n):
        therapist = rotate(fx.therapist_ids, worker, n, 7)
        day = rotate(two_weeks, worker, n // len(fx.therapist_ids), 3)
        return "GET", f"/api/v1/availability/?from={day}&to={day}&therapist={therapist}", None

    def day_sheet(worker, n):
        # The worker's therapist token is picked per request: see day_sheet_clients.
        day = rotate(week1_days, worker, n)
        return "GET", f"/api/v1/therapists/me/day/?date={day}", None

    def assess(worker, n):
        return "POST", "/api/v1/intake/assess/", ASSESS_ANSWERS

    def booking(worker, n):
        slots = fx.booking_slots[worker]
        if n >= len(slots):
            return None
        return "POST", "/api/v1/bookings/", {"slot": slots[n], "intake": {"answers": BOOKING_ANSWERS}}

    return {
        "healthz": healthz,
        "availability_week": availability_week,
        "availability_day": availability_day,
        "day_sheet": day_sheet,
        "intake_assess": assess,
        "booking_create": booking,
    }


def run_contention(port: int, fx: Fixtures) -> tuple[Result, dict]:
    """50 clients at once on one slot, 20 times: exactly one 201 each time, the rest 409."""
    clients = [Client(port, token) for token in fx.contention_tokens]
    result = Result(name="contention", concurrency=len(clients))
    barrier = threading.Barrier(len(clients))
    per_round = [defaultdict(int) for _ in fx.contention_slots]
    lock = threading.Lock()

    def work(i: int) -> None:
        for r, slot in enumerate(fx.contention_slots):
            barrier.wait()
            body = {"slot": slot, "intake": {"answers": BOOKING_ANSWERS}}
            status, seconds, payload = clients[i].request("POST", "/api/v1/bookings/", body)
            with lock:
                result.latencies.append(seconds)
                result.statuses[status] += 1
                per_round[r][status] += 1
                if status not in (201, 409):
                    result.errors += 1
                    if len(result.error_samples) < 5:
                        result.error_samples.append(f"{status}: {payload[:300]!r}")

    threads = [threading.Thread(target=work, args=(i,), daemon=True) for i in range(len(clients))]
    result.started_at = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    result.ended_at = time.perf_counter()
    result.seconds = result.ended_at - result.started_at
    result.requests = len(result.latencies)
    for c in clients:
        c.close()

    from django.db.models import Count

    from booking.models import Booking

    confirmed = dict(
        Booking.objects.filter(slot_id__in=fx.contention_slots, status=Booking.Status.CONFIRMED)
        .values_list("slot_id")
        .annotate(n=Count("id"))
        .values_list("slot_id", "n")
    )
    rounds = [
        {
            "slot": slot,
            "created_201": per_round[r].get(201, 0),
            "refused_409": per_round[r].get(409, 0),
            "confirmed_in_db": confirmed.get(slot, 0),
        }
        for r, slot in enumerate(fx.contention_slots)
    ]
    check = {
        "rounds": rounds,
        "one_per_slot": int(all(r["confirmed_in_db"] == 1 and r["created_201"] == 1 for r in rounds)),
        "server_errors": sum(n for status, n in result.statuses.items() if status >= 500 or status == 0),
    }
    return result, check


def db_backend_pids() -> list[int]:
    """PostgreSQL backends connected to the bench database, but this process's own."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()"
        )
        return [row[0] for row in cursor.fetchall()]


class Metered:
    """CPU of the server, the database and this driver while a scenario runs."""

    def __init__(self, server_pid: int):
        self.app = CpuMeter(lambda: process_tree(server_pid))
        self.db = CpuMeter(db_backend_pids)

    def __enter__(self):
        self.app.start()
        self.db.start()
        self.client = time.process_time()
        return self

    def record(self, result: Result) -> None:
        result.app_cpu_s = self.app.seconds()
        result.db_cpu_s = self.db.seconds()
        result.client_cpu_s = time.process_time() - self.client

    def __exit__(self, *exc):
        return False


VACUUMED_TABLES = (
    "booking_slot",
    "booking_booking",
    "intake_intake",
    "intake_intakeaccess",
    "clinic_user",
    "knox_authtoken",
    "booking_idempotencyrecord",
)


def vacuum() -> None:
    """VACUUM ANALYZE the tables a run writes: each run starts from the same state.

    Without it, the dead rows a previous run left (its deleted bookings, the
    rolled-back slot generations) sit at the ends of the indexes, and the
    planner walks them to estimate join ranges: planning a 6-table booking
    query went from 1.4 ms to 8 ms with 187,000 dead slot rows.
    """
    from django.db import connection

    with connection.cursor() as cursor:
        for table in VACUUMED_TABLES:
            cursor.execute(f'VACUUM ANALYZE "{table}"')


# --- In-process measurements ------------------------------------------------------------


def count_queries(method: str, path: str, *, body=None, token: str | None = None) -> dict:
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
    control = ("BEGIN", "COMMIT", "ROLLBACK", "SAVEPOINT", "RELEASE SAVEPOINT", "ROLLBACK TO SAVEPOINT")
    return {
        "status": response.status_code,
        # As assertNumQueries counts them: transaction control included (each is a round trip).
        "queries": len(sql),
        "transaction_control": sum(1 for q in sql if q.split(' "')[0].strip() in control),
        "sql": sql,
    }


def measure_queries(fx: Fixtures) -> dict:
    therapist_token = fx.therapist_tokens[0]
    return {
        "healthz": count_queries("GET", "/healthz/"),
        "availability_week": count_queries("GET", availability_week_path(fx)),
        "availability_day": count_queries(
            "GET", f"/api/v1/availability/?from={fx.week1}&to={fx.week1}&therapist={fx.therapist_ids[0]}"
        ),
        "day_sheet": count_queries("GET", f"/api/v1/therapists/me/day/?date={fx.week1}", token=therapist_token),
        "intake_assess": count_queries("POST", "/api/v1/intake/assess/", body=ASSESS_ANSWERS),
        "booking_create": count_queries(
            "POST",
            "/api/v1/bookings/",
            token=fx.inprocess_token,
            body={"slot": fx.inprocess_slot, "intake": {"answers": BOOKING_ANSWERS}},
        ),
        # The typical contention answer: a 409 on a slot already taken.
        "contention": count_queries(
            "POST",
            "/api/v1/bookings/",
            token=fx.inprocess_token,
            body={"slot": fx.contention_slots[0], "intake": {"answers": BOOKING_ANSWERS}},
        ),
    }


class _Rollback(Exception):
    pass


def measure_slot_generation(fx: Fixtures, repeats: int) -> dict:
    """slots_generate for all therapists over 92 days past the built range, rolled back each time."""
    from django.db import transaction

    from booking.models import Slot
    from booking.schedule import MAX_GENERATE_DAYS, slots_generate

    last = Slot.objects.order_by("-starts_at").values_list("starts_at", flat=True).first()
    start = last.astimezone(fx.clinic.tz).date() + timedelta(days=1)
    end = start + timedelta(days=MAX_GENERATE_DAYS - 1)
    times, created = [], 0
    for _ in range(repeats):
        try:
            with transaction.atomic():
                began = time.perf_counter()
                created = slots_generate(start=start, end=end).created
                times.append(time.perf_counter() - began)
                raise _Rollback
        except _Rollback:
            pass
    return {
        "from": start.isoformat(),
        "to": end.isoformat(),
        "therapists": len(fx.therapist_ids),
        "created": created,
        "runs_s": [round(t, 3) for t in times],
        "seconds": round(statistics.median(times), 3),
    }


# --- The report --------------------------------------------------------------------------


def _ratio(value, base) -> str:
    if not base or value != value or base != base:  # zero or NaN
        return ""
    return f" (×{value / base:.1f})"


def idle_bounds(row: dict, cores: int) -> tuple[float, float]:
    """What the CPU each request costs allows on `cores` idle cores: the latency floor (the request's
    own app + database CPU) and the throughput ceiling (cores / all CPU per request, the driver's too)."""
    floor = row.get("app_cpu_ms", 0) + row.get("db_cpu_ms", 0)
    total = floor + row.get("client_cpu_ms", 0)
    return floor, (cores * 1000 / total if total else float("inf"))


def verdicts(name: str, row: dict, cores: int = 2) -> tuple[str, str, bool]:
    """(targets, verdict, all met). A miss that the CPU cost alone explains is marked: it would miss
    on an idle machine too, so it is the code's, not the busy machine's."""
    targets = TARGETS.get(name, [])
    if not targets:
        return "—", "", True
    floor, ceiling = idle_bounds(row, cores)
    labels, ok_all, misses = [], True, []
    for label, metric, compare, bound in targets:
        ok = compare(row[metric], bound)
        ok_all &= ok
        labels.append(label)
        if ok:
            continue
        if metric.startswith("p") and metric.endswith("_ms") and floor > bound:
            label += f" (CPU alone {floor:.0f} ms: misses when idle too)"
        elif metric == "rps" and ceiling < bound:
            label += f" (CPU allows ≤ {ceiling:.0f}/s on {cores} idle cores)"
        misses.append(label)
    return "; ".join(labels), "PASS" if ok_all else "MISS: " + "; ".join(misses), ok_all


def render_table(rows: dict, base: dict, cores: int = 2) -> str:
    header = (
        "| scenario | conc | requests | req/s | p50 ms | p95 ms | p99 ms | errors | SQL q/req "
        "| peak RSS MiB | CPU ms/req app+db | target | result |"
    )
    lines = [header, "|" + "---|" * 13]
    order = [
        "healthz",
        "availability_week",
        "availability_day",
        "booking_create",
        "contention",
        "day_sheet",
        "slot_generation",
        "intake_assess",
    ]
    for name in order:
        row = rows.get(name)
        if row is None:
            continue
        target, verdict, _ = verdicts(name, row, cores)
        if name == "slot_generation":
            lines.append(
                f"| slot_generation (40 therapists × 92 days, {row['created']} slots; runs "
                f"{', '.join(f'{t:.2f}' for t in row['runs_s'])} s) | 1 | 1 | — | {row['seconds'] * 1000:.0f} "
                f"| — | — | 0 | — | — | — | {target} | {verdict} |"
            )
            continue
        b = base.get(row["concurrency"], base.get(min(base)) if base else None) or {}
        hz = name == "healthz"
        lines.append(
            "| {name} | {c} | {n} | {rps:.0f}{rr} | {p50:.1f}{r50} | {p95:.1f}{r95} | {p99:.1f}{r99} | {err} "
            "| {q}{rq} | {rss:.0f}{rrss} | {app:.1f}+{db:.1f} | {target} | {verdict} |".format(
                app=row["app_cpu_ms"],
                db=row["db_cpu_ms"],
                name=name,
                c=row["concurrency"],
                n=row["requests"],
                rps=row["rps"],
                rr="" if hz else _ratio(row["rps"], b.get("rps")),
                p50=row["p50_ms"],
                r50="" if hz else _ratio(row["p50_ms"], b.get("p50_ms")),
                p95=row["p95_ms"],
                r95="" if hz else _ratio(row["p95_ms"], b.get("p95_ms")),
                p99=row["p99_ms"],
                r99="" if hz else _ratio(row["p99_ms"], b.get("p99_ms")),
                err=row["errors"],
                q=f"{row.get('queries', '?')}"
                + (
                    f" ({row['queries'] - row['transaction_control']} + {row['transaction_control']} tx)"
                    if row.get("transaction_control")
                    else ""
                ),
                rq="" if hz else _ratio(row.get("queries", 0), b.get("queries")),
                rss=row["peak_rss_mib"],
                rrss="" if hz else _ratio(row["peak_rss_mib"], b.get("peak_rss_mib")),
                target=target,
                verdict=verdict,
            )
        )
    return "\n".join(lines)


def machine() -> dict:
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


# --- Main ----------------------------------------------------------------------------


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--workers", type=int, default=4, help="gunicorn workers (default 4)")
    parser.add_argument("--threads", type=int, default=1, help="threads per worker; >1 uses gthread")
    parser.add_argument(
        "--read-concurrency",
        type=int,
        default=2,
        help="clients for the latency (read) scenarios; default 2, one per core",
    )
    parser.add_argument("--seconds", type=float, default=10.0, help="time bound of each load scenario")
    parser.add_argument("--only", default="", help="comma-separated scenarios to run (default all)")
    args = parser.parse_args(argv)

    setup_django()
    logging.getLogger("django.request").setLevel(logging.ERROR)  # the in-process 409 is expected
    results_dir = ensure_results_dir()
    started = time.perf_counter()
    info = machine()
    vacuum()
    fx = Fixtures()
    requests = scenario_requests(fx)
    only = set(filter(None, args.only.split(",")))
    wanted = lambda name: not only or name in only  # noqa: E731

    server = Server(workers=args.workers, threads=args.threads, log_path=os.path.join(results_dir, "gunicorn.log"))
    print(f"bench.run: {' '.join(server.command[2:])}  (load average {info['loadavg_at_start']})", flush=True)
    server.start()
    sampler = RssSampler(server.proc.pid).start()
    port = server.port
    results: dict[str, Result] = {}
    checks: dict = {}
    rc = 1
    try:
        # Warm-up: every worker imports, connects and compiles its paths before anything is timed.
        anon = lambda n: [Client(port) for _ in range(n)]  # noqa: E731
        warm = [
            ("GET", "/healthz/", None),
            ("GET", availability_week_path(fx), None),
            ("GET", f"/api/v1/availability/?from={fx.week1}&to={fx.week1}&therapist={fx.therapist_ids[0]}", None),
            ("POST", "/api/v1/intake/assess/", ASSESS_ANSWERS),
        ]
        drive(
            "warm-up",
            clients=anon(8),
            next_request=lambda w, n: warm[n % len(warm)],
            ok_statuses={200},
            max_requests=200,
            max_seconds=20,
        )
        drive(
            "warm-up day sheet",
            clients=[Client(port, t) for t in fx.therapist_tokens[:8]],
            next_request=lambda w, n: ("GET", f"/api/v1/therapists/me/day/?date={fx.week1}", None),
            ok_statuses={200},
            max_requests=40,
            max_seconds=10,
        )
        warm_client = [Client(port, fx.warmup_token)]
        drive(
            "warm-up booking",
            clients=warm_client,
            ok_statuses={201},
            max_requests=len(fx.warmup_slots),
            max_seconds=10,
            next_request=lambda w, n: (
                "POST",
                "/api/v1/bookings/",
                {"slot": fx.warmup_slots[n], "intake": {"answers": BOOKING_ANSWERS}},
            ),
        )

        rc_conc = args.read_concurrency
        plan = [
            # name, clients, max requests, max seconds
            ("healthz", anon(rc_conc), 50_000, args.seconds * 0.5),
            ("healthz@8", anon(8), 50_000, args.seconds * 0.5),
            ("availability_week", anon(rc_conc), 5_000, args.seconds),
            ("availability_day", anon(rc_conc), 20_000, args.seconds),
            ("day_sheet", [None] * rc_conc, 20_000, args.seconds),
            ("intake_assess", anon(8), 50_000, args.seconds),
            ("booking_create", [Client(port, t) for t in fx.booking_tokens], 3_000, args.seconds * 2),
        ]
        for name, clients, max_requests, max_seconds in plan:
            base_name = name.split("@")[0]
            if not wanted(base_name) and base_name != "healthz":
                continue
            next_request = requests[base_name]
            if base_name == "day_sheet":
                # Each worker reads as a different therapist every request.
                per_worker = [[Client(port, t) for t in fx.therapist_tokens[w::rc_conc]] for w in range(rc_conc)]
                clients = [_RoundRobinClient(cs) for cs in per_worker]
            ok = {201} if base_name == "booking_create" else {200}
            with Metered(server.proc.pid) as meter:
                result = drive(
                    name,
                    clients=clients,
                    next_request=next_request,
                    ok_statuses=ok,
                    max_requests=max_requests,
                    max_seconds=max_seconds,
                )
                meter.record(result)
            for c in clients:
                c.close()
            results[name] = result
            print(
                f"  {name:<20} {result.requests:6d} requests in {result.seconds:5.1f} s, "
                f"{result.rps:7.1f}/s, p50 {result.p(50):6.1f} ms, p95 {result.p(95):6.1f} ms, "
                f"errors {result.errors}; CPU ms/req app {result.summary()['app_cpu_ms']}, "
                f"db {result.summary()['db_cpu_ms']}, driver {result.summary()['client_cpu_ms']}",
                flush=True,
            )

        if wanted("contention"):
            with Metered(server.proc.pid) as meter:
                result, checks["contention"] = run_contention(port, fx)
                meter.record(result)
            results["contention"] = result
            print(
                f"  {'contention':<20} {result.requests:6d} requests in {result.seconds:5.1f} s, "
                f"one booking per slot: {bool(checks['contention']['one_per_slot'])}, "
                f"5xx: {checks['contention']['server_errors']}",
                flush=True,
            )
        rc = 0
    finally:
        sampler.stop()
        server.stop()

    print("  measuring SQL per request and slot generation in-process ...", flush=True)
    queries = measure_queries(fx)
    slot_gen = measure_slot_generation(fx, repeats=3) if wanted("slot_generation") else None
    removed = fx.remove_load_bookings()
    vacuum()

    rows, base = {}, {}
    for name, result in results.items():
        row = result.summary()
        row["peak_rss_mib"] = round(sampler.peak_mib(result.started_at, result.ended_at), 1)
        base_name = name.split("@")[0]
        row["queries"] = queries.get(base_name, {}).get("queries", "?")
        row["transaction_control"] = queries.get(base_name, {}).get("transaction_control", 0)
        if base_name == "booking_create":
            row["rps"] = round(result.statuses.get(201, 0) / result.seconds, 1) if result.seconds else 0
        if name in checks:
            row.update({k: v for k, v in checks[name].items() if k != "rounds"})
        if base_name == "healthz":
            base[row["concurrency"]] = row
        if name != "healthz@8":
            rows[base_name] = row
    # Contention (50 clients) is compared with the busiest baseline.
    if "contention" in rows:
        rows["contention"]["concurrency"] = CONTENTION_CLIENTS
        base.setdefault(CONTENTION_CLIENTS, base.get(8, {}))
    if slot_gen:
        rows["slot_generation"] = slot_gen

    cores = int(info["nproc"]) if info["nproc"].isdigit() else 2
    table = render_table(rows, base, cores)
    all_pass = all(verdicts(name, row, cores)[2] for name, row in rows.items())
    header = (
        f"Bench run {datetime.now().isoformat(timespec='seconds')} — gunicorn "
        f"{' '.join(os.path.relpath(a, PROJECT_DIR) if a.startswith('/') else a for a in server.command[3:])}; "
        f"{info['nproc']} cores, PostgreSQL {info['postgresql']}, Python {info['python']}, "
        f"load average at start {info['loadavg_at_start']}"
    )
    notes = (
        "Ratios (×n) are to /healthz/ at the same concurrency in the same run (contention: to healthz at 8). "
        "SQL q/req: one request of each, in-process (booking_create: a 201; contention: a 409), counted as "
        "assertNumQueries counts them, i.e. with transaction control (BEGIN, SAVEPOINT, COMMIT: 'tx'). "
        "booking_create req/s counts 201s only. Peak RSS: gunicorn master + workers. "
        "CPU ms/req: CPU time of gunicorn (master + workers) and of the bench database's PostgreSQL "
        "backends per request, from /proc: unlike latency, not inflated by waiting for a busy core, so "
        "a latency target below it, or a throughput target above cores ÷ (app + db + driver CPU), "
        "misses on an idle machine too (marked so)."
    )
    print()
    print(header)
    print(table)
    print(notes)
    print(
        f"bench.run: {'all targets PASS' if all_pass else 'some targets MISS'}; "
        f"{time.perf_counter() - started:.0f} s; removed {removed} rows of this run's bookings."
    )

    with open(os.path.join(results_dir, "table.md"), "w") as fh:
        fh.write(header + "\n\n" + table + "\n\n" + notes + "\n")
    with open(os.path.join(results_dir, "run.json"), "w") as fh:
        json.dump(
            {
                "machine": info,
                "server": server.command[3:],
                "rows": rows,
                "baselines": base,
                "contention_rounds": checks.get("contention", {}).get("rounds"),
                "queries": queries,
            },
            fh,
            indent=2,
            default=str,
        )
    return rc


class _RoundRobinClient:
    """Several users' connections behind one worker: each request goes out as the next user."""

    def __init__(self, clients: list[Client]):
        self.clients = clients
        self.n = 0

    def request(self, method, path, body=None):
        client = self.clients[self.n % len(self.clients)]
        self.n += 1
        return client.request(method, path, body)

    def close(self):
        for c in self.clients:
            c.close()


if __name__ == "__main__":
    sys.exit(main())
