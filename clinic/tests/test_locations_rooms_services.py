"""Locations, rooms, services and therapists' places through the real URL conf, as each role
(docs/api.md: The clinic: locations, rooms, services, therapists).

A change that would strand an active future booking (confirmed, or held for
a waitlist offer that has not expired) answers 409 `has_future_bookings`
with the bookings' ids; past, cancelled and expired ones are not in the way.
"""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone
from knox.models import AuthToken

from booking.models import Booking, Closure
from booking.tests.factories import BookingFactory, ClosureFactory
from clinic.models import Location, Room, Service, Therapist
from clinic.services import (
    BOOKING_STEP,
    LOCATION_NAME_TAKEN,
    PRICE_MESSAGE,
    ROOM_NAME_TAKEN,
    ROOM_STAYS,
    SERVICE_BUFFER,
    SERVICE_DURATION,
)
from clinic.tests.factories import LocationFactory, RoomFactory, ServiceFactory, TherapistFactory, clinic_configure
from conftest import ROLES
from intake.tests.factories import IntakeFactory

LOCATIONS = "/api/v1/locations/"
ROOMS = "/api/v1/rooms/"
SERVICES = "/api/v1/services/"
THERAPISTS = "/api/v1/therapists/"

FRONT_DESK = ["staff", "admin"]
NOT_FRONT_DESK = ["client", "therapist"]
READERS = ["anonymous", *NOT_FRONT_DESK]


def url(base: str, pk: int) -> str:
    return f"{base}{pk}/"


def ids(response) -> list[int]:
    return [row["id"] for row in response.json()["results"]]


def in_days(days: float) -> "timezone.datetime":
    """On the hour, `days` from now (negative: in the past)."""
    return (timezone.now() + timedelta(days=days)).replace(minute=0, second=0, microsecond=0)


def booking(**fields) -> Booking:
    """A confirmed booking three days ahead unless told otherwise."""
    fields.setdefault("starts_at", in_days(3))
    return BookingFactory(**fields)


def hold(*, expires_in: timedelta = timedelta(minutes=30), **fields) -> Booking:
    """Time held for a waitlist offer (no intake yet), expiring `expires_in` from now."""
    return booking(
        status=Booking.Status.HELD,
        hold_expires_at=timezone.now() + expires_in,
        intake=None,
        intake_status=Booking.IntakeStatus.PENDING,
        **fields,
    )


def cancelled(**fields) -> Booking:
    return booking(status=Booking.Status.CANCELLED, cancelled_at=timezone.now(), **fields)


# Bookings that do not need what they are booked with any more.
NOT_IN_THE_WAY = {
    "past": lambda **f: booking(starts_at=in_days(-2), **f),
    "completed": lambda **f: booking(starts_at=in_days(-2), status=Booking.Status.COMPLETED, **f),
    "cancelled": cancelled,
    "expired-hold": lambda **f: hold(expires_in=-timedelta(minutes=1), **f),
}
# Bookings that do.
IN_THE_WAY = {
    "confirmed": booking,
    "held": hold,
}


def assert_has_future_bookings(response, expected: list[Booking]) -> None:
    assert response.status_code == 409, response.json()
    body = response.json()
    assert set(body) == {"code", "detail", "conflicts"}
    assert body["code"] == "has_future_bookings"
    assert body["conflicts"] == sorted(b.pk for b in expected)
    assert body["detail"]


# --- locations/ ---------------------------------------------------------------------


@pytest.fixture
def places(db):
    """An active location with rooms, one without, and an inactive one."""
    return {
        "downtown": LocationFactory(name="Downtown", address="1 Main St", uses_rooms=True),
        "westside": LocationFactory(name="Westside", time_zone="America/Los_Angeles", address=""),
        "closed": LocationFactory(name="Old Town", active=False),
    }


def location_body(**overrides) -> dict:
    return {"name": "Harbour", "address": "9 Quay", "time_zone": "Europe/Paris", "uses_rooms": True, **overrides}


class TestLocationRead:
    @pytest.mark.parametrize("role", ROLES)
    def test_anyone_lists_the_active_locations(self, api_as, places, role):
        response = api_as(role).get(LOCATIONS)
        assert response.status_code == 200
        body = response.json()
        assert set(body) == {"count", "next", "previous", "results"}
        downtown = places["downtown"]
        assert body["results"] == [
            {
                "id": downtown.pk,
                "name": "Downtown",
                "address": "1 Main St",
                "time_zone": "America/New_York",
                "uses_rooms": True,
                "active": True,
            },
            {
                "id": places["westside"].pk,
                "name": "Westside",
                "address": "",
                "time_zone": "America/Los_Angeles",
                "uses_rooms": False,
                "active": True,
            },
        ]

    @pytest.mark.parametrize("role", FRONT_DESK)
    def test_front_desk_may_include_inactive_locations(self, api_as, places, role):
        response = api_as(role).get(LOCATIONS, {"include_inactive": "true"})
        assert ids(response) == [places[key].pk for key in ("downtown", "westside", "closed")]
        assert response.json()["results"][2]["active"] is False

    @pytest.mark.parametrize("role", READERS)
    def test_include_inactive_is_ignored_for_others(self, api_as, places, role):
        response = api_as(role).get(LOCATIONS, {"include_inactive": "true"})
        assert places["closed"].pk not in ids(response)

    def test_a_malformed_include_inactive_is_400(self, api, places):
        assert api.get(LOCATIONS, {"include_inactive": "perhaps"}).status_code == 400

    @pytest.mark.parametrize("role", ROLES)
    def test_anyone_reads_an_active_location(self, api_as, places, role):
        response = api_as(role).get(url(LOCATIONS, places["westside"].pk))
        assert response.status_code == 200
        assert response.json()["time_zone"] == "America/Los_Angeles"

    @pytest.mark.parametrize(("role", "status"), [*((r, 404) for r in READERS), ("staff", 200), ("admin", 200)])
    def test_an_inactive_location_is_for_the_front_desk_only(self, api_as, places, role, status):
        assert api_as(role).get(url(LOCATIONS, places["closed"].pk)).status_code == status

    def test_an_unknown_location_is_404(self, api_as, places):
        assert api_as("staff").get(url(LOCATIONS, 999999)).status_code == 404


