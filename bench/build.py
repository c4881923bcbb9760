"""Build the bench database: `python -m bench.build`.

Drops and recreates the bench database (BENCH_DATABASE_URL, default
clinic_bench on the embedded PostgreSQL), migrates it, then builds a clinic
in a realistic state, all with bulk inserts:

- the clinic (2 h minimum notice, 120-day horizon, 15-minute booking step,
  a per-client cap of 100) and two locations in two zones: Midtown
  (America/New_York, 6 treatment rooms, `uses_rooms`) and Lakeside
  (America/Chicago, no rooms);
- services of 30, 60 and 90 minutes with 5, 10 and 15 minute buffers;
- 40 therapists of mixed modalities: 10 at Midtown Mon/Wed/Fri and Lakeside
  Tue/Thu, 10 the other way round, 20 at Lakeside only; 8 hours a day,
  09:00-17:00 or 11:00-19:00 local;
- 92 days of shifts made by the real `shifts_generate` in one call, timed
  (the "shift generation" scenario), and a year of past shifts made by it too;
- time off (a day each for 8 therapists) and closures (a room for an
  afternoon, Lakeside for a day);
- 5,000 clients and a front-desk account;
- half the future shift time booked with mixed lengths, a tenth by the front
  desk with the intake pending, the rest with an intake assessed by
  `intake.rules.assess`; ~40,000 past bookings over the last year (90 %
  completed, 5 % no-show, 5 % cancelled) with their intakes.

Bookings are laid on each shift's timeline (back to back or at the booking
step's grid, never overlapping with their buffers, outside time off and
closures), rooms given lowest-free-first in time order, clients in turn in
time order (so nobody holds two sessions at once): the rows satisfy the
exclusion constraints and availability's rules as if booked through the API.
Users, therapists and the schedule go in with `bulk_create`; intakes and
bookings with PostgreSQL COPY. Timings are printed and saved to
bench/results/build.json.
"""

import json
import os
import random
import time
from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from datetime import time as clock
from decimal import Decimal
from urllib.parse import urlsplit

from bench.env import database_url, ensure_results_dir, setup_django

THERAPISTS = 40
CLIENTS = 5_000
FUTURE_DAYS = 92  # one shifts_generate call: the API's maximum
PAST_DAYS = 364  # whole weeks: the year before today
FUTURE_BOOKED_SHARE = 0.55  # aimed at; edges of shifts and full rooms leave ~50 %
PAST_BOOKED_SHARE = 0.61  # the past was busier: ~40,000 bookings (~55 % of shift time)
PENDING_SHARE = 0.1  # future bookings the front desk made by phone, the intake not in yet
PASSWORD = "bench-password-1"
SEED = 12
STAFF_EMAIL = "frontdesk@bench.example"

# (name, time zone, rooms): one location with rooms, one without, in two zones an hour apart.
LOCATIONS = [
    ("Midtown", "America/New_York", [f"Room {n}" for n in range(1, 7)]),
    ("Lakeside", "America/Chicago", []),
]
# (name, minutes, buffer, price, share of bookings)
SERVICES = [
    ("Massage, 30 min", 30, 5, Decimal("55.00"), 0.25),
    ("Massage, 60 min", 60, 10, Decimal("95.00"), 0.5),
    ("Massage, 90 min", 90, 15, Decimal("135.00"), 0.25),
]
MON_WED_FRI, TUE_THU, MON_TO_FRI = (0, 2, 4), (1, 3), range(5)


def weekly_hours(i: int) -> dict[str, tuple]:
    """Therapist i's weekdays per location: 10 mostly Midtown, 10 mostly Lakeside, 20 Lakeside only."""
    if i < 10:
        return {"Midtown": MON_WED_FRI, "Lakeside": TUE_THU}
    if i < 20:
        return {"Lakeside": MON_WED_FRI, "Midtown": TUE_THU}
    return {"Lakeside": MON_TO_FRI}


def day_hours(i: int) -> tuple[str, str]:
    """Early or late: half start at 09:00, half at 11:00 (which also spreads Midtown's rooms)."""
    return ("09:00", "17:00") if i % 2 == 0 else ("11:00", "19:00")


class Timer:
    def __init__(self):
        self.steps: dict[str, float] = {}

    def step(self, name: str, started: float, detail: str = "") -> float:
        now = time.perf_counter()
        self.steps[name] = round(now - started, 3)
        print(f"  {name:<38} {now - started:7.2f} s  {detail}", flush=True)
        return now


