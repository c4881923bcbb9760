"""The therapist's pages over Django's test client: what they show, what they write, their audit rows and refusals.

The browser (Playwright, Chromium) drives the same pages in test_therapist_browser.py.
"""

from datetime import timedelta
from zoneinfo import ZoneInfo

import pytest
from django.test import Client
from django.utils import timezone
from django.utils.html import escape

from booking.errors import BookingNotActive, IntakePending, TherapistNotQualified, TooEarly
from booking.models import Booking
from booking.tests.factories import BookingFactory
from clinic.models import Role
from clinic.tests.factories import LocationFactory, RoomFactory, UserFactory
from intake.models import IntakeAccess
from intake.services import intake_create
from records.errors import NoteSigned, NotesTooEarly
from records.models import TreatmentNote

NY = ZoneInfo("America/New_York")
DAY_URL = "/therapist/"
FEED_URL = "/therapist/feed/"

FIRST_ANSWERS = {
    "pressure_preference": "medium",
    "primary_goal": "relaxation",
    "focus_areas": ["shoulders"],
    "consent": True,
}
# The same client, back: firmer pressure, a new health flag, the neck to avoid.
RETURN_ANSWERS = {
    "pressure_preference": "firm",
    "primary_goal": "relaxation",
    "health_screening": ["high_blood_pressure"],
    "focus_areas": ["shoulders"],
    "avoid_areas": ["neck"],
    "notes": "Stiff after a long flight.",
    "consent": True,
}
NOTE = {
    "new-subjective": "Tight shoulders after travel.",
    "new-objective": "Trigger points, left trapezius.",
    "new-assessment": "Muscle tension.",
    "new-plan": "Again in two weeks.",
    "new-areas_treated": ["shoulders", "upper_back"],
    "new-pressure_used": "medium",
    "new-modality_given": "therapeutic",
}

pytestmark = pytest.mark.usefixtures("clinic")


def session_url(booking, tail: str = "") -> str:
    return f"/therapist/sessions/{booking.pk}/{tail}"


def local_date(booking) -> str:
    return booking.starts_at.astimezone(NY).date().isoformat()


def audit_rows(**filters) -> list[IntakeAccess]:
    return list(IntakeAccess.objects.filter(**filters).order_by("id"))


@pytest.fixture
def downtown():
    return LocationFactory(name="Downtown", time_zone="America/New_York", uses_rooms=True)


@pytest.fixture
def signed_in(client, therapist) -> Client:
    """Django's test client, signed in as the therapist."""
    client.force_login(therapist.user)
    return client


@pytest.fixture
def session_now(therapist, client_user, downtown):
    """A session of the therapist that started 30 minutes ago, with a first intake."""
    return BookingFactory(
        therapist=therapist,
        client=client_user,
        location=downtown,
        room=RoomFactory(location=downtown, name="Room 2"),
        starts_at=timezone.now() - timedelta(minutes=30),
    )


@pytest.fixture
def returning(therapist, client_user, downtown):
    """A returning client's session starting in two hours: their second intake changed since the first."""
    intake_create(client=client_user, answers=FIRST_ANSWERS)
    intake = intake_create(client=client_user, answers=RETURN_ANSWERS)
    return BookingFactory(
        therapist=therapist,
        client=client_user,
        location=downtown,
        intake=intake,
        starts_at=timezone.now() + timedelta(hours=2),
    )