class TestLocationCreate:
    @pytest.mark.parametrize("role", FRONT_DESK)
    def test_front_desk_adds_a_location(self, api_as, db, role):
        response = api_as(role).post(LOCATIONS, location_body())
        assert response.status_code == 201, response.json()
        location = Location.objects.get(pk=response.json()["id"])
        assert response.json() == {
            "id": location.pk,
            "name": "Harbour",
            "address": "9 Quay",
            "time_zone": "Europe/Paris",
            "uses_rooms": True,
            "active": True,
        }
        assert (location.name, location.time_zone, location.uses_rooms) == ("Harbour", "Europe/Paris", True)

    def test_address_and_rooms_are_optional(self, api_as, db):
        response = api_as("staff").post(LOCATIONS, {"name": "Home visits", "time_zone": "UTC"})
        assert response.status_code == 201
        assert (response.json()["address"], response.json()["uses_rooms"]) == ("", False)

    @pytest.mark.parametrize("role", NOT_FRONT_DESK)
    def test_clients_and_therapists_may_not_add_locations(self, api_as, db, role):
        assert api_as(role).post(LOCATIONS, location_body()).status_code == 403
        assert not Location.objects.filter(name="Harbour").exists()

    def test_anonymous_may_not_add_locations(self, api, db):
        assert api.post(LOCATIONS, location_body()).status_code == 401

    @pytest.mark.parametrize(
        ("change", "field"),
        [
            ({"time_zone": "Mars/Olympus_Mons"}, "time_zone"),
            ({"time_zone": "europe/paris"}, "time_zone"),
            ({"time_zone": "+02:00"}, "time_zone"),
            ({"time_zone": ""}, "time_zone"),
            ({"time_zone": None}, "time_zone"),
            ({"name": ""}, "name"),
            ({"name": "x" * 201}, "name"),
            ({"uses_rooms": "perhaps"}, "uses_rooms"),
            ({"active": "sometimes"}, "active"),
            ({"address": ["a", "list"]}, "address"),
        ],
    )
    def test_invalid_input_is_400(self, api_as, db, change, field):
        response = api_as("staff").post(LOCATIONS, location_body(**change), format="json")
        assert response.status_code == 400
        assert list(response.json()) == [field]
        assert not Location.objects.exists()

    def test_a_time_zone_not_in_the_iana_database_says_so(self, api_as, db):
        response = api_as("staff").post(LOCATIONS, location_body(time_zone="Mars/Base"))
        assert response.json() == {"time_zone": ["'Mars/Base' is not an IANA time zone such as 'Europe/Paris'."]}

    @pytest.mark.parametrize("missing", ["name", "time_zone"])
    def test_required_fields(self, api_as, db, missing):
        body = location_body()
        del body[missing]
        response = api_as("staff").post(LOCATIONS, body)
        assert response.status_code == 400
        assert response.json() == {missing: ["This field is required."]}

    def test_a_taken_name_is_400(self, api_as, places):
        response = api_as("staff").post(LOCATIONS, location_body(name="Downtown"))
        assert response.status_code == 400
        assert response.json() == {"name": [LOCATION_NAME_TAKEN]}


class TestLocationUpdate:
    @pytest.mark.parametrize("role", FRONT_DESK)
    def test_front_desk_changes_a_location(self, api_as, places, role):
        location = places["westside"]
        response = api_as(role).patch(
            url(LOCATIONS, location.pk), {"name": "Westside Studio", "address": "5 Ocean Ave", "uses_rooms": True}
        )
        assert response.status_code == 200
        assert response.json() == {
            "id": location.pk,
            "name": "Westside Studio",
            "address": "5 Ocean Ave",
            "time_zone": "America/Los_Angeles",
            "uses_rooms": True,
            "active": True,
        }
        location.refresh_from_db()
        assert (location.name, location.address, location.uses_rooms) == ("Westside Studio", "5 Ocean Ave", True)

    @pytest.mark.parametrize("role", NOT_FRONT_DESK)
    def test_clients_and_therapists_may_not_change_locations(self, api_as, places, role):
        assert api_as(role).patch(url(LOCATIONS, places["downtown"].pk), {"name": "Mine"}).status_code == 403
        assert Location.objects.get(pk=places["downtown"].pk).name == "Downtown"

    def test_anonymous_may_not_change_locations(self, api, places):
        assert api.patch(url(LOCATIONS, places["downtown"].pk), {"name": "Mine"}).status_code == 401

    def test_front_desk_may_reactivate_an_inactive_location(self, api_as, places):
        response = api_as("staff").patch(url(LOCATIONS, places["closed"].pk), {"active": True})
        assert response.status_code == 200
        assert response.json()["active"] is True

    def test_a_deactivated_location_leaves_the_public_list(self, api, api_as, places):
        location = places["westside"]
        assert api_as("staff").patch(url(LOCATIONS, location.pk), {"active": False}).status_code == 200
        assert location.pk not in ids(api.get(LOCATIONS))
        assert api.get(url(LOCATIONS, location.pk)).status_code == 404

    @pytest.mark.parametrize(
        ("change", "field"),
        [({"time_zone": "Nowhere/Land"}, "time_zone"), ({"name": ""}, "name"), ({"uses_rooms": None}, "uses_rooms")],
    )
    def test_invalid_changes_are_400(self, api_as, places, change, field):
        response = api_as("staff").patch(url(LOCATIONS, places["downtown"].pk), change, format="json")
        assert response.status_code == 400
        assert list(response.json()) == [field]

    def test_another_location_s_name_is_400(self, api_as, places):
        response = api_as("staff").patch(url(LOCATIONS, places["westside"].pk), {"name": "Downtown"})
        assert response.status_code == 400
        assert response.json() == {"name": [LOCATION_NAME_TAKEN]}

    def test_keeping_its_own_name_is_fine(self, api_as, places):
        response = api_as("staff").patch(url(LOCATIONS, places["westside"].pk), {"name": "Westside"})
        assert response.status_code == 200

    def test_an_unknown_location_is_404(self, api_as, db):
        assert api_as("staff").patch(url(LOCATIONS, 999999), {"name": "x"}).status_code == 404

    @pytest.mark.parametrize("method", ["put", "delete"])
    def test_put_and_delete_are_not_offered(self, api_as, places, method):
        response = getattr(api_as("staff"), method)(url(LOCATIONS, places["downtown"].pk), location_body())
        assert response.status_code == 405


