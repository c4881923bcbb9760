"""A person's data (docs/api.md, Accounts): `GET me/export/` and `DELETE me/`."""

from datetime import timedelta

import pytest
from axes.models import AccessAttempt
from django.db import connection
from django.utils import timezone
from knox.models import AuthToken
from rest_framework.test import APIClient

from booking.models import Booking, IdempotencyRecord
from booking.tests.factories import BookingFactory, ShiftFactory
from clinic.models import User
from clinic.tests.factories import (
    PASSWORD,
    AdminFactory,
    ClientFactory,
    LocationFactory,
    RoomFactory,
    ServiceFactory,
    StaffFactory,
    TherapistFactory,
)
from intake.models import Intake, IntakeAccess
from records.account_data import account_delete

EXPORT = "/api/v1/me/export/"
ME = "/api/v1/me/"
ANSWERS = {
    "pressure_preference": "medium",
    "primary_goal": "relaxation",
    "consent": True,
    "health_screening": ["high_blood_pressure"],
    "notes": "Sore left shoulder since March.",
}

pytestmark = pytest.mark.django_db


def hours_from_now(hours: int):
    return (timezone.now() + timedelta(hours=hours)).replace(minute=0, second=0, microsecond=0)


def open_time(hours: int) -> dict:
    """What `booking_create` needs to book `hours` from now: a therapist's shift there, and a service."""
    location = LocationFactory()
    therapist = TherapistFactory(locations=[location])
    starts_at = hours_from_now(hours)
    ShiftFactory(therapist=therapist, location=location, starts_at=starts_at)
    return {"service_id": ServiceFactory().pk, "starts_at": starts_at}


@pytest.fixture
def person(clinic):
    """A client with a future booking (reviewed, read by its therapist, in a room), one soon, one pending its
    intake, a past one, a cancelled one, and time held for their waitlist offer."""
    client = ClientFactory(first_name="Ana", last_name="Silva", phone="+1 555 0100")
    location = LocationFactory(name="Downtown", uses_rooms=True)
    therapist = TherapistFactory(locations=[location])
    at = {"client": client, "therapist": therapist, "location": location}
    future = BookingFactory(
        **at,
        room=RoomFactory(location=location, name="Room 1"),
        service=ServiceFactory(name="Massage, 90 min", duration_minutes=90, buffer_minutes=15),
        starts_at=hours_from_now(72),
        intake__answers=ANSWERS,
        intake__flags=["high_blood_pressure"],
        intake__needs_review=True,
        intake__reviewed_modality="therapeutic",
        intake__review_note="Check blood pressure first.",
        intake__reviewed_by=therapist.user,
        intake__reviewed_at=timezone.now(),
    )
    soon = BookingFactory(**at, starts_at=hours_from_now(2))
    front_desk = BookingFactory(
        **at, starts_at=hours_from_now(100), intake=None, intake_status=Booking.IntakeStatus.PENDING
    )
    past = BookingFactory(**at, starts_at=hours_from_now(-48), status=Booking.Status.COMPLETED)
    cancelled = BookingFactory(
        **at, starts_at=hours_from_now(96), status=Booking.Status.CANCELLED, cancelled_at=timezone.now()
    )
    held = BookingFactory(
        **at,
        starts_at=hours_from_now(110),
        status=Booking.Status.HELD,
        hold_expires_at=timezone.now() + timedelta(minutes=30),
        intake=None,
        intake_status=Booking.IntakeStatus.PENDING,
    )
    IntakeAccess.objects.create(
        intake=future.intake,
        booking_id=future.pk,
        accessed_by=therapist.user,
        remote_addr="10.1.2.3",
        channel=IntakeAccess.Channel.DAY_SHEET,
    )
    return {
        "client": client,
        "therapist": therapist,
        "future": future,
        "soon": soon,
        "front_desk": front_desk,
        "past": past,
        "cancelled": cancelled,
        "held": held,
    }


