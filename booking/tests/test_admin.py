"""The front desk's schedule and bookings in the Django admin (booking/admin.py); health data: config/tests."""

import re
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.contrib import admin
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
        start = (shift.starts_at + timedelta(hours=2)).astimezone(downtown.tz)  # typed in the location's time
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


# --- The front desk's local time (issue 13) ----------------------------------------------

NEW_YORK, LONDON = ZoneInfo("America/New_York"), ZoneInfo("Europe/London")


@pytest.fixture
def uptown():
    return LocationFactory(name="Uptown", time_zone="America/New_York")


@pytest.fixture
def soho():
    return LocationFactory(name="Soho", time_zone="Europe/London")


def page(response) -> str:
    assert response.status_code == 200
    return response.content.decode()


def rows(response) -> list[int]:
    return [obj.pk for obj in response.context["cl"].result_list]


def split_datetime(prefix: str, moment: datetime) -> dict:
    """A SplitDateTime widget's fields for the wall-clock time `moment` shows."""
    return {f"{prefix}_0": moment.strftime("%Y-%m-%d"), f"{prefix}_1": moment.strftime("%H:%M:%S")}


class TestBookingsInLocalTime:
    """A New York and a London location in winter: EST is UTC-5, GMT is UTC."""

    @pytest.fixture
    def day(self, uptown, soho):
        return {
            # 09:00 in New York is 14:00 UTC
            "new_york": BookingFactory(
                location=uptown,
                starts_at=datetime(2027, 1, 15, 9, tzinfo=NEW_YORK),
                intake__suggested_modality="deep_tissue",
            ),
            # 09:30 in London is 09:30 UTC, before the New York morning
            "london": BookingFactory(location=soho, starts_at=datetime(2027, 1, 15, 9, 30, tzinfo=LONDON)),
            # 20:00 in New York is already 16 January in UTC
            "evening": BookingFactory(
                location=uptown,
                starts_at=datetime(2027, 1, 15, 20, tzinfo=NEW_YORK),
                status=Booking.Status.CANCELLED,
                cancelled_at=datetime(2027, 1, 10, 12, tzinfo=UTC),
            ),
            # 10:00 in London on 16 January
            "next_day": BookingFactory(location=soho, starts_at=datetime(2027, 1, 16, 10, tzinfo=LONDON)),
        }

    def test_the_list_shows_each_booking_in_its_locations_time_with_the_zone(self, desk, day):
        content = page(desk.get(reverse("admin:booking_booking_changelist")))
        for shown in ("2027-01-15 09:00 EST", "2027-01-15 09:30 GMT", "2027-01-15 20:00 EST", "2027-01-16 10:00 GMT"):
            assert shown in content, shown
        starts = re.findall(r'<th class="field-local_start"><a [^>]*>([^<]*)</a></th>', content)
        assert "2027-01-15 09:00 EST" in starts  # the New York morning, never 14:00 (UTC)
        assert not [start for start in starts if "UTC" in start]

    def test_the_list_is_in_time_order(self, desk, day):
        response = desk.get(reverse("admin:booking_booking_changelist"))
        expected = [day[name].pk for name in ("london", "new_york", "evening", "next_day")]
        assert rows(response) == expected
        content = page(response)
        shown = ["2027-01-15 09:30 GMT", "2027-01-15 09:00 EST", "2027-01-15 20:00 EST", "2027-01-16 10:00 GMT"]
        assert [content.index(text) for text in shown] == sorted(content.index(text) for text in shown)

    def test_a_day_is_each_bookings_local_date(self, desk, day):
        url = reverse("admin:booking_booking_changelist")
        month = {"starts_at__year": "2027", "starts_at__month": "1"}

        fifteenth = desk.get(url, {**month, "starts_at__day": "15"})
        sixteenth = desk.get(url, {**month, "starts_at__day": "16"})

        # the evening in New York is on the 15th, though it is the 16th in UTC
        assert rows(fifteenth) == [day["london"].pk, day["new_york"].pk, day["evening"].pk]
        assert rows(sixteenth) == [day["next_day"].pk]
        assert "January 15" in page(fifteenth)

    def test_the_day_bar_lists_local_dates(self, desk, uptown):
        # given only the New York evening: the 16th in UTC, the 15th where it happens
        BookingFactory(location=uptown, starts_at=datetime(2027, 1, 15, 20, tzinfo=NEW_YORK))
        content = page(desk.get(reverse("admin:booking_booking_changelist")))
        days = set(re.findall(r"starts_at__day=(\d+)", content))
        assert days == {"15"}
        assert "January 15" in content
        assert "January 16" not in content

    def test_a_locations_day_lists_room_by_room(self, desk):
        # given a London location with two rooms, its day sheet is by room, each room in time order
        harbour = LocationFactory(name="Harbour", time_zone="Europe/London", uses_rooms=True)
        room_1, room_2 = RoomFactory(location=harbour, name="1"), RoomFactory(location=harbour, name="2")
        late_1 = BookingFactory(location=harbour, room=room_1, starts_at=datetime(2027, 1, 15, 15, tzinfo=LONDON))
        early_2 = BookingFactory(location=harbour, room=room_2, starts_at=datetime(2027, 1, 15, 9, tzinfo=LONDON))
        early_1 = BookingFactory(location=harbour, room=room_1, starts_at=datetime(2027, 1, 15, 10, tzinfo=LONDON))
        url = reverse("admin:booking_booking_changelist")
        day = {"starts_at__year": "2027", "starts_at__month": "1", "starts_at__day": "15"}

        sheet = desk.get(url, {"location__id__exact": harbour.pk, **day})
        every_location = desk.get(url, day)

        assert rows(sheet) == [early_1.pk, late_1.pk, early_2.pk]
        assert rows(every_location) == [early_2.pk, early_1.pk, late_1.pk]

    def test_labels_not_codes(self, desk, day):
        content = page(desk.get(reverse("admin:booking_booking_changelist")))
        cells = dict.fromkeys(re.findall(r'<td class="field-(\w+)">([^<]*)</td>', content))
        for cell in [
            ("modality", "Deep tissue massage"),
            ("modality", "Therapeutic massage"),
            ("status", "Confirmed"),
            ("status", "Cancelled"),
            ("intake_status", "Complete"),
        ]:
            assert cell in cells, cell
        assert not [value for _, value in cells if value in ("deep_tissue", "therapeutic", "confirmed", "complete")]

    def test_a_bookings_page_shows_its_local_times_and_no_save_button(self, desk, day):
        booking = day["evening"]
        booking.warnings = [Booking.WarningCode.THERAPIST_NOT_QUALIFIED]
        booking.save(update_fields=["warnings"])

        content = page(desk.get(reverse("admin:booking_booking_change", args=[booking.pk])))

        assert "2027-01-15 20:00 EST" in content
        assert "2027-01-10 07:00 EST" in content  # when it was cancelled, in New York's time too
        assert "UTC" not in content  # the heading, the breadcrumb and the title name it in local time
        assert Booking.WarningCode.THERAPIST_NOT_QUALIFIED.label in content
        assert "therapist_not_qualified" not in content
        for button in ('name="_save"', 'name="_continue"', 'name="_addanother"'):
            assert button not in content, button
        assert "View booking" in content

    def test_a_bookings_history_names_it_in_local_time(self, desk, day):
        content = page(desk.get(reverse("admin:booking_booking_history", args=[day["evening"].pk])))
        assert "2027-01-15 20:00 EST" in content
        assert "UTC" not in content

    def test_a_bookings_page_changes_nothing(self, desk, day):
        booking = day["new_york"]
        url = reverse("admin:booking_booking_change", args=[booking.pk])
        assert desk.post(url, {"cancel_reason": "x"}).status_code == 403
        booking.refresh_from_db()
        assert booking.cancel_reason == ""

    def test_a_london_page_in_summer_says_bst(self, desk, soho):
        booking = BookingFactory(location=soho, starts_at=datetime(2027, 7, 1, 9, tzinfo=LONDON))
        content = page(desk.get(reverse("admin:booking_booking_change", args=[booking.pk])))
        assert "2027-07-01 09:00 BST" in content


