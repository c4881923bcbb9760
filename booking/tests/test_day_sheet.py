"""The therapist's day sheet: GET /api/v1/therapists/me/day/ and its selector."""

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from booking.availability import local_day_bounds
from booking.day_sheet import therapist_day
from booking.models import Booking
from booking.tests.helpers import booking_at
from clinic.tests.factories import clinic_configure
from intake.models import IntakeAccess

NY = ZoneInfo("America/New_York")
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


def local(day: date, hour: int, minute: int = 0) -> datetime:
    return datetime(day.year, day.month, day.day, hour, minute, tzinfo=NY)


# The clinic of the root conftest: New York, 2 hours' notice, 60 days ahead, 24 hours to cancel.
pytestmark = pytest.mark.usefixtures("clinic")


class TestLocalDaySpan:
    def test_ordinary_day_is_24_hours(self):
        start, end = local_day_bounds(DAY, NY)
        assert start.astimezone(UTC) == datetime(2026, 6, 10, 4, tzinfo=UTC)
        assert end - start == timedelta(hours=24)

    @pytest.mark.parametrize(
        ("day", "start_utc", "hours"),
        [
            (date(2026, 3, 8), datetime(2026, 3, 8, 5, tzinfo=UTC), 23),  # spring forward
            (date(2026, 11, 1), datetime(2026, 11, 1, 4, tzinfo=UTC), 25),  # fall back
        ],
    )
    def test_daylight_saving_days(self, day, start_utc, hours):
        start, end = local_day_bounds(day, NY)
        assert start.astimezone(UTC) == start_utc
        assert (end.astimezone(UTC) - start.astimezone(UTC)) == timedelta(hours=hours)


class TestSelector:
    def test_only_this_therapists_confirmed_bookings_of_that_day_in_time_order(self, therapist, other_therapist):
        # given
        late = booking_at(therapist, local(DAY, 15))
        early = booking_at(therapist, local(DAY, 9))
        booking_at(therapist, local(DAY, 11), status=Booking.Status.CANCELLED, cancelled_at=timezone.now())
        booking_at(therapist, local(DAY, 12), status=Booking.Status.COMPLETED)
        booking_at(other_therapist, local(DAY, 10))
        booking_at(therapist, local(DAY - timedelta(days=1), 23, 30))  # the evening before
        booking_at(therapist, local(DAY + timedelta(days=1), 0, 0))  # next local midnight: the next day
        # when
        rows = therapist_day(therapist=therapist, date=DAY)
        # then
        assert [b.pk for b in rows] == [early.pk, late.pk]

    def test_first_minute_of_the_day_is_included(self, therapist):
        midnight = booking_at(therapist, local(DAY, 0, 0))
        assert [b.pk for b in therapist_day(therapist=therapist, date=DAY)] == [midnight.pk]

    def test_day_is_the_clinics_local_day_not_utc(self, therapist):
        # 21:00 in New York on DAY is 01:00 UTC the next day.
        evening = booking_at(therapist, local(DAY, 21))
        assert [b.pk for b in therapist_day(therapist=therapist, date=DAY)] == [evening.pk]
        assert therapist_day(therapist=therapist, date=DAY + timedelta(days=1)) == []

    def test_spring_forward_day(self, therapist):
        day = date(2026, 3, 8)  # 02:00 EST → 03:00 EDT: a 23-hour day
        first = booking_at(therapist, local(day, 0, 30))
        after_change = booking_at(therapist, local(day, 3, 30))
        last = booking_at(therapist, local(day, 23, 0))
        booking_at(therapist, local(date(2026, 3, 7), 23, 30))
        booking_at(therapist, local(date(2026, 3, 9), 0, 0))
        assert [b.pk for b in therapist_day(therapist=therapist, date=day)] == [first.pk, after_change.pk, last.pk]

    def test_fall_back_day(self, therapist):
        day = date(2026, 11, 1)  # 02:00 EDT → 01:00 EST: a 25-hour day
        first = booking_at(therapist, local(day, 0, 15))
        # 01:30 happens twice; the slot after the change is the second one (fold=1), an hour later.
        second_half_past_one = booking_at(therapist, datetime(2026, 11, 1, 1, 30, fold=1, tzinfo=NY))
        last = booking_at(therapist, local(day, 23, 0))
        booking_at(therapist, local(date(2026, 10, 31), 23, 0))
        booking_at(therapist, local(date(2026, 11, 2), 0, 0))
        assert [b.pk for b in therapist_day(therapist=therapist, date=day)] == [
            first.pk,
            second_half_past_one.pk,
            last.pk,
        ]

    def test_other_time_zone(self, therapist):
        clinic_configure(time_zone="Europe/Paris")
        paris = ZoneInfo("Europe/Paris")
        # 00:30 in Paris is still the previous day in UTC.
        booking = booking_at(therapist, datetime(2026, 6, 10, 0, 30, tzinfo=paris))
        assert [b.pk for b in therapist_day(therapist=therapist, date=DAY)] == [booking.pk]
        assert therapist_day(therapist=therapist, date=DAY - timedelta(days=1)) == []


