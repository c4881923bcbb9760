"""Who asks for what: the load accounts, tokens and planned bookings of a run, and the requests of each scenario.

Scenarios use disjoint data so they don't disturb each other: week 1 for the
reads (availability, day sheets, the front desk's lists), a Tuesday of week 2
at Midtown for contention, weeks 3+ for the booking load. Shift generation is
a scenario too: timed in the build, and again here in-process, rolled back.
"""

import statistics
import threading
import time
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta

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
BOOKING_CONCURRENCY = 8
ACCOUNTS_PER_BOOKING_CLIENT = 5  # each books at most BOOKINGS_PER_ACCOUNT: under the clinic's cap of 100
BOOKINGS_PER_ACCOUNT = 90
BOOKING_MAX_REQUESTS = 3_000
WARMUP_BOOKINGS = 8
CONTENTION_ATTEMPTS = 400
# Load accounts: the booking clients', one per contention attempt, the warm-up's, the in-process one.
LOAD_ACCOUNTS = BOOKING_CONCURRENCY * ACCOUNTS_PER_BOOKING_CLIENT + CONTENTION_ATTEMPTS + 2
LIST_PAGE_SIZE = 100


# --- The data of a run -------------------------------------------------------------------


def next_monday(day: date) -> date:
    return day + timedelta(days=(7 - day.weekday()) % 7 or 7)


def booking_body(item: "Planned") -> dict:
    return {
        "service": item.service_id,
        "starts_at": item.starts_at.isoformat(),
        "therapist": item.therapist_id,
        "location": item.location_id,
        "intake": {"answers": BOOKING_ANSWERS},
    }


@dataclass
class Planned:
    """A booking a load client will ask for: an offered start, clear of every other planned one."""

    service_id: int
    therapist_id: int
    location_id: int
    starts_at: datetime
    ends_at: datetime
    occupied_until: datetime


@dataclass
class Attempt:
    """One contention request: its own account, a service, a start, a therapist or any."""

    token: str
    body: dict


@dataclass
class _Capacity:
    """Free rooms for a planned session at a location with rooms: `free` rooms had no booking over it
    when planned, `taken` of them may go to planned sessions that overlap it (one each)."""

    starts_at: datetime
    occupied_until: datetime
    free: int
    taken: int = 0


@dataclass
class BookingPlan:
    """Planned bookings per load client, each client's in the order its accounts take turns."""

    workers: list[list[Planned]]
    skipped: Counter = field(default_factory=Counter)  # candidate starts left, by reason