class TestScheduleInLocalTime:
    def test_shifts_and_closures_in_their_locations_time_in_time_order(self, desk, uptown, soho):
        # given a New York shift that starts after a London one in UTC, though earlier on the clock
        new_york = ShiftFactory(location=uptown, starts_at=datetime(2027, 1, 15, 8, tzinfo=NEW_YORK))
        london = ShiftFactory(location=soho, starts_at=datetime(2027, 1, 15, 10, tzinfo=LONDON))
        Closure.objects.create(
            location=soho,
            starts_at=datetime(2027, 1, 15, 23, tzinfo=LONDON),
            ends_at=datetime(2027, 1, 16, 3, tzinfo=LONDON),
        )

        shifts = desk.get(reverse("admin:booking_shift_changelist"))
        closures = page(desk.get(reverse("admin:booking_closure_changelist")))

        assert rows(shifts) == [london.pk, new_york.pk]
        assert "2027-01-15 08:00 EST" in page(shifts)
        assert "16:00 EST" in page(shifts)
        assert "2027-01-15 10:00 GMT" in page(shifts)
        assert "2027-01-15 23:00 GMT" in closures
        assert "2027-01-16 03:00 GMT" in closures  # ends on another day: the date is shown

    def test_time_off_is_in_the_therapists_locations_zone_else_the_clinics(self, desk, uptown, soho):
        # given a therapist in London only, and one in London and New York (the clinic is in New York)
        in_london = TherapistFactory(locations=[soho], user__first_name="Lon")
        travelling = TherapistFactory(locations=[soho, uptown], user__first_name="Tra")
        start = datetime(2027, 1, 15, 12, tzinfo=UTC)
        TimeOff.objects.create(therapist=in_london, starts_at=start, ends_at=start + timedelta(hours=2))
        TimeOff.objects.create(
            therapist=travelling, starts_at=start + timedelta(days=1), ends_at=start + timedelta(days=1, hours=2)
        )

        content = page(desk.get(reverse("admin:booking_timeoff_changelist")))

        assert "2027-01-15 12:00 GMT" in content
        assert "2027-01-16 07:00 EST" in content

    def test_a_shift_is_typed_and_shown_in_its_locations_time(self, desk, uptown):
        therapist = TherapistFactory(locations=[uptown])
        starts_at = datetime(2027, 1, 15, 9, tzinfo=NEW_YORK)

        response = desk.post(
            reverse("admin:booking_shift_add"),
            {
                "therapist": therapist.pk,
                "location": uptown.pk,
                **split_datetime("starts_at", starts_at),
                **split_datetime("ends_at", starts_at + timedelta(hours=8)),
            },
        )

        assert response.status_code == 302, response.context["adminform"].form.errors
        shift = Shift.objects.get()
        assert shift.starts_at == datetime(2027, 1, 15, 14, tzinfo=UTC)
        form = page(desk.get(reverse("admin:booking_shift_change", args=[shift.pk])))
        assert 'value="09:00:00"' in form
        assert "America/New_York" in form  # the form says which zone its times are in

    def test_a_time_the_clocks_skip_is_refused(self, desk, uptown):
        # 02:30 on 14 March 2027 does not happen in New York (02:00 becomes 03:00)
        therapist = TherapistFactory(locations=[uptown])
        response = desk.post(
            reverse("admin:booking_shift_add"),
            {
                "therapist": therapist.pk,
                "location": uptown.pk,
                "starts_at_0": "2027-03-14",
                "starts_at_1": "02:30:00",
                "ends_at_0": "2027-03-14",
                "ends_at_1": "09:00:00",
            },
        )
        assert response.status_code == 200
        assert "does not exist in America/New_York" in page(response)
        assert not Shift.objects.exists()

    def test_time_off_is_typed_in_the_therapists_time(self, desk, soho, staff_user):
        therapist = TherapistFactory(locations=[soho])
        response = desk.post(
            reverse("admin:booking_timeoff_add"),
            {
                "therapist": therapist.pk,
                **split_datetime("starts_at", datetime(2027, 7, 1, 9)),
                **split_datetime("ends_at", datetime(2027, 7, 1, 12)),
                "reason": "Dentist",
            },
        )
        assert response.status_code == 302, response.context["adminform"].form.errors
        assert TimeOff.objects.get().starts_at == datetime(2027, 7, 1, 8, tzinfo=UTC)  # 09:00 BST

    def test_a_shift_holding_bookings_is_a_page_to_read(self, desk, uptown):
        therapist = TherapistFactory(locations=[uptown])
        shift = ShiftFactory(therapist=therapist, location=uptown, starts_at=datetime(2027, 1, 15, 8, tzinfo=NEW_YORK))
        BookingFactory(therapist=therapist, location=uptown, starts_at=datetime(2027, 1, 15, 9, tzinfo=NEW_YORK))

        content = page(desk.get(reverse("admin:booking_shift_change", args=[shift.pk])))

        assert "2027-01-15 08:00 EST" in content
        assert 'name="_save"' not in content
        assert 'name="_continue"' not in content