class TestWhoMayOpen:
    @pytest.mark.parametrize("url", [DAY_URL, FEED_URL])
    def test_not_signed_in_goes_to_the_login_page(self, client, url):
        response = client.get(url)
        assert response.status_code == 302
        assert response["Location"] == f"/login/?next={url}"

    @pytest.mark.parametrize("who", ["client_user", "staff_user", "admin_user"])
    def test_other_roles_are_refused(self, client, request, who, session_now):
        client.force_login(request.getfixturevalue(who))
        for url in (DAY_URL, FEED_URL, session_url(session_now), session_url(session_now, "notes/")):
            assert client.get(url).status_code == 403, url
        assert not audit_rows()

    def test_a_therapist_account_without_a_profile_yet_is_refused(self, client):
        client.force_login(UserFactory(role=Role.THERAPIST))
        for url in (DAY_URL, FEED_URL):
            assert client.get(url).status_code == 403

    def test_an_inactive_therapist_is_refused(self, signed_in, therapist):
        therapist.active = False
        therapist.save(update_fields=["active"])
        assert signed_in.get(DAY_URL).status_code == 403


class TestMyDay:
    def test_the_days_sessions_with_what_to_prepare_each_intake_read_audited(self, signed_in, therapist, returning):
        # given: a pending front-desk booking later that day, another therapist's session
        pending = BookingFactory(
            therapist=therapist,
            location=returning.location,
            starts_at=returning.starts_at + timedelta(hours=2),
            intake=None,
            intake_status=Booking.IntakeStatus.PENDING,
        )
        other = BookingFactory(location=returning.location, starts_at=returning.starts_at)
        # when
        response = signed_in.get(DAY_URL, {"date": local_date(returning)})
        # then
        html = response.content.decode()
        assert response.status_code == 200
        assert "Test Clinic" in html
        assert returning.client.display_name in html
        assert pending.client.display_name in html
        assert "Intake pending" in html
        assert other.client.display_name not in html
        # What changed since the last visit, the new flag, focus and avoid areas, the client's notes.
        assert "What changed since the last visit" in html
        assert "Pressure preferred</span> now: Firm" in html
        assert "New health flags: High blood pressure" in html
        assert "Shoulders" in html
        assert "<strong>Neck</strong>" in html
        assert "Stiff after a long flight." in html
        # One audit row per intake shown, as the API's day sheet writes them; the pending one is no read.
        rows = audit_rows()
        assert [(row.booking_id, row.channel, row.kind, row.outcome) for row in rows] == [
            (returning.pk, "day_sheet", "intake", "allowed")
        ]
        assert rows[0].accessed_by == therapist.user

    def test_a_first_intake_says_there_is_nothing_to_compare(self, signed_in, session_now):
        html = signed_in.get(DAY_URL, {"date": local_date(session_now)}).content.decode()
        assert "First intake of this client" in html

    def test_closed_sessions_are_listed_without_health_data(self, signed_in, session_now):
        session_now.status = Booking.Status.COMPLETED
        session_now.save(update_fields=["status"])
        html = signed_in.get(DAY_URL, {"date": local_date(session_now)}).content.decode()
        assert "Done" in html
        assert session_url(session_now, "notes/") in html
        assert not audit_rows()

    @pytest.mark.parametrize(
        "date", ["tomorrow", "2026-13-01", "0001-01-01", "99999-01-01", "1-1-1", "\x00", "é" * 300]
    )
    def test_a_wrong_date_is_a_400_beside_its_field(self, signed_in, date):
        response = signed_in.get(DAY_URL, {"date": date})
        html = response.content.decode()
        assert response.status_code == 400
        assert 'aria-invalid="true"' in html
        assert 'aria-describedby="id_date_error"' in html
        assert not audit_rows()

    def test_no_date_is_today(self, signed_in):
        response = signed_in.get(DAY_URL)
        assert response.status_code == 200
        assert "No sessions on this day." in response.content.decode()
        assert "no-store" in response["Cache-Control"]


