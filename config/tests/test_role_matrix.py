"""Every endpoint × every role → the status docs/api.md promises.

One table: each row is an endpoint (method + route) with the status each
role gets. `test_every_endpoint_has_a_row` walks the project's URL conf, so
a new endpoint without a row here fails the suite.

Roles, relative to one booking: its client, another client, its therapist,
another therapist, front-desk staff, an admin, and anonymous. A 409 where a
role is allowed would hide a permission bug, so the world is built so that
every allowed request succeeds (a future booking that may still be cancelled,
a started one that may be marked done, free starts in a shift to book and to
move to, a free room to move to).
"""

import json
import re
import uuid
from dataclasses import dataclass
from datetime import timedelta

import pytest
from django.urls import URLPattern, URLResolver, get_resolver
from django.utils import timezone

from booking.models import Booking, TimeOff, WaitlistEntry, WaitlistOffer, WorkingHours
from booking.tests.factories import BookingFactory, ClosureFactory, ShiftFactory
from clinic.tests.factories import (
    PASSWORD,
    AdminFactory,
    ClientFactory,
    LocationFactory,
    RoomFactory,
    ServiceFactory,
    StaffFactory,
    TherapistFactory,
    clinic_configure,
)
from conftest import ROLES, api_client_for
from integrations.models import WebhookSubscription
from records.tests.factories import TreatmentNoteFactory

ANSWERS = {"pressure_preference": "medium", "primary_goal": "relaxation", "consent": True}


def expect(default: int, **per_role: int) -> dict[str, int]:
    statuses = {role: default for role in ROLES}
    statuses.update(per_role)
    return statuses


# Shorthands for the common permission shapes.
ANYONE = expect(200)
ANY_USER = expect(200, anonymous=401)
FRONT_DESK = expect(403, anonymous=401, staff=200, admin=200)
FRONT_DESK_201 = expect(403, anonymous=401, staff=201, admin=201)
FRONT_DESK_204 = expect(403, anonymous=401, staff=204, admin=204)


@dataclass
class World:
    users: dict
    therapist: object
    booking: object
    past_booking: object
    note: object
    free_start: object
    spare_start: object
    spare_room: object
    working_hours: object
    time_off: object
    shift: object
    closure: object
    room: object
    service: object
    webhook: object
    waitlist_entry: object
    offer: object

    def fmt(self, path: str) -> str:
        return path.format(
            booking=self.booking.pk,
            past_booking=self.past_booking.pk,
            note=self.note.pk,
            client=self.users["client"].pk,
            therapist=self.therapist.pk,
            booking_service=self.booking.service_id,
            working_hours=self.working_hours.pk,
            time_off=self.time_off.pk,
            shift=self.shift.pk,
            closure=self.closure.pk,
            location=self.room.location_id,
            room=self.room.pk,
            service=self.service.pk,
            webhook=self.webhook.pk,
            waitlist_entry=self.waitlist_entry.pk,
            offer=self.offer.pk,
            token=self.therapist.feed_token,
            today=timezone.localdate().isoformat(),
            week=(timezone.localdate() + timedelta(days=7)).isoformat(),
        )