class TestTheSite:
    def test_the_header_and_title_are_the_clinics_and_no_view_site_link(self, desk, clinic):
        content = page(desk.get(reverse("admin:booking_booking_changelist")))
        assert f'<a href="{reverse("admin:index")}">{clinic.name}</a>' in content
        assert re.search(rf"<title>[^<]*\| {re.escape(clinic.name)} admin</title>", content)
        assert "View site" not in content
        assert "Django administration" not in content

    def test_no_page_the_front_desk_may_only_view_has_a_save_button(self, desk, uptown):
        # given a booking in a shift (which keeps the shift), its client's account, and the rest of the schedule
        therapist = TherapistFactory(locations=[uptown])
        in_a_shift(therapist, uptown, datetime(2027, 1, 15, 9, tzinfo=NEW_YORK))
        view_only = set()
        for model, _ in admin.site._registry.items():
            for obj in model._default_manager.all():
                url = reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_change", args=[obj.pk])
                response = desk.get(url)
                if response.status_code != 200 or response.context["has_change_permission"]:
                    continue
                # then a page to read shows no button that would save
                view_only.add(model._meta.label)
                content = response.content.decode()
                for button in ('name="_save"', 'name="_continue"', 'name="_addanother"', 'name="_saveasnew"'):
                    assert button not in content, (url, button)
        assert {"booking.Booking", "booking.Shift", "clinic.User"} <= view_only


