"""The Django admin for accounts, the clinic row, locations, rooms, services and therapists, driven as staff would."""

import re
from datetime import datetime, timedelta

import pytest
from django.conf import settings
from django.test import Client
from django.utils import timezone

from booking.tests.factories import BookingFactory
from clinic.models import Clinic, Location, Role, Room, Service, Therapist, User
from clinic.services import PRICE_MESSAGE, SERVICE_BUFFER, SERVICE_DURATION
from clinic.tests.factories import (
    ClientFactory,
    LocationFactory,
    RoomFactory,
    ServiceFactory,
    StaffFactory,
    TherapistFactory,
    UserFactory,
    clinic_configure,
)

STRONG = "plum-orchard-velvet-42"


@pytest.fixture
def browser(admin_user) -> Client:
    web = Client()
    web.force_login(admin_user)
    return web


@pytest.mark.parametrize(
    "url",
    [
        "/admin/clinic/user/",
        "/admin/clinic/user/?role__exact=therapist&is_active__exact=1&q=example",
        "/admin/clinic/user/add/",
        "/admin/clinic/therapist/",
        "/admin/clinic/therapist/?active__exact=1&gives_deep_tissue__exact=1&q=a",
        "/admin/clinic/therapist/add/",
        "/admin/clinic/clinic/",
    ],
)
def test_admin_pages_open(browser, clinic, therapist, url):
    assert browser.get(url).status_code == 200


def test_the_user_list_shows_email_name_role_and_active(browser, db):
    ClientFactory(email="listed@example.com", first_name="Lia", last_name="Moss")
    page = browser.get("/admin/clinic/user/").content.decode()
    assert "listed@example.com" in page
    assert "Lia" in page
    assert "Moss" in page
    assert "Client" in page


def test_adding_a_user_takes_email_role_and_password(browser, db):
    response = browser.post(
        "/admin/clinic/user/add/",
        {
            "email": "Desk@Example.com",
            "role": Role.STAFF,
            "first_name": "Dee",
            "last_name": "Sk",
            "usable_password": "true",
            "password1": STRONG,
            "password2": STRONG,
        },
    )
    assert response.status_code == 302, response.context["adminform"].form.errors
    user = User.objects.get(email="desk@example.com")
    assert (user.role, user.is_staff, user.is_superuser) == (Role.STAFF, True, False)
    assert user.check_password(STRONG)


def test_adding_a_user_with_a_taken_email_in_another_case_is_refused(browser, db):
    ClientFactory(email="taken@example.com")
    response = browser.post(
        "/admin/clinic/user/add/",
        {
            "email": "TAKEN@example.com",
            "role": Role.CLIENT,
            "usable_password": "true",
            "password1": STRONG,
            "password2": STRONG,
        },
    )
    assert response.status_code == 200
    assert "email" in response.context["adminform"].form.errors


def test_changing_the_role_moves_the_admin_flags_with_it(browser, db):
    user = UserFactory(role=Role.ADMIN, is_staff=True, is_superuser=True, email="boss@example.com")
    response = browser.post(
        f"/admin/clinic/user/{user.pk}/change/",
        {
            "email": "boss@example.com",
            "role": Role.CLIENT,
            "first_name": "B",
            "last_name": "S",
            "phone": "",
            "is_active": "on",
            "date_joined_0": "2026-01-01",
            "date_joined_1": "10:00:00",
        },
    )
    assert response.status_code == 302, response.context["adminform"].form.errors
    user.refresh_from_db()
    assert (user.role, user.is_staff, user.is_superuser) == (Role.CLIENT, False, False)


def test_the_clinic_row_can_be_added_once_and_never_deleted(browser, db):
    assert browser.get("/admin/clinic/clinic/add/").status_code == 200
    response = browser.post(
        "/admin/clinic/clinic/add/",
        {
            "name": "Calm",
            "time_zone": "Europe/Paris",
            "currency": "EUR",
            "min_notice_hours": 2,
            "booking_horizon_days": 30,
            "cancellation_window_hours": 24,
            "booking_step_minutes": 15,
            "waitlist_hold_minutes": 30,
            "max_active_bookings_per_client": 4,
        },
    )
    assert response.status_code == 302, response.context["adminform"].form.errors
    assert Clinic.objects.get().pk == 1
    assert browser.get("/admin/clinic/clinic/add/").status_code == 403
    assert browser.get("/admin/clinic/clinic/1/delete/").status_code == 403


def test_the_clinic_form_refuses_a_bad_time_zone(browser, db):
    clinic_configure()
    response = browser.post(
        "/admin/clinic/clinic/1/change/",
        {
            "name": "Calm",
            "time_zone": "Nowhere/Land",
            "min_notice_hours": 2,
            "booking_horizon_days": 30,
            "cancellation_window_hours": 24,
            "max_active_bookings_per_client": 4,
        },
    )
    assert response.status_code == 200
    assert "time_zone" in response.context["adminform"].form.errors


