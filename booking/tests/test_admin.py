"""The front desk's schedule and bookings in the Django admin (booking/admin.py); health data: config/tests."""

from datetime import UTC, datetime, timedelta

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from booking.models import Booking, Closure, Shift, TimeOff
from booking.tests.factories import BookingFactory, ShiftFactory
from clinic.tests.factories import LocationFactory, RoomFactory, ServiceFactory, StaffFactory, TherapistFactory

pytestmark = pytest.mark.usefixtures("clinic")


@pytest.fixture
def desk(staff_user) -> Client:
    web = Client()
    web.force_login(staff_user)
    return web


@pytest.fixture
def downtown():
    return LocationFactory(name="Downtown", time_zone="America/New_York", uses_rooms=True)


def in_a_shift(therapist, location, starts_at: datetime, **fields) -> Booking:
    ShiftFactory(therapist=therapist, location=location, starts_at=starts_at - timedelta(hours=1))
    return BookingFactory(therapist=therapist, location=location, starts_at=starts_at, **fields)


class TestBookingList:
    def test_shows_the_local_time_service_location_room_and_intake_status(self, desk, downtown):
        # given: 2026-06-10 13:00 UTC is 09:00 in New York
        room = RoomFactory(location=downtown, name="Room 2")
        service = ServiceFactory(name="Massage, 90 min", duration_minutes=90)
        BookingFactory(location=downtown, room=room, service=service, starts_at=datetime(2026, 6, 10, 13, tzinfo=UTC))
        BookingFactory(intake=None, intake_status=Booking.IntakeStatus.PENDING)
        # when
        response = desk.get(reverse("admin:booking_booking_changelist"))
        # then
        assert response.status_code == 200
        content = response.content.decode()
        for shown in ("2026-06-10 09:00 EDT", "10:30 EDT", "Massage, 90 min", "Downtown · Room 2", "Pending"):
            assert shown in content, shown
        assert "- (intake pending)" in content

    def test_no_booking_is_added_or_deleted_here(self, desk):
        booking = BookingFactory()
        assert desk.get(reverse("admin:booking_booking_add")).status_code == 403
        assert desk.get(reverse("admin:booking_booking_delete", args=[booking.pk])).status_code == 403

    def test_the_cancel_action_goes_through_the_service(self, desk, therapist, downtown):
        # given
        therapist.locations.add(downtown)
        booking = in_a_shift(therapist, downtown, timezone.now().replace(microsecond=0) + timedelta(days=3))
        # when
        response = desk.post(
            reverse("admin:booking_booking_changelist"),
            {"action": "cancel", "_selected_action": [booking.pk]},
            follow=True,
        )
        # then
        assert response.status_code == 200
        booking.refresh_from_db()
        assert booking.status == Booking.Status.CANCELLED
        assert booking.cancel_reason == "Cancelled by the front desk"
        assert "Cancelled 1 booking(s)." in response.content.decode()

    def test_the_cancel_action_reports_what_it_could_not_cancel(self, desk):
        booking = BookingFactory(status=Booking.Status.COMPLETED)
        response = desk.post(
            reverse("admin:booking_booking_changelist"),
            {"action": "cancel", "_selected_action": [booking.pk]},
            follow=True,
        )
        assert f"Booking #{booking.pk}" in response.content.decode()
        booking.refresh_from_db()
        assert booking.status == Booking.Status.COMPLETED


class TestShifts:
    def test_a_shift_holding_bookings_is_kept(self, desk, downtown):
        therapist = TherapistFactory(locations=[downtown])
        starts_at = timezone.now().replace(microsecond=0) + timedelta(days=3)
        shift = ShiftFactory(therapist=therapist, location=downtown, starts_at=starts_at)
        BookingFactory(therapist=therapist, location=downtown, starts_at=starts_at + timedelta(hours=1))
        empty = ShiftFactory(therapist=therapist, location=downtown, starts_at=starts_at + timedelta(days=1))
        changelist = reverse("admin:booking_shift_changelist")
        # the page of one refuses; a bulk deletion that includes it deletes nothing
        assert desk.get(reverse("admin:booking_shift_delete", args=[shift.pk])).status_code == 403
        desk.post(changelist, {"action": "delete_selected", "_selected_action": [shift.pk, empty.pk], "post": "yes"})
        assert set(Shift.objects.values_list("pk", flat=True)) == {shift.pk, empty.pk}
        # the empty one alone goes
        desk.post(changelist, {"action": "delete_selected", "_selected_action": [empty.pk], "post": "yes"})
        assert list(Shift.objects.values_list("pk", flat=True)) == [shift.pk]

    def test_an_overlapping_shift_is_a_form_error(self, desk, downtown):
        therapist = TherapistFactory(locations=[downtown])
        shift = ShiftFactory(therapist=therapist, location=downtown)
        start = shift.starts_at + timedelta(hours=2)
        response = desk.post(
            reverse("admin:booking_shift_add"),
            {
                "therapist": therapist.pk,
                "location": downtown.pk,
                "starts_at_0": start.strftime("%Y-%m-%d"),
                "starts_at_1": start.strftime("%H:%M:%S"),
                "ends_at_0": start.strftime("%Y-%m-%d"),
                "ends_at_1": (start + timedelta(hours=1)).strftime("%H:%M:%S"),
            },
        )
        assert response.status_code == 200
        assert "already has a shift overlapping" in response.content.decode()
        assert Shift.objects.count() == 1


class TestClosuresAndTimeOff:
    def test_a_room_of_another_location_is_refused(self, desk, downtown):
        elsewhere = RoomFactory()
        start = timezone.now().replace(microsecond=0) + timedelta(days=2)
        response = desk.post(
            reverse("admin:booking_closure_add"),
            {
                "location": downtown.pk,
                "room": elsewhere.pk,
                "starts_at_0": start.strftime("%Y-%m-%d"),
                "starts_at_1": "09:00:00",
                "ends_at_0": start.strftime("%Y-%m-%d"),
                "ends_at_1": "12:00:00",
                "reason": "Painting",
            },
        )
        assert response.status_code == 200
        assert "is not a room of Downtown" in response.content.decode()
        assert not Closure.objects.exists()

    def test_who_added_it_is_kept(self, desk, staff_user, therapist):
        day = (timezone.now() + timedelta(days=2)).strftime("%Y-%m-%d")
        response = desk.post(
            reverse("admin:booking_timeoff_add"),
            {
                "therapist": therapist.pk,
                "starts_at_0": day,
                "starts_at_1": "09:00:00",
                "ends_at_0": day,
                "ends_at_1": "12:00:00",
                "reason": "Training",
            },
        )
        assert response.status_code == 302
        assert TimeOff.objects.get().created_by == staff_user


def test_staff_without_the_role_see_nothing(db):
    # a client flagged is_staff by hand gets no booking page
    user = StaffFactory(role="client")
    web = Client()
    web.force_login(user)
    assert web.get(reverse("admin:booking_booking_changelist")).status_code in (302, 403)