def build_world() -> World:
    clinic_configure()
    therapist = TherapistFactory()
    schedule_location = LocationFactory(name="Schedule")
    therapist.locations.add(schedule_location)
    client = ClientFactory()
    users = {
        "anonymous": None,
        "client": client,
        "other_client": ClientFactory(),
        "therapist": therapist.user,
        "other_therapist": TherapistFactory().user,
        "staff": StaffFactory(),
        "admin": AdminFactory(),
    }
    soon = (timezone.now() + timedelta(days=3)).replace(minute=0, second=0, microsecond=0)
    # The booking, in a room of a location with rooms, inside a shift with free starts after it.
    room = RoomFactory(location__name="Rooms")
    therapist.locations.add(room.location)
    ShiftFactory(therapist=therapist, location=room.location, starts_at=soon, ends_at=soon + timedelta(hours=8))
    booked_room = RoomFactory(location=room.location, name="Booked")
    booking = BookingFactory(
        client=client, therapist=therapist, location=room.location, room=booked_room, starts_at=soon
    )
    past_booking = BookingFactory(
        client=client,
        therapist=therapist,
        location=room.location,
        service=booking.service,
        starts_at=timezone.now() - timedelta(hours=2),
    )
    # The client waits on the waitlist, and later in the shift a time is held for them (an open offer).
    waitlist_entry = WaitlistEntry.objects.create(
        client=client,
        service=booking.service,
        from_date=timezone.localdate() + timedelta(days=2),
        to_date=timezone.localdate() + timedelta(days=5),
        status=WaitlistEntry.Status.OFFERED,
    )
    hold = BookingFactory(
        client=client,
        therapist=therapist,
        location=room.location,
        room=booked_room,
        service=booking.service,
        starts_at=soon + timedelta(hours=6),
        status=Booking.Status.HELD,
        hold_expires_at=timezone.now() + timedelta(minutes=30),
        intake=None,
        intake_status=Booking.IntakeStatus.PENDING,
        booked_by=client,
    )
    offer = WaitlistOffer.objects.create(hold=hold, entry=waitlist_entry, expires_at=hold.hold_expires_at)
    return World(
        users=users,
        therapist=therapist,
        booking=booking,
        past_booking=past_booking,
        # A draft treatment note of the started booking, by its therapist (so it may be changed and signed).
        note=TreatmentNoteFactory(booking=past_booking),
        free_start=soon + timedelta(hours=2),
        spare_start=soon + timedelta(hours=4),
        spare_room=RoomFactory(location=room.location, name="Spare"),
        working_hours=WorkingHours.objects.create(
            therapist=therapist, location=schedule_location, weekday=0, start_time="09:00", end_time="12:00"
        ),
        time_off=TimeOff.objects.create(
            therapist=therapist, starts_at=soon + timedelta(days=20), ends_at=soon + timedelta(days=21)
        ),
        # A shift without bookings (so it may be changed and deleted), and a closure.
        shift=ShiftFactory(therapist=therapist, location=schedule_location, starts_at=soon + timedelta(days=30)),
        closure=ClosureFactory(
            location=schedule_location, starts_at=soon + timedelta(days=25), ends_at=soon + timedelta(days=26)
        ),
        # A room (of a location with rooms) and a service nobody booked: they may be changed, the room deleted.
        room=room,
        service=ServiceFactory(),
        # A webhook to a public address literal (no DNS), on an event nothing here announces.
        webhook=WebhookSubscription.objects.create(
            url="https://8.8.8.8/hooks", events=["waitlist.offered"], secret="whsec_cm9sZS1tYXRyaXg="
        ),
        waitlist_entry=waitlist_entry,
        offer=offer,
    )


def register_body(world):
    return {
        "email": f"new-{uuid.uuid4().hex[:8]}@example.com",
        "password": PASSWORD,
        "first_name": "N",
        "last_name": "U",
    }


def therapist_body(world):
    return {
        "email": f"t-{uuid.uuid4().hex[:8]}@example.com",
        "first_name": "T",
        "last_name": "X",
        "modalities": ["therapeutic"],
    }


def shift_body(world):
    start = timezone.now() + timedelta(days=40)
    return {
        "therapist": world.therapist.pk,
        "location": world.shift.location_id,
        "starts_at": start.isoformat(),
        "ends_at": (start + timedelta(hours=8)).isoformat(),
    }


def closure_body(world):
    start = timezone.now() + timedelta(days=60)
    return {
        "location": world.shift.location_id,
        "starts_at": start.isoformat(),
        "ends_at": (start + timedelta(days=1)).isoformat(),
        "reason": "Holiday",
    }


def time_off_body(world):
    start = timezone.now() + timedelta(days=50)
    return {
        "therapist": world.therapist.pk,
        "starts_at": start.isoformat(),
        "ends_at": (start + timedelta(hours=3)).isoformat(),
    }


