"""Profile one scenario's request in-process: `python -m bench.profile SCENARIO [-n N]`.

Sends N requests of the scenario through Django's test client against the
bench database (the same middleware, views and SQL as under gunicorn, without
the HTTP server), prints the CPU and wall time per request, then profiles
another N with pyinstrument (`pip install pyinstrument`; a bench-only tool, not a
requirement of the app). Scenarios: availability_week, availability_day,
day_sheet, intake_assess, booking_create, healthz.
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
    from bench.scenarios import ASSESS_ANSWERS, BOOKING_ANSWERS, availability_week_path

    days = [fx.week1 + timedelta(days=i) for i in range(5)]
    if scenario == "healthz":
        return lambda n: ("GET", "/healthz/", None, None)
    if scenario == "availability_week":
        return lambda n: ("GET", availability_week_path(fx), None, None)
    if scenario == "availability_day":
        return lambda n: (
            "GET",
            f"/api/v1/availability/?from={days[n % 5]}&to={days[n % 5]}"
            f"&therapist={fx.therapist_ids[n % len(fx.therapist_ids)]}",
            None,
            None,
        )
    if scenario == "day_sheet":
        return lambda n: (
            "GET",
            f"/api/v1/therapists/me/day/?date={days[n % 5]}",
            None,
            fx.therapist_tokens[n % len(fx.therapist_tokens)],
        )
    if scenario == "intake_assess":
        return lambda n: ("POST", "/api/v1/intake/assess/", ASSESS_ANSWERS, None)
    if scenario == "booking_create":
        # One client, one slot per start time: worker 0's list never overlaps itself.
        slots = fx.booking_slots[0]
        return lambda n: (
            "POST",
            "/api/v1/bookings/",
            {"slot": slots[n], "intake": {"answers": BOOKING_ANSWERS}},
            fx.booking_tokens[0],
        )
    raise SystemExit(f"Unknown scenario {scenario!r}")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("scenario")
    parser.add_argument("-n", type=int, default=50, help="requests timed, then as many profiled")
    parser.add_argument("--html", help="also write pyinstrument's HTML report here")
    args = parser.parse_args(argv)

    setup_django()
    logging.getLogger("django.request").setLevel(logging.ERROR)
    warnings.filterwarnings("ignore", message="No directory at")  # no collectstatic for the bench
    from django.test import Client

    from bench.scenarios import Fixtures, vacuum

    vacuum()
    fx = Fixtures()
    make = build_requests(fx, args.scenario)
    client = Client()

    def send(n):
        method, path, body, token = make(n)
        headers = {"Authorization": f"Token {token}"} if token else {}
        response = client.generic(
            method, path, json.dumps(body) if body is not None else "", content_type="application/json", headers=headers
        )
        if response.status_code >= 400:
            raise SystemExit(f"{method} {path} answered {response.status_code}: {response.content[:300]!r}")

    try:
        send(0)  # warm-up
        wall, cpu = time.perf_counter(), time.process_time()
        for n in range(1, args.n + 1):
            send(n)
        wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
        print(
            f"{args.scenario}: {wall / args.n * 1000:.2f} ms wall, {cpu / args.n * 1000:.2f} ms CPU per request "
            f"(in-process, {args.n} requests)"
        )
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
    finally:
        fx.remove_load_bookings()
    return 0


if __name__ == "__main__":
    sys.exit(main())
