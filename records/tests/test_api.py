"""Treatment notes over the API (docs/api.md, Treatment notes): each role, each refusal, the audit rows."""

from datetime import timedelta

import pytest
from django.utils import timezone

from booking.models import Booking
from booking.tests.factories import BookingFactory
from intake.models import IntakeAccess
from records.models import SOAP_MAX_LENGTH, TreatmentNote
from records.tests.factories import StartedBookingFactory, TreatmentNoteFactory

pytestmark = pytest.mark.django_db

BODY = {
    "subjective": "Stiff neck since Monday.",
    "objective": "Reduced rotation to the left.",
    "assessment": "Muscle tension.",
    "plan": "Heat at home; next session in two weeks.",
    "areas_treated": ["neck", "upper_back"],
    "pressure_used": "firm",
    "modality_given": "deep_tissue",
}
OTHERS_404 = ("client", "other_client", "other_therapist")


def notes_url(booking) -> str:
    return f"/api/v1/bookings/{booking.pk}/notes/"


def note_url(note) -> str:
    return f"/api/v1/bookings/{note.booking_id}/notes/{note.pk}/"


def rows(**filters):
    return list(IntakeAccess.objects.filter(**filters).values_list("kind", "outcome", "accessed_by", "booking_id"))


@pytest.fixture
def booking(client_user, therapist):
    """The client's session with the therapist, started an hour ago."""
    return StartedBookingFactory(client=client_user, therapist=therapist)


@pytest.fixture
def draft(booking):
    return TreatmentNoteFactory(booking=booking)


@pytest.fixture
def signed(booking):
    return TreatmentNoteFactory(booking=booking, signed_at=timezone.now() - timedelta(minutes=5))


def user_of(request, role):
    fixture = {
        "client": "client_user",
        "other_client": "other_client_user",
        "therapist": "therapist",
        "other_therapist": "other_therapist",
        "staff": "staff_user",
        "admin": "admin_user",
    }[role]
    person = request.getfixturevalue(fixture)
    return getattr(person, "user", person)


# --- GET notes ---------------------------------------------------------------------------


class TestRead:
    @pytest.mark.parametrize(
        ("role", "expected"),
        [
            ("therapist", 200),
            ("admin", 200),
            ("staff", 403),
            ("client", 404),
            ("other_client", 404),
            ("other_therapist", 404),
            ("anonymous", 401),
        ],
    )
    def test_who_reads_a_bookings_notes(self, api_as, booking, draft, role, expected):
        assert api_as(role).get(notes_url(booking)).status_code == expected

    def test_every_version_oldest_first_drafts_and_amendments_included(self, api_as, booking, signed):
        # given a signed note, its signed amendment and a draft amending that
        amendment = TreatmentNoteFactory(booking=booking, amends=signed, signed_at=timezone.now())
        draft = TreatmentNoteFactory(booking=booking, amends=amendment)
        TreatmentNoteFactory()  # another booking's
        # when
        body = api_as("therapist").get(notes_url(booking)).json()
        # then
        assert body["count"] == 3
        notes = body["results"]
        assert [n["id"] for n in notes] == [signed.pk, amendment.pk, draft.pk]
        assert [n["status"] for n in notes] == ["signed", "signed", "draft"]
        assert [n["amends"] for n in notes] == [None, signed.pk, amendment.pk]
        assert [n["amended_by"] for n in notes] == [[amendment.pk], [draft.pk], []]
        first = notes[0]
        assert first["author"] == {"id": booking.therapist.user_id, "name": booking.therapist.user.display_name}
        assert first["areas_treated"] == ["neck", "shoulders"]
        assert (first["pressure_used"], first["modality_given"]) == ("medium", "therapeutic")
        assert first["signed_at"] is not None
        assert notes[2]["signed_at"] is None

    @pytest.mark.parametrize("role", ["therapist", "admin"])
    def test_a_read_is_audited(self, api_as, request, booking, draft, role):
        api_as(role).get(notes_url(booking), REMOTE_ADDR="203.0.113.7")
        row = IntakeAccess.objects.get()
        assert (row.kind, row.outcome, row.accessed_by_id, row.booking_id, row.client_id) == (
            "notes",
            "allowed",
            user_of(request, role).pk,
            booking.pk,
            booking.client_id,
        )
        assert row.intake_id is None
        assert row.remote_addr == "203.0.113.7"
        assert row.channel == IntakeAccess.Channel.API

    @pytest.mark.parametrize("role", ["staff", *OTHERS_404])
    def test_a_refused_read_is_audited_as_denied(self, api_as, request, booking, draft, role):
        api_as(role).get(notes_url(booking))
        assert rows() == [("notes", "denied", user_of(request, role).pk, booking.pk)]

    def test_no_such_booking_is_a_404_and_names_nobody_in_the_log(self, api_as, therapist):
        assert api_as("therapist").get("/api/v1/bookings/999999/notes/").status_code == 404
        assert rows() == []

    def test_a_held_offer_is_nobodys_booking_yet(self, api_as, client_user, therapist):
        held = StartedBookingFactory(
            client=client_user,
            therapist=therapist,
            status=Booking.Status.HELD,
            hold_expires_at=timezone.now() + timedelta(minutes=30),
            intake=None,
            intake_status=Booking.IntakeStatus.PENDING,
        )
        assert api_as("therapist").get(notes_url(held)).status_code == 404

    def test_an_empty_list_before_any_note_is_still_a_read(self, api_as, booking):
        body = api_as("therapist").get(notes_url(booking)).json()
        assert body["results"] == []
        assert rows() == [("notes", "allowed", booking.therapist.user_id, booking.pk)]