def test_the_therapist_list_shows_name_email_modalities_and_active(browser, db):
    therapist = TherapistFactory(gives_deep_tissue=False, user__email="maya@example.com")
    page = browser.get("/admin/clinic/therapist/").content.decode()
    assert therapist.name in page
    assert "maya@example.com" in page
    assert '<td class="field-modality_list">Therapeutic massage</td>' in page


def test_a_therapist_needs_at_least_one_modality_in_the_admin(browser, db):
    therapist = TherapistFactory()
    response = browser.post(f"/admin/clinic/therapist/{therapist.pk}/change/", {"bio": "x", "active": "on"})
    assert response.status_code == 200
    assert "Tick at least one modality" in response.content.decode()
    therapist.refresh_from_db()
    assert therapist.modalities == ["therapeutic", "deep_tissue"]


def test_a_therapist_profile_is_added_for_a_therapist_account(browser, db):
    user = UserFactory(role=Role.THERAPIST)
    response = browser.post(
        "/admin/clinic/therapist/add/", {"user": user.pk, "bio": "", "gives_deep_tissue": "on", "active": "on"}
    )
    assert response.status_code == 302
    assert Therapist.objects.get(user=user).modalities == ["deep_tissue"]


# --- Locations, rooms, services (v2) ----------------------------------------------------


@pytest.fixture
def front_desk(db) -> Client:
    web = Client()
    web.force_login(StaffFactory())
    return web


@pytest.fixture
def downtown(db) -> Location:
    return LocationFactory(name="Downtown", uses_rooms=True)


def soon() -> datetime:
    return (timezone.now() + timedelta(days=3)).replace(minute=0, second=0, microsecond=0)


def location_form(location: Location, rooms: list[Room], **changes) -> dict:
    """The location's change form as the admin posts it, its rooms inline."""
    data = {
        "name": location.name,
        "address": location.address,
        "time_zone": location.time_zone,
        "uses_rooms": "on" if location.uses_rooms else "",
        "active": "on" if location.active else "",
        "rooms-TOTAL_FORMS": str(len(rooms)),
        "rooms-INITIAL_FORMS": str(len(rooms)),
        "rooms-MIN_NUM_FORMS": "0",
        "rooms-MAX_NUM_FORMS": "1000",
    }
    for n, room in enumerate(rooms):
        data |= {
            f"rooms-{n}-id": str(room.pk),
            f"rooms-{n}-location": str(location.pk),
            f"rooms-{n}-name": room.name,
            f"rooms-{n}-active": "on" if room.active else "",
        }
    data |= {key: value for key, value in changes.items() if value is not None}
    return {key: value for key, value in data.items() if value != ""}


def form_errors(response) -> str:
    return str(response.context["errors"])


@pytest.mark.parametrize(
    "url",
    [
        "/admin/clinic/location/",
        "/admin/clinic/location/?active__exact=1&uses_rooms__exact=1&q=Down",
        "/admin/clinic/location/add/",
        "/admin/clinic/room/",
        "/admin/clinic/room/?active__exact=1&q=Room",
        "/admin/clinic/room/add/",
        "/admin/clinic/service/",
        "/admin/clinic/service/?active__exact=0&q=Massage",
        "/admin/clinic/service/add/",
        "/admin/clinic/therapist/?locations__id__exact=1",
    ],
)
@pytest.mark.parametrize("who", ["browser", "front_desk"])
def test_the_front_desk_keeps_places_and_services_in_the_admin(request, downtown, url, who):
    web = request.getfixturevalue(who)
    RoomFactory(location=downtown)
    ServiceFactory()
    assert web.get(url).status_code == 200


def test_the_change_pages_open(front_desk, downtown):
    room = RoomFactory(location=downtown)
    service = ServiceFactory()
    for url in (
        f"/admin/clinic/location/{downtown.pk}/change/",
        f"/admin/clinic/room/{room.pk}/change/",
        f"/admin/clinic/service/{service.pk}/change/",
    ):
        assert front_desk.get(url).status_code == 200, url


def test_locations_and_services_are_never_deleted_in_the_admin(browser, downtown):
    service = ServiceFactory()
    assert browser.get(f"/admin/clinic/location/{downtown.pk}/delete/").status_code == 403
    assert browser.get(f"/admin/clinic/service/{service.pk}/delete/").status_code == 403