class TestLocationChangesThatStrandBookings:
    @pytest.mark.parametrize("kind", IN_THE_WAY)
    @pytest.mark.parametrize("change", [{"time_zone": "Europe/Paris"}, {"active": False}])
    def test_a_new_time_zone_or_deactivation_with_future_bookings_is_409(self, api_as, places, kind, change):
        # given: two bookings in the way at this location, one elsewhere
        location = places["westside"]
        in_the_way = [IN_THE_WAY[kind](location=location), booking(location=location, starts_at=in_days(9))]
        booking(location=places["downtown"])
        # when
        response = api_as("staff").patch(url(LOCATIONS, location.pk), change, format="json")
        # then
        assert_has_future_bookings(response, in_the_way)
        location.refresh_from_db()
        assert (location.time_zone, location.active) == ("America/Los_Angeles", True)

    @pytest.mark.parametrize("kind", NOT_IN_THE_WAY)
    @pytest.mark.parametrize("change", [{"time_zone": "Europe/Paris"}, {"active": False}])
    def test_bookings_that_no_longer_need_it_are_not_in_the_way(self, api_as, places, kind, change):
        location = places["westside"]
        NOT_IN_THE_WAY[kind](location=location)
        response = api_as("staff").patch(url(LOCATIONS, location.pk), change, format="json")
        assert response.status_code == 200
        location.refresh_from_db()
        assert location.time_zone == change.get("time_zone", "America/Los_Angeles")

    def test_the_same_time_zone_and_other_fields_may_change_around_bookings(self, api_as, places):
        location = places["westside"]
        booking(location=location)
        response = api_as("staff").patch(
            url(LOCATIONS, location.pk),
            {"time_zone": "America/Los_Angeles", "name": "West", "address": "2 Pier", "active": True},
        )
        assert response.status_code == 200

    def test_requiring_rooms_where_future_bookings_have_none_is_409(self, api_as, places):
        location = places["westside"]
        roomless = booking(location=location)
        response = api_as("staff").patch(url(LOCATIONS, location.pk), {"uses_rooms": True})
        assert_has_future_bookings(response, [roomless])
        assert Location.objects.get(pk=location.pk).uses_rooms is False

    def test_dropping_rooms_leaves_bookings_their_rooms(self, api_as, places):
        location = places["downtown"]
        placed = booking(location=location, room=RoomFactory(location=location))
        response = api_as("staff").patch(url(LOCATIONS, location.pk), {"uses_rooms": False})
        assert response.status_code == 200
        placed.refresh_from_db()
        assert placed.room is not None

    def test_a_bad_value_is_a_400_before_any_409(self, api_as, places):
        location = places["westside"]
        booking(location=location)
        response = api_as("staff").patch(url(LOCATIONS, location.pk), {"time_zone": "Nowhere/Land"})
        assert response.status_code == 400


# --- rooms/ ---------------------------------------------------------------------------


@pytest.fixture
def rooms(places):
    downtown = places["downtown"]
    return {
        "one": RoomFactory(location=downtown, name="Room 1"),
        "two": RoomFactory(location=downtown, name="Room 2"),
        "stored": RoomFactory(location=downtown, name="Storage", active=False),
        "westside": RoomFactory(location=places["westside"], name="Room 1"),
    }


class TestRoomAccess:
    @pytest.mark.parametrize(
        ("method", "path", "body"),
        [
            ("get", "list", None),
            ("post", "list", {"name": "Room 9"}),
            ("get", "detail", None),
            ("patch", "detail", {"name": "Renamed"}),
            ("delete", "detail", None),
        ],
    )
    @pytest.mark.parametrize(("role", "status"), [("anonymous", 401), ("client", 403), ("therapist", 403)])
    def test_rooms_are_for_the_front_desk_only(self, api_as, rooms, method, path, body, role, status):
        room = rooms["one"]
        target = ROOMS if path == "list" else url(ROOMS, room.pk)
        if body is not None and path == "list":
            body = {**body, "location": room.location_id}
        response = getattr(api_as(role), method)(target, body, format="json")
        assert response.status_code == status
        assert Room.objects.filter(pk=room.pk, name="Room 1").exists()
        assert not Room.objects.filter(name="Room 9").exists()


class TestRoomRead:
    @pytest.mark.parametrize("role", FRONT_DESK)
    def test_front_desk_lists_every_room(self, api_as, rooms, role):
        response = api_as(role).get(ROOMS)
        assert response.status_code == 200
        one = rooms["one"]
        assert response.json()["results"][0] == {
            "id": one.pk,
            "location": one.location_id,
            "name": "Room 1",
            "active": True,
        }
        assert ids(response) == [rooms[k].pk for k in ("one", "two", "stored", "westside")]

    def test_the_list_filters_by_location(self, api_as, rooms, places):
        response = api_as("staff").get(ROOMS, {"location": places["westside"].pk})
        assert ids(response) == [rooms["westside"].pk]

    @pytest.mark.parametrize("location", ["999999", "downtown"])
    def test_an_unknown_location_filter_is_400(self, api_as, rooms, location):
        response = api_as("staff").get(ROOMS, {"location": location})
        assert response.status_code == 400
        assert list(response.json()) == ["location"]

    def test_front_desk_reads_one_room(self, api_as, rooms):
        response = api_as("staff").get(url(ROOMS, rooms["stored"].pk))
        assert response.status_code == 200
        assert response.json()["active"] is False

    def test_an_unknown_room_is_404(self, api_as, db):
        assert api_as("admin").get(url(ROOMS, 999999)).status_code == 404


