"""A client's history (docs/api.md, Returning clients): for their therapists and admins, audited."""

from datetime import timedelta

import pytest
from django.utils import timezone

from booking.models import Booking
from booking.tests.factories import BookingFactory
from clinic.tests.factories import ClientFactory
from intake.models import IntakeAccess
from records.tests.factories import StartedBookingFactory, TreatmentNoteFactory

pytestmark = pytest.mark.django_db


def history_url(client) -> str:
    return f"/api/v1/clients/{client.pk}/history/"


def days_ago(days: float):
    return (timezone.now() - timedelta(days=days)).replace(second=0, microsecond=0)


@pytest.fixture
def past(client_user, therapist):
    """A completed session of the client's with the therapist, a week ago."""
    return StartedBookingFactory(
        client=client_user, therapist=therapist, starts_at=days_ago(7), status=Booking.Status.COMPLETED
    )


class TestWho:
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
    def test_who_reads_a_clients_history(self, api_as, client_user, past, role, expected):
        assert api_as(role).get(history_url(client_user)).status_code == expected

    def test_a_therapist_with_a_confirmed_upcoming_session_reads_it(self, api_as, client_user, other_therapist, past):
        BookingFactory(client=client_user, therapist=other_therapist, starts_at=timezone.now() + timedelta(days=2))
        body = api_as("other_therapist").get(history_url(client_user)).json()
        # the sessions are the client's, with whichever therapist
        assert [session["id"] for session in body["results"]] == [past.pk]

    @pytest.mark.parametrize(
        "booking",
        [
            {"status": Booking.Status.CANCELLED, "cancelled_at": timezone.now()},
            {"status": Booking.Status.HELD, "hold_expires_at": timezone.now() + timedelta(minutes=30)},
        ],
        ids=["cancelled", "held-offer"],
    )
    def test_a_cancelled_booking_or_a_held_offer_is_no_relation(
        self, api_as, client_user, other_therapist, past, booking
    ):
        BookingFactory(
            client=client_user,
            therapist=other_therapist,
            starts_at=timezone.now() + timedelta(days=2),
            **booking,
            **({"intake": None, "intake_status": "pending"} if booking["status"] == Booking.Status.HELD else {}),
        )
        assert api_as("other_therapist").get(history_url(client_user)).status_code == 404

    def test_no_such_client_is_a_404_and_names_nobody(self, api_as, therapist, admin_user):
        assert api_as("admin").get("/api/v1/clients/999999/history/").status_code == 404
        assert api_as("admin").get(f"/api/v1/clients/{therapist.user_id}/history/").status_code == 404
        assert not IntakeAccess.objects.exists()


class TestWhat:
    def test_sessions_that_started_and_were_not_cancelled_newest_first_with_signed_notes(
        self, api_as, client_user, therapist, past
    ):
        # given: a signed note and its signed amendment, a draft (not shown), a no-show, a session under way,
        # a cancelled one, an upcoming one, and another client's
        signed = TreatmentNoteFactory(booking=past, signed_at=days_ago(7))
        amendment = TreatmentNoteFactory(booking=past, amends=signed, signed_at=days_ago(6), plan="Corrected.")
        TreatmentNoteFactory(booking=past, amends=amendment, plan="A draft, not in the history.")
        no_show = StartedBookingFactory(
            client=client_user, therapist=therapist, starts_at=days_ago(14), status=Booking.Status.NO_SHOW
        )
        under_way = StartedBookingFactory(client=client_user, therapist=therapist)
        StartedBookingFactory(
            client=client_user,
            therapist=therapist,
            starts_at=days_ago(3),
            status=Booking.Status.CANCELLED,
            cancelled_at=days_ago(4),
        )
        BookingFactory(client=client_user, therapist=therapist, starts_at=timezone.now() + timedelta(days=3))
        StartedBookingFactory(therapist=therapist, starts_at=days_ago(2))
        # when
        body = api_as("therapist").get(history_url(client_user)).json()
        # then
        sessions = body["results"]
        assert [s["id"] for s in sessions] == [under_way.pk, past.pk, no_show.pk]
        assert [s["status"] for s in sessions] == ["confirmed", "completed", "no_show"]
        session = sessions[1]
        assert session["service"] == {"id": past.service_id, "name": past.service.name}
        assert session["therapist"] == {"id": therapist.pk, "name": therapist.name}
        assert session["modality"] == past.intake.modality
        assert session["starts_at"].startswith(past.starts_at.strftime("%Y-%m-%dT%H:%M"))
        assert session["ends_at"].startswith(past.ends_at.strftime("%Y-%m-%dT%H:%M"))
        assert [(n["id"], n["status"], n["amends"]) for n in session["notes"]] == [
            (signed.pk, "signed", None),
            (amendment.pk, "signed", signed.pk),
        ]
        # a draft amendment is not named either
        assert session["notes"][1]["amended_by"] == []
        assert sessions[0]["notes"] == []

    def test_a_pending_intake_has_no_modality_yet(self, api_as, client_user, therapist):
        StartedBookingFactory(client=client_user, therapist=therapist, intake=None, intake_status="pending")
        body = api_as("therapist").get(history_url(client_user)).json()
        assert body["results"][0]["modality"] is None


class TestAudit:
    @pytest.mark.parametrize("role", ["therapist", "admin"])
    def test_every_read_is_audited(self, api_as, client_user, past, role, request):
        api_as(role).get(history_url(client_user), REMOTE_ADDR="198.51.100.4")
        api_as(role).get(history_url(client_user))
        reads = IntakeAccess.objects.filter(kind="history")
        assert reads.count() == 2
        row = reads.order_by("id").first()
        user = request.getfixturevalue({"therapist": "therapist", "admin": "admin_user"}[role])
        assert (row.client_id, row.accessed_by_id, row.outcome, row.intake_id, row.booking_id) == (
            client_user.pk,
            getattr(user, "user", user).pk,
            "allowed",
            None,
            None,
        )
        assert row.remote_addr == "198.51.100.4"

    @pytest.mark.parametrize("role", ["staff", "client", "other_client", "other_therapist"])
    def test_a_refused_read_is_audited_as_denied(self, api_as, client_user, past, role):
        api_as(role).get(history_url(client_user))
        row = IntakeAccess.objects.get()
        assert (row.kind, row.outcome, row.client_id) == ("history", "denied", client_user.pk)

    def test_the_client_sees_the_reads_of_their_history_in_their_export(self, api_as, as_user, client_user, past):
        api_as("therapist").get(history_url(client_user))
        ClientFactory()  # someone else
        reads = api_as("client").get("/api/v1/me/export/").json()["intake_reads"]
        assert [(r["kind"], r["accessed_by"]["id"]) for r in reads if r["kind"] == "history"] == [
            ("history", past.therapist.user_id)
        ]