# --- POST notes --------------------------------------------------------------------------


class TestWrite:
    def test_its_therapist_writes_a_draft(self, api_as, booking):
        response = api_as("therapist").post(notes_url(booking), BODY, format="json")
        assert response.status_code == 201
        body = response.json()
        assert {key: body[key] for key in BODY} == BODY
        assert (body["status"], body["signed_at"], body["amends"], body["booking"]) == ("draft", None, None, booking.pk)
        assert body["author"]["id"] == booking.therapist.user_id
        note = TreatmentNote.objects.get()
        assert (note.author_id, note.booking_id, note.signed_at) == (booking.therapist.user_id, booking.pk, None)

    def test_texts_may_be_left_out_of_a_draft(self, api_as, booking):
        body = {"areas_treated": ["feet"], "pressure_used": "light", "modality_given": "therapeutic"}
        response = api_as("therapist").post(notes_url(booking), body, format="json")
        assert response.status_code == 201
        assert response.json()["subjective"] == ""

    def test_writing_is_not_a_read(self, api_as, booking):
        api_as("therapist").post(notes_url(booking), BODY, format="json")
        assert rows() == []

    @pytest.mark.parametrize(
        ("role", "expected"),
        [
            ("admin", 403),
            ("staff", 403),
            ("client", 404),
            ("other_client", 404),
            ("other_therapist", 404),
            ("anonymous", 401),
        ],
    )
    def test_only_its_therapist_writes(self, api_as, booking, role, expected):
        assert api_as(role).post(notes_url(booking), BODY, format="json").status_code == expected
        assert not TreatmentNote.objects.exists()

    def test_a_stranger_with_a_bad_body_learns_nothing(self, api_as, booking):
        assert (
            api_as("other_therapist").post(notes_url(booking), {"pressure_used": 7}, format="json").status_code == 404
        )

    def test_before_the_start_is_too_early(self, api_as, client_user, therapist):
        future = BookingFactory(client=client_user, therapist=therapist, starts_at=timezone.now() + timedelta(hours=2))
        response = api_as("therapist").post(notes_url(future), BODY, format="json")
        assert response.status_code == 409
        assert response.json()["code"] == "too_early"
        assert not TreatmentNote.objects.exists()

    def test_from_the_start_it_is_allowed(self, api_as, client_user, therapist):
        now = timezone.now().replace(microsecond=0)
        at_start = BookingFactory(client=client_user, therapist=therapist, starts_at=now)
        assert api_as("therapist").post(notes_url(at_start), BODY, format="json").status_code == 201

    @pytest.mark.parametrize("status", [Booking.Status.COMPLETED, Booking.Status.NO_SHOW])
    def test_a_closed_session_still_takes_notes(self, api_as, booking, status):
        Booking.objects.filter(pk=booking.pk).update(status=status, closed_at=timezone.now())
        assert api_as("therapist").post(notes_url(booking), BODY, format="json").status_code == 201

    def test_a_cancelled_booking_takes_none(self, api_as, booking):
        Booking.objects.filter(pk=booking.pk).update(status=Booking.Status.CANCELLED, cancelled_at=timezone.now())
        response = api_as("therapist").post(notes_url(booking), BODY, format="json")
        assert response.status_code == 409
        assert response.json()["code"] == "booking_not_active"
        assert not TreatmentNote.objects.exists()

    @pytest.mark.parametrize(
        ("change", "field"),
        [
            ({"areas_treated": ["neck", "tail"]}, "areas_treated"),
            ({"areas_treated": ["neck", "neck"]}, "areas_treated"),
            ({"areas_treated": []}, "areas_treated"),
            ({"areas_treated": "neck"}, "areas_treated"),
            ({"pressure_used": "crushing"}, "pressure_used"),
            ({"pressure_used": None}, "pressure_used"),
            ({"modality_given": "hot_stones"}, "modality_given"),
            ({"subjective": "x" * (SOAP_MAX_LENGTH + 1)}, "subjective"),
            ({"plan": "nul\x00byte"}, "plan"),
            ({"signed_at": "2026-01-01T00:00:00Z"}, "signed_at"),
            ({"author": 1}, "author"),
            ({"amends": "first"}, "amends"),
            ({"amends": 2**70}, "amends"),
        ],
        ids=[
            "unknown-area",
            "area-twice",
            "no-area",
            "areas-not-a-list",
            "unknown-pressure",
            "no-pressure",
            "unknown-modality",
            "text-too-long",
            "nul",
            "signed_at-is-not-written",
            "author-is-not-written",
            "amends-not-an-id",
            "amends-too-big",
        ],
    )
    def test_bad_values_are_a_400_and_nothing_is_written(self, api_as, booking, change, field):
        response = api_as("therapist").post(notes_url(booking), {**BODY, **change}, format="json")
        assert response.status_code == 400
        assert field in response.json()
        assert not TreatmentNote.objects.exists()

    @pytest.mark.parametrize("missing", ["areas_treated", "pressure_used", "modality_given"])
    def test_the_sessions_facts_are_required(self, api_as, booking, missing):
        body = {key: value for key, value in BODY.items() if key != missing}
        response = api_as("therapist").post(notes_url(booking), body, format="json")
        assert response.status_code == 400
        assert missing in response.json()

    def test_a_body_that_is_not_an_object_is_a_400(self, api_as, booking):
        assert api_as("therapist").post(notes_url(booking), [BODY], format="json").status_code == 400


