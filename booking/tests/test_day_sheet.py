"""The therapist's day sheet: GET /api/v1/therapists/me/day/ and its selector."""

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from booking.day_sheet import therapist_day
from booking.models import Booking
from booking.tests.factories import BookingFactory
from clinic.tests.factories import LocationFactory, RoomFactory, ServiceFactory
from intake.models import IntakeAccess

NY = ZoneInfo("America/New_York")
LA = ZoneInfo("America/Los_Angeles")
URL = "/api/v1/therapists/me/day/"
DAY = date(2026, 6, 10)

ANSWERS = {
    "pressure_preference": "firm",
    "primary_goal": "pain_relief",
    "conditions": ["lower_back_pain"],
    "health_screening": ["high_blood_pressure"],
    "focus_areas": ["lower_back", "shoulders"],
    "avoid_areas": ["neck"],
    "medications": "lisinopril",
    "notes": "Sore after a long drive.",
    "consent": True,
}


def at(day: date, hour: int, minute: int = 0, tz: ZoneInfo = NY, fold: int = 0) -> datetime:
    return datetime(day.year, day.month, day.day, hour, minute, fold=fold, tzinfo=tz)


@pytest.fixture
def ny():
    return LocationFactory(name="Downtown", time_zone="America/New_York")


@pytest.fixture
def la():
    return LocationFactory(name="Westside", time_zone="America/Los_Angeles")


@pytest.fixture
def book(ny):
    """`book(therapist, starts_at, location=ny, **fields)`: a booking placed in the database (no rules)."""

    def make(therapist, starts_at: datetime, *, location=None, **fields) -> Booking:
        return BookingFactory(therapist=therapist, location=location or ny, starts_at=starts_at, **fields)

    return make


def pending(**fields) -> dict:
    """The fields of a front-desk booking whose intake the client has not given yet."""
    return {"intake": None, "intake_status": Booking.IntakeStatus.PENDING, **fields}


def ids(rows) -> list[int]:
    return [row.pk for row in rows]


# The clinic of the root conftest: New York, 2 hours' notice, 60 days ahead, 24 hours to cancel.
pytestmark = pytest.mark.usefixtures("clinic")


class TestSelector:
    def test_only_this_therapists_active_bookings_of_that_day_in_time_order(self, book, therapist, other_therapist):
        # given
        late = book(therapist, at(DAY, 15))
        early = book(therapist, at(DAY, 9))
        front_desk = book(therapist, at(DAY, 13), **pending())
        book(therapist, at(DAY, 11), status=Booking.Status.CANCELLED, cancelled_at=timezone.now())
        book(therapist, at(DAY, 12), status=Booking.Status.COMPLETED)
        book(therapist, at(DAY, 17), status=Booking.Status.HELD, hold_expires_at=timezone.now())
        book(other_therapist, at(DAY, 10))
        book(therapist, at(DAY - timedelta(days=1), 23, 30))  # the evening before
        book(therapist, at(DAY + timedelta(days=1), 0, 0))  # next local midnight: the next day
        # when
        rows = therapist_day(therapist=therapist, date=DAY)
        # then
        assert ids(rows) == [early.pk, front_desk.pk, late.pk]

    def test_first_minute_of_the_day_is_included(self, book, therapist):
        midnight = book(therapist, at(DAY, 0, 0))
        assert ids(therapist_day(therapist=therapist, date=DAY)) == [midnight.pk]

    def test_day_is_the_locations_local_day_not_utc(self, book, therapist):
        # 21:00 in New York on DAY is 01:00 UTC the next day.
        evening = book(therapist, at(DAY, 21))
        assert ids(therapist_day(therapist=therapist, date=DAY)) == [evening.pk]
        assert therapist_day(therapist=therapist, date=DAY + timedelta(days=1)) == []

    def test_each_session_on_its_own_locations_day(self, book, therapist, ny, la):
        # given: a morning in New York, and an evening in Los Angeles that is already the next day in New York
        morning = book(therapist, at(DAY, 8), location=ny)
        la_evening = book(therapist, at(DAY, 22, tz=LA), location=la)  # 01:00 in New York on DAY + 1
        # and a Los Angeles evening the day before, which is DAY in New York (02:30)
        day_before = book(therapist, at(DAY - timedelta(days=1), 23, 30, tz=LA), location=la)
        # then
        assert ids(therapist_day(therapist=therapist, date=DAY)) == [morning.pk, la_evening.pk]
        assert ids(therapist_day(therapist=therapist, date=DAY - timedelta(days=1))) == [day_before.pk]
        assert therapist_day(therapist=therapist, date=DAY + timedelta(days=1)) == []

    @pytest.mark.parametrize(
        ("zone", "hour", "minute"),
        [
            ("Pacific/Kiritimati", 0, 30),  # UTC+14: the day before in UTC
            ("Pacific/Pago_Pago", 23, 30),  # UTC-11: the day after in UTC
            ("Asia/Kathmandu", 0, 0),  # UTC+5:45
        ],
    )
    def test_zones_far_from_utc(self, book, therapist, zone, hour, minute):
        location = LocationFactory(time_zone=zone)
        booking = book(therapist, at(DAY, hour, minute, tz=ZoneInfo(zone)), location=location)
        assert ids(therapist_day(therapist=therapist, date=DAY)) == [booking.pk]
        assert therapist_day(therapist=therapist, date=DAY - timedelta(days=1)) == []
        assert therapist_day(therapist=therapist, date=DAY + timedelta(days=1)) == []

    def test_spring_forward_day(self, book, therapist):
        day = date(2026, 3, 8)  # 02:00 EST → 03:00 EDT: a 23-hour day
        first = book(therapist, at(day, 0, 30))
        after_change = book(therapist, at(day, 3, 30))
        last = book(therapist, at(day, 23, 0))
        book(therapist, at(date(2026, 3, 7), 23, 0))
        book(therapist, at(date(2026, 3, 9), 0, 0))
        assert ids(therapist_day(therapist=therapist, date=day)) == [first.pk, after_change.pk, last.pk]

    def test_fall_back_day(self, book, therapist):
        day = date(2026, 11, 1)  # 02:00 EDT → 01:00 EST: a 25-hour day
        first = book(therapist, at(day, 0, 15))
        # 01:30 happens twice; the session after the change is the second one (fold=1), an hour later.
        second_half_past_one = book(therapist, at(day, 1, 30, fold=1))
        last = book(therapist, at(day, 23, 0))
        book(therapist, at(date(2026, 10, 31), 23, 0))
        book(therapist, at(date(2026, 11, 2), 0, 0))
        assert ids(therapist_day(therapist=therapist, date=day)) == [first.pk, second_half_past_one.pk, last.pk]


