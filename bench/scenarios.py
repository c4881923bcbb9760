"""Who asks for what: the load users, tokens and slots of a run, and the requests of each scenario.

Scenarios use disjoint data so they don't disturb each other: week 1 for
the reads and the day sheet, week 2 for contention, weeks 3+ for bookings.
Slot generation is a scenario too, timed in-process and rolled back.
"""

import statistics
import threading
import time
from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from bench.load import Client, Result, drive

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


# --- The data of a run -------------------------------------------------------------------


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


# --- The requests ------------------------------------------------------------------------


def rotate(items, worker: int, n: int, stride: int = 1):
    return items[(worker * stride + n) % len(items)]


def availability_week_path(fx: Fixtures) -> str:
    return f"/api/v1/availability/?from={fx.week1}&to={fx.week1 + timedelta(days=6)}&page_size=500"


def availability_day_path(fx: Fixtures) -> str:
    """The first therapist's first day of week 1 (warm-up and SQL count; the load rotates both)."""
    return f"/api/v1/availability/?from={fx.week1}&to={fx.week1}&therapist={fx.therapist_ids[0]}"


def scenario_requests(fx: Fixtures):
    """`next_request(worker, n)` of each HTTP load scenario but contention, by name."""
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


def one_request_of_each(fx: Fixtures) -> dict[str, tuple]:
    """(method, path, body, token) of one request per scenario, for its SQL (booking_create: a 201;
    contention: the typical answer, a 409 on a slot already taken)."""
    booking = {"slot": fx.inprocess_slot, "intake": {"answers": BOOKING_ANSWERS}}
    taken = {"slot": fx.contention_slots[0], "intake": {"answers": BOOKING_ANSWERS}}
    return {
        "healthz": ("GET", "/healthz/", None, None),
        "availability_week": ("GET", availability_week_path(fx), None, None),
        "availability_day": ("GET", availability_day_path(fx), None, None),
        "day_sheet": ("GET", f"/api/v1/therapists/me/day/?date={fx.week1}", None, fx.therapist_tokens[0]),
        "intake_assess": ("POST", "/api/v1/intake/assess/", ASSESS_ANSWERS, None),
        "booking_create": ("POST", "/api/v1/bookings/", booking, fx.inprocess_token),
        "contention": ("POST", "/api/v1/bookings/", taken, fx.inprocess_token),
    }


def warm_up(port: int, fx: Fixtures) -> None:
    """Every worker imports, connects and compiles its paths before anything is timed."""
    warm = [
        ("GET", "/healthz/", None),
        ("GET", availability_week_path(fx), None),
        ("GET", availability_day_path(fx), None),
        ("POST", "/api/v1/intake/assess/", ASSESS_ANSWERS),
    ]
    drive(
        "warm-up",
        clients=[Client(port) for _ in range(8)],
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
    drive(
        "warm-up booking",
        clients=[Client(port, fx.warmup_token)],
        ok_statuses={201},
        max_requests=len(fx.warmup_slots),
        max_seconds=10,
        next_request=lambda w, n: (
            "POST",
            "/api/v1/bookings/",
            {"slot": fx.warmup_slots[n], "intake": {"answers": BOOKING_ANSWERS}},
        ),
    )


@dataclass
class Load:
    """One load scenario: its clients, its requests, what counts as success, and its bounds."""

    name: str
    clients: list
    next_request: object
    ok_statuses: set[int]
    max_requests: int
    max_seconds: float

    @property
    def scenario(self) -> str:
        """The scenario measured ("healthz@8" is healthz at 8 clients)."""
        return self.name.split("@")[0]


def load_plan(port: int, fx: Fixtures, *, read_concurrency: int, seconds: float) -> list[Load]:
    """The HTTP load scenarios in the order they run; the latency ones at `read_concurrency` clients."""
    requests = scenario_requests(fx)
    anon = lambda n: [Client(port) for _ in range(n)]  # noqa: E731
    # The day sheet: each worker reads as a different therapist every request.
    day_sheet_clients = [
        RoundRobinClient([Client(port, t) for t in fx.therapist_tokens[w::read_concurrency]])
        for w in range(read_concurrency)
    ]
    return [
        Load("healthz", anon(read_concurrency), requests["healthz"], {200}, 50_000, seconds * 0.5),
        Load("healthz@8", anon(8), requests["healthz"], {200}, 50_000, seconds * 0.5),
        Load("availability_week", anon(read_concurrency), requests["availability_week"], {200}, 5_000, seconds),
        Load("availability_day", anon(read_concurrency), requests["availability_day"], {200}, 20_000, seconds),
        Load("day_sheet", day_sheet_clients, requests["day_sheet"], {200}, 20_000, seconds),
        Load("intake_assess", anon(8), requests["intake_assess"], {200}, 50_000, seconds),
        Load(
            "booking_create",
            [Client(port, t) for t in fx.booking_tokens],
            requests["booking_create"],
            {201},
            3_000,
            seconds * 2,
        ),
    ]


class RoundRobinClient:
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


# --- Slot generation ---------------------------------------------------------------------


class _Rollback(Exception):
    pass


def slot_generation(fx: Fixtures, repeats: int) -> dict:
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