class TestRoomCreate:
    @pytest.mark.parametrize("role", FRONT_DESK)
    def test_front_desk_adds_a_room(self, api_as, places, role):
        location = places["downtown"]
        response = api_as(role).post(ROOMS, {"location": location.pk, "name": "Room 3"})
        assert response.status_code == 201, response.json()
        room = Room.objects.get(pk=response.json()["id"])
        assert response.json() == {"id": room.pk, "location": location.pk, "name": "Room 3", "active": True}

    def test_a_room_may_be_added_inactive(self, api_as, places):
        response = api_as("staff").post(ROOMS, {"location": places["downtown"].pk, "name": "Spare", "active": False})
        assert response.status_code == 201
        assert response.json()["active"] is False

    def test_a_name_taken_at_the_location_is_400(self, api_as, rooms):
        response = api_as("staff").post(ROOMS, {"location": rooms["one"].location_id, "name": "Room 1"})
        assert response.status_code == 400
        assert response.json() == {"name": [ROOM_NAME_TAKEN]}

    def test_the_same_name_at_another_location_is_fine(self, api_as, rooms, places):
        response = api_as("staff").post(ROOMS, {"location": places["closed"].pk, "name": "Room 1"})
        assert response.status_code == 201

    @pytest.mark.parametrize(
        ("body", "field"),
        [
            ({"name": "Room 3"}, "location"),
            ({"location": 999999, "name": "Room 3"}, "location"),
            ({"location": "downtown", "name": "Room 3"}, "location"),
            ({"location": None, "name": "Room 3"}, "location"),
            ({"name": ""}, "name"),
            ({"name": "x" * 101}, "name"),
            ({}, "name"),
            ({"name": "Room 3", "active": "maybe"}, "active"),
        ],
    )
    def test_invalid_input_is_400(self, api_as, places, body, field):
        if "location" not in body and field != "location":
            body = {**body, "location": places["downtown"].pk}
        response = api_as("staff").post(ROOMS, body, format="json")
        assert response.status_code == 400
        assert field in response.json()
        assert not Room.objects.exists()


class TestRoomUpdate:
    @pytest.mark.parametrize("role", FRONT_DESK)
    def test_front_desk_renames_and_deactivates_a_room(self, api_as, rooms, role):
        room = rooms["two"]
        response = api_as(role).patch(url(ROOMS, room.pk), {"name": "Quiet room", "active": False})
        assert response.status_code == 200
        assert response.json() == {"id": room.pk, "location": room.location_id, "name": "Quiet room", "active": False}
        room.refresh_from_db()
        assert (room.name, room.active) == ("Quiet room", False)

    def test_a_name_taken_at_the_location_is_400(self, api_as, rooms):
        response = api_as("staff").patch(url(ROOMS, rooms["two"].pk), {"name": "Room 1"})
        assert response.status_code == 400
        assert response.json() == {"name": [ROOM_NAME_TAKEN]}

    def test_a_room_stays_at_its_location(self, api_as, rooms, places):
        room = rooms["two"]
        response = api_as("staff").patch(url(ROOMS, room.pk), {"location": places["westside"].pk})
        assert response.status_code == 400
        assert response.json() == {"location": [ROOM_STAYS]}
        assert Room.objects.get(pk=room.pk).location_id == places["downtown"].pk

    def test_naming_its_own_location_is_fine(self, api_as, rooms):
        room = rooms["two"]
        assert api_as("staff").patch(url(ROOMS, room.pk), {"location": room.location_id}).status_code == 200

    @pytest.mark.parametrize("kind", IN_THE_WAY)
    def test_deactivating_a_room_with_future_bookings_is_409(self, api_as, rooms, kind):
        room = rooms["one"]
        in_the_way = IN_THE_WAY[kind](location=room.location, room=room)
        booking(location=room.location, room=rooms["two"])
        response = api_as("staff").patch(url(ROOMS, room.pk), {"active": False, "name": "Closing"})
        assert_has_future_bookings(response, [in_the_way])
        room.refresh_from_db()
        assert (room.active, room.name) == (True, "Room 1")

    @pytest.mark.parametrize("kind", NOT_IN_THE_WAY)
    def test_deactivating_a_room_whose_bookings_are_done_is_fine(self, api_as, rooms, kind):
        room = rooms["one"]
        NOT_IN_THE_WAY[kind](location=room.location, room=room)
        assert api_as("staff").patch(url(ROOMS, room.pk), {"active": False}).status_code == 200

    def test_renaming_a_room_with_future_bookings_is_fine(self, api_as, rooms):
        room = rooms["one"]
        booking(location=room.location, room=room)
        assert api_as("staff").patch(url(ROOMS, room.pk), {"name": "Room A"}).status_code == 200

    def test_put_is_not_offered(self, api_as, rooms):
        assert api_as("staff").put(url(ROOMS, rooms["one"].pk), {"name": "x"}).status_code == 405


class TestRoomDelete:
    @pytest.mark.parametrize("role", FRONT_DESK)
    def test_front_desk_deletes_a_room_never_booked_and_its_closures(self, api_as, rooms, role):
        room = rooms["two"]
        ClosureFactory(location=room.location, room=room)
        response = api_as(role).delete(url(ROOMS, room.pk))
        assert response.status_code == 204
        assert not Room.objects.filter(pk=room.pk).exists()
        assert not Closure.objects.filter(room_id=room.pk).exists()

    @pytest.mark.parametrize("kind", IN_THE_WAY)
    def test_a_room_with_future_bookings_is_409(self, api_as, rooms, kind):
        room = rooms["one"]
        in_the_way = [IN_THE_WAY[kind](location=room.location, room=room)]
        in_the_way.append(booking(location=room.location, room=room, starts_at=in_days(4)))
        response = api_as("staff").delete(url(ROOMS, room.pk))
        assert_has_future_bookings(response, in_the_way)
        assert Room.objects.filter(pk=room.pk).exists()

    @pytest.mark.parametrize("kind", NOT_IN_THE_WAY)
    def test_a_room_with_bookings_on_record_is_in_use(self, api_as, rooms, kind):
        room = rooms["one"]
        NOT_IN_THE_WAY[kind](location=room.location, room=room)
        response = api_as("staff").delete(url(ROOMS, room.pk))
        assert response.status_code == 409
        assert response.json()["code"] == "room_in_use"
        assert "Deactivate it instead" in response.json()["detail"]
        assert "conflicts" not in response.json()
        assert Room.objects.filter(pk=room.pk).exists()

    def test_an_unknown_room_is_404(self, api_as, db):
        assert api_as("staff").delete(url(ROOMS, 999999)).status_code == 404