class TestAmend:
    def test_an_amendment_points_at_a_signed_note_of_the_booking(self, api_as, booking, signed):
        response = api_as("therapist").post(notes_url(booking), {**BODY, "amends": signed.pk}, format="json")
        assert response.status_code == 201
        assert response.json()["amends"] == signed.pk
        assert response.json()["status"] == "draft"

    def test_amending_a_draft_is_a_400(self, api_as, booking, draft):
        response = api_as("therapist").post(notes_url(booking), {**BODY, "amends": draft.pk}, format="json")
        assert response.status_code == 400
        assert "draft" in response.json()["amends"][0]
        assert TreatmentNote.objects.count() == 1

    def test_amending_a_note_of_another_booking_is_a_400(self, api_as, booking, client_user, therapist):
        elsewhere = TreatmentNoteFactory(
            booking=StartedBookingFactory(
                client=client_user, therapist=therapist, starts_at=booking.starts_at - timedelta(days=7)
            ),
            signed_at=timezone.now(),
        )
        response = api_as("therapist").post(notes_url(booking), {**BODY, "amends": elsewhere.pk}, format="json")
        assert response.status_code == 400
        assert "amends" in response.json()
        assert TreatmentNote.objects.count() == 1

    def test_amending_no_note_is_a_400(self, api_as, booking):
        response = api_as("therapist").post(notes_url(booking), {**BODY, "amends": 999999}, format="json")
        assert response.status_code == 400
        assert not TreatmentNote.objects.exists()


# --- PATCH a note ------------------------------------------------------------------------