# --- GET me/export/ ------------------------------------------------------------------


class TestExport:
    def test_a_client_gets_everything_the_clinic_holds_on_them(self, as_user, person):
        # when
        response = as_user(person["client"]).get(EXPORT)
        # then
        assert response.status_code == 200
        body = response.json()
        assert set(body) == {
            "exported_at",
            "account",
            "therapist",
            "bookings",
            "intakes",
            "waitlist",
            "treatment_notes",
            "intake_reads",
        }
        account = body["account"]
        assert (account["email"], account["first_name"], account["last_name"], account["phone"], account["role"]) == (
            person["client"].email,
            "Ana",
            "Silva",
            "+1 555 0100",
            "client",
        )
        assert body["therapist"] is None
        bookings = {b["id"]: b for b in body["bookings"]}
        assert set(bookings) == {person[k].pk for k in ("future", "soon", "front_desk", "past", "cancelled", "held")}
        future = bookings[person["future"].pk]
        assert future["status"] == "confirmed"
        assert future["therapist"] == {"id": person["therapist"].pk, "name": person["therapist"].name}
        assert future["service"]["name"] == "Massage, 90 min"
        assert future["service"]["duration_minutes"] == 90
        assert future["location"]["name"] == "Downtown"
        assert future["room"]["name"] == "Room 1"
        assert future["starts_at"].startswith(person["future"].starts_at.strftime("%Y-%m-%dT%H"))
        assert (future["price"], future["currency"]) == ("90.00", "USD")
        assert (future["intake_status"], future["modality"]) == ("complete", "therapeutic")
        assert future["intake"] == person["future"].intake_id
        pending = bookings[person["front_desk"].pk]
        assert (pending["intake_status"], pending["modality"], pending["intake"]) == ("pending", None, None)
        assert pending["room"] is None
        assert bookings[person["past"].pk]["status"] == "completed"
        assert bookings[person["held"].pk]["status"] == "held"
        intake = next(i for i in body["intakes"] if i["booking"] == person["future"].pk)
        assert intake["answers"]["notes"] == "Sore left shoulder since March."
        assert intake["assessment"]["flags"] == ["high_blood_pressure"]
        assert intake["review"]["note"] == "Check blood pressure first."
        assert len(body["intakes"]) == 4

    def test_the_export_includes_who_read_their_intakes_and_is_itself_logged(self, as_user, person):
        before = IntakeAccess.objects.count()
        body = as_user(person["client"]).get(EXPORT, REMOTE_ADDR="203.0.113.9").json()
        assert IntakeAccess.objects.count() == before + 4  # one read per intake, by the export
        reads = body["intake_reads"]
        therapist_read = next(r for r in reads if r["channel"] == "day_sheet")
        assert therapist_read["accessed_by"] == {"id": person["therapist"].user.pk, "name": person["therapist"].name}
        assert therapist_read["intake"] == person["future"].intake_id
        assert therapist_read["booking_id"] == person["future"].pk
        own = [r for r in reads if r["accessed_by"] and r["accessed_by"]["id"] == person["client"].pk]
        assert len(own) == 4
        assert {r["remote_addr"] for r in own} == {"203.0.113.9"}

    def test_a_strangers_refused_probe_is_not_in_it(self, as_user, person):
        # given a stranger was refused the client's intake (the row is kept, for admins)
        stranger = ClientFactory(first_name="Mallory")
        IntakeAccess.objects.create(
            intake=person["future"].intake,
            booking_id=person["future"].pk,
            accessed_by=stranger,
            remote_addr="198.51.100.66",
            channel=IntakeAccess.Channel.API,
            outcome=IntakeAccess.Outcome.DENIED,
        )
        # when the client exports their data
        body = as_user(person["client"]).get(EXPORT).json()
        # then neither the stranger's name nor their address is handed over
        assert all(read["outcome"] == "allowed" for read in body["intake_reads"])
        assert "Mallory" not in str(body)
        assert "198.51.100.66" not in str(body)

    def test_nothing_of_another_client_is_in_it(self, as_user, person):
        other = ClientFactory()
        BookingFactory(client=other, intake__answers={**ANSWERS, "notes": "someone else's secret"})
        body = as_user(person["client"]).get(EXPORT).content.decode()
        assert "someone else's secret" not in body
        assert other.email not in body

    @pytest.mark.parametrize("factory", [lambda: TherapistFactory().user, StaffFactory, AdminFactory])
    def test_any_user_gets_their_own(self, as_user, clinic, factory):
        user = factory()
        body = as_user(user).get(EXPORT).json()
        assert body["account"]["id"] == user.pk
        assert body["bookings"] == body["intakes"] == body["treatment_notes"] == []
        if user.role == "therapist":
            assert body["therapist"]["id"] == user.therapist.pk

    def test_anonymous_is_refused(self, api, clinic):
        assert api.get(EXPORT).status_code == 401


