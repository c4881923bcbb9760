"""Drive the running service and print the table: `python -m bench.run`.

Starts gunicorn against the bench database (built by `python -m bench.build`)
with production settings (DEBUG off, pooled connections) and the throttles
raised out of the way, waits for /healthz/, warms the workers up, then runs
each scenario over HTTP from concurrent worker threads, bounded by a request
count and a time. For each: requests, req/s, p50/p95/p99 latency, errors,
SQL queries per request (one request of each, in-process with Django's test
client and CaptureQueriesContext against the same database) and the server's
peak RSS (master + workers, from /proc); every figure also as a ratio to
/healthz/ measured in the same run. Shift generation is the build's timing of
the real `shifts_generate` (bench/results/build.json), timed again here
in-process over the next 92 days, inside a transaction that is rolled back.

What is sent is bench/scenarios.py, what is measured besides latency
bench/metering.py, the table and the files bench/report.py; the server is
config/testing/servers.py's, the one the fault tests start too.

Results: the table on stdout and in bench/results/table.md, the details in
bench/results/run.json, the server's log in bench/results/gunicorn.log.
Bookings the run makes are deleted at the end, so it can be run again
without rebuilding.
"""

import argparse
import json
import logging
import os
import sys
import time
from datetime import UTC, datetime

from bench import metering, report, scenarios
from bench import worker as bench_worker
from bench.env import PROJECT_DIR, ensure_results_dir, server_env, setup_django
from bench.load import Result, drive
from config.testing.servers import Gunicorn


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    # As the image runs it (Dockerfile, docker-compose.yml): gthread, 2 workers of 4 threads.
    parser.add_argument("--workers", type=int, default=2, help="gunicorn workers (default 2, as the image)")
    parser.add_argument(
        "--threads", type=int, default=4, help="threads per worker; >1 uses gthread (default 4, as the image)"
    )
    parser.add_argument(
        "--mail-jobs", type=int, default=bench_worker.WORKER_MAIL_JOBS, help="worker_mail's jobs (default 2,000)"
    )
    parser.add_argument(
        "--read-concurrency",
        type=int,
        default=2,
        help="clients for the latency (read) scenarios; default 2, one per core",
    )
    parser.add_argument("--seconds", type=float, default=10.0, help="time bound of each load scenario")
    parser.add_argument("--only", default="", help="comma-separated scenarios to run (default all)")
    return parser.parse_args(argv)


def bench_server(args, results_dir: str) -> Gunicorn:
    """gunicorn as production runs it (an access log line per request, as the Dockerfile's does)."""
    return Gunicorn(
        {**os.environ, **server_env()},
        workers=args.workers,
        threads=args.threads,
        args=["--access-logfile", os.path.join(results_dir, "access.log")],
        log_path=os.path.join(results_dir, "gunicorn.log"),
    )


def start(server: Gunicorn, *, within: float = 60.0) -> None:
    """Start it and wait for /healthz/ to say 200 (the database answers), or exit."""
    deadline = time.monotonic() + within
    try:
        server.start(within=within)
    except RuntimeError as exc:
        raise SystemExit(str(exc)) from exc
    while server.healthz() != 200:
        if time.monotonic() > deadline:
            server.stop()
            raise SystemExit(f"/healthz/ did not answer 200 within {within:.0f} s; see {server.log_path}")
        time.sleep(0.25)


def run_load(
    server: Gunicorn, worker: bench_worker.BenchWorker, fx: scenarios.Fixtures, args, wanted
) -> tuple[dict[str, Result], dict]:
    """Warm up, then each wanted HTTP scenario (healthz always: the baseline), metered; then contention and
    worker_mail. The worker runs throughout: the mail jobs bookings defer are sent meanwhile, as in production."""
    results: dict[str, Result] = {}
    checks: dict = {}
    scenarios.warm_up(server.port, fx)
    plan = scenarios.load_plan(server.port, fx, read_concurrency=args.read_concurrency, seconds=args.seconds)
    for load in plan:
        if not wanted(load.scenario) and load.scenario != "healthz":
            continue
        before = bench_worker.last_job_id()
        with metering.Metered(server.process.pid, worker.pid) as meter:
            result = drive(
                load.name,
                clients=load.clients,
                next_request=load.next_request,
                ok_statuses=load.ok_statuses,
                max_requests=load.max_requests,
                max_seconds=load.max_seconds,
            )
            meter.record(result)
        for client in load.clients:
            client.close()
        results[load.name] = result
        summary = result.summary()
        print(
            f"  {load.name:<20} {result.requests:6d} requests in {result.seconds:5.1f} s, "
            f"{result.rps:7.1f}/s, p50 {result.p(50):6.1f} ms, p95 {result.p(95):6.1f} ms, "
            f"errors {result.errors}; CPU ms/req app {summary['app_cpu_ms']}, "
            f"db {summary['db_cpu_ms']}, worker {summary['worker_cpu_ms']}+{summary['worker_db_cpu_ms']}, "
            f"driver {summary['client_cpu_ms']}",
            flush=True,
        )
        if load.scenario == "booking_create":
            checks["booking_create"] = booking_mails(before, result)

    if wanted("contention"):
        with metering.Metered(server.process.pid, worker.pid) as meter:
            result, checks["contention"] = scenarios.run_contention(server.port, fx)
            meter.record(result)
        results["contention"] = result
        c = checks["contention"]
        print(
            f"  {'contention':<20} {result.requests:6d} requests in {result.seconds:5.1f} s: "
            f"{c['created_201']} × 201, {c['refused_409']} × 409 {c['refusal_codes']}, {c['server_errors']} × 5xx; "
            f"in the database {c['bookings_in_db']} new bookings, overlaps: therapist {c['therapist_overlaps']}, "
            f"room {c['room_overlaps']}, client {c['client_overlaps']}, outside a shift {c['outside_shift']}; "
            f"refused though still offered after: {c['refused_but_free']}",
            flush=True,
        )

    if wanted("worker_mail"):
        result, checks["worker_mail"] = bench_worker.run_worker_mail(worker, args.mail_jobs)
        results["worker_mail"] = result
        c, summary = checks["worker_mail"], result.summary()
        print(
            f"  {'worker_mail':<20} {c['jobs_deferred']:6d} jobs in {result.seconds:5.1f} s, {result.rps:7.1f}/s, "
            f"run p50 {result.p(50):6.1f} ms, p95 {result.p(95):6.1f} ms; {c['jobs_by_status']}, "
            f"ledger rows {c['ledger_rows']}; CPU ms/job worker {summary['worker_cpu_ms']}, "
            f"db {summary['worker_db_cpu_ms']}",
            flush=True,
        )
    return results, checks