class TestSession:
    def test_its_therapist_reads_the_whole_intake_audited_as_the_api_does(self, signed_in, therapist, returning):
        response = signed_in.get(session_url(returning))
        html = response.content.decode()
        assert response.status_code == 200
        assert "All answers" in html
        assert "Stiff after a long flight." in html
        assert "Pressure preferred</span> now: Firm" in html
        rows = audit_rows()
        assert [(row.booking_id, row.channel, row.kind, row.outcome) for row in rows] == [
            (returning.pk, "web", "intake", "allowed")
        ]

    def test_another_therapists_session_is_a_404_and_the_attempt_is_logged(self, client, other_therapist, returning):
        client.force_login(other_therapist.user)
        assert client.get(session_url(returning)).status_code == 404
        assert [(row.accessed_by, row.outcome) for row in audit_rows()] == [(other_therapist.user, "denied")]

    def test_a_held_offer_is_nobodys_session_yet(self, signed_in, returning):
        Booking.objects.filter(pk=returning.pk).update(
            status=Booking.Status.HELD, hold_expires_at=timezone.now() + timedelta(minutes=30)
        )
        assert signed_in.get(session_url(returning)).status_code == 404

    def test_a_pending_intake_shows_nothing_and_is_no_read(self, signed_in, therapist, downtown):
        booking = BookingFactory(
            therapist=therapist, location=downtown, intake=None, intake_status=Booking.IntakeStatus.PENDING
        )
        response = signed_in.get(session_url(booking))
        assert response.status_code == 200
        assert "Intake pending" in response.content.decode()
        assert not audit_rows()

    @pytest.mark.parametrize("pk", [0, 2**63, 10**30])
    def test_unknown_sessions_are_404s(self, signed_in, pk):
        for tail in ("", "notes/"):
            assert signed_in.get(f"/therapist/sessions/{pk}/{tail}").status_code == 404


class TestReview:
    def test_the_therapist_confirms_or_changes_the_modality(self, signed_in, therapist, returning):
        body = {"modality": "deep_tissue", "note": "Asked for firm."}
        response = signed_in.post(session_url(returning, "review/"), body)
        assert response.status_code == 302
        returning.intake.refresh_from_db()
        assert returning.intake.reviewed_modality == "deep_tissue"
        assert returning.intake.review_note == "Asked for firm."
        assert returning.intake.reviewed_by == therapist.user

    def test_a_modality_they_do_not_give_is_the_apis_409_beside_the_field(self, signed_in, therapist, returning):
        therapist.gives_deep_tissue = False
        therapist.save(update_fields=["gives_deep_tissue"])
        response = signed_in.post(session_url(returning, "review/"), {"modality": "deep_tissue"})
        html = response.content.decode()
        assert response.status_code == 409
        assert escape(TherapistNotQualified.for_review("Deep tissue massage").detail) in html
        assert 'id="id_modality_error"' in html
        assert 'aria-describedby="id_modality_error"' in html
        returning.intake.refresh_from_db()
        assert returning.intake.reviewed_modality == ""

    @pytest.mark.parametrize(
        "body", [{}, {"modality": "hot_stones"}, {"modality": "therapeutic", "note": "x" * 2001}, {"modality": "\x00"}]
    )
    def test_a_wrong_value_is_a_400_beside_its_field(self, signed_in, returning, body):
        response = signed_in.post(session_url(returning, "review/"), body)
        assert response.status_code == 400
        assert 'aria-invalid="true"' in response.content.decode()
        returning.intake.refresh_from_db()
        assert returning.intake.reviewed_modality == ""

    def test_another_therapists_session_is_a_404(self, client, other_therapist, returning):
        client.force_login(other_therapist.user)
        assert client.post(session_url(returning, "review/"), {"modality": "therapeutic"}).status_code == 404

    def test_a_pending_intake_is_the_apis_409(self, signed_in, therapist, downtown):
        booking = BookingFactory(
            therapist=therapist, location=downtown, intake=None, intake_status=Booking.IntakeStatus.PENDING
        )
        response = signed_in.post(session_url(booking, "review/"), {"modality": "therapeutic"})
        assert response.status_code == 409
        assert escape(IntakePending.default_detail) in response.content.decode()