def recreate_database(url: str) -> None:
    import psycopg

    parts = urlsplit(url)
    name = parts.path.lstrip("/")
    # libpq reads the URL itself, a percent-encoded socket directory included.
    admin = psycopg.connect(parts._replace(path="/postgres").geturl(), autocommit=True)
    with admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.execute(f'CREATE DATABASE "{name}"')


# Valid answers of each kind a clinic sees; deep-tissue ones go only to therapists trained for it
# and therapeutic ones only to those trained for that (else the booking would carry a warning).
ANSWER_TEMPLATES = [
    {"pressure_preference": "medium", "primary_goal": "relaxation", "consent": True},
    {
        "pressure_preference": "light",
        "primary_goal": "stress_relief",
        "conditions": ["anxiety", "insomnia"],
        "health_screening": ["high_blood_pressure"],
        "avoid_areas": ["feet"],
        "notes": "Prefers a quiet room and no music.",
        "consent": True,
    },
    {
        "pressure_preference": "deep",
        "primary_goal": "injury_recovery",
        "conditions": ["sports_injury"],
        "health_screening": ["blood_thinners"],
        "medications": "warfarin 5 mg",
        "focus_areas": ["legs"],
        "consent": True,
    },
    {
        "pressure_preference": "firm",
        "primary_goal": "pain_relief",
        "conditions": ["chronic_pain", "muscle_tension"],
        "focus_areas": ["neck", "shoulders"],
        "consent": True,
    },
    {
        "pressure_preference": "firm",
        "primary_goal": "mobility",
        "pain_tolerance": "high",
        "conditions": ["joint_stiffness", "lower_back_pain"],
        "focus_areas": ["lower_back", "hips"],
        "notes": "Desk job; stiff in the mornings.",
        "consent": True,
    },
]


def assessed_templates() -> dict[str, list[tuple[str, dict]]]:
    """(answers as JSON, Intake column values) per template, by suggested modality."""
    from intake.form import validate_answers
    from intake.rules import assess
    from intake.selectors import ASSESSMENT_COLUMNS

    by_modality: dict[str, list[tuple[str, dict]]] = {"therapeutic": [], "deep_tissue": []}
    for raw in ANSWER_TEMPLATES:
        cleaned = validate_answers(raw)
        assessment = assess(cleaned)
        columns = {
            column: json.dumps(assessment[key]) if isinstance(assessment[key], list) else assessment[key]
            for key, column in ASSESSMENT_COLUMNS.items()
        }
        by_modality[assessment["modality"]].append((json.dumps(cleaned), columns))
    assert by_modality["therapeutic"]
    assert by_modality["deep_tissue"]
    return by_modality


class Copier:
    """COPY rows into a model's table: the fast bulk insert for the big, history-like tables.

    Rows give attnames -> Python values; any other concrete column gets its
    field default (timestamps: now), so a column added later by a migration
    does not break the builder. Ids are allocated here, so rows can refer to
    each other before they are written; `copy` moves the identity sequence
    past them.
    """

    def __init__(self, model, now):
        from django.db import connection

        self.model = model
        self.table = model._meta.db_table
        self.fields = list(model._meta.concrete_fields)
        self.defaults = {}
        for f in self.fields:
            if getattr(f, "auto_now", False) or getattr(f, "auto_now_add", False):
                self.defaults[f.attname] = now
            else:  # the default, or "" for a text column, or None
                value = f.get_default()
                self.defaults[f.attname] = json.dumps(value) if f.get_internal_type() == "JSONField" else value
        with connection.cursor() as cursor:
            cursor.execute(f'SELECT COALESCE(MAX(id), 0) FROM "{self.table}"')
            self.next_id = cursor.fetchone()[0] + 1

    def new_id(self) -> int:
        self.next_id += 1
        return self.next_id - 1

    def copy(self, rows: list[dict]) -> int:
        from django.db import connection

        columns = [f.attname for f in self.fields]
        sql = f'COPY "{self.table}" ({", ".join(columns)}) FROM STDIN'
        with connection.cursor() as cursor:
            with cursor.cursor.copy(sql) as copy:
                for row in rows:
                    copy.write_row([row.get(c, self.defaults[c]) for c in columns])
            cursor.execute(
                f"SELECT setval(pg_get_serial_sequence('\"{self.table}\"', 'id'), "
                f'(SELECT MAX(id) FROM "{self.table}"))'
            )
        return len(rows)


