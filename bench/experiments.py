"""Measure the proposed fixes before anyone edits the app: `python -m bench.experiments [NAME ...]`.

Each experiment sends the same requests in-process (Django's test client,
the bench database) first as the code stands, then with a proposed change
simulated by a monkeypatch that lives only in this process, and prints per
request: wall time, app CPU, the PostgreSQL backend's CPU, and the number of
SQL statements. The patches are the evidence for bench/README.md "Findings";
they are not the fixes themselves (those belong in the app's modules).

Experiments: availability_week, availability_day, day_sheet, booking_create,
intake_assess, throttle, slot_generation.
"""

import argparse
import contextlib
import functools
import json
import logging
import statistics
import sys
import time
from datetime import timedelta

import warnings

from bench.env import setup_django
from bench.load import _TICK, _cpu_ticks

# --- Measuring ---------------------------------------------------------------------------


def backend_pid() -> int:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        return cursor.fetchone()[0]


def measure(send, n: int, rounds: int = 3) -> dict:
    """Median over `rounds` of n requests each: ms per request of wall, app CPU and DB CPU; statements."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    send(0)  # warm-up (and connect)
    with CaptureQueriesContext(connection) as ctx:
        send(1)
    statements = len(ctx.captured_queries)
    walls, cpus, dbs = [], [], []
    i = 2
    for _ in range(rounds):
        pid = backend_pid()
        db0, wall0, cpu0 = _cpu_ticks(pid), time.perf_counter(), time.process_time()
        for _ in range(n):
            send(i)
            i += 1
        walls.append((time.perf_counter() - wall0) / n * 1000)
        cpus.append((time.process_time() - cpu0) / n * 1000)
        dbs.append((_cpu_ticks(pid) - db0) / _TICK / n * 1000)
    return {
        "wall_ms": round(statistics.median(walls), 2),
        "app_cpu_ms": round(statistics.median(cpus), 2),
        "db_cpu_ms": round(statistics.median(dbs), 2),
        "statements": statements,
        "requests": n * rounds,
    }


def sender(method: str, path_of, body_of=None, token_of=None, expect=(200,)):
    from django.test import Client

    client = Client()

    def send(i):
        token = token_of(i) if token_of else None
        body = body_of(i) if body_of else None
        headers = {"Authorization": f"Token {token}"} if token else {}
        response = client.generic(method, path_of(i), json.dumps(body) if body is not None else "",
                                  content_type="application/json", headers=headers)
        if response.status_code not in expect:
            raise SystemExit(f"{method} {path_of(i)} answered {response.status_code}: {response.content[:300]!r}")

    return send


@contextlib.contextmanager
def patched(*patches):
    """(object, attribute, value) triples, restored on exit."""
    saved = [(obj, name, getattr(obj, name)) for obj, name, _ in patches]
    try:
        for obj, name, value in patches:
            setattr(obj, name, value)
        yield
    finally:
        for obj, name, value in reversed(saved):
            setattr(obj, name, value)


# --- The simulated changes --------------------------------------------------------------


def clinic_once():
    """clinic_get read once per request instead of 2-4 times (simulated with a process-wide memo)."""
    import booking.api.therapist_views
    import booking.api.views
    import booking.day_sheet
    import booking.ics
    import booking.notifications
    import booking.services
    from clinic.selectors import clinic_get

    memo = functools.lru_cache(maxsize=1)(clinic_get)
    modules = [booking.services, booking.notifications, booking.ics, booking.api.views, booking.day_sheet,
               booking.api.therapist_views]
    return [(m, "clinic_get", memo) for m in modules if hasattr(m, "clinic_get")]


def knox_one_query():
    """Token authentication in one query: no per-request scan of the user's other tokens (expired
    tokens purged by a periodic job instead), the therapist profile joined in."""
    from django.utils import timezone
    from knox.auth import TokenAuthentication
    from knox.crypto import hash_token
    from knox.models import get_token_model
    from knox.settings import CONSTANTS
    from hmac import compare_digest
    from rest_framework import exceptions

    def authenticate_credentials(self, token):
        token = token.decode("utf-8")
        candidates = get_token_model().objects.filter(
            token_key=token[: CONSTANTS.TOKEN_KEY_LENGTH]
        ).select_related("user", "user__therapist")
        for auth_token in candidates:
            if auth_token.expiry is not None and auth_token.expiry < timezone.now():
                continue
            if compare_digest(hash_token(token), auth_token.digest):
                return self.validate_user(auth_token)
        raise exceptions.AuthenticationFailed("Invalid token.")

    return [(TokenAuthentication, "authenticate_credentials", authenticate_credentials)]


def plain_availability_rows():
    """Availability rows rendered as dicts directly instead of through DRF fields (same JSON)."""
    import booking.api.views
    from booking.api.serializers import person_name

    utc = __import__("datetime").timezone.utc

    def iso(value):
        return value.astimezone(utc).isoformat().replace("+00:00", "Z")

    class PlainRows:
        def __init__(self, rows, many=True):
            self.rows = rows

        @property
        def data(self):
            return [
                {
                    "id": r["id"],
                    "therapist": r["therapist_id"],
                    "therapist_name": person_name(r["therapist__user__first_name"], r["therapist__user__last_name"],
                                                  r["therapist__user__email"]),
                    "starts_at": iso(r["starts_at"]),
                    "ends_at": iso(r["ends_at"]),
                }
                for r in self.rows
            ]

    return [(booking.api.views, "AvailableSlotSerializer", PlainRows)]


def count_only_when_needed():
    """No COUNT(*) when the first page is not full: its length is the count. (A Paginator subclass
    on the availability view's pagination class.)"""
    import booking.api.views
    from django.core.paginator import Paginator

    from config.pagination import PageNumberPagination

    class FirstPageCountPaginator(Paginator):
        def page(self, number):
            if str(number) != "1":
                return super().page(number)
            rows = list(self.object_list[: self.per_page])
            if len(rows) < self.per_page:
                self.__dict__["count"] = len(rows)  # `count` is a cached_property
            self.validate_number(1)
            return self._get_page(rows, 1, self)

    class Pagination(PageNumberPagination):
        django_paginator_class = FirstPageCountPaginator

    return [(booking.api.views.AvailabilityView, "pagination_class", Pagination)]


def plain_assessment():
    """The assessment returned as the rules' dict (it already has the documented shape)."""
    import intake.api.views

    class Passthrough:
        def __init__(self, instance):
            self.data = instance

    return [(intake.api.views, "AssessmentSerializer", Passthrough)]


def no_mail_in_request():
    """The confirmation mail (and its .ics) not built and sent inside the request: queued instead.
    An outbox INSERT would add one statement back."""
    import booking.services

    return [(booking.services, "notify_on_commit", lambda func, booking_id: None)]


def render_in_hand():
    """The 201 rendered from the booking the service returns (slot, therapist and its user taken with
    the slot lock, the client is request.user, the intake was just made) instead of re-reading it
    with a 6-table join."""
    import threading

    import booking.api.views
    import booking.services
    from booking.models import Slot
    from booking.services import SlotUnavailable

    stash = threading.local()
    create = booking.services.booking_create
    render = booking.api.views.BookingViewSet._render

    def lock_slot(slot_id):
        try:
            return Slot.objects.select_for_update(of=("self",)).select_related("therapist__user").get(pk=slot_id)
        except Slot.DoesNotExist:
            raise SlotUnavailable("This slot does not exist.") from None

    def booking_create(*, client, **kwargs):
        made = create(client=client, **kwargs)
        made.client = client
        stash.booking = made
        return made

    def _render(self, booking_id, status_code=200):
        made = getattr(stash, "booking", None)
        if made is not None and made.pk == booking_id:
            stash.booking = None
            from rest_framework.response import Response

            return Response(self.get_serializer(made).data, status=status_code)
        return render(self, booking_id, status_code)

    return [(booking.services, "_lock_slot", lock_slot), (booking.services, "booking_create", booking_create),
            (booking.api.views.BookingViewSet, "_render", _render)]


@contextlib.contextmanager
def server_side_binding():
    """psycopg server-side binding: parameters sent apart, statements run 5+ times are prepared
    (no planning per request). Django: DATABASES["default"]["OPTIONS"]["server_side_binding"] = True."""
    from django.db import connection

    options = connection.settings_dict.setdefault("OPTIONS", {})
    before = options.get("server_side_binding")
    connection.close()
    options["server_side_binding"] = True
    try:
        yield
    finally:
        connection.close()
        if before is None:
            options.pop("server_side_binding", None)
        else:
            options["server_side_binding"] = before


def no_throttles(view_classes):
    return [(cls, "throttle_classes", []) for cls in view_classes]


# --- The experiments ---------------------------------------------------------------------


def run_variants(title: str, send_of, variants, n: int) -> list[dict]:
    """send_of(variant_index) gives the sender; variants are (label, context manager factory)."""
    print(f"\n{title}")
    print(f"  {'variant':<58} {'wall ms':>8} {'app CPU':>8} {'DB CPU':>7} {'SQL':>4}")
    rows = []
    for k, (label, make_context) in enumerate(variants):
        with make_context():
            result = measure(send_of(k), n)
        result["variant"] = label
        rows.append(result)
        print(f"  {label:<58} {result['wall_ms']:8.2f} {result['app_cpu_ms']:8.2f} {result['db_cpu_ms']:7.2f} "
              f"{result['statements']:4d}", flush=True)
    return rows


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("names", nargs="*")
    parser.add_argument("-n", type=int, default=30, help="requests per round (3 rounds, median)")
    args = parser.parse_args(argv)

    setup_django()
    logging.getLogger("django.request").setLevel(logging.ERROR)
    warnings.filterwarnings("ignore", message="No directory at")  # no collectstatic for the bench
    from bench.run import ASSESS_ANSWERS, BOOKING_ANSWERS, Fixtures, availability_week_path, vacuum

    vacuum()
    fx = Fixtures()
    wanted = set(args.names) or {"availability_week", "availability_day", "day_sheet", "booking_create",
                                 "intake_assess", "throttle", "slot_generation"}
    days = [fx.week1 + timedelta(days=i) for i in range(5)]
    n = args.n
    out = {}
    none = contextlib.nullcontext

    def ctx(*patch_lists):
        return lambda: patched(*[p for patches in patch_lists for p in patches()])

    try:
        if "availability_week" in wanted:
            send = lambda k: sender("GET", lambda i: availability_week_path(fx))  # noqa: E731
            out["availability_week"] = run_variants(
                "availability, one week, all therapists, page_size=500", send,
                [("as is", none),
                 ("rows rendered as plain dicts", ctx(plain_availability_rows)),
                 ("+ clinic read once", ctx(plain_availability_rows, clinic_once)),
                 ("server-side binding (prepared statements) only", server_side_binding)],
                max(5, n // 3))
        if "availability_day" in wanted:
            send = lambda k: sender(  # noqa: E731
                "GET", lambda i: f"/api/v1/availability/?from={days[i % 5]}&to={days[i % 5]}"
                                 f"&therapist={fx.therapist_ids[i % len(fx.therapist_ids)]}")
            out["availability_day"] = run_variants(
                "availability, one day, one therapist", send,
                [("as is", none), ("server-side binding (prepared statements)", server_side_binding),
                 ("clinic read once (memo)", ctx(clinic_once)),
                 ("+ no COUNT when the first page is not full", ctx(clinic_once, count_only_when_needed)),
                 ("+ rows rendered as plain dicts", ctx(clinic_once, count_only_when_needed,
                                                        plain_availability_rows))],
                n)
        if "day_sheet" in wanted:
            send = lambda k: sender(  # noqa: E731
                "GET", lambda i: f"/api/v1/therapists/me/day/?date={days[i % 5]}",
                token_of=lambda i: fx.therapist_tokens[i % len(fx.therapist_tokens)])
            out["day_sheet"] = run_variants(
                "therapist day sheet", send,
                [("as is", none),
                 ("knox in one query, therapist joined", ctx(knox_one_query)),
                 ("+ clinic read once", ctx(knox_one_query, clinic_once)),
                 ("+ server-side binding", lambda: _stack(ctx(knox_one_query, clinic_once)(),
                                                          server_side_binding()))],
                n)
        if "booking_create" in wanted:
            counters = [iter(slots) for slots in fx.booking_slots]

            def send(k):
                slots = counters[k]
                return sender("POST", lambda i: "/api/v1/bookings/",
                              body_of=lambda i: {"slot": next(slots), "intake": {"answers": BOOKING_ANSWERS}},
                              token_of=lambda i: fx.booking_tokens[k], expect=(201,))

            out["booking_create"] = run_variants(
                "booking create with intake (201)", send,
                [("as is", none),
                 ("mail not built in the request", ctx(no_mail_in_request)),
                 ("+ knox in one query", ctx(no_mail_in_request, knox_one_query)),
                 ("+ clinic read once", ctx(no_mail_in_request, knox_one_query, clinic_once)),
                 ("+ 201 rendered from the objects in hand",
                  ctx(no_mail_in_request, knox_one_query, clinic_once, render_in_hand)),
                 ("all but the mail change", ctx(knox_one_query, clinic_once, render_in_hand))],
                max(5, n // 2))
        if "intake_assess" in wanted:
            import intake.api.views

            send = lambda k: sender("POST", lambda i: "/api/v1/intake/assess/",  # noqa: E731
                                    body_of=lambda i: ASSESS_ANSWERS)
            out["intake_assess"] = run_variants(
                "intake assess (anonymous POST)", send,
                [("as is", none),
                 ("assessment returned as the rules' dict", ctx(plain_assessment)),
                 ("+ no throttles (their floor cost)",
                  ctx(plain_assessment, lambda: no_throttles([intake.api.views.IntakeAssessView])))],
                n * 3)
        if "throttle" in wanted:
            out["throttle"] = throttle_history_cost()
        if "slot_generation" in wanted:
            out["slot_generation"] = slot_generation_variants(fx)
        import os

        from bench.env import ensure_results_dir

        with open(os.path.join(ensure_results_dir(), "experiments.json"), "w") as fh:
            json.dump(out, fh, indent=2)
    finally:
        fx.remove_load_bookings()
        vacuum()
    return 0


@contextlib.contextmanager
def _stack(*contexts):
    with contextlib.ExitStack() as stack:
        for c in contexts:
            stack.enter_context(c)
        yield


def slot_generation_variants(fx, repeats: int = 3) -> list[dict]:
    """slots_generate, 40 therapists x 92 days, each run rolled back: as is, with server-side binding,
    and without the foreign key's own index on booking_slot(therapist_id) (slot_therapist_start_idx
    and the exclusion constraint already start with therapist_id)."""
    from django.db import connection, transaction

    from bench.run import measure_slot_generation

    def fk_index_name():
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT indexname FROM pg_indexes WHERE tablename = 'booking_slot' "
                "AND indexdef LIKE '%(therapist_id)' AND indexname LIKE 'booking_slot_therapist_id%'"
            )
            row = cursor.fetchone()
        return row[0] if row else None

    @contextlib.contextmanager
    def without_fk_index():
        name = fk_index_name()
        if name is None:
            yield
            return
        # Dropped inside a transaction that is rolled back: the index comes back untouched.
        with transaction.atomic():
            with connection.cursor() as cursor:
                cursor.execute(f'DROP INDEX "{name}"')
            yield
            transaction.set_rollback(True)

    print("\nslot generation, 40 therapists x 92 days (rolled back each time)")
    rows = []
    for label, context in (("as is", contextlib.nullcontext), ("server-side binding", server_side_binding),
                           ("without the FK's single-column index", without_fk_index)):
        with context():
            result = measure_slot_generation(fx, repeats)
        result["variant"] = label
        rows.append(result)
        print(f"  {label:<40} median {result['seconds']:.2f} s  runs {result['runs_s']}", flush=True)
    return rows


def throttle_history_cost() -> list[dict]:
    """DRF's SimpleRateThrottle keeps one timestamp per request of the window, pickled to the cache
    on each request: its cost grows with the traffic allowed per window (and per cache key)."""
    from django.core.cache import cache
    from rest_framework.request import Request
    from rest_framework.test import APIRequestFactory
    from rest_framework.throttling import AnonRateThrottle

    print("\nDRF throttle cost per request vs. requests already in the window (one cache key)")
    rows = []
    request = Request(APIRequestFactory().get("/"))
    for rate, history in (("60/min", 60), ("1000000/s", 1_000), ("1000000/min", 6_000), ("1000000/min", 60_000)):
        throttle = AnonRateThrottle()
        throttle.rate = rate
        throttle.num_requests, throttle.duration = throttle.parse_rate(rate)
        key = throttle.get_cache_key(request, None)
        now = time.time()
        cache.set(key, [now - i * 1e-6 for i in range(history)], 60)
        began = time.perf_counter()
        for _ in range(100):
            throttle.allow_request(request, None)
        us = (time.perf_counter() - began) / 100 * 1e6
        cache.delete(key)
        rows.append({"rate": rate, "history": history, "us_per_request": round(us)})
        print(f"  rate {rate:<12} {history:6d} timestamps in the window: {us:8.0f} µs per request")
    return rows


if __name__ == "__main__":
    sys.exit(main())