class TestClose:
    def test_before_the_start_it_is_the_apis_too_early_beside_the_buttons(self, signed_in, returning):
        response = signed_in.post(session_url(returning, "close/"), {"outcome": "completed"})
        html = response.content.decode()
        assert response.status_code == 409
        assert escape(TooEarly.default_detail) in html
        assert 'aria-describedby="close-error"' in html
        returning.refresh_from_db()
        assert returning.status == Booking.Status.CONFIRMED

    @pytest.mark.parametrize("outcome", ["completed", "no_show"])
    def test_after_the_start_it_is_marked_once(self, signed_in, session_now, outcome):
        assert signed_in.post(session_url(session_now, "close/"), {"outcome": outcome}).status_code == 302
        session_now.refresh_from_db()
        assert session_now.status == outcome
        again = signed_in.post(session_url(session_now, "close/"), {"outcome": "completed"})
        assert again.status_code == 409
        assert escape(BookingNotActive.default_detail) in again.content.decode()

    @pytest.mark.parametrize("body", [{}, {"outcome": "cancelled"}, {"outcome": ["completed", "x" * 5000]}])
    def test_a_wrong_outcome_is_a_400(self, signed_in, session_now, body):
        assert signed_in.post(session_url(session_now, "close/"), body).status_code == 400
        session_now.refresh_from_db()
        assert session_now.status == Booking.Status.CONFIRMED


class TestNotes:
    def test_write_sign_and_amend_a_note(self, signed_in, therapist, session_now):
        # given: a draft
        response = signed_in.post(session_url(session_now, "notes/"), NOTE)
        assert response.status_code == 302
        note = TreatmentNote.objects.get(booking=session_now)
        assert (note.author, note.areas_treated, note.signed_at) == (therapist.user, ["shoulders", "upper_back"], None)
        # when: changed, then signed
        edit = {key.replace("new-", f"draft-{note.pk}-"): value for key, value in NOTE.items()}
        edit[f"draft-{note.pk}-plan"] = "Again in a week."
        assert signed_in.post(session_url(session_now, f"notes/{note.pk}/"), edit).status_code == 302
        assert signed_in.post(session_url(session_now, f"notes/{note.pk}/sign/")).status_code == 302
        note.refresh_from_db()
        assert note.plan == "Again in a week."
        assert note.signed_at is not None
        # then: signed is final, with the API's sentence beside the form
        again = signed_in.post(session_url(session_now, f"notes/{note.pk}/sign/"))
        assert again.status_code == 409
        assert escape(NoteSigned.default_detail) in again.content.decode()
        assert signed_in.post(session_url(session_now, f"notes/{note.pk}/"), edit).status_code in (403, 409)
        # and an amendment starts from it
        form = signed_in.get(session_url(session_now, "notes/"), {"amends": note.pk}).content.decode()
        assert f"Amend note {note.pk}" in form
        assert "Again in a week." in form
        amendment = {**NOTE, "new-amends": str(note.pk), "new-plan": "Weekly."}
        assert signed_in.post(session_url(session_now, "notes/"), amendment).status_code == 302
        assert TreatmentNote.objects.get(amends=note).plan == "Weekly."

    def test_reading_notes_is_audited_as_the_api_does(self, signed_in, session_now):
        assert signed_in.get(session_url(session_now, "notes/")).status_code == 200
        rows = audit_rows()
        assert [(row.booking_id, row.kind, row.channel, row.outcome) for row in rows] == [
            (session_now.pk, "notes", "api", "allowed")
        ]

    def test_another_therapists_notes_are_a_404_logged_as_refused(self, client, other_therapist, session_now):
        client.force_login(other_therapist.user)
        assert client.get(session_url(session_now, "notes/")).status_code == 404
        assert client.post(session_url(session_now, "notes/"), NOTE).status_code == 404
        assert [row.outcome for row in audit_rows(kind="notes")] == ["denied"]
        assert not TreatmentNote.objects.exists()

    def test_before_the_start_it_is_the_apis_409_beside_the_form(self, signed_in, returning):
        response = signed_in.post(session_url(returning, "notes/"), NOTE)
        html = response.content.decode()
        assert response.status_code == 409
        assert escape(NotesTooEarly.default_detail) in html
        assert 'aria-describedby="new-note-errors"' in html
        assert not TreatmentNote.objects.exists()

    @pytest.mark.parametrize(
        "change",
        [
            {"new-areas_treated": []},
            {"new-areas_treated": ["elbows"]},
            {"new-pressure_used": "crushing"},
            {"new-modality_given": ""},
            {"new-subjective": "x" * 4001},
            {"new-plan": "nul \x00 byte"},
            {"new-amends": "abc"},
            {"new-amends": str(2**70)},
            {"new-amends": "999999"},
        ],
    )
    def test_a_wrong_value_is_a_400_beside_its_field(self, signed_in, session_now, change):
        response = signed_in.post(session_url(session_now, "notes/"), {**NOTE, **change})
        assert response.status_code == 400
        html = response.content.decode()
        assert 'aria-invalid="true"' in html or 'role="alert"' in html
        assert not TreatmentNote.objects.exists()

    def test_an_amendment_of_a_draft_is_refused_beside_the_form(self, signed_in, therapist, session_now):
        signed_in.post(session_url(session_now, "notes/"), NOTE)
        draft = TreatmentNote.objects.get()
        response = signed_in.post(session_url(session_now, "notes/"), {**NOTE, "new-amends": str(draft.pk)})
        assert response.status_code == 400
        assert "only a signed note is amended" in response.content.decode()

    @pytest.mark.parametrize("amends", ["abc", "-1", "0", str(2**80), "１２"])
    def test_an_odd_amends_parameter_is_ignored(self, signed_in, session_now, amends):
        assert signed_in.get(session_url(session_now, "notes/"), {"amends": amends}).status_code == 200