# --- services/ ------------------------------------------------------------------------


@pytest.fixture
def menu(db):
    """Three services: 90 and 30 minutes offered, 60 minutes withdrawn."""
    return {
        "long": ServiceFactory(name="Massage, 90 min", duration_minutes=90, buffer_minutes=15, price=Decimal("120")),
        "short": ServiceFactory(name="Massage, 30 min", duration_minutes=30, buffer_minutes=5, price=Decimal("45.5")),
        "withdrawn": ServiceFactory(duration_minutes=60, active=False),
    }


def service_body(**overrides) -> dict:
    return {
        "name": "Hot stones, 75 min",
        "description": "Warm basalt stones.",
        "duration_minutes": 75,
        "buffer_minutes": 10,
        "price": "110.00",
        **overrides,
    }


class TestServiceRead:
    @pytest.mark.parametrize("role", ROLES)
    def test_anyone_lists_the_active_services_shortest_first_with_a_decimal_price(self, api_as, clinic, menu, role):
        response = api_as(role).get(SERVICES)
        assert response.status_code == 200
        short = menu["short"]
        assert response.json()["results"][0] == {
            "id": short.pk,
            "name": "Massage, 30 min",
            "description": "A massage.",
            "duration_minutes": 30,
            "buffer_minutes": 5,
            "price": "45.50",
            "currency": "USD",
        }
        assert ids(response) == [menu["short"].pk, menu["long"].pk]

    def test_prices_are_in_the_clinic_s_currency(self, api, menu):
        clinic_configure(currency="EUR")
        assert {row["currency"] for row in api.get(SERVICES).json()["results"]} == {"EUR"}
        assert api.get(url(SERVICES, menu["long"].pk)).json()["currency"] == "EUR"

    @pytest.mark.parametrize("role", FRONT_DESK)
    def test_front_desk_may_include_withdrawn_services_and_see_active(self, api_as, clinic, menu, role):
        response = api_as(role).get(SERVICES, {"include_inactive": "true"})
        rows = {row["id"]: row for row in response.json()["results"]}
        assert set(rows) == {service.pk for service in menu.values()}
        assert rows[menu["withdrawn"].pk]["active"] is False
        assert rows[menu["long"].pk]["active"] is True

    @pytest.mark.parametrize("role", READERS)
    def test_include_inactive_is_ignored_for_others(self, api_as, clinic, menu, role):
        response = api_as(role).get(SERVICES, {"include_inactive": "true"})
        assert menu["withdrawn"].pk not in ids(response)
        assert all("active" not in row for row in response.json()["results"])

    @pytest.mark.parametrize("role", READERS)
    def test_anyone_reads_an_active_service(self, api_as, clinic, menu, role):
        response = api_as(role).get(url(SERVICES, menu["long"].pk))
        assert response.status_code == 200
        assert (response.json()["price"], response.json()["duration_minutes"]) == ("120.00", 90)

    @pytest.mark.parametrize(("role", "status"), [*((r, 404) for r in READERS), ("staff", 200), ("admin", 200)])
    def test_a_withdrawn_service_is_for_the_front_desk_only(self, api_as, clinic, menu, role, status):
        assert api_as(role).get(url(SERVICES, menu["withdrawn"].pk)).status_code == status

    def test_an_unknown_service_is_404(self, api, clinic):
        assert api.get(url(SERVICES, 999999)).status_code == 404