# --- DELETE me/ ------------------------------------------------------------------------


class TestDelete:
    def test_the_account_is_deactivated_and_anonymised(self, as_user, person):
        client = person["client"]
        AuthToken.objects.create(client)  # another device
        # when
        response = as_user(client).delete(ME)
        # then
        assert response.status_code == 204
        client.refresh_from_db()
        assert client.email == f"deleted-{client.pk}@invalid"
        assert (client.first_name, client.last_name, client.phone) == ("", "", "")
        assert not client.is_active
        assert not client.has_usable_password()
        assert not AuthToken.objects.filter(user=client).exists()

    def test_the_old_token_and_password_stop_working(self, person):
        client = person["client"]
        _, token = AuthToken.objects.create(client)
        api = APIClient()
        api.credentials(HTTP_AUTHORIZATION=f"Token {token}")
        email = client.email
        assert api.delete(ME).status_code == 204
        assert api.get(ME).status_code == 401
        login = APIClient().post("/api/v1/auth/token/", {"email": email, "password": PASSWORD}, format="json")
        assert login.status_code == 400

    def test_future_bookings_and_held_time_are_cancelled(self, as_user, person):
        as_user(person["client"]).delete(ME)
        # "soon" is inside the cancellation window: cancelled all the same
        for key in ("future", "soon", "front_desk", "held"):
            booking = Booking.objects.get(pk=person[key].pk)
            assert booking.status == Booking.Status.CANCELLED
            assert booking.cancel_reason == "Account deleted."
            assert booking.cancelled_at is not None
            # the therapist's calendar sees the event change
            assert booking.sequence == person[key].sequence + 1
        assert not Booking.objects.filter(client=person["client"], status__in=("confirmed", "held")).exists()

    def test_their_time_is_free_again(self, as_user, person):
        # given: the future booking's time is the therapist's and the room's
        future = person["future"]
        again = {
            "client": ClientFactory(),
            "therapist": future.therapist,
            "location": future.location,
            "room": future.room,
            "service": future.service,
            "starts_at": future.starts_at,
        }
        as_user(person["client"]).delete(ME)
        # then another client's booking of that very time fits the database's constraints
        assert BookingFactory(**again).status == Booking.Status.CONFIRMED

    def test_booking_history_and_times_stay(self, as_user, person):
        def places():
            return {
                b.pk: (b.starts_at, b.ends_at, b.therapist_id, b.location_id, b.room_id, b.service_id, b.price)
                for b in Booking.objects.filter(client=person["client"])
            }

        times = places()
        as_user(person["client"]).delete(ME)
        assert places() == times
        assert Booking.objects.get(pk=person["past"].pk).status == Booking.Status.COMPLETED
        assert Booking.objects.get(pk=person["cancelled"].pk).cancel_reason == ""

    def test_health_answers_are_erased_and_the_modality_kept(self, as_user, person):
        as_user(person["client"]).delete(ME)
        for intake in Intake.objects.filter(client=person["client"]):
            assert intake.answers == {}
            assert intake.flags == []
            assert intake.reasons == []
            assert intake.review_note == ""
            assert intake.needs_review is False
            assert intake.score == 0
        intake = Intake.objects.get(pk=person["future"].intake_id)
        assert intake.modality == "therapeutic"
        assert "Sore left shoulder" not in str(Intake.objects.filter(client=person["client"]).values())

    def test_the_audit_log_stays(self, as_user, person):
        rows = list(IntakeAccess.objects.filter(intake__client=person["client"]).values())
        as_user(person["client"]).delete(ME)
        assert list(IntakeAccess.objects.filter(intake__client=person["client"]).values()) == rows

    def test_staff_see_no_name_on_the_bookings_afterwards(self, as_user, person, staff_user):
        as_user(person["client"]).delete(ME)
        body = as_user(staff_user).get(f"/api/v1/bookings/{person['past'].pk}/").json()
        assert body["client"] == {"id": person["client"].pk, "name": f"deleted-{person['client'].pk}@invalid"}
        assert body["needs_review"] is False

    def test_stored_idempotent_answers_and_login_records_go(self, as_user, person):
        client = person["client"]
        IdempotencyRecord.objects.create(
            user=client,
            key="k",
            request_fingerprint="f",
            response_status=201,
            response_body={"client": {"name": "Ana Silva"}},
        )
        APIClient().post("/api/v1/auth/token/", {"email": client.email, "password": "wrong"}, format="json")
        assert AccessAttempt.objects.filter(username=client.email).exists()
        as_user(client).delete(ME)
        assert not IdempotencyRecord.objects.filter(user=client).exists()
        assert not AccessAttempt.objects.exists()

    def test_cancellation_reasons_the_client_wrote_are_cleared(self, as_user, person, staff_user):
        # given: a reason in the client's own words, and one the front desk wrote
        client = person["client"]
        own = BookingFactory(client=client, starts_at=hours_from_now(120))
        response = as_user(client).post(
            f"/api/v1/bookings/{own.pk}/cancel/", {"reason": "Chemo moved to Tuesday."}, format="json"
        )
        assert response.status_code == 200
        by_desk = BookingFactory(
            client=client,
            starts_at=hours_from_now(130),
            status=Booking.Status.CANCELLED,
            cancelled_at=timezone.now(),
            cancelled_by=staff_user,
            cancel_reason="Therapist off sick.",
        )
        # when
        as_user(client).delete(ME)
        # then
        assert Booking.objects.get(pk=own.pk).cancel_reason == ""
        assert not Booking.objects.filter(cancel_reason__icontains="chemo").exists()
        assert Booking.objects.get(pk=by_desk.pk).cancel_reason == "Therapist off sick."
        assert Booking.objects.get(pk=person["future"].pk).cancel_reason == "Account deleted."

    def test_idempotent_replies_stored_for_others_that_name_the_client_go(self, as_user, person, staff_user):
        # given: the front desk cancelled with an Idempotency-Key: its stored reply names the client
        desk = as_user(staff_user)
        about_them = desk.post(
            f"/api/v1/bookings/{person['future'].pk}/cancel/", {}, format="json", HTTP_IDEMPOTENCY_KEY="desk-1"
        )
        assert about_them.status_code == 200
        someone_else = BookingFactory(starts_at=hours_from_now(150))
        desk.post(f"/api/v1/bookings/{someone_else.pk}/cancel/", {}, format="json", HTTP_IDEMPOTENCY_KEY="desk-2")
        assert IdempotencyRecord.objects.filter(response_body__client__name="Ana Silva").exists()
        # when
        as_user(person["client"]).delete(ME)
        # then
        assert "Silva" not in str(list(IdempotencyRecord.objects.values()))
        assert IdempotencyRecord.objects.filter(user=staff_user, key="desk-2").exists()

    def test_the_email_can_register_again_as_a_new_account(self, as_user, api, person):
        email = person["client"].email
        as_user(person["client"]).delete(ME)
        response = api.post(
            "/api/v1/auth/register/",
            {"email": email, "password": "plum-orchard-velvet-42", "first_name": "Ana", "last_name": "Silva"},
            format="json",
        )
        assert response.status_code == 201
        assert response.json()["id"] != person["client"].pk

    @pytest.mark.parametrize("factory", [lambda: TherapistFactory().user, StaffFactory, AdminFactory])
    def test_only_clients_delete_their_account_here(self, as_user, clinic, factory):
        user = factory()
        assert as_user(user).delete(ME).status_code == 403
        user.refresh_from_db()
        assert user.is_active

    def test_anonymous_is_refused(self, api, clinic):
        assert api.delete(ME).status_code == 401

    def test_a_failure_midway_leaves_everything_as_it_was(self, person, monkeypatch):
        # given: anonymising the account fails after the bookings and intakes were changed
        def fail(**kwargs):
            raise RuntimeError("disk full")

        monkeypatch.setattr("records.account_data.account_anonymise", fail)
        # when
        with pytest.raises(RuntimeError):
            account_delete(user=person["client"])
        # then
        assert Booking.objects.get(pk=person["future"].pk).status == Booking.Status.CONFIRMED
        assert Intake.objects.get(pk=person["future"].intake_id).answers == ANSWERS
        assert User.objects.get(pk=person["client"].pk).is_active

    def test_the_service_refuses_non_clients(self, clinic):
        with pytest.raises(ValueError, match="Only client accounts"):
            account_delete(user=StaffFactory())