class Fixtures:
    """Tokens, dates and planned bookings each scenario uses (see the module's docstring)."""

    def __init__(self):
        from django.contrib.auth.hashers import make_password
        from knox.models import AuthToken

        from booking.availability import BookingWindow
        from clinic.models import Location, Role, Room, Service, Therapist, User
        from clinic.selectors import clinic_get

        self.clinic = clinic_get()
        self.locations = list(Location.objects.filter(active=True).order_by("pk"))
        with_rooms = [loc for loc in self.locations if loc.uses_rooms]
        if not with_rooms or len(self.locations) < 2:
            raise SystemExit("The bench database looks empty: run `python -m bench.build` first.")
        self.rooms_location = with_rooms[0]
        self.rooms = list(Room.objects.filter(location=self.rooms_location, active=True).values_list("pk", flat=True))
        self.tz = self.rooms_location.tz
        self.today = datetime.now(self.tz).date()
        self.week1 = next_monday(self.today)
        self.week2 = self.week1 + timedelta(days=7)
        self.booking_from = self.week1 + timedelta(days=14)
        self.window = BookingWindow.of(self.clinic)
        self.services = {s.duration_minutes: s for s in Service.objects.filter(active=True)}
        self.service60 = self.services[60]

        therapists = list(Therapist.objects.filter(active=True).select_related("user").order_by("pk"))
        if len(therapists) < 10:
            raise SystemExit("The bench database looks empty: run `python -m bench.build` first.")
        self.therapist_ids = [t.pk for t in therapists]
        # One token per user, fresh each run.
        AuthToken.objects.filter(user__in=[t.user for t in therapists]).delete()
        self.therapist_tokens = [AuthToken.objects.create(t.user)[1] for t in therapists]
        staff = User.objects.filter(role=Role.STAFF, is_active=True).order_by("pk").first()
        AuthToken.objects.filter(user=staff).delete()
        self.staff_token = AuthToken.objects.create(staff)[1]

        emails = [f"load{i:03d}@bench.example" for i in range(LOAD_ACCOUNTS)]
        existing = set(User.objects.filter(email__in=emails).values_list("email", flat=True))
        password = make_password(None)  # unusable: they log in by token only
        User.objects.bulk_create(
            User(email=e, first_name=f"Load{i:03d}", last_name="Bench", role=Role.CLIENT, password=password)
            for i, e in enumerate(emails)
            if e not in existing
        )
        users = {u.email: u for u in User.objects.filter(email__in=emails)}
        self.load_users = [users[e] for e in emails]
        self.remove_load_bookings()
        AuthToken.objects.filter(user__in=self.load_users).delete()
        tokens = [AuthToken.objects.create(u)[1] for u in self.load_users]
        n = BOOKING_CONCURRENCY * ACCOUNTS_PER_BOOKING_CLIENT
        self.booking_tokens = [
            tokens[w * ACCOUNTS_PER_BOOKING_CLIENT : (w + 1) * ACCOUNTS_PER_BOOKING_CLIENT]
            for w in range(BOOKING_CONCURRENCY)
        ]
        self.contention_tokens = tokens[n : n + CONTENTION_ATTEMPTS]
        self.contention_user_ids = [u.pk for u in self.load_users[n : n + CONTENTION_ATTEMPTS]]
        self.warmup_token = tokens[-2]
        self.inprocess_token = tokens[-1]

        plan = self._plan_bookings()
        self.booking_plan = plan.workers[:BOOKING_CONCURRENCY]
        self.warmup_bookings = plan.workers[BOOKING_CONCURRENCY]
        self.inprocess_booking = plan.workers[BOOKING_CONCURRENCY + 1][0]
        self.planned = sum(len(w) for w in plan.workers)
        self.contention_day = self.week2 + timedelta(days=1)  # a Tuesday
        self.contention = self._plan_contention()

    # -- The booking load: offered starts in weeks 3+, clear of one another --

    def _offered(self, service, start: date, end: date, **filters) -> list:
        from booking.availability import offered_starts

        rows, day = [], start
        while day <= end:
            last = min(day + timedelta(days=6), end)
            rows += offered_starts(service=service, from_date=day, to_date=last, **filters)[1]
            day = last + timedelta(days=1)
        return rows

    def _room_occupancy(self, start: date, end: date) -> dict[tuple[int, date], list]:
        """(room, local date) → occupied spans: its active bookings and closures, as they are now."""
        from booking.models import ACTIVE_STATUSES, Booking, Closure

        tz = self.rooms_location.tz
        since = datetime.combine(start, datetime.min.time(), tzinfo=tz)
        until = datetime.combine(end + timedelta(days=1), datetime.min.time(), tzinfo=tz)
        spans = defaultdict(list)
        busy = Booking.objects.filter(
            room__in=self.rooms, status__in=ACTIVE_STATUSES, starts_at__lt=until, occupied_until__gt=since
        ).values_list("room_id", "starts_at", "occupied_until")
        closed = Closure.objects.filter(location=self.rooms_location, starts_at__lt=until, ends_at__gt=since)
        rows = list(busy) + [
            (room, s, e)
            for room_id, s, e in closed.values_list("room_id", "starts_at", "ends_at")
            for room in ([room_id] if room_id else self.rooms)
        ]
        for room, s, e in rows:
            day = s.astimezone(tz).date()
            while day <= e.astimezone(tz).date():
                spans[room, day].append((s, e))
                day += timedelta(days=1)
        return spans

    def _plan_bookings(self) -> BookingPlan:
        """Planned bookings for the 8 booking clients (5 accounts each, in turn), the warm-up and the
        in-process request: offered starts of weeks 3+ for therapeutic sessions of 30, 60 and 90 minutes
        in turn (or the longest shorter one offered there), with a therapist's planned sessions never
        overlapping (buffers included), an account's never overlapping, and at Midtown never more
        sessions at once than rooms free for them: every one is still offered when it is asked for, in
        any order."""
        from clinic.models import Modality

        last_day = (self.window.latest - timedelta(days=1)).astimezone(self.tz).date()
        durations = sorted(self.services)
        offered = {
            minutes: self._offered(self.services[minutes], self.booking_from, last_day, modality=Modality.THERAPEUTIC)
            for minutes in durations
        }
        # Every start offered for the shortest service, with the longest service offered there up to
        # the one in turn: free time between bookings is often too short for 90 minutes.
        fits = {
            minutes: {(o.therapist_id, o.location_id, o.starts_at) for o in offered[minutes]} for minutes in durations
        }
        offers = sorted(offered[durations[0]], key=lambda o: (o.starts_at, o.therapist_id))
        occupancy = self._room_occupancy(self.booking_from, last_day)

        accounts = [ACCOUNTS_PER_BOOKING_CLIENT] * BOOKING_CONCURRENCY + [1, 1]
        caps = [ACCOUNTS_PER_BOOKING_CLIENT * BOOKINGS_PER_ACCOUNT] * BOOKING_CONCURRENCY + [WARMUP_BOOKINGS, 1]
        workers: list[list[Planned]] = [[] for _ in accounts]
        account_free_from = [[datetime.min.replace(tzinfo=UTC)] * n for n in accounts]
        therapist_spans = defaultdict(list)  # (therapist, local date) → planned occupied spans
        room_demand = defaultdict(list)  # local date → _Capacity of planned sessions at Midtown
        plan = BookingPlan(workers=workers)
        turn = 0
        for n, offer in enumerate(offers):
            if all(len(w) >= cap for w, cap in zip(workers, caps, strict=True)):
                break
            key = (offer.therapist_id, offer.location_id, offer.starts_at)
            minutes = max(m for m in durations[: n % len(durations) + 1] if key in fits[m])
            service = self.services[minutes]
            ends_at = offer.starts_at + timedelta(minutes=service.duration_minutes)
            until = ends_at + timedelta(minutes=service.buffer_minutes)
            day = offer.starts_at.astimezone(self.tz).date()
            if any(s < until and offer.starts_at < e for s, e in therapist_spans[offer.therapist_id, day]):
                plan.skipped["therapist busy (planned)"] += 1
                continue
            capacity = None
            if offer.location_id == self.rooms_location.pk:
                free = sum(
                    not any(s < until and offer.starts_at < e for s, e in occupancy[room, day]) for room in self.rooms
                )
                overlapping = [
                    c for c in room_demand[day] if c.starts_at < until and offer.starts_at < c.occupied_until
                ]
                if free - len(overlapping) < 1 or any(c.free - c.taken - 1 < 1 for c in overlapping):
                    plan.skipped["no room to spare"] += 1
                    continue
                capacity = _Capacity(offer.starts_at, until, free, len(overlapping))
            # The next client in turn whose account in turn is free then; else this start is left.
            for k in range(len(workers)):
                w = (turn + k) % len(workers)
                account = len(workers[w]) % accounts[w]
                if len(workers[w]) < caps[w] and account_free_from[w][account] <= offer.starts_at:
                    break
            else:
                plan.skipped["no account free"] += 1
                continue
            turn = w + 1
            account_free_from[w][account] = ends_at
            workers[w].append(
                Planned(service.pk, offer.therapist_id, offer.location_id, offer.starts_at, ends_at, until)
            )
            therapist_spans[offer.therapist_id, day].append((offer.starts_at, until))
            if capacity is not None:
                for c in overlapping:
                    c.taken += 1
                room_demand[day].append(capacity)
        if len(workers[-1]) < 1 or len(workers[-2]) < WARMUP_BOOKINGS:
            raise SystemExit(
                f"Not enough free time in weeks 3+ for the booking load ({dict(plan.skipped)}): "
                "rebuild with `python -m bench.build`."
            )
        return plan

    # -- Contention: 400 attempts at once on one morning of one location with rooms --

    def _plan_contention(self) -> list[Attempt]:
        """400 attempts at overlapping times: starts offered now for 30 minutes on a Tuesday of week 2,
        10:00-14:00 local at both locations (Midtown's rooms and therapists, Lakeside's therapists),
        services of 30, 60 and 90 minutes in turn, every other one with the offered therapist, the
        others for any therapist at that location."""
        from clinic.models import Modality

        zones = {loc.pk: loc.tz for loc in self.locations}
        shortest = self.services[min(self.services)]
        offers = self._offered(shortest, self.contention_day, self.contention_day, modality=Modality.THERAPEUTIC)
        offers = [o for o in offers if 10 <= o.starts_at.astimezone(zones[o.location_id]).hour < 14] or offers
        if not offers:
            raise SystemExit("Nothing offered for the contention day: rebuild with `python -m bench.build`.")
        durations = sorted(self.services)
        attempts = []
        for k, token in enumerate(self.contention_tokens):
            offer = offers[(k // 2 * 7) % len(offers)]  # two attempts a start: one for its therapist, one for any
            body = {
                "service": self.services[durations[k % len(durations)]].pk,
                "starts_at": offer.starts_at.isoformat(),
                "location": offer.location_id,
                "intake": {"answers": BOOKING_ANSWERS},
            }
            if k % 2 == 0:
                body["therapist"] = offer.therapist_id
            attempts.append(Attempt(token, body))
        self.contention_offers = len(offers)
        return attempts

    def remove_load_bookings(self) -> int:
        """Delete the bookings (and their intakes, unless an audit row keeps one) of the load accounts."""
        from booking.models import Booking
        from intake.models import Intake, IntakeAccess

        users = [u.pk for u in self.load_users]
        intake_ids = [
            i for i in Booking.objects.filter(client_id__in=users).values_list("intake_id", flat=True) if i is not None
        ]
        deleted, _ = Booking.objects.filter(client_id__in=users).delete()
        audited = set(IntakeAccess.objects.filter(intake_id__in=intake_ids).values_list("intake_id", flat=True))
        Intake.objects.filter(pk__in=[i for i in intake_ids if i not in audited]).delete()
        return deleted


VACUUMED_TABLES = (
    "booking_shift",
    "booking_booking",
    "intake_intake",
    "intake_intakeaccess",
    "clinic_user",
    "knox_authtoken",
    "booking_idempotencyrecord",
    "procrastinate_jobs",
    "procrastinate_events",
    "clinic_sentmail",
)


def vacuum() -> None:
    """VACUUM ANALYZE the tables a run writes: each run starts from the same state.

    Without it, the dead rows a previous run left (its deleted bookings, the
    rolled-back shift generations) sit at the ends of the indexes, and the
    planner walks them to estimate join ranges (v1: planning a 6-table
    booking query went from 1.4 ms to 8 ms with 187,000 dead rows).
    """
    from django.db import connection

    with connection.cursor() as cursor:
        for table in VACUUMED_TABLES:
            cursor.execute(f'VACUUM ANALYZE "{table}"')


# --- The requests ------------------------------------------------------------------------


def rotate(items, worker: int, n: int, stride: int = 1):
    return items[(worker * stride + n) % len(items)]


def availability_week_path(fx: Fixtures) -> str:
    return (
        f"/api/v1/availability/?service={fx.service60.pk}&from={fx.week1}&to={fx.week1 + timedelta(days=6)}"
        "&page_size=500"
    )


def availability_day_path(fx: Fixtures, day: date, therapist_id: int) -> str:
    return f"/api/v1/availability/?service={fx.service60.pk}&from={day}&to={day}&therapist={therapist_id}"


def booking_list_path(fx: Fixtures, day: date, location_id: int) -> str:
    return f"/api/v1/bookings/?from={day}&to={day}&location={location_id}&page_size={LIST_PAGE_SIZE}"


def day_sheet_path(day: date) -> str:
    return f"/api/v1/therapists/me/day/?date={day}"


def scenario_requests(fx: Fixtures):
    """`next_request(worker, n)` of each HTTP load scenario but contention, by name."""
    week1_days = [fx.week1 + timedelta(days=i) for i in range(5)]
    two_weeks = week1_days + [fx.week2 + timedelta(days=i) for i in range(5)]
    week_path = availability_week_path(fx)
    location_ids = [loc.pk for loc in fx.locations]

    def healthz(worker, n):
        return "GET", "/healthz/", None

    def availability_week(worker, n):
        return "GET", week_path, None

    def availability_day(worker, n):
        therapist = rotate(fx.therapist_ids, worker, n, 7)
        day = rotate(two_weeks, worker, n // len(fx.therapist_ids), 3)
        return "GET", availability_day_path(fx, day, therapist), None

    def day_sheet(worker, n):
        # The worker's therapist token is picked per request: see load_plan.
        return "GET", day_sheet_path(rotate(week1_days, worker, n)), None

    def booking_list(worker, n):
        return "GET", booking_list_path(fx, rotate(week1_days, worker, n // 2), location_ids[n % 2]), None

    def assess(worker, n):
        return "POST", "/api/v1/intake/assess/", ASSESS_ANSWERS

    def booking(worker, n):
        planned = fx.booking_plan[worker]
        if n >= len(planned):
            return None
        return "POST", "/api/v1/bookings/", booking_body(planned[n])

    return {
        "healthz": healthz,
        "availability_week": availability_week,
        "availability_day": availability_day,
        "day_sheet": day_sheet,
        "booking_list": booking_list,
        "intake_assess": assess,
        "booking_create": booking,
    }


def _code(payload: bytes) -> str:
    import json

    try:
        return json.loads(payload).get("code", "?")
    except (ValueError, AttributeError):
        return "?"


def run_contention(port: int, fx: Fixtures) -> tuple[Result, dict]:
    """400 clients, each its own account, post at once (a barrier) bookings at overlapping times; then
    the database is asked whether anything overlaps that must not."""
    clients = [Client(port, a.token, timeout=120) for a in fx.contention]
    result = Result(name="contention", concurrency=len(clients))
    barrier = threading.Barrier(len(clients))
    codes = Counter()
    statuses = [0] * len(clients)
    lock = threading.Lock()

    def work(i: int) -> None:
        barrier.wait()
        status, seconds, payload = clients[i].request("POST", "/api/v1/bookings/", fx.contention[i].body)
        statuses[i] = status
        with lock:
            result.latencies.append(seconds)
            result.statuses[status] += 1
            if status == 409:
                codes[_code(payload)] += 1
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
    check = contention_check(fx.contention_user_ids)
    refused = [a.body for a, status in zip(fx.contention, statuses, strict=True) if status == 409]
    check["refused_but_free"] = refused_but_free(fx, refused)
    check.update(
        {
            "attempts": len(fx.contention),
            "offered_starts_aimed_at": fx.contention_offers,
            "created_201": result.statuses.get(201, 0),
            "refused_409": result.statuses.get(409, 0),
            "refusal_codes": dict(codes),
            "server_errors": sum(n for status, n in result.statuses.items() if status >= 500 or status == 0),
        }
    )
    check["created_match_db"] = int(check["created_201"] == check["bookings_in_db"])
    check["no_overlap"] = int(
        check["created_match_db"]
        and not any(check[k] for k in ("therapist_overlaps", "room_overlaps", "client_overlaps", "outside_shift"))
        and not any(check[k] for k in ("in_time_off", "in_closure", "midtown_without_room"))
    )
    return result, check


_CONTENTION_CHECKS = {
    "bookings_in_db": "SELECT count(*) FROM booking_booking WHERE client_id = ANY(%(ids)s) AND status = 'confirmed'",
    # Invariants 1-3 (the exclusion constraints), counted by hand over the whole table, pairs with a new booking.
    "therapist_overlaps": """
        SELECT count(*) FROM booking_booking a JOIN booking_booking b
          ON a.therapist_id = b.therapist_id AND a.id < b.id
         AND tstzrange(a.starts_at, a.occupied_until) && tstzrange(b.starts_at, b.occupied_until)
        WHERE a.status IN ('confirmed', 'held') AND b.status IN ('confirmed', 'held')
          AND (a.client_id = ANY(%(ids)s) OR b.client_id = ANY(%(ids)s))""",
    "room_overlaps": """
        SELECT count(*) FROM booking_booking a JOIN booking_booking b
          ON a.room_id = b.room_id AND a.id < b.id
         AND tstzrange(a.starts_at, a.occupied_until) && tstzrange(b.starts_at, b.occupied_until)
        WHERE a.status IN ('confirmed', 'held') AND b.status IN ('confirmed', 'held')
          AND (a.client_id = ANY(%(ids)s) OR b.client_id = ANY(%(ids)s))""",
    "client_overlaps": """
        SELECT count(*) FROM booking_booking a JOIN booking_booking b
          ON a.client_id = b.client_id AND a.id < b.id
         AND tstzrange(a.starts_at, a.ends_at) && tstzrange(b.starts_at, b.ends_at)
        WHERE a.status = 'confirmed' AND b.status = 'confirmed' AND a.client_id = ANY(%(ids)s)""",
    # Invariant 5 (checked by the service under the therapist's lock): inside a shift, outside time off
    # and closures; a location with rooms gives every session one.
    "outside_shift": """
        SELECT count(*) FROM booking_booking b
        WHERE b.client_id = ANY(%(ids)s) AND b.status = 'confirmed' AND NOT EXISTS (
            SELECT 1 FROM booking_shift s WHERE s.therapist_id = b.therapist_id AND s.location_id = b.location_id
               AND s.starts_at <= b.starts_at AND s.ends_at >= b.ends_at)""",
    "in_time_off": """
        SELECT count(*) FROM booking_booking b JOIN booking_timeoff o ON o.therapist_id = b.therapist_id
         AND tstzrange(o.starts_at, o.ends_at) && tstzrange(b.starts_at, b.occupied_until)
        WHERE b.client_id = ANY(%(ids)s) AND b.status = 'confirmed'""",
    "in_closure": """
        SELECT count(*) FROM booking_booking b JOIN booking_closure z ON z.location_id = b.location_id
         AND (z.room_id IS NULL OR z.room_id = b.room_id)
         AND tstzrange(z.starts_at, z.ends_at) && tstzrange(b.starts_at, b.occupied_until)
        WHERE b.client_id = ANY(%(ids)s) AND b.status = 'confirmed'""",
    "midtown_without_room": """
        SELECT count(*) FROM booking_booking b JOIN clinic_location l ON l.id = b.location_id
        WHERE b.client_id = ANY(%(ids)s) AND b.status = 'confirmed' AND l.uses_rooms AND b.room_id IS NULL""",
}


def refused_but_free(fx: Fixtures, bodies: list[dict]) -> int:
    """How many refused attempts are still offered now that every winner is in: a 409 while another
    therapist or room fitted (docs/api.md: losing a race for one moves on to the next)."""
    from booking.availability import offers_at
    from clinic.models import Modality, Service

    services = {s.pk: s for s in Service.objects.all()}
    return sum(
        bool(
            offers_at(
                service=services[body["service"]],
                starts_at=datetime.fromisoformat(body["starts_at"]),
                clinic=fx.clinic,
                location_id=body["location"],
                therapist_id=body.get("therapist"),
                modality=None if body.get("therapist") else Modality.THERAPEUTIC,
            )
        )
        for body in bodies
    )


def contention_check(user_ids: list[int]) -> dict:
    """What the database holds after contention: the new bookings, and every overlap that must not be."""
    from django.db import connection

    check = {}
    with connection.cursor() as cursor:
        for name, sql in _CONTENTION_CHECKS.items():
            cursor.execute(sql, {"ids": user_ids})
            check[name] = cursor.fetchone()[0]
        cursor.execute(
            """SELECT (b.room_id IS NOT NULL), count(*), count(DISTINCT b.therapist_id)
               FROM booking_booking b WHERE b.client_id = ANY(%(ids)s) AND b.status = 'confirmed' GROUP BY 1""",
            {"ids": user_ids},
        )
        check["created_by_kind"] = {
            ("with room" if with_room else "without room"): {"bookings": n, "therapists": t}
            for with_room, n, t in cursor.fetchall()
        }
    return check


def one_request_of_each(fx: Fixtures) -> dict[str, tuple]:
    """(method, path, body, token) of one request per scenario, for its SQL (booking_create: a 201;
    contention: the typical answer, a 409 on a time a contention winner took)."""
    from booking.models import Booking

    taken = (
        Booking.objects.filter(client_id__in=fx.contention_user_ids, status="confirmed", therapist__isnull=False)
        .order_by("pk")
        .first()
    )
    body = (
        {
            "service": taken.service_id,
            "starts_at": taken.starts_at.isoformat(),
            "therapist": taken.therapist_id,
            "location": taken.location_id,
            "intake": {"answers": BOOKING_ANSWERS},
        }
        if taken
        else fx.contention[0].body
    )
    return {
        "healthz": ("GET", "/healthz/", None, None),
        "availability_week": ("GET", availability_week_path(fx), None, None),
        "availability_day": ("GET", availability_day_path(fx, fx.week1, fx.therapist_ids[0]), None, None),
        "day_sheet": ("GET", day_sheet_path(fx.week1), None, fx.therapist_tokens[0]),
        "booking_list": ("GET", booking_list_path(fx, fx.week1, fx.locations[-1].pk), None, fx.staff_token),
        "intake_assess": ("POST", "/api/v1/intake/assess/", ASSESS_ANSWERS, None),
        "booking_create": ("POST", "/api/v1/bookings/", booking_body(fx.inprocess_booking), fx.inprocess_token),
        "contention": ("POST", "/api/v1/bookings/", body, fx.inprocess_token),
    }


def warm_up(port: int, fx: Fixtures) -> None:
    """Every worker imports, connects and compiles its paths before anything is timed."""
    warm = [
        ("GET", "/healthz/", None),
        ("GET", availability_week_path(fx), None),
        ("GET", availability_day_path(fx, fx.week1, fx.therapist_ids[0]), None),
        ("POST", "/api/v1/intake/assess/", ASSESS_ANSWERS),
    ]
    drive(
        "warm-up",
        clients=[Client(port) for _ in range(8)],
        next_request=lambda w, n: warm[n % len(warm)],
        ok_statuses={200},
        max_requests=200,
        max_seconds=30,
    )
    drive(
        "warm-up day sheet",
        clients=[Client(port, t) for t in fx.therapist_tokens[:8]],
        next_request=lambda w, n: ("GET", day_sheet_path(fx.week1), None),
        ok_statuses={200},
        max_requests=40,
        max_seconds=10,
    )
    drive(
        "warm-up booking list",
        clients=[Client(port, fx.staff_token) for _ in range(4)],
        next_request=lambda w, n: ("GET", booking_list_path(fx, fx.week1, fx.locations[n % 2].pk), None),
        ok_statuses={200},
        max_requests=20,
        max_seconds=10,
    )
    drive(
        "warm-up booking",
        clients=[Client(port, fx.warmup_token)],
        ok_statuses={201},
        max_requests=len(fx.warmup_bookings),
        max_seconds=10,
        next_request=lambda w, n: ("POST", "/api/v1/bookings/", booking_body(fx.warmup_bookings[n])),
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
    # The booking load: each client's accounts take turns, as the plan expects.
    booking_clients = [RoundRobinClient([Client(port, t) for t in tokens]) for tokens in fx.booking_tokens]
    return [
        Load("healthz", anon(read_concurrency), requests["healthz"], {200}, 50_000, seconds * 0.5),
        Load("healthz@8", anon(8), requests["healthz"], {200}, 50_000, seconds * 0.5),
        Load("availability_week", anon(read_concurrency), requests["availability_week"], {200}, 5_000, seconds),
        Load("availability_day", anon(read_concurrency), requests["availability_day"], {200}, 20_000, seconds),
        Load("day_sheet", day_sheet_clients, requests["day_sheet"], {200}, 20_000, seconds),
        Load(
            "booking_list",
            [Client(port, fx.staff_token) for _ in range(read_concurrency)],
            requests["booking_list"],
            {200},
            20_000,
            seconds,
        ),
        Load("intake_assess", anon(8), requests["intake_assess"], {200}, 50_000, seconds),
        Load("booking_create", booking_clients, requests["booking_create"], {201}, BOOKING_MAX_REQUESTS, seconds * 2),
    ]


class RoundRobinClient:
    """Several users' connections behind one worker: request n goes out as user n mod len(users)."""

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


# --- Shift generation ---------------------------------------------------------------------


class _Rollback(Exception):
    pass


def shift_generation(fx: Fixtures, repeats: int) -> dict:
    """shifts_generate for all therapists over the 92 days past the built range, rolled back each time."""
    from django.db import transaction

    from booking.models import Shift
    from booking.schedule import MAX_GENERATE_DAYS, shifts_generate

    last = Shift.objects.order_by("-starts_at").values_list("starts_at", flat=True).first()
    start = last.astimezone(fx.tz).date() + timedelta(days=1)
    end = start + timedelta(days=MAX_GENERATE_DAYS - 1)
    times, created = [], 0
    for _ in range(repeats):
        try:
            with transaction.atomic():
                began = time.perf_counter()
                created = shifts_generate(start=start, end=end).created
                times.append(time.perf_counter() - began)
                raise _Rollback
        except _Rollback:
            pass
    return {
        "from": start.isoformat(),
        "to": end.isoformat(),
        "days": MAX_GENERATE_DAYS,
        "therapists": len(fx.therapist_ids),
        "created": created,
        "runs_s": [round(t, 3) for t in times],
        "seconds": round(statistics.median(times), 3),
    }