class TestApi:
    def test_fields(self, as_user, book, therapist, ny):
        # given
        room = RoomFactory(location=ny, name="Room 2")
        service = ServiceFactory(name="Massage, 90 min", duration_minutes=90, buffer_minutes=15)
        booking = book(
            therapist,
            at(DAY, 9),
            room=room,
            service=service,
            intake__answers=ANSWERS,
            intake__suggested_modality="deep_tissue",
            intake__needs_review=True,
            intake__flags=["high_blood_pressure"],
        )
        # when
        response = as_user(therapist.user).get(URL, {"date": "2026-06-10"})
        # then
        assert response.status_code == 200
        body = response.json()
        assert body["date"] == "2026-06-10"
        [row] = body["bookings"]
        assert row == {
            "id": booking.pk,
            "starts_at": "2026-06-10T13:00:00Z",
            "ends_at": "2026-06-10T14:30:00Z",
            "client": {"id": booking.client.pk, "name": booking.client.display_name},
            "service": {"id": service.pk, "name": "Massage, 90 min", "duration_minutes": 90},
            "location": {"id": ny.pk, "name": "Downtown", "time_zone": "America/New_York"},
            "room": {"id": room.pk, "name": "Room 2"},
            "intake_status": "complete",
            "modality": "deep_tissue",
            "suggested_modality": "deep_tissue",
            "needs_review": True,
            "flags": ["high_blood_pressure"],
            "new_flags": ["high_blood_pressure"],
            "changes_since_last": None,
            "warnings": [],
            "focus_areas": ["lower_back", "shoulders"],
            "avoid_areas": ["neck"],
            "notes": "Sore after a long drive.",
            "review": None,
        }

    def test_a_location_without_rooms_has_room_null(self, as_user, book, therapist, la):
        book(therapist, at(DAY, 9, tz=LA), location=la)
        [row] = as_user(therapist.user).get(URL, {"date": "2026-06-10"}).json()["bookings"]
        assert row["room"] is None
        assert row["location"]["time_zone"] == "America/Los_Angeles"
        assert row["starts_at"] == "2026-06-10T16:00:00Z"

    def test_a_pending_intake_shows_no_answers_and_is_not_a_read(self, as_user, book, therapist):
        # given a front-desk booking whose client has not given the intake yet
        booking = book(therapist, at(DAY, 9), **pending())
        # when
        response = as_user(therapist.user).get(URL, {"date": "2026-06-10"})
        # then
        [row] = response.json()["bookings"]
        assert row["id"] == booking.pk
        assert row["intake_status"] == "pending"
        assert row["modality"] is None
        assert row["suggested_modality"] is None
        assert row["needs_review"] is False
        assert (row["flags"], row["focus_areas"], row["avoid_areas"], row["notes"]) == ([], [], [], "")
        assert (row["new_flags"], row["changes_since_last"], row["review"]) == ([], None, None)
        assert not IntakeAccess.objects.exists()

    def test_final_modality_and_review(self, as_user, book, therapist):
        reviewed_at = timezone.now()
        book(
            therapist,
            at(DAY, 9),
            intake__suggested_modality="deep_tissue",
            intake__reviewed_modality="therapeutic",
            intake__review_note="Gentle today.",
            intake__reviewed_by=therapist.user,
            intake__reviewed_at=reviewed_at,
            intake__review_stale=True,
        )
        [row] = as_user(therapist.user).get(URL, {"date": "2026-06-10"}).json()["bookings"]
        assert row["modality"] == "therapeutic"
        assert row["suggested_modality"] == "deep_tissue"
        assert row["review"]["modality"] == "therapeutic"
        assert row["review"]["note"] == "Gentle today."
        assert row["review"]["stale"] is True
        assert datetime.fromisoformat(row["review"]["reviewed_at"]) == reviewed_at

    def test_a_warning_makes_it_need_review(self, as_user, book, therapist):
        book(therapist, at(DAY, 9), warnings=[Booking.WarningCode.THERAPIST_NOT_QUALIFIED])
        [row] = as_user(therapist.user).get(URL, {"date": "2026-06-10"}).json()["bookings"]
        assert row["warnings"] == ["therapist_not_qualified"]
        assert row["needs_review"] is True

    def test_missing_answers_default_to_empty(self, as_user, book, therapist):
        book(therapist, at(DAY, 9))  # the factory's answers have no areas nor notes
        [row] = as_user(therapist.user).get(URL, {"date": "2026-06-10"}).json()["bookings"]
        assert row["focus_areas"] == []
        assert row["avoid_areas"] == []
        assert row["notes"] == ""

    def test_time_order_across_locations_and_only_own_active(self, as_user, book, therapist, other_therapist, la):
        b3 = book(therapist, at(DAY, 13, tz=LA), location=la)  # 16:00 in New York
        b1 = book(therapist, at(DAY, 8))
        b2 = book(therapist, at(DAY, 12))
        book(therapist, at(DAY, 10), status=Booking.Status.CANCELLED, cancelled_at=timezone.now())
        book(therapist, at(DAY, 17), status=Booking.Status.HELD, hold_expires_at=timezone.now())
        book(other_therapist, at(DAY, 9))
        rows = as_user(therapist.user).get(URL, {"date": "2026-06-10"}).json()["bookings"]
        assert [r["id"] for r in rows] == [b1.pk, b2.pk, b3.pk]

    def test_empty_day(self, as_user, therapist):
        response = as_user(therapist.user).get(URL, {"date": "2026-06-10"})
        assert response.status_code == 200
        assert response.json()["bookings"] == []
        assert IntakeAccess.objects.count() == 0

    @pytest.mark.parametrize(
        "query",
        [
            {},
            {"date": ""},
            {"date": "2026-13-01"},
            {"date": "10/06/2026"},
            {"date": "2026-06-10T09:00"},
            {"date": "tomorrow"},
            {"date": "9999-12-31"},
            {"date": "0001-01-01"},
        ],
    )
    def test_missing_or_malformed_date_is_400(self, as_user, therapist, query):
        response = as_user(therapist.user).get(URL, query)
        assert response.status_code == 400
        assert "date" in response.json()

    @pytest.mark.parametrize("date_text", ["1900-01-01", "9998-12-31"])
    def test_the_extreme_dates_answer(self, as_user, therapist, date_text):
        assert as_user(therapist.user).get(URL, {"date": date_text}).status_code == 200

    @pytest.mark.parametrize("role", ["client_user", "staff_user", "admin_user"])
    def test_other_roles_are_403(self, as_user, book, request, role, therapist):
        book(therapist, at(DAY, 9))
        response = as_user(request.getfixturevalue(role)).get(URL, {"date": "2026-06-10"})
        assert response.status_code == 403
        assert IntakeAccess.objects.count() == 0

    def test_an_inactive_therapist_loses_the_day_sheet(self, as_user, book, therapist):
        book(therapist, at(DAY, 9))
        api = as_user(therapist.user)
        therapist.active = False
        therapist.save()
        assert api.get(URL, {"date": "2026-06-10"}).status_code in (401, 403)
        assert IntakeAccess.objects.count() == 0

    def test_anonymous_is_401(self, api):
        assert api.get(URL, {"date": "2026-06-10"}).status_code == 401