# (method, route as in the URL conf, concrete path, body, expected per role)
MATRIX = [
    # Accounts
    ("POST", "auth/register/", "/api/v1/auth/register/", register_body, expect(201)),
    (
        "POST",
        "auth/token/",
        "/api/v1/auth/token/",
        lambda w: {"email": w.users["client"].email, "password": PASSWORD},
        ANYONE,
    ),
    ("POST", "auth/logout/", "/api/v1/auth/logout/", None, expect(204, anonymous=401)),
    ("POST", "auth/logout-all/", "/api/v1/auth/logout-all/", None, expect(204, anonymous=401)),
    ("GET", "me/", "/api/v1/me/", None, ANY_USER),
    ("GET", "me/export/", "/api/v1/me/export/", None, ANY_USER),
    ("DELETE", "me/", "/api/v1/me/", None, expect(403, anonymous=401, client=204, other_client=204)),
    # The client's latest intake: the booking's client has one, the other client none yet.
    (
        "GET",
        "me/intake/latest/",
        "/api/v1/me/intake/latest/",
        None,
        expect(403, anonymous=401, client=200, other_client=404),
    ),
    # Clinic and therapists
    ("GET", "clinic/", "/api/v1/clinic/", None, ANYONE),
    ("PATCH", "clinic/", "/api/v1/clinic/", lambda w: {"min_notice_hours": 3}, FRONT_DESK),
    ("GET", "therapists/", "/api/v1/therapists/", None, ANYONE),
    ("POST", "therapists/", "/api/v1/therapists/", therapist_body, FRONT_DESK_201),
    ("GET", "therapists/{}/", "/api/v1/therapists/{therapist}/", None, ANYONE),
    ("PATCH", "therapists/{}/", "/api/v1/therapists/{therapist}/", lambda w: {"bio": "New bio"}, FRONT_DESK),
    # Locations, rooms, services
    ("GET", "locations/", "/api/v1/locations/", None, ANYONE),
    (
        "POST",
        "locations/",
        "/api/v1/locations/",
        lambda w: {"name": f"L-{uuid.uuid4().hex[:8]}", "time_zone": "Europe/Paris"},
        FRONT_DESK_201,
    ),
    ("GET", "locations/{}/", "/api/v1/locations/{location}/", None, ANYONE),
    ("PATCH", "locations/{}/", "/api/v1/locations/{location}/", lambda w: {"address": "2 Side St"}, FRONT_DESK),
    ("GET", "rooms/", "/api/v1/rooms/", None, FRONT_DESK),
    (
        "POST",
        "rooms/",
        "/api/v1/rooms/",
        lambda w: {"location": w.room.location_id, "name": f"R-{uuid.uuid4().hex[:8]}"},
        FRONT_DESK_201,
    ),
    ("GET", "rooms/{}/", "/api/v1/rooms/{room}/", None, FRONT_DESK),
    ("PATCH", "rooms/{}/", "/api/v1/rooms/{room}/", lambda w: {"name": "Blue room"}, FRONT_DESK),
    ("DELETE", "rooms/{}/", "/api/v1/rooms/{room}/", None, FRONT_DESK_204),
    ("GET", "services/", "/api/v1/services/", None, ANYONE),
    (
        "POST",
        "services/",
        "/api/v1/services/",
        lambda w: {"name": "Massage, 45 min", "duration_minutes": 45, "buffer_minutes": 5, "price": "70.00"},
        FRONT_DESK_201,
    ),
    ("GET", "services/{}/", "/api/v1/services/{service}/", None, ANYONE),
    ("PATCH", "services/{}/", "/api/v1/services/{service}/", lambda w: {"price": "95.00"}, FRONT_DESK),
    # Schedules: working hours, shifts, time off, closures
    ("GET", "working-hours/", "/api/v1/working-hours/", None, FRONT_DESK),
    (
        "POST",
        "working-hours/",
        "/api/v1/working-hours/",
        lambda w: {
            "therapist": w.therapist.pk,
            "location": w.working_hours.location_id,
            "weekday": 2,
            "start_time": "09:00",
            "end_time": "13:00",
        },
        FRONT_DESK_201,
    ),
    ("GET", "working-hours/{}/", "/api/v1/working-hours/{working_hours}/", None, FRONT_DESK),
    (
        "PATCH",
        "working-hours/{}/",
        "/api/v1/working-hours/{working_hours}/",
        lambda w: {"end_time": "13:00"},
        FRONT_DESK,
    ),
    ("DELETE", "working-hours/{}/", "/api/v1/working-hours/{working_hours}/", None, FRONT_DESK_204),
    (
        "POST",
        "shifts/generate/",
        "/api/v1/shifts/generate/",
        lambda w: {"from": w.fmt("{today}"), "to": w.fmt("{week}")},
        FRONT_DESK,
    ),
    ("GET", "shifts/", "/api/v1/shifts/", None, FRONT_DESK),
    ("POST", "shifts/", "/api/v1/shifts/", shift_body, FRONT_DESK_201),
    ("GET", "shifts/{}/", "/api/v1/shifts/{shift}/", None, FRONT_DESK),
    (
        "PATCH",
        "shifts/{}/",
        "/api/v1/shifts/{shift}/",
        lambda w: {"ends_at": (w.shift.ends_at + timedelta(hours=1)).isoformat()},
        FRONT_DESK,
    ),
    ("DELETE", "shifts/{}/", "/api/v1/shifts/{shift}/", None, FRONT_DESK_204),
    ("GET", "time-off/", "/api/v1/time-off/", None, FRONT_DESK),
    ("POST", "time-off/", "/api/v1/time-off/", time_off_body, FRONT_DESK_201),
    ("GET", "time-off/{}/", "/api/v1/time-off/{time_off}/", None, FRONT_DESK),
    ("DELETE", "time-off/{}/", "/api/v1/time-off/{time_off}/", None, FRONT_DESK_204),
    ("GET", "closures/", "/api/v1/closures/", None, FRONT_DESK),
    ("POST", "closures/", "/api/v1/closures/", closure_body, FRONT_DESK_201),
    ("GET", "closures/{}/", "/api/v1/closures/{closure}/", None, FRONT_DESK),
    ("DELETE", "closures/{}/", "/api/v1/closures/{closure}/", None, FRONT_DESK_204),
    # Availability and intake
    ("GET", "availability/", "/api/v1/availability/?service={booking_service}&from={today}&to={week}", None, ANYONE),
    ("GET", "intake/form/", "/api/v1/intake/form/", None, ANYONE),
    ("POST", "intake/assess/", "/api/v1/intake/assess/", lambda w: ANSWERS, ANYONE),
    # Bookings
    # A client's body (with their answers), then the front desk's (for a client, without answers):
    # each role is refused the other's shape with a 400.
    (
        "POST",
        "bookings/",
        "/api/v1/bookings/",
        lambda w: {
            "service": w.booking.service_id,
            "starts_at": w.free_start.isoformat(),
            "intake": {"answers": ANSWERS},
        },
        expect(403, anonymous=401, client=201, other_client=201, staff=400, admin=400),
    ),
    (
        "POST",
        "bookings/",
        "/api/v1/bookings/",
        lambda w: {
            "client": w.users["other_client"].pk,
            "service": w.booking.service_id,
            "starts_at": w.free_start.isoformat(),
        },
        expect(403, anonymous=401, staff=201, admin=201, client=400, other_client=400),
    ),
    ("GET", "bookings/", "/api/v1/bookings/", None, ANY_USER),
    (
        "GET",
        "bookings/{}/",
        "/api/v1/bookings/{booking}/",
        None,
        expect(200, anonymous=401, other_client=404, other_therapist=404),
    ),
    (
        "PATCH",
        "bookings/{}/",
        "/api/v1/bookings/{booking}/",
        lambda w: {"room": w.spare_room.pk},
        expect(403, anonymous=401, other_client=404, other_therapist=404, staff=200, admin=200),
    ),
    (
        "POST",
        "bookings/{}/cancel/",
        "/api/v1/bookings/{booking}/cancel/",
        lambda w: {},
        expect(200, anonymous=401, other_client=404, other_therapist=404, therapist=403),
    ),
    (
        "POST",
        "bookings/{}/reschedule/",
        "/api/v1/bookings/{booking}/reschedule/",
        lambda w: {"starts_at": w.spare_start.isoformat()},
        expect(200, anonymous=401, other_client=404, other_therapist=404, therapist=403),
    ),
    (
        "POST",
        "bookings/{}/complete/",
        "/api/v1/bookings/{past_booking}/complete/",
        None,
        expect(200, anonymous=401, other_client=404, other_therapist=404, client=403),
    ),
    (
        "POST",
        "bookings/{}/no-show/",
        "/api/v1/bookings/{past_booking}/no-show/",
        None,
        expect(200, anonymous=401, other_client=404, other_therapist=404, client=403),
    ),
    (
        "GET",
        "bookings/{}/intake/",
        "/api/v1/bookings/{booking}/intake/",
        None,
        expect(200, anonymous=401, other_client=404, other_therapist=404, staff=403),
    ),
    (
        "PUT",
        "bookings/{}/intake/",
        "/api/v1/bookings/{booking}/intake/",
        lambda w: ANSWERS,
        expect(403, anonymous=401, other_client=404, other_therapist=404, client=200),
    ),
    (
        "POST",
        "bookings/{}/review/",
        "/api/v1/bookings/{booking}/review/",
        lambda w: {"modality": "therapeutic"},
        expect(403, anonymous=401, other_client=404, other_therapist=404, therapist=200, admin=200),
    ),
    (
        "GET",
        "bookings/{}/intake/access-log/",
        "/api/v1/bookings/{booking}/intake/access-log/",
        None,
        expect(403, anonymous=401, other_client=404, other_therapist=404, client=200, admin=200),
    ),
    # Treatment notes (of the booking that has started) and a client's history
    (
        "GET",
        "bookings/{}/notes/",
        "/api/v1/bookings/{past_booking}/notes/",
        None,
        expect(404, anonymous=401, therapist=200, admin=200, staff=403),
    ),
    (
        "POST",
        "bookings/{}/notes/",
        "/api/v1/bookings/{past_booking}/notes/",
        lambda w: {"areas_treated": ["neck"], "pressure_used": "medium", "modality_given": "therapeutic"},
        expect(404, anonymous=401, therapist=201, admin=403, staff=403),
    ),
    (
        "PATCH",
        "bookings/{}/notes/{}/",
        "/api/v1/bookings/{past_booking}/notes/{note}/",
        lambda w: {"plan": "Stretch daily."},
        expect(404, anonymous=401, therapist=200, admin=403, staff=403),
    ),
    (
        "POST",
        "bookings/{}/notes/{}/sign/",
        "/api/v1/bookings/{past_booking}/notes/{note}/sign/",
        None,
        expect(404, anonymous=401, therapist=200, admin=403, staff=403),
    ),
    (
        "GET",
        "clients/{}/history/",
        "/api/v1/clients/{client}/history/",
        None,
        expect(404, anonymous=401, therapist=200, admin=200, staff=403),
    ),
    # The waitlist: clients join and answer their offers; the front desk sees and withdraws any entry.
    ("GET", "waitlist/", "/api/v1/waitlist/", None, expect(200, anonymous=401, therapist=403, other_therapist=403)),
    (
        "POST",
        "waitlist/",
        "/api/v1/waitlist/",
        lambda w: {"service": w.service.pk, "from": w.fmt("{week}"), "to": w.fmt("{week}")},
        expect(403, anonymous=401, client=201, other_client=201),
    ),
    (
        "GET",
        "waitlist/{}/",
        "/api/v1/waitlist/{waitlist_entry}/",
        None,
        expect(200, anonymous=401, other_client=404, therapist=403, other_therapist=403),
    ),
    (
        "DELETE",
        "waitlist/{}/",
        "/api/v1/waitlist/{waitlist_entry}/",
        None,
        expect(204, anonymous=401, other_client=404, therapist=403, other_therapist=403),
    ),
    (
        "POST",
        "waitlist/offers/{}/accept/",
        "/api/v1/waitlist/offers/{offer}/accept/",
        lambda w: {"intake": {"answers": ANSWERS}},
        expect(403, anonymous=401, client=201, other_client=404),
    ),
    (
        "POST",
        "waitlist/offers/{}/decline/",
        "/api/v1/waitlist/offers/{offer}/decline/",
        None,
        expect(403, anonymous=401, client=200, other_client=404),
    ),
    # FHIR R4 reads: appointments as the bookings' scope, the directory and the form to anyone signed in,
    # a booking's intake (QuestionnaireResponse) to its therapist and admins; an unknown type is a 404.
    ("GET", "fhir/Appointment", "/api/v1/fhir/Appointment", None, ANY_USER),
    (
        "GET",
        "fhir/Appointment/{}",
        "/api/v1/fhir/Appointment/{booking}",
        None,
        expect(200, anonymous=401, other_client=404, other_therapist=404),
    ),
    ("GET", "fhir/Practitioner", "/api/v1/fhir/Practitioner", None, ANY_USER),
    ("GET", "fhir/Practitioner/{}", "/api/v1/fhir/Practitioner/{therapist}", None, ANY_USER),
    ("GET", "fhir/Location", "/api/v1/fhir/Location", None, ANY_USER),
    ("GET", "fhir/Location/{}", "/api/v1/fhir/Location/{location}", None, ANY_USER),
    ("GET", "fhir/HealthcareService", "/api/v1/fhir/HealthcareService", None, ANY_USER),
    ("GET", "fhir/HealthcareService/{}", "/api/v1/fhir/HealthcareService/{service}", None, ANY_USER),
    ("GET", "fhir/Schedule", "/api/v1/fhir/Schedule", None, ANY_USER),
    ("GET", "fhir/Schedule/{}", "/api/v1/fhir/Schedule/{therapist}-{location}", None, ANY_USER),
    ("GET", "fhir/Questionnaire", "/api/v1/fhir/Questionnaire", None, ANY_USER),
    ("GET", "fhir/Questionnaire/{}", "/api/v1/fhir/Questionnaire/intake", None, ANY_USER),
    (
        "GET",
        "fhir/QuestionnaireResponse/{}",
        "/api/v1/fhir/QuestionnaireResponse/{booking}",
        None,
        expect(403, anonymous=401, other_client=404, other_therapist=404, therapist=200, admin=200),
    ),
    ("GET", "fhir/{}", "/api/v1/fhir/Patient/1", None, expect(404, anonymous=401)),
    # Therapist's day and calendar feed
    (
        "GET",
        "therapists/me/day/",
        "/api/v1/therapists/me/day/?date={today}",
        None,
        expect(403, anonymous=401, therapist=200, other_therapist=200),
    ),
    (
        "GET",
        "therapists/me/feed/",
        "/api/v1/therapists/me/feed/",
        None,
        expect(403, anonymous=401, therapist=200, other_therapist=200),
    ),
    (
        "POST",
        "therapists/me/feed/",
        "/api/v1/therapists/me/feed/",
        None,
        expect(403, anonymous=401, therapist=200, other_therapist=200),
    ),
    ("GET", "therapists/{}/calendar.ics", "/api/v1/therapists/{therapist}/calendar.ics?token={token}", None, ANYONE),
    # Webhooks (front desk)
    ("GET", "webhooks/", "/api/v1/webhooks/", None, FRONT_DESK),
    (
        "POST",
        "webhooks/",
        "/api/v1/webhooks/",
        lambda w: {"url": "https://1.1.1.1/hooks", "events": ["booking.created"]},
        FRONT_DESK_201,
    ),
    ("GET", "webhooks/{}/", "/api/v1/webhooks/{webhook}/", None, FRONT_DESK),
    ("PATCH", "webhooks/{}/", "/api/v1/webhooks/{webhook}/", lambda w: {"active": False}, FRONT_DESK),
    ("DELETE", "webhooks/{}/", "/api/v1/webhooks/{webhook}/", None, FRONT_DESK_204),
    ("GET", "webhooks/{}/deliveries/", "/api/v1/webhooks/{webhook}/deliveries/", None, FRONT_DESK),
]