@pytest.mark.django_db(transaction=True)
def test_a_booking_racing_the_deletion_is_cancelled_or_refused(clinic):
    """The deletion locks the client's row as booking does: a booking made meanwhile waits, then is
    either cancelled by it or refused for a deactivated account; never left confirmed."""
    import threading

    from booking.services import booking_create

    client = ClientFactory()
    place = open_time(72)
    start = threading.Barrier(2)
    errors = []

    def client_books():
        try:
            start.wait(timeout=10)
            booking_create(
                client=client,
                **place,
                answers={"pressure_preference": "medium", "primary_goal": "relaxation", "consent": True},
                booked_by=client,
            )
        except Exception as exc:  # refused: fine
            errors.append(exc)
        finally:
            connection.close()

    def delete():
        try:
            start.wait(timeout=10)
            account_delete(user=User.objects.get(pk=client.pk))
        finally:
            connection.close()

    threads = [threading.Thread(target=client_books), threading.Thread(target=delete)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert not User.objects.get(pk=client.pk).is_active
    assert not Booking.objects.filter(client=client, status=Booking.Status.CONFIRMED).exists()
    assert [type(e).__name__ for e in errors] in ([], ["ClientInactive"])


def test_a_deleted_account_cannot_book(clinic):
    from booking.errors import ClientInactive
    from booking.services import booking_create

    client = ClientFactory()
    place = open_time(72)
    account_delete(user=client)
    with pytest.raises(ClientInactive):
        booking_create(
            client=client,
            **place,
            answers={"pressure_preference": "medium", "primary_goal": "relaxation", "consent": True},
            booked_by=client,
        )


def test_the_time_a_deleted_account_held_can_be_booked_again(clinic):
    from booking.services import booking_create

    # given: a client booked the only open time, then deleted the account
    client = ClientFactory()
    place = open_time(72)
    answers = {"pressure_preference": "medium", "primary_goal": "relaxation", "consent": True}
    booking_create(client=client, **place, answers=answers, booked_by=client)
    account_delete(user=client)
    # when another client books it
    other = ClientFactory()
    booking = booking_create(client=other, **place, answers=answers, booked_by=other)
    # then
    assert booking.status == Booking.Status.CONFIRMED
