"""Build the bench database: `python -m bench.build`.

Drops and recreates the bench database (BENCH_DATABASE_URL, default
clinic_bench on the embedded PostgreSQL), migrates it, then builds
a clinic in a realistic state, all with bulk inserts:

- the clinic (America/New_York, 2 h minimum notice, 120-day horizon);
- 40 therapists of mixed modalities, working weekdays 09:00-17:00 in 1 h slots;
- 92 days of future slots (~21,000) made by the real `slots_generate` in one
  92-day call, timed (the "slot generation" scenario);
- 5,000 clients; half of the future slots booked by them, each with an
  intake assessed by `intake.rules.assess`;
- a year of past bookings (~41,000; 90 % completed, 5 % no-show, 5 %
  cancelled) with their intakes, on past slots made for them.

Users, therapists and working hours go in with `bulk_create` (one password
hash for all); the big history-like tables (past slots, intakes, bookings)
with PostgreSQL COPY. Timings are printed and saved to bench/results/build.json.
"""

import json
import os
import random
import time
from datetime import datetime, timedelta
from urllib.parse import urlsplit

from bench.env import database_url, ensure_results_dir, setup_django

TIME_ZONE = "America/New_York"
THERAPISTS = 40
CLIENTS = 5_000
FUTURE_DAYS = 92  # one slots_generate call: the API's maximum
PAST_DAYS = 365
BOOKED_SHARE = 0.5
PASSWORD = "bench-password-1"
SEED = 6


class Timer:
    def __init__(self):
        self.steps: dict[str, float] = {}
        self._start = time.perf_counter()

    def step(self, name: str, started: float, detail: str = "") -> float:
        now = time.perf_counter()
        self.steps[name] = round(now - started, 3)
        print(f"  {name:<34} {now - started:7.2f} s  {detail}", flush=True)
        return now

    @property
    def total(self) -> float:
        return time.perf_counter() - self._start


def recreate_database(url: str) -> None:
    import psycopg

    parts = urlsplit(url)
    name = parts.path.lstrip("/")
    # libpq reads the URL itself, a percent-encoded socket directory included.
    admin = psycopg.connect(parts._replace(path="/postgres").geturl(), autocommit=True)
    with admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.execute(f'CREATE DATABASE "{name}"')


# Valid answers of each kind a clinic sees; deep-tissue ones go only to
# therapists trained for it (or booking would refuse them).
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


def assessed_templates():
    """(cleaned answers, Intake column values) per template, split by suggested modality."""
    from intake.form import validate_answers
    from intake.rules import assess
    from intake.selectors import ASSESSMENT_COLUMNS

    by_modality: dict[str, list[tuple[dict, dict]]] = {"therapeutic": [], "deep_tissue": []}
    for raw in ANSWER_TEMPLATES:
        cleaned = validate_answers(raw)
        assessment = assess(cleaned)
        columns = {column: assessment[key] for key, column in ASSESSMENT_COLUMNS.items()}
        by_modality[assessment["modality"]].append((cleaned, columns))
    assert by_modality["therapeutic"]
    assert by_modality["deep_tissue"]
    return by_modality


class Copier:
    """COPY rows into a model's table: the fast bulk insert for the big, history-like tables.

    Rows give attnames -> Python values; any other concrete column gets its
    field default (timestamps: now), so a column added later by a migration
    does not break the builder. Ids are allocated here, so rows can refer to
    each other before they are written; `finish` moves the identity sequence
    past them.
    """

    def __init__(self, model, now):
        from django.db import connection

        self.model = model
        self.table = model._meta.db_table
        self.fields = [f for f in model._meta.concrete_fields]
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
        sql = f'COPY "{self.table}" ({", ".join(f"{c}" for c in columns)}) FROM STDIN'
        with connection.cursor() as cursor:
            with cursor.cursor.copy(sql) as copy:
                for row in rows:
                    copy.write_row([row.get(c, self.defaults[c]) for c in columns])
            cursor.execute(
                f"SELECT setval(pg_get_serial_sequence('\"{self.table}\"', 'id'), "
                f'(SELECT MAX(id) FROM "{self.table}"))'
            )
        return len(rows)


