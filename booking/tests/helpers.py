"""What the booking tests share: a fixed clock, intake answers, shifts and bookings (roles: the root conftest).

The usual world of an API test: a location in New York without rooms, a
60-minute service, and therapists with shifts there (`works`), so that a
start on the grid of a shift is offered and can be booked with `book`.
"""

from collections.abc import Iterable
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import time_machine

from booking import services
from booking.models import Booking, Shift
from booking.tests.factories import BookingFactory, ShiftFactory
from clinic.models import Location, Service, Therapist, User
from clinic.tests.factories import LocationFactory, ServiceFactory

NEW_YORK = ZoneInfo("America/New_York")
UTC = ZoneInfo("UTC")

# The tests' "now": a Tuesday morning in the clinic's zone (EST, UTC-5).
NOW = datetime(2026, 12, 1, 10, 0, tzinfo=NEW_YORK)

THERAPEUTIC = {"pressure_preference": "medium", "primary_goal": "relaxation", "consent": True}
DEEP_TISSUE = {"pressure_preference": "deep", "primary_goal": "pain_relief", "consent": True}
NEEDS_REVIEW = {**THERAPEUTIC, "health_screening": ["high_blood_pressure"]}

BOOKINGS = "/api/v1/bookings/"
AVAILABILITY = "/api/v1/availability/"


def frozen(at: datetime = NOW):
    """The clock stopped at `at` (an aware datetime) for everything in the process, threads included."""
    return time_machine.travel(at, tick=False)


def local(year, month, day, hour=0, minute=0) -> datetime:
    """An aware datetime at that wall-clock time in the clinic's zone (New York)."""
    return datetime(year, month, day, hour, minute, tzinfo=NEW_YORK)


def _id(value) -> int | None:
    return getattr(value, "pk", value)


# --- The world ---------------------------------------------------------------------


def new_york(**fields) -> Location:
    """A location in New York, without rooms unless `uses_rooms=True`."""
    return LocationFactory(time_zone="America/New_York", **fields)


def hour_service(**fields) -> Service:
    """A 60-minute massage without buffer at 90.00, unless `fields` say otherwise."""
    return ServiceFactory(**{"duration_minutes": 60, "buffer_minutes": 0, **fields})


def shift_at(therapist: Therapist, starts_at: datetime, *, hours: float = 8, location: Location | None = None) -> Shift:
    """A shift of `therapist` from `starts_at` at `location` (default: their first, else a new one); they work there."""
    location = location or therapist.locations.first() or new_york()
    therapist.locations.add(location)
    return ShiftFactory(
        therapist=therapist, location=location, starts_at=starts_at, ends_at=starts_at + timedelta(hours=hours)
    )


def works(
    therapist: Therapist,
    location: Location,
    days: Iterable[int] = range(1, 32),
    *,
    start: int = 8,
    end: int = 20,
    month: tuple[int, int] = (2026, 12),
) -> list[Shift]:
    """`therapist` works at `location` from `start` to `end` o'clock (local) on each of these days of the month."""
    return [shift_at(therapist, local(*month, day, start), hours=end - start, location=location) for day in days]


def booking_at(therapist: Therapist, starts_at: datetime, *, minutes: int | None = None, **fields) -> Booking:
    """A booking (confirmed unless `fields` say otherwise) made in the database: no API, no rules.

    At the therapist's first location unless `location` is given; of a new
    `minutes`-long service when `minutes` is given (else the factory's 60).
    """
    if minutes is not None:
        fields.setdefault("service", hour_service(duration_minutes=minutes))
    if "location" not in fields and (place := therapist.locations.first()) is not None:
        fields["location"] = place
    return BookingFactory(therapist=therapist, starts_at=starts_at, **fields)


def booked(
    client: User,
    service: Service,
    starts_at: datetime,
    answers: dict | None = THERAPEUTIC,
    *,
    therapist=None,
    location=None,
    by: User | None = None,
) -> Booking:
    """A booking made through `booking.services.booking_create` (all rules apply): by the client, or by `by` (staff)."""
    return services.booking_create(
        client=client,
        service_id=service.pk,
        starts_at=starts_at,
        therapist_id=_id(therapist),
        location_id=_id(location),
        answers=answers if by is None else None,
        booked_by=by or client,
    )


# --- Over HTTP ---------------------------------------------------------------------


def booking_body(service, starts_at, answers=THERAPEUTIC, *, therapist=None, location=None, client=None) -> dict:
    """The body of POST /bookings/: a client's with `answers`, the front desk's with `client` (and answers=None)."""
    body = {"service": _id(service), "starts_at": starts_at.isoformat()}
    for name, value in (("therapist", therapist), ("location", location), ("client", client)):
        if value is not None:
            body[name] = _id(value)
    if answers is not None:
        body["intake"] = {"answers": answers}
    return body


def book(api, service, starts_at, answers=THERAPEUTIC, *, therapist=None, location=None, client=None, **headers):
    """`api` books a session of `service` at `starts_at` through the API (POST /bookings/).

    A client sends their intake `answers`; the front desk passes `client`
    and `answers=None`. `headers` are the test client's (HTTP_IDEMPOTENCY_KEY=...).
    """
    body = booking_body(service, starts_at, answers, therapist=therapist, location=location, client=client)
    return api.post(BOOKINGS, body, format="json", **headers)


def offered(api, service, day: datetime, **params) -> list[tuple[int, str]]:
    """(therapist, starts_at) of what GET /availability/ offers `api` for `service` on the local day of `day`."""
    date = day.astimezone(NEW_YORK).date().isoformat()
    response = api.get(AVAILABILITY, {"service": service.pk, "from": date, "to": date, "page_size": 500, **params})
    assert response.status_code == 200, response.json()
    return [(row["therapist"], row["starts_at"]) for row in response.json()["results"]]


def iso_z(value: datetime) -> str:
    """`value` as the API renders it: UTC with a Z."""
    return value.astimezone(UTC).isoformat().replace("+00:00", "Z")


def assert_conflict(response, code: str, status: int = 409) -> None:
    """A refusal by a clinic rule: its status, its stable code and a sentence a person can act on."""
    body = response.json()
    assert response.status_code == status, body
    assert body["code"] == code, body
    assert isinstance(body["detail"], str), body
    assert body["detail"], body