class TestServiceCreate:
    @pytest.mark.parametrize("role", FRONT_DESK)
    def test_front_desk_adds_a_service(self, api_as, clinic, role):
        response = api_as(role).post(SERVICES, service_body())
        assert response.status_code == 201, response.json()
        service = Service.objects.get(pk=response.json()["id"])
        assert response.json() == {
            "id": service.pk,
            "name": "Hot stones, 75 min",
            "description": "Warm basalt stones.",
            "duration_minutes": 75,
            "buffer_minutes": 10,
            "price": "110.00",
            "currency": "USD",
            "active": True,
        }
        assert (service.duration_minutes, service.buffer_minutes, service.price) == (75, 10, Decimal("110.00"))

    @pytest.mark.parametrize(
        "change",
        [
            {"duration_minutes": 15},
            {"duration_minutes": 240},
            {"buffer_minutes": 0},
            {"buffer_minutes": 60},
            {"price": "0"},
            {"price": 80},
            {"price": "9999999.99"},
        ],
    )
    def test_the_bounds_are_allowed(self, api_as, clinic, change):
        response = api_as("staff").post(SERVICES, service_body(**change), format="json")
        assert response.status_code == 201, response.json()

    def test_description_and_buffer_are_optional(self, api_as, clinic):
        response = api_as("staff").post(
            SERVICES, {"name": "Massage, 45 min", "duration_minutes": 45, "price": "60"}, format="json"
        )
        assert response.status_code == 201
        assert (response.json()["description"], response.json()["buffer_minutes"]) == ("", 0)

    @pytest.mark.parametrize(
        ("change", "field", "message"),
        [
            ({"duration_minutes": 10}, "duration_minutes", SERVICE_DURATION.message),
            ({"duration_minutes": 245}, "duration_minutes", SERVICE_DURATION.message),
            ({"duration_minutes": 62}, "duration_minutes", SERVICE_DURATION.message),
            ({"duration_minutes": 0}, "duration_minutes", SERVICE_DURATION.message),
            ({"duration_minutes": -60}, "duration_minutes", SERVICE_DURATION.message),
            ({"buffer_minutes": -5}, "buffer_minutes", SERVICE_BUFFER.message),
            ({"buffer_minutes": 7}, "buffer_minutes", SERVICE_BUFFER.message),
            ({"buffer_minutes": 65}, "buffer_minutes", SERVICE_BUFFER.message),
            ({"price": "-0.01"}, "price", PRICE_MESSAGE),
            ({"price": "1.234"}, "price", PRICE_MESSAGE),
        ],
    )
    def test_rule_breaking_values_are_400_with_the_rule(self, api_as, clinic, change, field, message):
        response = api_as("staff").post(SERVICES, service_body(**change), format="json")
        assert response.status_code == 400
        assert response.json() == {field: [message]}
        assert not Service.objects.exists()

    @pytest.mark.parametrize(
        ("change", "field"),
        [
            ({"duration_minutes": "an hour"}, "duration_minutes"),
            ({"duration_minutes": 60.5}, "duration_minutes"),
            ({"duration_minutes": None}, "duration_minutes"),
            ({"buffer_minutes": "none"}, "buffer_minutes"),
            ({"price": "ninety"}, "price"),
            ({"price": "NaN"}, "price"),
            ({"price": "Infinity"}, "price"),
            ({"price": "100000000"}, "price"),
            ({"price": None}, "price"),
            ({"name": ""}, "name"),
            ({"name": "x" * 201}, "name"),
            ({"active": "maybe"}, "active"),
        ],
    )
    def test_malformed_values_are_400(self, api_as, clinic, change, field):
        response = api_as("staff").post(SERVICES, service_body(**change), format="json")
        assert response.status_code == 400
        assert list(response.json()) == [field]

    @pytest.mark.parametrize("missing", ["name", "duration_minutes", "price"])
    def test_required_fields(self, api_as, clinic, missing):
        body = service_body()
        del body[missing]
        response = api_as("staff").post(SERVICES, body)
        assert response.status_code == 400
        assert response.json() == {missing: ["This field is required."]}

    @pytest.mark.parametrize(("role", "status"), [("anonymous", 401), ("client", 403), ("therapist", 403)])
    def test_only_the_front_desk_adds_services(self, api_as, clinic, role, status):
        assert api_as(role).post(SERVICES, service_body()).status_code == status
        assert not Service.objects.exists()


class TestServiceUpdate:
    @pytest.mark.parametrize("role", FRONT_DESK)
    def test_front_desk_changes_a_service(self, api_as, clinic, menu, role):
        service = menu["long"]
        response = api_as(role).patch(
            url(SERVICES, service.pk), {"price": "130.5", "buffer_minutes": 20, "description": "Longer."}
        )
        assert response.status_code == 200
        assert (response.json()["price"], response.json()["buffer_minutes"]) == ("130.50", 20)
        assert response.json()["active"] is True
        service.refresh_from_db()
        assert (service.price, service.buffer_minutes, service.description) == (Decimal("130.50"), 20, "Longer.")

    def test_existing_bookings_keep_their_times_and_price(self, api_as, clinic, menu):
        # given: a booking of the 90 minute service at 120.00
        service = menu["long"]
        booked = booking(service=service)
        before = Booking.objects.values("starts_at", "ends_at", "occupied_until", "price", "status").get(pk=booked.pk)
        # when: the service is made shorter, dearer, with a longer buffer, and then withdrawn
        staff = api_as("staff")
        change = {"duration_minutes": 60, "buffer_minutes": 30, "price": "150.00"}
        assert staff.patch(url(SERVICES, service.pk), change).status_code == 200
        assert staff.patch(url(SERVICES, service.pk), {"active": False}).status_code == 200
        # then
        after = Booking.objects.values("starts_at", "ends_at", "occupied_until", "price", "status").get(pk=booked.pk)
        assert after == before

    def test_a_withdrawn_service_leaves_the_list_and_can_come_back(self, api, api_as, clinic, menu):
        service = menu["short"]
        staff = api_as("staff")
        staff.patch(url(SERVICES, service.pk), {"active": False})
        assert service.pk not in ids(api.get(SERVICES))
        assert api.get(url(SERVICES, service.pk)).status_code == 404
        staff.patch(url(SERVICES, service.pk), {"active": True})
        assert service.pk in ids(api.get(SERVICES))

    @pytest.mark.parametrize(
        ("change", "field"),
        [
            ({"duration_minutes": 61}, "duration_minutes"),
            ({"buffer_minutes": 61}, "buffer_minutes"),
            ({"price": "-5"}, "price"),
            ({"name": ""}, "name"),
        ],
    )
    def test_invalid_changes_are_400_and_change_nothing(self, api_as, clinic, menu, change, field):
        service = menu["long"]
        response = api_as("staff").patch(url(SERVICES, service.pk), {**change, "description": "x"}, format="json")
        assert response.status_code == 400
        assert list(response.json()) == [field]
        service.refresh_from_db()
        assert (service.duration_minutes, service.description) == (90, "A massage.")

    @pytest.mark.parametrize(("role", "status"), [("anonymous", 401), ("client", 403), ("therapist", 403)])
    def test_only_the_front_desk_changes_services(self, api_as, clinic, menu, role, status):
        assert api_as(role).patch(url(SERVICES, menu["long"].pk), {"price": "1"}).status_code == status
        assert Service.objects.get(pk=menu["long"].pk).price == Decimal("120")

    @pytest.mark.parametrize("method", ["put", "delete"])
    def test_put_and_delete_are_not_offered(self, api_as, clinic, menu, method):
        response = getattr(api_as("staff"), method)(url(SERVICES, menu["long"].pk), service_body())
        assert response.status_code == 405


# --- therapists/: locations ------------------------------------------------------------