class TestApi:
    def test_fields(self, as_user, therapist):
        # given
        booking = booking_at(
            therapist,
            local(DAY, 9),
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
        assert body["time_zone"] == "America/New_York"
        [row] = body["bookings"]
        assert row == {
            "id": booking.pk,
            "starts_at": "2026-06-10T13:00:00Z",
            "ends_at": "2026-06-10T14:00:00Z",
            "client": {"id": booking.client.pk, "name": booking.client.display_name},
            "modality": "deep_tissue",
            "suggested_modality": "deep_tissue",
            "needs_review": True,
            "flags": ["high_blood_pressure"],
            "warnings": [],
            "focus_areas": ["lower_back", "shoulders"],
            "avoid_areas": ["neck"],
            "notes": "Sore after a long drive.",
            "review": None,
        }

    def test_final_modality_and_review(self, as_user, therapist):
        reviewed_at = timezone.now()
        booking_at(
            therapist,
            local(DAY, 9),
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

    def test_missing_answers_default_to_empty(self, as_user, therapist):
        booking_at(therapist, local(DAY, 9))  # the factory's answers have no areas nor notes
        [row] = as_user(therapist.user).get(URL, {"date": "2026-06-10"}).json()["bookings"]
        assert row["focus_areas"] == []
        assert row["avoid_areas"] == []
        assert row["notes"] == ""

    def test_time_order_and_only_own_confirmed(self, as_user, therapist, other_therapist):
        b3 = booking_at(therapist, local(DAY, 16))
        b1 = booking_at(therapist, local(DAY, 8))
        b2 = booking_at(therapist, local(DAY, 12))
        booking_at(therapist, local(DAY, 10), status=Booking.Status.CANCELLED, cancelled_at=timezone.now())
        booking_at(other_therapist, local(DAY, 9))
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

    @pytest.mark.parametrize("role", ["client_user", "staff_user", "admin_user"])
    def test_other_roles_are_403(self, as_user, request, role, therapist):
        booking_at(therapist, local(DAY, 9))
        response = as_user(request.getfixturevalue(role)).get(URL, {"date": "2026-06-10"})
        assert response.status_code == 403
        assert IntakeAccess.objects.count() == 0

    def test_anonymous_is_401(self, api):
        assert api.get(URL, {"date": "2026-06-10"}).status_code == 401


class TestAudit:
    def test_one_access_row_per_booking_shown(self, as_user, therapist, other_therapist):
        # given
        shown = [booking_at(therapist, local(DAY, h)) for h in (9, 11, 13)]
        booking_at(other_therapist, local(DAY, 9))
        booking_at(therapist, local(DAY + timedelta(days=1), 9))
        # when
        response = as_user(therapist.user).get(URL, {"date": "2026-06-10"}, REMOTE_ADDR="203.0.113.7")
        # then
        assert response.status_code == 200
        rows = IntakeAccess.objects.order_by("booking_id")
        assert [(r.booking_id, r.intake_id) for r in rows] == [(b.pk, b.intake_id) for b in shown]
        for row in rows:
            assert row.channel == IntakeAccess.Channel.DAY_SHEET
            assert row.outcome == IntakeAccess.Outcome.ALLOWED
            assert row.accessed_by_id == therapist.user.pk
            assert row.remote_addr == "203.0.113.7"
            assert row.accessed_at is not None

    def test_each_read_is_logged(self, as_user, therapist):
        booking_at(therapist, local(DAY, 9))
        api = as_user(therapist.user)
        api.get(URL, {"date": "2026-06-10"})
        api.get(URL, {"date": "2026-06-10"})
        assert IntakeAccess.objects.count() == 2

    def test_written_in_one_insert(self, as_user, therapist):
        for h in (9, 10, 11, 12):
            booking_at(therapist, local(DAY, h))
        with CaptureQueriesContext(connection) as ctx:
            as_user(therapist.user).get(URL, {"date": "2026-06-10"})
        inserts = [q["sql"] for q in ctx.captured_queries if q["sql"].startswith('INSERT INTO "intake_intakeaccess"')]
        assert len(inserts) == 1

    def test_unusable_remote_addr_is_stored_as_null(self, as_user, therapist):
        booking_at(therapist, local(DAY, 9))
        as_user(therapist.user).get(URL, {"date": "2026-06-10"}, REMOTE_ADDR="")
        assert IntakeAccess.objects.get().remote_addr is None


class TestQueryCount:
    @staticmethod
    def queries_for(as_user, therapist, n: int) -> int:
        day = DAY + timedelta(days=n)  # a fresh day per size
        for i in range(n):
            booking_at(therapist, local(day, 8 + i))
        api = as_user(therapist.user)
        with CaptureQueriesContext(connection) as ctx:
            response = api.get(URL, {"date": day.isoformat()})
        assert response.status_code == 200
        assert len(response.json()["bookings"]) == n
        return len(ctx.captured_queries)

    def test_same_number_of_queries_for_1_and_10_bookings(self, as_user, therapist):
        assert self.queries_for(as_user, therapist, 1) == self.queries_for(as_user, therapist, 10)

    def test_selector_is_bounded(self, therapist, django_assert_max_num_queries):
        for i in range(10):
            booking_at(therapist, local(DAY, 8 + i))
        with django_assert_max_num_queries(2):
            rows = therapist_day(therapist=therapist, date=DAY)
            for booking in rows:
                _ = (booking.slot.starts_at, booking.client.display_name, booking.intake.modality)
        assert len(rows) == 10

    def test_view_is_bounded(self, as_user, therapist, django_assert_max_num_queries):
        for i in range(10):
            booking_at(therapist, local(DAY, 8 + i))
        api = as_user(therapist.user)
        # knox token + user, therapist profile, clinic (twice), bookings, the audit INSERT
        with django_assert_max_num_queries(8):
            assert api.get(URL, {"date": "2026-06-10"}).status_code == 200
