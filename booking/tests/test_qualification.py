"""A booking never silently asks a therapist for a massage they do not give (issue 10, finding 5).

- The client's `PUT .../intake/` that now asks for a modality the therapist
  is not trained in keeps the answers (they are facts) and puts the
  `therapist_not_qualified` warning on the booking, which then needs review:
  in the API (any role), the list filter, the day sheet, the calendar feed
  and a mail to the therapist.
- A front-desk booking's pending intake, completed with such answers, is
  kept the same way: the booking stands, with the warning.
- `POST .../review/` into a modality the therapist does not give is a 409
  `therapist_not_qualified`, as booking such a therapist is.

NOW is Tuesday 2026-12-01 10:00 in New York (booking/tests/helpers.py).
"""

import pytest
from django.core import mail
from icalendar import Calendar

from booking import services
from booking.errors import TherapistNotQualified
from booking.ics import therapist_calendar
from booking.mail import REVIEW_NEEDED
from booking.models import Booking
from booking.tests.helpers import (
    BOOKINGS,
    DEEP_TISSUE,
    NEEDS_REVIEW,
    NOW,
    THERAPEUTIC,
    assert_conflict,
    booked,
    frozen,
    hour_service,
    local,
    new_york,
    works,
)
from clinic.tests.factories import TherapistFactory
from config.testing.jobs import pending_jobs, run_jobs

pytestmark = pytest.mark.django_db

WARNING = "therapist_not_qualified"
DAY_SHEET = "/api/v1/therapists/me/day/"


@pytest.fixture(autouse=True)
def _now():
    with frozen():
        yield


FRIDAY_9 = local(2026, 12, 4, 9)


@pytest.fixture
def place(clinic):
    return new_york()


@pytest.fixture
def service(clinic):
    return hour_service()


def _working(therapist, place):
    """`therapist`, working at `place` every day of December from 08:00 to 20:00."""
    works(therapist, place)
    return therapist


@pytest.fixture
def gentle(place):
    """A therapist trained in therapeutic massage only."""
    return _working(TherapistFactory(gives_therapeutic=True, gives_deep_tissue=False), place)


@pytest.fixture
def therapist(place):
    """The root conftest's therapist (trained in both), working at `place`."""
    return _working(TherapistFactory(), place)


@pytest.fixture
def booking(client_user, gentle, service):
    """client_user's therapeutic booking with `gentle`, three days ahead."""
    return booked(client_user, service, FRIDAY_9, THERAPEUTIC, therapist=gentle)


def _url(booking, action: str = "") -> str:
    return f"{BOOKINGS}{booking.pk}/{action + '/' if action else ''}"


def _put_answers(as_user, client_user, booking, answers):
    response = as_user(client_user).put(_url(booking, "intake"), answers, format="json")
    assert response.status_code == 200, response.json()
    return response


def _feed_summary(therapist, booking) -> str:
    cal = Calendar.from_ical(therapist_calendar(therapist=therapist, now=NOW))
    [event] = [e for e in cal.walk("VEVENT") if str(e["UID"]).startswith(f"booking-{booking.pk}@")]
    return str(event["SUMMARY"])


# --- An intake that now asks for what the therapist does not give --------------------------


