"""The front desk can use the admin by role alone, without reading health answers."""

import pytest

from booking.tests.factories import BookingFactory
from clinic.tests.factories import PASSWORD, ClientFactory, StaffFactory


@pytest.fixture
def front_desk(client):
    staff = StaffFactory()
    client.login(email=staff.email, password=PASSWORD)
    return client


@pytest.mark.django_db
@pytest.mark.parametrize(
    "url",
    [
        "/admin/",
        "/admin/booking/shift/",
        "/admin/booking/shift/add/",
        "/admin/booking/closure/",
        "/admin/booking/booking/",
        "/admin/booking/workinghours/",
        "/admin/booking/timeoff/",
        "/admin/clinic/therapist/",
        "/admin/clinic/clinic/",
        "/admin/clinic/location/",
        "/admin/clinic/location/add/",
        "/admin/clinic/room/",
        "/admin/clinic/room/add/",
        "/admin/clinic/service/",
        "/admin/clinic/service/add/",
    ],
)
def test_front_desk_reaches_the_schedule_in_the_admin(front_desk, clinic, url):
    assert front_desk.get(url).status_code == 200


@pytest.mark.django_db
def test_front_desk_sees_bookings_but_not_health_answers(front_desk, clinic):
    booking = BookingFactory(
        intake__answers={
            "pressure_preference": "medium",
            "primary_goal": "relaxation",
            "consent": True,
            "medications": "warfarin-secret",
        },
        intake__flags=["blood_thinners"],
    )
    page = front_desk.get(f"/admin/booking/booking/{booking.pk}/change/")
    assert page.status_code == 200
    assert b"warfarin-secret" not in page.content
    assert b"blood_thinners" not in page.content
    intake_page = front_desk.get(f"/admin/intake/intake/{booking.intake.pk}/change/")
    assert intake_page.status_code == 403
    assert b"warfarin-secret" not in intake_page.content
    assert b"blood_thinners" not in intake_page.content


@pytest.mark.django_db
def test_front_desk_cannot_read_the_audit_log_or_change_users(front_desk, clinic):
    assert front_desk.get("/admin/intake/intakeaccess/").status_code == 403
    user = ClientFactory()
    assert front_desk.post(f"/admin/clinic/user/{user.pk}/change/", {"email": "x@example.com"}).status_code == 403


@pytest.mark.django_db
def test_a_client_cannot_log_into_the_admin(client, clinic):
    user = ClientFactory()
    client.login(email=user.email, password=PASSWORD)
    assert client.get("/admin/clinic/location/").status_code == 302