def build() -> dict:
    from django.contrib.auth.hashers import make_password
    from django.db import connection, transaction
    from django.utils import timezone

    from booking.models import Booking, Slot, WorkingHours
    from booking.schedule import local_to_utc, slots_generate
    from clinic.models import Clinic, Role, Therapist, User
    from intake.form import FORM_VERSION
    from intake.models import Intake

    rng = random.Random(SEED)
    timer = Timer()
    t = time.perf_counter()

    clinic = Clinic.objects.create(
        pk=1,
        name="Bench Massage Clinic",
        time_zone=TIME_ZONE,
        min_notice_hours=2,
        booking_horizon_days=120,
        cancellation_window_hours=24,
        # The load clients book hundreds of sessions each; the per-client cap is measured elsewhere.
        max_active_bookings_per_client=100,
    )
    tz = clinic.tz
    today = datetime.now(tz).date()
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
    WorkingHours.objects.bulk_create(
        WorkingHours(therapist=th, weekday=wd, start_time="09:00", end_time="17:00", slot_minutes=60)
        for th in therapists
        for wd in range(5)
    )
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
    t = timer.step("clinic, therapists, hours, clients", t, f"{THERAPISTS} therapists, {CLIENTS} clients")

    # The real service, as the front desk runs it: one call, the API's maximum span.
    result = slots_generate(start=today, end=today + timedelta(days=FUTURE_DAYS - 1))
    slot_generation_s = time.perf_counter() - t
    t = timer.step("slots_generate (92 days, real)", t, f"{result.created} slots created, {result.skipped} skipped")

    now = timezone.now()
    slots = Copier(Slot, now)
    intakes = Copier(Intake, now)
    bookings = Copier(Booking, now)

    # A year of past bookings, half the weekly pattern's slots, on past slots
    # made for them (the unbooked half is left out: nothing reads old open
    # slots, and each slot costs its exclusion-constraint check to insert).
    past = []
    for offset in range(PAST_DAYS, 0, -1):
        day = today - timedelta(days=offset)
        if day.weekday() >= 5:
            continue
        for hour in range(9, 17):
            starts_at = local_to_utc(day, datetime.min.time().replace(hour=hour), tz)
            if starts_at is None:
                continue
            for th in therapists:
                if rng.random() < BOOKED_SHARE:
                    past.append(
                        {
                            "id": slots.new_id(),
                            "therapist_id": th.pk,
                            "starts_at": starts_at,
                            "ends_at": starts_at + timedelta(hours=1),
                            "status": "open",
                        }
                    )
    with transaction.atomic():
        slots.copy(past)
    t = timer.step("past slots (1 year, booked, COPY)", t, f"{len(past)} slots")

    templates = {
        kind: [
            (json.dumps(answers), {k: json.dumps(v) if isinstance(v, list) else v for k, v in columns.items()})
            for answers, columns in rows
        ]
        for kind, rows in assessed_templates().items()
    }
    deep_trained = {th.pk for th in therapists if th.gives_deep_tissue}
    future = list(
        Slot.objects.filter(starts_at__gte=datetime.combine(today, datetime.min.time(), tzinfo=tz))
        .order_by("starts_at", "therapist_id")
        .values_list("pk", "therapist_id", "starts_at", "ends_at")
    )
    booked_future = [row for row in future if rng.random() < BOOKED_SHARE]
    booked_past = [(s["id"], s["therapist_id"], s["starts_at"], s["ends_at"]) for s in past]

    def write_bookings(rows, *, past_rows: bool) -> int:
        """An intake and a booking per slot row; clients round-robin in time order, so a
        client never holds two bookings at once (about 20 bookings share an hour)."""
        intake_rows, booking_rows = [], []
        for n, (slot_id, therapist_id, starts_at, ends_at) in enumerate(rows):
            client_id = client_ids[n % CLIENTS]
            kind = "deep_tissue" if therapist_id in deep_trained and rng.random() < 0.4 else "therapeutic"
            answers, columns = rng.choice(templates[kind])
            intake_id = intakes.new_id()
            intake_rows.append(
                {"id": intake_id, "client_id": client_id, "form_version": FORM_VERSION, "answers": answers, **columns}
            )
            booking = {
                "id": bookings.new_id(),
                "slot_id": slot_id,
                "client_id": client_id,
                "intake_id": intake_id,
                "status": "confirmed",
            }
            if past_rows:
                roll = rng.random()
                if roll < 0.9:
                    booking.update(status="completed", closed_at=ends_at)
                elif roll < 0.95:
                    booking.update(status="no_show", closed_at=ends_at)
                else:
                    booking.update(
                        status="cancelled",
                        cancelled_at=starts_at - timedelta(days=2),
                        cancelled_by_id=client_id,
                        cancel_reason="Bench: cancelled",
                    )
            booking_rows.append(booking)
        with transaction.atomic():
            intakes.copy(intake_rows)
            bookings.copy(booking_rows)
        return len(booking_rows)

    n_future = write_bookings(booked_future, past_rows=False)
    t = timer.step("future bookings + intakes (COPY)", t, f"{n_future} bookings")
    n_past = write_bookings(booked_past, past_rows=True)
    t = timer.step("past bookings + intakes (COPY)", t, f"{n_past} bookings")

    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE")
    t = timer.step("VACUUM ANALYZE", t)

    counts = {
        "therapists": len(therapists),
        "clients": len(client_ids),
        "future_slots": len(future),
        "future_booked": n_future,
        "past_slots": len(past),
        "past_bookings": n_past,
    }
    return {
        "built_at": datetime.now(tz).isoformat(),
        "today": today.isoformat(),
        "counts": counts,
        "slot_generation": {
            "days": FUTURE_DAYS,
            "therapists": THERAPISTS,
            "created": result.created,
            "seconds": round(slot_generation_s, 3),
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
    print(f"  {'migrate':<34} {time.perf_counter() - t:7.2f} s", flush=True)
    summary = build()
    summary["total_seconds"] = round(time.perf_counter() - started, 2)
    path = os.path.join(ensure_results_dir(), "build.json")
    with open(path, "w") as fh:
        json.dump(summary, fh, indent=2)
    c = summary["counts"]
    print(
        f"bench.build: done in {summary['total_seconds']:.1f} s — {c['future_slots']} future slots "
        f"({c['future_booked']} booked), {c['past_slots']} past slots ({c['past_bookings']} bookings). "
        f"Slot generation: {summary['slot_generation']['seconds']:.2f} s. Summary: {path}",
        flush=True,
    )


if __name__ == "__main__":
    main()