class TestAudit:
    def test_one_access_row_per_intake_shown(self, as_user, book, therapist, other_therapist, la):
        # given
        shown = [book(therapist, at(DAY, h)) for h in (9, 11, 13)]
        shown.append(book(therapist, at(DAY, 20, tz=LA), location=la))
        book(therapist, at(DAY, 15), **pending())  # shown, but nothing of an intake to read
        book(other_therapist, at(DAY, 9))
        book(therapist, at(DAY + timedelta(days=1), 9))
        # when
        response = as_user(therapist.user).get(URL, {"date": "2026-06-10"}, REMOTE_ADDR="203.0.113.7")
        # then
        assert response.status_code == 200
        assert len(response.json()["bookings"]) == 5
        rows = IntakeAccess.objects.order_by("booking_id")
        assert [(r.booking_id, r.intake_id) for r in rows] == [(b.pk, b.intake_id) for b in shown]
        for row in rows:
            assert row.channel == IntakeAccess.Channel.DAY_SHEET
            assert row.outcome == IntakeAccess.Outcome.ALLOWED
            assert row.accessed_by_id == therapist.user.pk
            assert row.remote_addr == "203.0.113.7"
            assert row.accessed_at is not None

    def test_each_read_is_logged(self, as_user, book, therapist):
        book(therapist, at(DAY, 9))
        api = as_user(therapist.user)
        api.get(URL, {"date": "2026-06-10"})
        api.get(URL, {"date": "2026-06-10"})
        assert IntakeAccess.objects.count() == 2

    def test_written_in_one_insert(self, as_user, book, therapist):
        for h in (9, 10, 11, 12):
            book(therapist, at(DAY, h))
        with CaptureQueriesContext(connection) as ctx:
            as_user(therapist.user).get(URL, {"date": "2026-06-10"})
        inserts = [q["sql"] for q in ctx.captured_queries if q["sql"].startswith('INSERT INTO "intake_intakeaccess"')]
        assert len(inserts) == 1

    def test_unusable_remote_addr_is_stored_as_null(self, as_user, book, therapist):
        book(therapist, at(DAY, 9))
        as_user(therapist.user).get(URL, {"date": "2026-06-10"}, REMOTE_ADDR="")
        assert IntakeAccess.objects.get().remote_addr is None