def booking_mails(before: int, result: Result) -> dict:
    """The confirmation jobs booking_create deferred: drained by the worker after the load, each succeeded?"""
    started = time.perf_counter()
    statuses = bench_worker.wait_drained(before, within=120, kind="booking_confirmed")
    check = {
        "mail_jobs": sum(statuses.values()),
        "mail_jobs_by_status": statuses,
        "mail_drained_after_s": round(time.perf_counter() - started, 1),
        "mail_all_succeeded": int(statuses.get("succeeded", 0) == result.statuses.get(201, 0)),
    }
    print(
        f"  {'':<20} its {check['mail_jobs']} confirmation jobs: {statuses}, "
        f"drained {check['mail_drained_after_s']} s after the load",
        flush=True,
    )
    return check


def built_shift_generation(results_dir: str) -> dict | None:
    """The build's timing of shifts_generate (40 therapists × 92 days, one call), if build.json is there."""
    path = os.path.join(results_dir, "build.json")
    if not os.path.exists(path):
        print(f"  (no {path}: shift generation is reported from the rerun only)", flush=True)
        return None
    with open(path) as fh:
        return dict(json.load(fh)["shift_generation"])


def main(argv=None) -> int:
    args = parse_args(argv)
    only = set(filter(None, args.only.split(",")))

    def wanted(name: str) -> bool:
        return not only or name in only

    setup_django()
    logging.getLogger("django.request").setLevel(logging.ERROR)  # the in-process 409 is expected
    results_dir = ensure_results_dir()
    started = time.perf_counter()
    info = metering.machine()
    scenarios.vacuum()
    fx = scenarios.Fixtures()
    print(
        f"bench.run: {fx.planned} bookings planned for the load clients (weeks 3+), "
        f"{len(fx.contention)} contention attempts on {fx.contention_offers} offered starts of {fx.contention_day}",
        flush=True,
    )

    # The scenarios over HTTP, the server's memory sampled throughout, the worker beside it.
    first_job, run_started = bench_worker.last_job_id(), datetime.now(UTC)
    server = bench_server(args, results_dir)
    worker = bench_worker.BenchWorker(os.path.join(results_dir, "worker.log"))
    print(f"bench.run: {' '.join(server.command[2:])}  (load average {info['loadavg_at_start']})", flush=True)
    print(f"bench.run: {' '.join(worker.command[1:])} beside it, mail to Django's locmem backend", flush=True)
    start(server)
    sampler = metering.RssSampler(server.process.pid).start()
    try:
        worker.start()
        settled = bench_worker.settle(first_job)
        print(
            f"bench.run: the worker sent what was due first ({settled['reminders_claimed']} reminders claimed; "
            f"mail jobs {settled['mail_jobs']}, {settled['seconds']} s)",
            flush=True,
        )
        results, checks = run_load(server, worker, fx, args, wanted)
    finally:
        sampler.stop()
        server.stop()
        worker.stop()

    # In-process: one request of each for its SQL, shift generation again; then the run's bookings go.
    print("  measuring SQL per request and shift generation in-process ...", flush=True)
    queries = {name: metering.count_queries(*request) for name, request in scenarios.one_request_of_each(fx).items()}
    queries["worker_mail"] = metering.count_job_queries()
    shift_generation = None
    if wanted("shift_generation"):
        rerun = scenarios.shift_generation(fx, repeats=3)
        shift_generation = {**(built_shift_generation(results_dir) or rerun), "rerun": rerun}
    removed = fx.remove_load_bookings()
    jobs_removed, ledger_removed = bench_worker.remove_run_jobs(first_job, run_started)
    scenarios.vacuum()

    rows, base = report.rows_of(
        results, checks, queries, sampler.peak_mib, shift_generation, contention_clients=scenarios.CONTENTION_ATTEMPTS
    )
    server_args = [os.path.relpath(a, PROJECT_DIR) if a.startswith("/") else a for a in server.command[3:]]
    all_pass = report.write(
        results_dir, info=info, server_args=server_args, rows=rows, base=base, checks=checks, queries=queries
    )
    print(
        f"bench.run: {'all targets PASS' if all_pass else 'some targets MISS'}; "
        f"{time.perf_counter() - started:.0f} s; removed {removed} rows of this run's bookings, "
        f"{jobs_removed} jobs and {ledger_removed} ledger rows."
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