class TestChange:
    def test_its_author_changes_a_draft(self, api_as, draft):
        response = api_as("therapist").patch(
            note_url(draft), {"plan": "New plan.", "areas_treated": ["feet"]}, format="json"
        )
        assert response.status_code == 200
        assert (response.json()["plan"], response.json()["areas_treated"]) == ("New plan.", ["feet"])
        draft.refresh_from_db()
        assert (draft.plan, draft.areas_treated, draft.subjective) == (
            "New plan.",
            ["feet"],
            "Tight shoulders after a week of desk work.",
        )

    def test_a_signed_note_is_never_changed(self, api_as, signed):
        response = api_as("therapist").patch(note_url(signed), {"plan": "Rewritten."}, format="json")
        assert response.status_code == 409
        assert response.json()["code"] == "note_signed"
        assert TreatmentNote.objects.get(pk=signed.pk).plan == signed.plan

    @pytest.mark.parametrize(
        ("role", "expected"),
        [
            ("admin", 403),
            ("staff", 403),
            ("client", 404),
            ("other_client", 404),
            ("other_therapist", 404),
            ("anonymous", 401),
        ],
    )
    def test_only_its_author_changes_it(self, api_as, draft, role, expected):
        assert api_as(role).patch(note_url(draft), {"plan": "Mine now."}, format="json").status_code == expected
        assert TreatmentNote.objects.get(pk=draft.pk).plan == draft.plan

    def test_the_bookings_therapist_does_not_change_another_authors_note(self, api_as, booking, other_therapist):
        # given a note written while the booking was another therapist's
        note = TreatmentNoteFactory(booking=booking, author=other_therapist.user)
        # then its therapist now may not change it, and its author still may
        assert api_as("therapist").patch(note_url(note), {"plan": "x"}, format="json").status_code == 403
        assert api_as("other_therapist").patch(note_url(note), {"plan": "x"}, format="json").status_code == 200

    @pytest.mark.parametrize(
        "body",
        [{"pressure_used": "crushing"}, {"areas_treated": []}, {"amends": 1}, {"signed_at": None}, {"booking": 2}],
    )
    def test_bad_values_are_a_400_and_nothing_changes(self, api_as, draft, body):
        assert api_as("therapist").patch(note_url(draft), body, format="json").status_code == 400
        assert TreatmentNote.objects.filter(pk=draft.pk).values().get()["updated_at"] == draft.updated_at

    def test_a_note_of_another_booking_is_a_404(self, api_as, draft, client_user, therapist):
        other = StartedBookingFactory(
            client=client_user, therapist=therapist, starts_at=draft.booking.starts_at - timedelta(days=3)
        )
        url = f"/api/v1/bookings/{other.pk}/notes/{draft.pk}/"
        assert api_as("therapist").patch(url, {"plan": "x"}, format="json").status_code == 404
        assert (
            api_as("therapist").patch(f"{notes_url(draft.booking)}999999/", {"plan": "x"}, format="json").status_code
            == 404
        )


# --- POST sign ---------------------------------------------------------------------------


class TestSign:
    def test_its_author_signs_a_draft(self, api_as, draft):
        response = api_as("therapist").post(f"{note_url(draft)}sign/")
        assert response.status_code == 200
        assert response.json()["status"] == "signed"
        assert response.json()["signed_at"] is not None
        assert TreatmentNote.objects.get(pk=draft.pk).is_signed

    def test_signing_twice_is_refused_and_keeps_the_first_signature(self, api_as, signed):
        response = api_as("therapist").post(f"{note_url(signed)}sign/")
        assert response.status_code == 409
        assert response.json()["code"] == "note_signed"
        assert TreatmentNote.objects.get(pk=signed.pk).signed_at == signed.signed_at

    @pytest.mark.parametrize(
        ("role", "expected"),
        [
            ("admin", 403),
            ("staff", 403),
            ("client", 404),
            ("other_client", 404),
            ("other_therapist", 404),
            ("anonymous", 401),
        ],
    )
    def test_only_its_author_signs(self, api_as, draft, role, expected):
        assert api_as(role).post(f"{note_url(draft)}sign/").status_code == expected
        assert not TreatmentNote.objects.get(pk=draft.pk).is_signed

    def test_draft_sign_amend_sign_then_nothing_changes_through_the_api(self, api_as, booking):
        therapist = api_as("therapist")
        # given a draft, changed, then signed
        note = therapist.post(notes_url(booking), BODY, format="json").json()
        url = f"{notes_url(booking)}{note['id']}/"
        assert therapist.patch(url, {"plan": "Final plan."}, format="json").status_code == 200
        assert therapist.post(f"{url}sign/").status_code == 200
        # when it is changed or signed again, then it is refused
        assert therapist.patch(url, {"plan": "Rewritten."}, format="json").json()["code"] == "note_signed"
        assert therapist.post(f"{url}sign/").json()["code"] == "note_signed"
        # and the correction is an amendment, signed in its turn
        amendment = therapist.post(
            notes_url(booking), {**BODY, "plan": "Corrected.", "amends": note["id"]}, format="json"
        )
        assert amendment.status_code == 201
        assert therapist.post(f"{notes_url(booking)}{amendment.json()['id']}/sign/").status_code == 200
        notes = therapist.get(notes_url(booking)).json()["results"]
        assert [(n["plan"], n["status"]) for n in notes] == [("Final plan.", "signed"), ("Corrected.", "signed")]
        assert notes[0]["amended_by"] == [amendment.json()["id"]]