class TestQueryCount:
    @staticmethod
    def place(book, therapist, day: date, n: int, la) -> None:
        """`n` sessions that day: at both locations, in rooms or not, a pending intake among them."""
        room = RoomFactory()
        for i in range(n):
            if i % 3 == 1:
                book(therapist, at(day, 8 + i).astimezone(LA), location=la)
            elif i % 3 == 2:
                book(therapist, at(day, 8 + i), location=room.location, room=room)
            else:
                book(therapist, at(day, 8 + i), **(pending() if i == 3 else {}))

    def queries_for(self, as_user, book, therapist, la, n: int) -> int:
        day = DAY + timedelta(days=n)  # a fresh day per size
        self.place(book, therapist, day, n, la)
        api = as_user(therapist.user)
        with CaptureQueriesContext(connection) as ctx:
            response = api.get(URL, {"date": day.isoformat()})
        assert response.status_code == 200
        assert len(response.json()["bookings"]) == n
        return len(ctx.captured_queries)

    def test_same_number_of_queries_for_1_and_10_bookings(self, as_user, book, therapist, la):
        assert self.queries_for(as_user, book, therapist, la, 1) == self.queries_for(as_user, book, therapist, la, 10)

    def test_selector_is_one_query(self, book, therapist, la, django_assert_max_num_queries):
        self.place(book, therapist, DAY, 10, la)
        with django_assert_max_num_queries(1):
            rows = therapist_day(therapist=therapist, date=DAY)
            for booking in rows:
                _ = (booking.client.display_name, booking.service.name, booking.location.tz, booking.room)
                _ = booking.intake and booking.intake.modality
        assert len(rows) == 10

    def test_view_is_bounded(self, as_user, book, therapist, la, django_assert_max_num_queries):
        self.place(book, therapist, DAY, 10, la)
        api = as_user(therapist.user)
        # the token with its user and therapist, the bookings, the audit INSERT (no transaction of its own)
        with django_assert_max_num_queries(4):
            assert api.get(URL, {"date": "2026-06-10"}).status_code == 200


def test_utc_span_of_the_day_is_covered(book, therapist):
    """A session exactly at the margins of the UTC window the selector narrows by is still found."""
    kiritimati = LocationFactory(time_zone="Pacific/Kiritimati")
    first = book(therapist, datetime(2026, 6, 9, 10, 0, tzinfo=UTC), location=kiritimati)  # 00:00 on DAY there
    assert ids(therapist_day(therapist=therapist, date=DAY)) == [first.pk]