def _canonical(route: str) -> str:
    route = re.sub(r"\(\?P<[^>]+>[^)]+\)", "{}", route)  # router regex groups
    route = re.sub(r"<[^>]+>", "{}", route)  # path converters
    return route.replace("^", "").replace("$", "").replace("\\.", ".")


def _api_endpoints(resolver=None, prefix="") -> set[tuple[str, str]]:
    """(METHOD, route) of every view under /api/v1/."""
    found = set()
    for pattern in (resolver or get_resolver()).url_patterns:
        route = prefix + str(pattern.pattern)
        if isinstance(pattern, URLResolver):
            found |= _api_endpoints(pattern, route)
        elif isinstance(pattern, URLPattern) and _canonical(route).startswith("api/v1/"):
            callback = pattern.callback
            view = getattr(callback, "cls", None) or getattr(callback, "view_class", None)
            actions = getattr(callback, "actions", None)
            methods = set(actions) if actions is not None else {m for m in view.http_method_names if hasattr(view, m)}
            methods &= set(view.http_method_names) - {"head", "options", "trace"}
            for method in methods:
                found.add((method.upper(), _canonical(route).removeprefix("api/v1/")))
    return found


def test_every_endpoint_has_a_row():
    table = {(method, route) for method, route, *_ in MATRIX}
    endpoints = _api_endpoints()
    assert endpoints - table == set(), "endpoints without a row in the role matrix"
    assert table - endpoints == set(), "rows for endpoints that do not exist"


CASES = [
    pytest.param(method, path, body, role, statuses[role], id=f"{method} {route} as {role}")
    for method, route, path, body, statuses in MATRIX
    for role in ROLES
]


@pytest.mark.django_db
@pytest.mark.parametrize(("method", "path", "body", "role", "expected"), CASES)
def test_role_matrix(method, path, body, role, expected):
    # given
    world = build_world()
    api = api_client_for(world.users[role])
    # when
    response = api.generic(
        method,
        world.fmt(path),
        data=None if body is None else json.dumps(body(world)),
        content_type="application/json",
    )
    # then
    assert response.status_code == expected, getattr(response, "data", response.content[:300])