class TestIntakeChange:
    def test_the_answers_are_kept_with_a_warning_and_a_review(self, as_user, client_user, booking):
        # when the client's new answers suggest deep tissue, which their therapist does not give
        response = _put_answers(as_user, client_user, booking, DEEP_TISSUE)

        # then the answers and their assessment are stored as given
        assert response.json()["answers"]["pressure_preference"] == "deep"
        assert response.json()["assessment"]["modality"] == "deep_tissue"
        assert response.json()["warnings"] == [WARNING]
        stored = Booking.objects.select_related("intake").get(pk=booking.pk)
        assert stored.intake.suggested_modality == "deep_tissue"
        # and the booking carries the warning and needs review
        body = as_user(client_user).get(_url(booking)).json()
        assert body["warnings"] == [WARNING]
        assert body["needs_review"] is True
        assert (body["suggested_modality"], body["flags"]) == ("deep_tissue", [])

    @pytest.mark.parametrize("role", ["client_user", "staff_user", "admin_user"])
    def test_every_role_that_sees_the_booking_sees_the_warning(self, as_user, client_user, booking, role, request):
        _put_answers(as_user, client_user, booking, DEEP_TISSUE)

        api = as_user(request.getfixturevalue(role))
        detail = api.get(_url(booking)).json()
        listed = api.get(BOOKINGS).json()["results"]

        assert (detail["warnings"], detail["needs_review"]) == ([WARNING], True)
        assert [(row["id"], row["warnings"], row["needs_review"]) for row in listed] == [(booking.pk, [WARNING], True)]

    def test_the_therapist_sees_it_too(self, as_user, client_user, gentle, booking):
        _put_answers(as_user, client_user, booking, DEEP_TISSUE)

        body = as_user(gentle.user).get(_url(booking)).json()

        assert (body["warnings"], body["needs_review"]) == ([WARNING], True)

    def test_the_needs_review_filter_finds_it(self, as_user, client_user, staff_user, booking, place):
        calm = booked(
            client_user, booking.service, local(2026, 12, 7, 9), therapist=_working(TherapistFactory(), place)
        )
        _put_answers(as_user, client_user, booking, DEEP_TISSUE)
        api = as_user(staff_user)

        flagged = [row["id"] for row in api.get(BOOKINGS, {"needs_review": "true"}).json()["results"]]
        clear = [row["id"] for row in api.get(BOOKINGS, {"needs_review": "false"}).json()["results"]]

        assert (flagged, clear) == ([booking.pk], [calm.pk])

    def test_the_therapist_is_mailed_to_review(self, as_user, client_user, gentle, booking):
        run_jobs()  # the booking's confirmation goes first
        mail.outbox.clear()

        _put_answers(as_user, client_user, booking, DEEP_TISSUE)

        assert mail.outbox == []  # the request leaves the review mail's job; the worker sends it
        jobs = [job.args for job in pending_jobs("booking.send_mail") if job.args["booking_id"] == booking.pk]
        assert jobs == [{"kind": REVIEW_NEEDED, "booking_id": booking.pk}]
        run_jobs()
        assert [m.to for m in mail.outbox] == [[gentle.user.email]]
        assert "review" in mail.outbox[0].subject.lower()

    def test_the_day_sheet_shows_it(self, as_user, client_user, gentle, booking):
        _put_answers(as_user, client_user, booking, DEEP_TISSUE)

        sheet = as_user(gentle.user).get(DAY_SHEET, {"date": "2026-12-04"}).json()

        [row] = sheet["bookings"]
        assert (row["id"], row["warnings"], row["needs_review"]) == (booking.pk, [WARNING], True)

    def test_the_calendar_feed_says_it_needs_review(self, as_user, client_user, gentle, booking):
        assert not _feed_summary(gentle, booking).endswith("(intake needs review)")

        _put_answers(as_user, client_user, booking, DEEP_TISSUE)

        assert _feed_summary(gentle, booking).endswith("(intake needs review)")

    def test_answers_back_within_the_training_clear_the_warning(self, as_user, client_user, booking):
        _put_answers(as_user, client_user, booking, DEEP_TISSUE)

        response = _put_answers(as_user, client_user, booking, THERAPEUTIC)

        assert response.json()["warnings"] == []
        body = as_user(client_user).get(_url(booking)).json()
        assert (body["warnings"], body["needs_review"]) == ([], False)

    def test_a_trained_therapist_gets_no_warning(self, as_user, client_user, therapist, service):
        booking = booked(client_user, service, FRIDAY_9, THERAPEUTIC, therapist=therapist)

        _put_answers(as_user, client_user, booking, DEEP_TISSUE)

        body = as_user(client_user).get(_url(booking)).json()
        assert (body["modality"], body["warnings"], body["needs_review"]) == ("deep_tissue", [], False)

    def test_the_assessment_alone_still_asks_for_review(self, as_user, client_user, booking):
        _put_answers(as_user, client_user, booking, NEEDS_REVIEW)

        body = as_user(client_user).get(_url(booking)).json()
        assert (body["warnings"], body["needs_review"]) == ([], True)

    def test_a_review_within_the_training_settles_it(self, as_user, client_user, gentle, booking):
        _put_answers(as_user, client_user, booking, DEEP_TISSUE)

        response = as_user(gentle.user).post(
            _url(booking, "review"), {"modality": "therapeutic", "note": "Firm, not deep."}, format="json"
        )

        assert response.status_code == 200, response.json()
        assert (response.json()["modality"], response.json()["warnings"]) == ("therapeutic", [])
        assert not _feed_summary(gentle, booking).endswith("(intake needs review)")

    def test_a_move_to_a_trained_therapist_settles_it(self, as_user, client_user, booking, place):
        _put_answers(as_user, client_user, booking, DEEP_TISSUE)
        trained = _working(TherapistFactory(gives_deep_tissue=True), place)

        response = as_user(client_user).post(
            _url(booking, "reschedule"),
            {"starts_at": local(2026, 12, 8, 14).isoformat(), "therapist": trained.pk},
            format="json",
        )

        assert response.status_code == 200, response.json()
        assert (response.json()["modality"], response.json()["warnings"]) == ("deep_tissue", [])


