"""Profile one scenario's request in-process: `python -m bench.profile SCENARIO [-n N]`.

Sends N requests of the scenario through Django's test client against the
bench database (the same middleware, views and SQL as under gunicorn, without
the HTTP server), prints the CPU and wall time per request, then profiles
another N with pyinstrument (`pip install pyinstrument`; a bench-only tool, not a
requirement of the app). Scenarios: availability_week, availability_day,
day_sheet, booking_list, intake_assess, booking_create, booking_refused (a 409 on a
taken start, as contention's), healthz, and worker_mail
(one confirmation mail job's body, in-process). `--cpu ROWS` adds a CPU-only
profile (cProfile on process_time), `--explain` the plans of its SELECTs.
"""

import argparse
import json
import logging
import sys
import time
import warnings
from datetime import timedelta

from bench.env import setup_django


def build_requests(fx, scenario: str):
    from bench.scenarios import (
        ASSESS_ANSWERS,
        BOOKING_ANSWERS,
        availability_day_path,
        availability_week_path,
        booking_body,
        booking_list_path,
        day_sheet_path,
    )

    days = [fx.week1 + timedelta(days=i) for i in range(5)]
    if scenario == "healthz":
        return lambda n: ("GET", "/healthz/", None, None)
    if scenario == "availability_week":
        return lambda n: ("GET", availability_week_path(fx), None, None)
    if scenario == "availability_day":
        return lambda n: (
            "GET",
            availability_day_path(fx, days[n % 5], fx.therapist_ids[n % len(fx.therapist_ids)]),
            None,
            None,
        )
    if scenario == "day_sheet":
        return lambda n: (
            "GET",
            day_sheet_path(days[n % 5]),
            None,
            fx.therapist_tokens[n % len(fx.therapist_tokens)],
        )
    if scenario == "booking_list":
        return lambda n: (
            "GET",
            booking_list_path(fx, days[n // 2 % 5], fx.locations[n % 2].pk),
            None,
            fx.staff_token,
        )
    if scenario == "intake_assess":
        return lambda n: ("POST", "/api/v1/intake/assess/", ASSESS_ANSWERS, None)
    if scenario == "booking_create":
        # The first booking client's plan: its accounts take turns, as under load.
        planned, tokens = fx.booking_plan[0], fx.booking_tokens[0]
        return lambda n: ("POST", "/api/v1/bookings/", booking_body(planned[n]), tokens[n % len(tokens)])
    if scenario == "booking_refused":
        # A 409, as most of contention's: a start an existing booking holds, with its therapist.
        from booking.models import Booking

        taken = list(
            Booking.objects.filter(status=Booking.Status.CONFIRMED, starts_at__date__gte=fx.booking_from)
            .order_by("starts_at", "pk")
            .values("service_id", "starts_at", "therapist_id", "location_id")[:500]
        )
        tokens = fx.booking_tokens[0]
        return lambda n: (
            "POST",
            "/api/v1/bookings/",
            {
                "service": taken[n]["service_id"],
                "starts_at": taken[n]["starts_at"].isoformat(),
                "therapist": taken[n]["therapist_id"],
                "location": taken[n]["location_id"],
                "intake": {"answers": BOOKING_ANSWERS},
            },
            tokens[n % len(tokens)],
        )
    raise SystemExit(f"Unknown scenario {scenario!r}")


def explain(send_one) -> None:
    """The database's side of one request: each SELECT it sent, run again under EXPLAIN ANALYZE.

    Time in PostgreSQL does not show in a Python profile (it is a wait on the
    socket there); this says which statement and which plan node it is.
    """
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as ctx:
        send_one()
    for n, query in enumerate(ctx.captured_queries, 1):
        sql = query["sql"].strip()
        print(f"-- statement {n}: {' '.join(sql.split())[:100]}...")
        if not sql.lstrip().upper().startswith(("SELECT", "WITH")):
            continue
        with connection.cursor() as cursor:
            cursor.execute("EXPLAIN (ANALYZE, BUFFERS) " + sql)
            print("\n".join(row[0] for row in cursor.fetchall()))


def statements(send_one) -> None:
    """How many statements one request sends, as assertNumQueries counts them (transaction control apart)."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from bench.metering import TRANSACTION_CONTROL

    with CaptureQueriesContext(connection) as ctx:
        send_one()
    sql = [q["sql"] for q in ctx.captured_queries]
    tx = sum(1 for q in sql if q.split(' "')[0].strip() in TRANSACTION_CONTROL)
    print(f"-- {len(sql)} statements ({len(sql) - tx} + {tx} tx):")
    for n, q in enumerate(sql, 1):
        print(f"   {n:2d}. {' '.join(q.split())[:110]}")


def cpu_profile(send_one, n: int, rows: int) -> None:
    """Where the app's own CPU goes: cProfile timed by process_time, so a wait on PostgreSQL counts nothing.

    pyinstrument's profile is wall time (the database's share shows as socket
    waits); this one adds up to the "ms CPU per request" figure. cProfile's own
    overhead inflates it ~2×, evenly enough to rank the parts.
    """
    import cProfile
    import pstats

    profiler = cProfile.Profile(time.process_time)
    profiler.enable()
    for i in range(n):
        send_one(i)
    profiler.disable()
    stats = pstats.Stats(profiler)
    total = stats.total_tt
    print(f"-- CPU profile: {total / n * 1000:.2f} ms CPU a request under cProfile, top {rows} by cumulative")
    stats.sort_stats("cumulative").print_stats(rows)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("scenario")
    parser.add_argument("-n", type=int, default=50, help="requests timed, then as many profiled")
    parser.add_argument("--html", help="also write pyinstrument's HTML report here")
    parser.add_argument("--no-profile", action="store_true", help="the timing and the statements only")
    parser.add_argument(
        "--explain", action="store_true", help="also EXPLAIN (ANALYZE, BUFFERS) each SELECT of one request"
    )
    parser.add_argument(
        "--cpu",
        type=int,
        metavar="ROWS",
        default=0,
        help="also profile CPU time only (cProfile on process_time: no wait for PostgreSQL), top ROWS by cumulative",
    )
    args = parser.parse_args(argv)

    setup_django()
    logging.getLogger("django.request").setLevel(logging.ERROR)
    warnings.filterwarnings("ignore", message="No directory at")  # no collectstatic for the bench
    from django.test import Client

    from bench.scenarios import Fixtures, vacuum

    vacuum()
    fx = Fixtures()
    if args.scenario == "worker_mail":
        from bench.worker import mail_job_sender

        send = mail_job_sender(4 * args.n + 4)
        try:
            return measure(send, args)
        finally:
            send.cleanup()
    make = build_requests(fx, args.scenario)
    client = Client()

    def send(n):
        method, path, body, token = make(n)
        headers = {"Authorization": f"Token {token}"} if token else {}
        response = client.generic(
            method, path, json.dumps(body) if body is not None else "", content_type="application/json", headers=headers
        )
        if response.status_code >= 400 and not (args.scenario == "booking_refused" and response.status_code == 409):
            raise SystemExit(f"{method} {path} answered {response.status_code}: {response.content[:300]!r}")

    try:
        return measure(send, args)
    finally:
        fx.remove_load_bookings()


def measure(send, args) -> int:
    """Time `send(n)` (one request or job), list one's statements, then profile as asked."""
    send(0)  # warm-up
    wall, cpu = time.perf_counter(), time.process_time()
    for n in range(1, args.n + 1):
        send(n)
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    print(
        f"{args.scenario}: {wall / args.n * 1000:.2f} ms wall, {cpu / args.n * 1000:.2f} ms CPU per request "
        f"(in-process, {args.n} requests)"
    )
    statements(lambda: send(3 * args.n + 2))
    if args.explain:
        explain(lambda: send(2 * args.n + 1))
    if args.cpu:
        cpu_profile(lambda n: send(2 * args.n + 2 + n), args.n, args.cpu)
    if args.no_profile:
        return 0
    try:
        from pyinstrument import Profiler
    except ImportError:
        print("pyinstrument is not installed: `pip install pyinstrument` for the profile.")
        return 0
    profiler = Profiler(interval=0.0005)
    profiler.start()
    for n in range(args.n + 1, 2 * args.n + 1):
        send(n)
    profiler.stop()
    print(profiler.output_text(unicode=True, color=False, show_all=False))
    if args.html:
        with open(args.html, "w") as fh:
            fh.write(profiler.output_html())
    return 0


if __name__ == "__main__":
    sys.exit(main())