# --- Laying bookings on the schedule -------------------------------------------------------------


@dataclass
class Placed:
    """One session laid on a shift: its therapist, location, room (where the location has rooms) and times."""

    therapist_id: int
    location_id: int
    service: object
    starts_at: datetime
    ends_at: datetime
    occupied_until: datetime
    room_id: int | None = None


def _overlaps(spans, start: datetime, end: datetime) -> bool:
    return any(s < end and start < e for s, e in spans)


def lay_on_shift(shift, services, weights, *, share: float, step: timedelta, blocked, not_before, rng) -> list[Placed]:
    """Sessions on one shift's timeline, filling about `share` of it with their buffers.

    A session starts at the shift's start plus a multiple of the booking
    step, or right at the previous session's end plus buffer (availability
    offers both); then the timeline either runs on back to back or leaves a
    gap to a later grid point. Never past the shift's end, never in
    `blocked` (time off, the location's closures), never before `not_before`.
    """
    therapist_id, location_id, shift_start, shift_end = shift
    # Each decision books (with probability p) a session of mean length O with its buffer, after
    # which half the time a gap follows; or it skips a gap of mean G (1-4 steps). The share booked
    # is pO / (pO + (1 - p/2)G): solved for p.
    mean_occupied = sum((s.duration_minutes + s.buffer_minutes) * w for s, w in zip(services, weights, strict=True))
    mean_gap = 2.5 * step.total_seconds() / 60
    book_p = share * mean_gap / (mean_occupied * (1 - share) + 0.5 * share * mean_gap)

    def next_grid(t: datetime) -> datetime:
        steps = -(-(t - shift_start) // step)  # ceil
        return shift_start + steps * step

    placed, t = [], shift_start
    while t + timedelta(minutes=30) <= shift_end:
        if rng.random() < book_p:
            service = rng.choices(services, weights)[0]
            ends_at = t + timedelta(minutes=service.duration_minutes)
            occupied_until = ends_at + timedelta(minutes=service.buffer_minutes)
            if ends_at <= shift_end and t >= not_before and not _overlaps(blocked, t, occupied_until):
                placed.append(Placed(therapist_id, location_id, service, t, ends_at, occupied_until))
                t = occupied_until  # an occupied range's end: offered as it is
                if rng.random() < 0.5:
                    continue
        t = next_grid(t + step * rng.randint(1, 4))
    return placed


def give_rooms(placed: list[Placed], rooms: list[int], room_closures: dict[int, list]) -> list[Placed]:
    """Rooms for the sessions of one location, in time order, the lowest free room each; a session
    with no free room is dropped (its therapist's time stays free)."""
    busy_until = dict.fromkeys(rooms, datetime.min.replace(tzinfo=UTC))
    kept = []
    for p in sorted(placed, key=lambda p: (p.starts_at, p.therapist_id)):
        for room in rooms:
            if busy_until[room] <= p.starts_at and not _overlaps(
                room_closures.get(room, ()), p.starts_at, p.occupied_until
            ):
                p.room_id = room
                busy_until[room] = p.occupied_until
                kept.append(p)
                break
    return kept


def build() -> dict:
    from django.contrib.auth.hashers import make_password
    from django.db import connection, transaction
    from django.utils import timezone

    from booking.models import Booking, Closure, Shift, TimeOff, WorkingHours
    from booking.schedule import MAX_GENERATE_DAYS, local_to_utc, shifts_generate
    from clinic.models import Clinic, Location, Role, Room, Service, Therapist, User
    from intake.form import FORM_VERSION
    from intake.models import Intake

    rng = random.Random(SEED)
    timer = Timer()
    t = time.perf_counter()

    # Locations before the clinic row: clinic_get() would otherwise add one of its own.
    locations = {}
    rooms = {}
    for name, zone, room_names in LOCATIONS:
        location = Location.objects.create(
            name=name, time_zone=zone, uses_rooms=bool(room_names), address=f"{name}, Bench City"
        )
        locations[name] = location
        rooms[location.pk] = [
            r.pk for r in Room.objects.bulk_create(Room(location=location, name=n) for n in room_names)
        ]
    clinic = Clinic.objects.create(
        pk=1,
        name="Bench Massage Clinic",
        time_zone=LOCATIONS[0][1],
        currency="USD",
        min_notice_hours=2,
        booking_horizon_days=120,
        cancellation_window_hours=24,
        booking_step_minutes=15,
        # The load clients book up to 90 sessions each per run; the cap itself is measured elsewhere.
        max_active_bookings_per_client=100,
    )
    services = Service.objects.bulk_create(
        Service(name=name, duration_minutes=minutes, buffer_minutes=buffer, price=price)
        for name, minutes, buffer, price, _ in SERVICES
    )
    weights = [share for *_, share in SERVICES]
    password = make_password(PASSWORD)  # one hash for every account: hashing is the slow part

    therapist_users = User.objects.bulk_create(
        User(
            email=f"therapist{i:02d}@bench.example",
            first_name=f"Therapist{i:02d}",
            last_name="Bench",
            role=Role.THERAPIST,
            password=password,
        )
        for i in range(THERAPISTS)
    )
    # Mixed modalities: a third both, a third therapeutic only, a third deep tissue only.
    mixes = [(True, True), (True, False), (False, True)]
    therapists = Therapist.objects.bulk_create(
        Therapist(
            user=u, bio=f"Bench therapist {i}", gives_therapeutic=mixes[i % 3][0], gives_deep_tissue=mixes[i % 3][1]
        )
        for i, u in enumerate(therapist_users)
    )
    Therapist.locations.through.objects.bulk_create(
        Therapist.locations.through(therapist_id=th.pk, location_id=locations[name].pk)
        for i, th in enumerate(therapists)
        for name in weekly_hours(i)
    )
    WorkingHours.objects.bulk_create(
        WorkingHours(
            therapist=th, location=locations[name], weekday=wd, start_time=day_hours(i)[0], end_time=day_hours(i)[1]
        )
        for i, th in enumerate(therapists)
        for name, weekdays in weekly_hours(i).items()
        for wd in weekdays
    )
    User.objects.create(
        email=STAFF_EMAIL, first_name="Front", last_name="Desk", role=Role.STAFF, is_staff=True, password=password
    )
    staff_id = User.objects.get(email=STAFF_EMAIL).pk
    client_ids = [
        u.pk
        for u in User.objects.bulk_create(
            (
                User(
                    email=f"client{i:04d}@bench.example",
                    first_name=f"Client{i:04d}",
                    last_name="Bench",
                    role=Role.CLIENT,
                    password=password,
                )
                for i in range(CLIENTS)
            ),
            batch_size=1000,
        )
    ]
    t = timer.step("clinic, locations, therapists, clients", t, f"{THERAPISTS} therapists, {CLIENTS} clients")

    # The real service, as the front desk runs it: one call, the API's maximum span, all therapists.
    today = min(timezone.localdate(timezone=loc.tz) for loc in locations.values())
    result = shifts_generate(start=today, end=today + timedelta(days=FUTURE_DAYS - 1))
    shift_generation_s = time.perf_counter() - t
    t = timer.step("shifts_generate (92 days, real, timed)", t, f"{result.created} shifts, {result.skipped} skipped")

    # The year before: shifts the same way, in the API's 92-day spans.
    past_start = today - timedelta(days=PAST_DAYS)
    day = past_start
    while day < today:
        end = min(day + timedelta(days=MAX_GENERATE_DAYS - 1), today - timedelta(days=1))
        shifts_generate(start=day, end=end)
        day = end + timedelta(days=1)
    t = timer.step("past shifts (shifts_generate, 4 calls)", t, f"{Shift.objects.count() - result.created} shifts")

    # Time off: a whole day for 8 therapists in weeks 3-10; closures: one room an afternoon in week 1,
    # Lakeside a day in week 6 (a holiday there).
    tz_of = {loc.pk: loc.tz for loc in locations.values()}
    ny, chi = locations["Midtown"], locations["Lakeside"]
    time_off = []
    for n, th in enumerate(therapists[::5]):
        off_day = today + timedelta(days=15 + 7 * n)
        time_off.append(
            TimeOff(
                therapist=th,
                starts_at=local_to_utc(off_day, clock(0), chi.tz),
                ends_at=local_to_utc(off_day + timedelta(days=1), clock(0), chi.tz),
                reason="Bench: a day off",
            )
        )
    TimeOff.objects.bulk_create(time_off)
    monday = today + timedelta(days=(7 - today.weekday()) % 7 or 7)
    closures = [
        Closure(
            location=ny,
            room_id=rooms[ny.pk][-1],
            starts_at=local_to_utc(monday + timedelta(days=2), clock(13), ny.tz),
            ends_at=local_to_utc(monday + timedelta(days=2), clock(19), ny.tz),
            reason="Bench: maintenance",
        ),
        Closure(
            location=chi,
            starts_at=local_to_utc(monday + timedelta(days=38), clock(0), chi.tz),
            ends_at=local_to_utc(monday + timedelta(days=39), clock(0), chi.tz),
            reason="Bench: holiday",
        ),
    ]
    Closure.objects.bulk_create(closures)
    blocked_therapist = defaultdict(list)
    for off in time_off:
        blocked_therapist[off.therapist_id].append((off.starts_at, off.ends_at))
    blocked_location, room_closures = defaultdict(list), defaultdict(list)
    for c in closures:
        (room_closures[c.room_id] if c.room_id else blocked_location[c.location_id]).append((c.starts_at, c.ends_at))

    # Sessions on every shift: the past's up to today, the future's from two hours on (the notice).
    now = timezone.now()
    step = timedelta(minutes=clinic.booking_step_minutes)
    split = datetime.combine(today, clock(0), tzinfo=ny.tz)
    shifts = list(
        Shift.objects.order_by("starts_at", "therapist_id").values_list(
            "therapist_id", "location_id", "starts_at", "ends_at"
        )
    )
    past, future = [], []
    for shift in shifts:
        is_past = shift[3] <= split
        placed = lay_on_shift(
            shift,
            services,
            weights,
            share=PAST_BOOKED_SHARE if is_past else FUTURE_BOOKED_SHARE,
            step=step,
            blocked=blocked_therapist[shift[0]] + blocked_location[shift[1]],
            not_before=shift[2] if is_past else now + timedelta(hours=clinic.min_notice_hours),
            rng=rng,
        )
        (past if is_past else future).extend(placed)
    shift_minutes = {
        kind: sum((e - s).total_seconds() for _, _, s, e in shifts if (e <= split) == (kind == "past")) / 60
        for kind in ("past", "future")
    }
    with_rooms = [loc.pk for loc in locations.values() if loc.uses_rooms]
    for kind, rows in (("past", past), ("future", future)):
        kept = [p for p in rows if p.location_id not in with_rooms]
        for location_id in with_rooms:
            kept += give_rooms([p for p in rows if p.location_id == location_id], rooms[location_id], room_closures)
        kept.sort(key=lambda p: (p.starts_at, p.therapist_id))
        if kind == "past":
            past = kept
        else:
            future = kept
    booked_share = {
        "past": round(
            sum((p.occupied_until - p.starts_at).total_seconds() for p in past) / 60 / shift_minutes["past"], 3
        ),
        "future": round(
            sum((p.occupied_until - p.starts_at).total_seconds() for p in future) / 60 / shift_minutes["future"], 3
        ),
    }
    t = timer.step(
        "sessions laid on shifts, rooms given",
        t,
        f"{len(future)} future ({booked_share['future']:.0%} of shift time), "
        f"{len(past)} past ({booked_share['past']:.0%})",
    )

    templates = assessed_templates()
    trained = {
        th.pk: [
            kind
            for kind, given in (("therapeutic", th.gives_therapeutic), ("deep_tissue", th.gives_deep_tissue))
            if given
        ]
        for th in therapists
    }
    intakes = Copier(Intake, now)
    bookings = Copier(Booking, now)

    def write_bookings(rows: list[Placed], *, past_rows: bool) -> int:
        """An intake (unless pending) and a booking per session; clients in turn in time order, so a
        client never holds two sessions at once (at most ~40 sessions overlap one another)."""
        intake_rows, booking_rows = [], []
        for n, p in enumerate(rows):
            client_id = client_ids[n % CLIENTS]
            pending = not past_rows and rng.random() < PENDING_SHARE
            booking = {
                "id": bookings.new_id(),
                "client_id": client_id,
                "therapist_id": p.therapist_id,
                "location_id": p.location_id,
                "room_id": p.room_id,
                "service_id": p.service.pk,
                "starts_at": p.starts_at,
                "ends_at": p.ends_at,
                "occupied_until": p.occupied_until,
                "price": p.service.price,
                "currency": clinic.currency,
                "status": "confirmed",
                "booked_by_id": staff_id if pending or rng.random() < 0.05 else client_id,
                # Booked 1-30 days before the session, and never after now.
                "created_at": min(p.starts_at, now) - timedelta(days=rng.randint(1, 30), minutes=rng.randint(0, 1440)),
                "intake_status": "pending" if pending else "complete",
                "intake_id": None,
            }
            if not pending:
                kinds = trained[p.therapist_id]
                kind = "deep_tissue" if "deep_tissue" in kinds and (len(kinds) == 1 or rng.random() < 0.4) else kinds[0]
                answers, columns = rng.choice(templates[kind])
                booking["intake_id"] = intakes.new_id()
                intake_rows.append(
                    {
                        "id": booking["intake_id"],
                        "client_id": client_id,
                        "form_version": FORM_VERSION,
                        "answers": answers,
                        "created_at": booking["created_at"],
                        "updated_at": booking["created_at"],
                        **columns,
                    }
                )
            if past_rows:
                booking["reminder_sent_at"] = p.starts_at - timedelta(days=1)
                roll = rng.random()
                if roll < 0.9:
                    booking.update(status="completed", closed_at=p.ends_at)
                elif roll < 0.95:
                    booking.update(status="no_show", closed_at=p.ends_at)
                else:
                    booking.update(
                        status="cancelled",
                        cancelled_at=p.starts_at - timedelta(days=2),
                        cancelled_by_id=client_id,
                        cancel_reason="Bench: cancelled",
                        sequence=1,
                    )
            booking["updated_at"] = booking.get("closed_at") or booking.get("cancelled_at") or booking["created_at"]
            booking_rows.append(booking)
        with transaction.atomic():
            intakes.copy(intake_rows)
            bookings.copy(booking_rows)
        return len(booking_rows)

    n_future = write_bookings(future, past_rows=False)
    t = timer.step("future bookings + intakes (COPY)", t, f"{n_future} bookings")
    n_past = write_bookings(past, past_rows=True)
    t = timer.step("past bookings + intakes (COPY)", t, f"{n_past} bookings")

    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE")
    t = timer.step("VACUUM ANALYZE", t)

    counts = {
        "locations": {
            loc.name: {"time_zone": loc.time_zone, "rooms": len(rooms[loc.pk])} for loc in locations.values()
        },
        "services": {s.name: {"minutes": s.duration_minutes, "buffer": s.buffer_minutes} for s in services},
        "therapists": len(therapists),
        "clients": len(client_ids),
        "shifts": Shift.objects.count(),
        "future_shifts": result.created,
        "future_bookings": n_future,
        "future_pending_intake": Booking.objects.filter(intake_status="pending").count(),
        "past_bookings": n_past,
        "intakes": Intake.objects.count(),
        "time_off": len(time_off),
        "closures": len(closures),
        "booked_share_of_shift_time": booked_share,
    }
    return {
        "built_at": datetime.now(tz_of[ny.pk]).isoformat(),
        "today": today.isoformat(),
        "counts": counts,
        "shift_generation": {
            "days": FUTURE_DAYS,
            "therapists": THERAPISTS,
            "created": result.created,
            "seconds": round(shift_generation_s, 3),
        },
        "steps": timer.steps,
    }


def main() -> None:
    url = database_url()
    started = time.perf_counter()
    print(f"bench.build: recreating {urlsplit(url).path.lstrip('/')} ...", flush=True)
    recreate_database(url)
    setup_django()
    from django.core.management import call_command

    t = time.perf_counter()
    call_command("migrate", verbosity=0, interactive=False)
    print(f"  {'migrate':<38} {time.perf_counter() - t:7.2f} s", flush=True)
    summary = build()
    summary["total_seconds"] = round(time.perf_counter() - started, 2)
    path = os.path.join(ensure_results_dir(), "build.json")
    with open(path, "w") as fh:
        json.dump(summary, fh, indent=2)
    c = summary["counts"]
    print(
        f"bench.build: done in {summary['total_seconds']:.1f} s — {c['shifts']} shifts, "
        f"{c['future_bookings']} future bookings ({c['booked_share_of_shift_time']['future']:.0%} of shift time), "
        f"{c['past_bookings']} past. Shift generation: {summary['shift_generation']['seconds']:.2f} s "
        f"({summary['shift_generation']['created']} shifts). Summary: {path}",
        flush=True,
    )


if __name__ == "__main__":
    main()