@pytest.fixture
def team(places):
    """A therapist downtown and westside (and at the closed location), one westside only, one nowhere."""
    return {
        "both": TherapistFactory(locations=[places["downtown"], places["westside"], places["closed"]]),
        "west": TherapistFactory(locations=[places["westside"]]),
        "nowhere": TherapistFactory(),
    }


class TestTherapistLocations:
    @pytest.mark.parametrize("role", READERS)
    def test_anyone_sees_the_active_locations_a_therapist_works_at(self, api_as, places, team, role):
        rows = {row["id"]: row for row in api_as(role).get(THERAPISTS).json()["results"]}
        assert rows[team["both"].pk]["locations"] == [places["downtown"].pk, places["westside"].pk]
        assert rows[team["west"].pk]["locations"] == [places["westside"].pk]
        assert rows[team["nowhere"].pk]["locations"] == []

    @pytest.mark.parametrize("role", FRONT_DESK)
    def test_front_desk_also_sees_inactive_locations(self, api_as, places, team, role):
        response = api_as(role).get(url(THERAPISTS, team["both"].pk))
        assert response.json()["locations"] == sorted(places[k].pk for k in ("downtown", "westside", "closed"))

    def test_the_list_filters_by_location(self, api, places, team):
        assert ids(api.get(THERAPISTS, {"location": places["westside"].pk})) == [team["both"].pk, team["west"].pk]
        assert ids(api.get(THERAPISTS, {"location": places["downtown"].pk})) == [team["both"].pk]

    def test_location_and_modality_filters_combine(self, api, places, team):
        Therapist.objects.filter(pk=team["west"].pk).update(gives_deep_tissue=False)
        response = api.get(THERAPISTS, {"location": places["westside"].pk, "modality": "deep_tissue"})
        assert ids(response) == [team["both"].pk]

    @pytest.mark.parametrize("location", ["999999", "west", "-1"])
    def test_an_unknown_location_filter_is_400(self, api, team, location):
        response = api.get(THERAPISTS, {"location": location})
        assert response.status_code == 400
        assert list(response.json()) == ["location"]

    def test_front_desk_adds_a_therapist_at_locations(self, api_as, places):
        body = {
            "email": "maya@example.com",
            "first_name": "Maya",
            "last_name": "Chen",
            "modalities": ["therapeutic"],
            "locations": [places["westside"].pk, places["downtown"].pk],
        }
        response = api_as("staff").post(THERAPISTS, body, format="json")
        assert response.status_code == 201, response.json()
        assert response.json()["locations"] == sorted([places["westside"].pk, places["downtown"].pk])
        therapist = Therapist.objects.get(pk=response.json()["id"])
        assert set(therapist.locations.all()) == {places["westside"], places["downtown"]}

    @pytest.mark.parametrize("locations", [[999999], ["downtown"], "1", None, "duplicate"])
    def test_bad_locations_are_400(self, api_as, places, locations):
        if locations == "duplicate":
            locations = [places["downtown"].pk, places["downtown"].pk]
        body = {"email": "m@example.com", "first_name": "M", "last_name": "C", "modalities": ["therapeutic"]}
        response = api_as("staff").post(THERAPISTS, {**body, "locations": locations}, format="json")
        assert response.status_code == 400
        assert list(response.json()) == ["locations"]
        assert not Therapist.objects.exists()

    def test_front_desk_moves_a_therapist_between_locations(self, api_as, places, team):
        therapist = team["west"]
        response = api_as("admin").patch(
            url(THERAPISTS, therapist.pk), {"locations": [places["downtown"].pk]}, format="json"
        )
        assert response.status_code == 200
        assert response.json()["locations"] == [places["downtown"].pk]
        assert list(therapist.locations.all()) == [places["downtown"]]

    def test_omitted_locations_are_unchanged_and_an_empty_list_clears_them(self, api_as, places, team):
        therapist = team["west"]
        staff = api_as("staff")
        assert staff.patch(url(THERAPISTS, therapist.pk), {"bio": "x"}).json()["locations"] == [places["westside"].pk]
        response = staff.patch(url(THERAPISTS, therapist.pk), {"locations": []}, format="json")
        assert response.json()["locations"] == []

    @pytest.mark.parametrize(("role", "status"), [("anonymous", 401), ("client", 403), ("therapist", 403)])
    def test_only_the_front_desk_places_therapists(self, api_as, places, team, role, status):
        therapist = team["west"]
        response = api_as(role).patch(url(THERAPISTS, therapist.pk), {"locations": []}, format="json")
        assert response.status_code == status
        assert list(therapist.locations.all()) == [places["westside"]]