class TestFeed:
    def test_the_address_is_shown_and_replaced(self, signed_in, therapist):
        old = therapist.feed_token
        html = signed_in.get(FEED_URL).content.decode()
        assert f"/api/v1/therapists/{therapist.pk}/calendar.ics?token={old}" in html
        assert signed_in.post(FEED_URL).status_code == 302
        therapist.refresh_from_db()
        assert therapist.feed_token != old
        assert therapist.feed_token in signed_in.get(FEED_URL).content.decode()


class TestCsrf:
    @pytest.mark.parametrize(
        ("tail", "body"),
        [("review/", {"modality": "deep_tissue"}), ("close/", {"outcome": "completed"}), ("notes/", NOTE)],
    )
    def test_a_post_without_the_token_is_refused(self, therapist, session_now, tail, body):
        browser = Client(enforce_csrf_checks=True)
        browser.force_login(therapist.user)
        assert browser.post(session_url(session_now, tail), body).status_code == 403
        session_now.refresh_from_db()
        assert session_now.status == Booking.Status.CONFIRMED
        assert session_now.intake.reviewed_modality == ""
        assert not TreatmentNote.objects.exists()

    def test_the_feed_is_not_replaced_without_the_token(self, therapist):
        browser = Client(enforce_csrf_checks=True)
        browser.force_login(therapist.user)
        old = therapist.feed_token
        assert browser.post(FEED_URL).status_code == 403
        therapist.refresh_from_db()
        assert therapist.feed_token == old


class TestNoServerError:
    @pytest.mark.parametrize("method", ["get", "post", "put", "delete"])
    def test_any_method_on_any_page_is_never_a_500(self, signed_in, session_now, method):
        urls = [
            DAY_URL,
            FEED_URL,
            session_url(session_now),
            session_url(session_now, "review/"),
            session_url(session_now, "close/"),
            session_url(session_now, "notes/"),
            session_url(session_now, "notes/1/"),
            session_url(session_now, "notes/1/sign/"),
        ]
        for url in urls:
            response = getattr(signed_in, method)(url, {"date": "x", "modality": ["a", "b"], "new-amends": "-5"})
            assert response.status_code < 500, (url, response.status_code)