def test_the_front_desk_adds_a_location_with_its_rooms(front_desk, db):
    response = front_desk.post(
        "/admin/clinic/location/add/",
        {
            "name": "Harbour",
            "address": "9 Quay",
            "time_zone": "Europe/Paris",
            "uses_rooms": "on",
            "active": "on",
            "rooms-TOTAL_FORMS": "2",
            "rooms-INITIAL_FORMS": "0",
            "rooms-MIN_NUM_FORMS": "0",
            "rooms-MAX_NUM_FORMS": "1000",
            "rooms-0-name": "Room 1",
            "rooms-0-active": "on",
            "rooms-1-name": "Room 2",
        },
    )
    assert response.status_code == 302, form_errors(response)
    location = Location.objects.get(name="Harbour")
    assert [(r.name, r.active) for r in location.rooms.order_by("name")] == [("Room 1", True), ("Room 2", False)]


def test_a_bad_time_zone_is_refused_on_the_form(front_desk, downtown):
    response = front_desk.post(
        f"/admin/clinic/location/{downtown.pk}/change/", location_form(downtown, [], time_zone="Nowhere/Land")
    )
    assert response.status_code == 200
    assert "time_zone" in response.context["adminform"].form.errors


@pytest.mark.parametrize("change", [{"active": ""}, {"time_zone": "Europe/Paris"}])
def test_a_location_change_that_strands_bookings_is_refused_on_the_form(front_desk, downtown, change):
    # given
    booking = BookingFactory(location=downtown, starts_at=soon())
    # when
    response = front_desk.post(f"/admin/clinic/location/{downtown.pk}/change/", location_form(downtown, [], **change))
    # then
    assert response.status_code == 200
    assert f"Bookings: #{booking.pk}." in form_errors(response)
    downtown.refresh_from_db()
    assert (downtown.active, downtown.time_zone) == (True, "America/New_York")


def test_a_location_change_goes_through_the_service(front_desk, downtown):
    room = RoomFactory(location=downtown, name="Room 1")
    response = front_desk.post(
        f"/admin/clinic/location/{downtown.pk}/change/",
        location_form(downtown, [room], name="Downtown Studio", active="", **{"rooms-0-name": "Blue room"}),
    )
    assert response.status_code == 302, form_errors(response)
    downtown.refresh_from_db()
    room.refresh_from_db()
    assert (downtown.name, downtown.active, room.name) == ("Downtown Studio", False, "Blue room")


def test_deactivating_a_room_inline_with_future_bookings_is_refused(front_desk, downtown):
    room = RoomFactory(location=downtown)
    booking = BookingFactory(location=downtown, room=room, starts_at=soon())
    response = front_desk.post(
        f"/admin/clinic/location/{downtown.pk}/change/", location_form(downtown, [room], **{"rooms-0-active": ""})
    )
    assert response.status_code == 200
    assert f"Bookings: #{booking.pk}." in form_errors(response)
    assert Room.objects.get(pk=room.pk).active is True


def test_deleting_a_room_inline_with_past_bookings_is_refused(front_desk, downtown):
    room = RoomFactory(location=downtown)
    BookingFactory(location=downtown, room=room, starts_at=soon() - timedelta(days=10))
    response = front_desk.post(
        f"/admin/clinic/location/{downtown.pk}/change/", location_form(downtown, [room], **{"rooms-0-DELETE": "on"})
    )
    assert response.status_code == 200
    assert Room.objects.filter(pk=room.pk).exists()


def test_deleting_a_room_never_booked_inline(front_desk, downtown):
    room = RoomFactory(location=downtown)
    response = front_desk.post(
        f"/admin/clinic/location/{downtown.pk}/change/", location_form(downtown, [room], **{"rooms-0-DELETE": "on"})
    )
    assert response.status_code == 302, form_errors(response)
    assert not Room.objects.filter(pk=room.pk).exists()


def test_the_room_page_refuses_to_deactivate_a_room_with_future_bookings(front_desk, downtown):
    room = RoomFactory(location=downtown)
    booking = BookingFactory(location=downtown, room=room, starts_at=soon())
    response = front_desk.post(f"/admin/clinic/room/{room.pk}/change/", {"name": room.name})
    assert response.status_code == 200
    assert f"Bookings: #{booking.pk}." in form_errors(response)
    assert Room.objects.get(pk=room.pk).active is True


def test_the_room_page_renames_and_deletes_a_room(front_desk, downtown):
    room = RoomFactory(location=downtown)
    response = front_desk.post(f"/admin/clinic/room/{room.pk}/change/", {"name": "Blue room", "active": "on"})
    assert response.status_code == 302, form_errors(response)
    assert Room.objects.get(pk=room.pk).name == "Blue room"
    response = front_desk.post(f"/admin/clinic/room/{room.pk}/delete/", {"post": "yes"})
    assert response.status_code == 302
    assert not Room.objects.filter(pk=room.pk).exists()