class TestTherapistChangesThatStrandBookings:
    @pytest.mark.parametrize("kind", IN_THE_WAY)
    def test_deactivating_a_therapist_with_future_bookings_is_409(self, api_as, places, team, kind):
        # given
        therapist = team["both"]
        in_the_way = [
            IN_THE_WAY[kind](therapist=therapist, location=places["westside"]),
            booking(therapist=therapist, location=places["downtown"], starts_at=in_days(6)),
        ]
        booking(therapist=team["west"], location=places["westside"])
        _, token = AuthToken.objects.create(therapist.user)
        # when
        response = api_as("staff").patch(url(THERAPISTS, therapist.pk), {"active": False, "bio": "Leaving."})
        # then: nothing changed, the therapist keeps their access
        assert_has_future_bookings(response, in_the_way)
        therapist.refresh_from_db()
        assert (therapist.active, therapist.bio) == (True, "Licensed massage therapist.")
        assert AuthToken.objects.filter(user=therapist.user).exists()

    @pytest.mark.parametrize("kind", NOT_IN_THE_WAY)
    def test_a_therapist_whose_bookings_are_done_may_be_deactivated(self, api_as, places, team, kind):
        therapist = team["west"]
        NOT_IN_THE_WAY[kind](therapist=therapist, location=places["westside"])
        response = api_as("staff").patch(url(THERAPISTS, therapist.pk), {"active": False})
        assert response.status_code == 200
        assert response.json()["active"] is False

    @pytest.mark.parametrize("kind", IN_THE_WAY)
    def test_removing_a_location_with_future_bookings_there_is_409(self, api_as, places, team, kind):
        therapist = team["both"]
        there = IN_THE_WAY[kind](therapist=therapist, location=places["westside"])
        booking(therapist=therapist, location=places["downtown"], starts_at=in_days(6))
        response = api_as("staff").patch(
            url(THERAPISTS, therapist.pk), {"locations": [places["downtown"].pk]}, format="json"
        )
        assert_has_future_bookings(response, [there])
        assert "Westside" in response.json()["detail"]
        assert places["westside"] in therapist.locations.all()

    def test_removing_a_location_without_their_future_bookings_is_fine(self, api_as, places, team):
        therapist = team["both"]
        booking(therapist=therapist, location=places["downtown"])
        booking(therapist=therapist, location=places["westside"], starts_at=in_days(-3))
        response = api_as("staff").patch(
            url(THERAPISTS, therapist.pk), {"locations": [places["downtown"].pk]}, format="json"
        )
        assert response.status_code == 200
        assert response.json()["locations"] == [places["downtown"].pk]

    @pytest.mark.parametrize(
        ("suggested", "reviewed", "removed", "in_the_way"),
        [
            ("deep_tissue", "", "deep_tissue", True),
            ("therapeutic", "", "therapeutic", True),
            ("therapeutic", "deep_tissue", "deep_tissue", True),
            ("deep_tissue", "therapeutic", "therapeutic", True),
            ("deep_tissue", "therapeutic", "deep_tissue", False),
            ("therapeutic", "", "deep_tissue", False),
        ],
        ids=[
            "suggested-deep",
            "suggested-therapeutic",
            "reviewed-to-deep",
            "reviewed-to-therapeutic",
            "reviewed-away-from-deep",
            "other-modality",
        ],
    )
    def test_removing_a_modality_their_future_bookings_need(
        self, api_as, places, team, suggested, reviewed, removed, in_the_way
    ):
        # given: a booking whose intake asks for a modality (the review's, else the suggestion)
        therapist = team["both"]
        intake = IntakeFactory(
            suggested_modality=suggested,
            reviewed_modality=reviewed,
            reviewed_at=timezone.now() if reviewed else None,
        )
        needing = booking(therapist=therapist, location=places["downtown"], client=intake.client, intake=intake)
        kept = [m for m in ("therapeutic", "deep_tissue") if m != removed]
        # when
        response = api_as("staff").patch(url(THERAPISTS, therapist.pk), {"modalities": kept}, format="json")
        # then
        if in_the_way:
            assert_has_future_bookings(response, [needing])
            assert removed in response.json()["detail"]
            therapist.refresh_from_db()
            assert therapist.modalities == ["therapeutic", "deep_tissue"]
        else:
            assert response.status_code == 200
            assert response.json()["modalities"] == kept

    def test_a_pending_intake_needs_no_modality(self, api_as, places, team):
        therapist = team["both"]
        booking(
            therapist=therapist,
            location=places["downtown"],
            intake=None,
            intake_status=Booking.IntakeStatus.PENDING,
        )
        response = api_as("staff").patch(url(THERAPISTS, therapist.pk), {"modalities": ["therapeutic"]})
        assert response.status_code == 200

    def test_a_past_booking_needs_no_modality(self, api_as, places, team):
        therapist = team["both"]
        intake = IntakeFactory(suggested_modality="deep_tissue")
        booking(
            therapist=therapist, location=places["downtown"], intake=intake, client=intake.client, starts_at=in_days(-1)
        )
        response = api_as("staff").patch(url(THERAPISTS, therapist.pk), {"modalities": ["therapeutic"]})
        assert response.status_code == 200

    def test_one_409_lists_every_booking_the_change_would_strand(self, api_as, places, team):
        therapist = team["both"]
        deep = IntakeFactory(suggested_modality="deep_tissue")
        needs_deep = booking(therapist=therapist, location=places["downtown"], intake=deep, client=deep.client)
        at_westside = booking(therapist=therapist, location=places["westside"], starts_at=in_days(5))
        response = api_as("staff").patch(
            url(THERAPISTS, therapist.pk),
            {"modalities": ["therapeutic"], "locations": [places["downtown"].pk]},
            format="json",
        )
        assert_has_future_bookings(response, [needs_deep, at_westside])

    def test_bad_input_is_a_400_before_any_409(self, api_as, places, team):
        therapist = team["both"]
        booking(therapist=therapist, location=places["westside"])
        response = api_as("staff").patch(
            url(THERAPISTS, therapist.pk), {"active": False, "modalities": []}, format="json"
        )
        assert response.status_code == 400


# --- the OpenAPI schema ---------------------------------------------------------------


def test_the_schema_describes_the_409_bodies(api, db):
    schema = api.get("/api/schema/", {"format": "json"}).json()
    paths, components = schema["paths"], schema["components"]["schemas"]

    def body_of(path, method):
        ref = paths[path][method]["responses"]["409"]["content"]["application/json"]["schema"]["$ref"]
        return components[ref.rsplit("/", 1)[-1]]

    for path in ("/api/v1/locations/{id}/", "/api/v1/rooms/{id}/", "/api/v1/therapists/{id}/"):
        body = body_of(path, "patch")
        assert body["properties"]["conflicts"]["items"]["type"] == "integer"
        assert "conflicts" in body["required"]
    refused_delete = body_of("/api/v1/rooms/{id}/", "delete")
    assert "conflicts" in refused_delete["properties"]
    assert "conflicts" not in refused_delete.get("required", [])
    step = components["PatchedClinicRequest"]["properties"]["booking_step_minutes"]
    assert (step["minimum"], step["maximum"]) == (BOOKING_STEP.low, BOOKING_STEP.high)
    write = components["ServiceWriteRequest"]["properties"]
    assert (write["duration_minutes"]["minimum"], write["duration_minutes"]["maximum"]) == (15, 240)