# --- A front-desk booking's intake, completed later ----------------------------------------


class TestPendingIntake:
    @pytest.fixture
    def phoned(self, staff_user, client_user, gentle, service):
        """A front-desk booking of client_user with `gentle`, its intake pending."""
        return booked(client_user, service, FRIDAY_9, therapist=gentle, by=staff_user)

    def test_a_deep_tissue_intake_keeps_the_booking_with_the_warning(self, as_user, client_user, phoned):
        response = _put_answers(as_user, client_user, phoned, DEEP_TISSUE)

        assert response.json()["warnings"] == [WARNING]
        body = as_user(client_user).get(_url(phoned)).json()
        assert (body["status"], body["intake_status"], body["suggested_modality"]) == (
            "confirmed",
            "complete",
            "deep_tissue",
        )
        assert (body["warnings"], body["needs_review"]) == ([WARNING], True)

    def test_the_front_desk_books_any_therapist_while_the_intake_is_pending(
        self, as_user, staff_user, client_user, gentle, service
    ):
        # no answers, no modality to check: even a therapist trained in one modality only
        response = as_user(staff_user).post(
            BOOKINGS,
            {
                "client": client_user.pk,
                "service": service.pk,
                "starts_at": FRIDAY_9.isoformat(),
                "therapist": gentle.pk,
            },
            format="json",
        )

        assert response.status_code == 201, response.json()
        assert (response.json()["modality"], response.json()["warnings"]) == (None, [])


# --- A review into a modality the therapist does not give ----------------------------------


class TestReview:
    @pytest.mark.parametrize("reviewer", ["therapist", "admin"])
    def test_is_refused(self, as_user, admin_user, gentle, booking, reviewer):
        before = Booking.objects.select_related("intake").get(pk=booking.pk).intake
        user = gentle.user if reviewer == "therapist" else admin_user

        response = as_user(user).post(_url(booking, "review"), {"modality": "deep_tissue", "note": "x"}, format="json")

        assert_conflict(response, WARNING)
        assert "deep tissue" in response.json()["detail"].lower()
        after = Booking.objects.select_related("intake").get(pk=booking.pk).intake
        assert (after.reviewed_modality, after.reviewed_at, after.review_note) == ("", None, "")
        assert (before.reviewed_modality, before.updated_at) == (after.reviewed_modality, after.updated_at)

    def test_a_therapist_trained_for_it_may(self, as_user, client_user, therapist, service):
        booking = booked(client_user, service, FRIDAY_9, THERAPEUTIC, therapist=therapist)

        response = as_user(therapist.user).post(_url(booking, "review"), {"modality": "deep_tissue"}, format="json")

        assert response.status_code == 200, response.json()
        assert (response.json()["modality"], response.json()["warnings"]) == ("deep_tissue", [])

    def test_a_deep_tissue_only_therapist_may_not_review_into_therapeutic(self, as_user, client_user, place, service):
        deep_only = _working(TherapistFactory(gives_therapeutic=False, gives_deep_tissue=True), place)
        booking = booked(client_user, service, FRIDAY_9, DEEP_TISSUE, therapist=deep_only)

        response = as_user(deep_only.user).post(_url(booking, "review"), {"modality": "therapeutic"}, format="json")

        assert_conflict(response, WARNING)

    def test_the_service_raises_the_booking_error(self, admin_user, booking):
        with pytest.raises(TherapistNotQualified):
            services.booking_review(booking_id=booking.pk, reviewer=admin_user, modality="deep_tissue")

    def test_the_schema_documents_the_refusal_and_the_warnings(self, api, clinic):
        schema = api.get("/api/schema/", {"format": "json"}).json()

        review = schema["paths"]["/api/v1/bookings/{id}/review/"]["post"]["responses"]
        assert "therapist_not_qualified" in review["409"]["description"]
        put = schema["paths"]["/api/v1/bookings/{id}/intake/"]["put"]["responses"]
        assert "therapist_not_qualified" in put["200"]["description"]
        warnings = schema["components"]["schemas"]["Booking"]["properties"]["warnings"]
        assert warnings["type"] == "array"
        assert "warnings" in schema["components"]["schemas"]["Booking"]["required"]