class TestTheWaitlistHearsOfFreedTime:
    """Time freed in the admin reaches the waitlist as it does through the API: one matching job."""

    @staticmethod
    def matching_jobs() -> list[dict]:
        from config.testing.jobs import pending_jobs

        return [job.args for job in pending_jobs("booking.waitlist_match")]

    def test_time_off_deleted_one_by_one_or_in_bulk(self, desk, therapist):
        starts_at = timezone.now() + timedelta(days=2)
        one, two = (
            TimeOff.objects.create(therapist=therapist, starts_at=starts_at + timedelta(hours=h), ends_at=starts_at)
            for h in (-2, -4)
        )
        desk.post(reverse("admin:booking_timeoff_delete", args=[one.pk]), {"post": "yes"})
        desk.post(
            reverse("admin:booking_timeoff_changelist"),
            {"action": "delete_selected", "_selected_action": [two.pk], "post": "yes"},
        )
        assert not TimeOff.objects.exists()
        assert [job["therapist_id"] for job in self.matching_jobs()] == [therapist.pk, therapist.pk]

    def test_a_closure_deleted(self, desk, downtown):
        starts_at = timezone.now() + timedelta(days=2)
        closure = Closure.objects.create(location=downtown, starts_at=starts_at, ends_at=starts_at + timedelta(hours=3))
        desk.post(reverse("admin:booking_closure_delete", args=[closure.pk]), {"post": "yes"})
        assert not Closure.objects.exists()
        assert [job["location_id"] for job in self.matching_jobs()] == [downtown.pk]

    def test_a_shift_added(self, desk, therapist, downtown):
        therapist.locations.add(downtown)
        day = (timezone.now() + timedelta(days=2)).strftime("%Y-%m-%d")
        response = desk.post(
            reverse("admin:booking_shift_add"),
            {
                "therapist": therapist.pk,
                "location": downtown.pk,
                "starts_at_0": day,
                "starts_at_1": "09:00:00",
                "ends_at_0": day,
                "ends_at_1": "17:00:00",
            },
        )
        assert response.status_code == 302
        assert [job["therapist_id"] for job in self.matching_jobs()] == [therapist.pk]