@pytest.mark.parametrize(
    ("change", "field", "message"),
    [
        ({"duration_minutes": "62"}, "duration_minutes", SERVICE_DURATION.message),
        ({"duration_minutes": "300"}, "duration_minutes", SERVICE_DURATION.message),
        ({"buffer_minutes": "7"}, "buffer_minutes", SERVICE_BUFFER.message),
        ({"price": "-1"}, "price", PRICE_MESSAGE),
    ],
)
def test_the_service_form_says_the_rule(front_desk, db, change, field, message):
    body = {"name": "Massage, 60 min", "duration_minutes": "60", "buffer_minutes": "0", "price": "90", **change}
    response = front_desk.post("/admin/clinic/service/add/", body)
    assert response.status_code == 200
    assert message in response.context["adminform"].form.errors[field]
    assert not Service.objects.exists()


def test_the_front_desk_adds_a_service(front_desk, db):
    body = {"name": "Massage, 60 min", "duration_minutes": "60", "buffer_minutes": "10", "price": "90", "active": "on"}
    response = front_desk.post("/admin/clinic/service/add/", body)
    assert response.status_code == 302, form_errors(response)
    assert Service.objects.get().buffer_minutes == 10


@pytest.mark.parametrize(
    ("change", "field"),
    [({"currency": "usd"}, "currency"), ({"booking_step_minutes": "7"}, "booking_step_minutes")],
)
def test_the_clinic_form_says_the_rule(browser, db, change, field):
    clinic_configure()
    body = {
        "name": "Calm",
        "time_zone": "Europe/Paris",
        "currency": "EUR",
        "min_notice_hours": 2,
        "booking_horizon_days": 30,
        "cancellation_window_hours": 24,
        "booking_step_minutes": 15,
        "waitlist_hold_minutes": 30,
        "max_active_bookings_per_client": 4,
        **change,
    }
    response = browser.post("/admin/clinic/clinic/1/change/", body)
    assert response.status_code == 200
    assert field in response.context["adminform"].form.errors


def therapist_form(therapist: Therapist, **changes) -> dict:
    data = {
        "bio": therapist.bio,
        "gives_therapeutic": "on" if therapist.gives_therapeutic else "",
        "gives_deep_tissue": "on" if therapist.gives_deep_tissue else "",
        "active": "on" if therapist.active else "",
        "locations": [str(pk) for pk in therapist.locations.values_list("pk", flat=True)],
        **changes,
    }
    return {key: value for key, value in data.items() if value != ""}


def test_the_therapist_form_places_a_therapist(front_desk, downtown):
    therapist = TherapistFactory()
    response = front_desk.post(
        f"/admin/clinic/therapist/{therapist.pk}/change/", therapist_form(therapist, locations=[str(downtown.pk)])
    )
    assert response.status_code == 302, form_errors(response)
    assert list(therapist.locations.all()) == [downtown]


@pytest.mark.parametrize("change", [{"locations": []}, {"active": ""}])
def test_the_therapist_form_refuses_a_change_that_strands_bookings(front_desk, downtown, change):
    therapist = TherapistFactory(locations=[downtown])
    booking = BookingFactory(therapist=therapist, location=downtown, starts_at=soon())
    response = front_desk.post(f"/admin/clinic/therapist/{therapist.pk}/change/", therapist_form(therapist, **change))
    assert response.status_code == 200
    assert f"Bookings: #{booking.pk}." in form_errors(response)
    therapist.refresh_from_db()
    assert therapist.active is True
    assert list(therapist.locations.all()) == [downtown]


# --- The site (issue 13) ------------------------------------------------------------------


def test_the_admin_carries_the_clinics_name_and_no_view_site_link(front_desk, db):
    clinic_configure(name="Calm Hands")

    content = front_desk.get("/admin/").content.decode()

    assert '<div id="site-name"><a href="/admin/">Calm Hands</a></div>' in content
    assert re.search(r"<title>Calm Hands: front desk and administration \| Calm Hands admin</title>", content)
    assert "Django" not in content
    assert "View site" not in content


def test_a_renamed_clinic_shows_on_the_next_page(browser, db):
    clinic_configure(name="Calm Hands")
    assert "Calm Hands" in browser.get("/admin/").content.decode()

    Clinic.objects.filter(pk=1).update(name="Calm & Co")

    content = browser.get("/admin/").content.decode()
    assert "Calm &amp; Co" in content
    assert "Calm Hands" not in content


def test_before_the_clinic_row_exists_the_header_is_the_environments_and_the_row_is_not_made(browser, db):
    content = browser.get("/admin/clinic/clinic/add/").content.decode()

    assert f'<a href="/admin/">{settings.CLINIC_NAME}</a>' in content
    assert not Clinic.objects.exists()
