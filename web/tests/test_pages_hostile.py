"""The pages as a hostile or careless user meets them: the wrong user, odd input, no CSRF token, error pages.

Each test is something a person (or a script) could do with a browser; what
already worked is kept here too, so it keeps working. The clock stands at the
booking tests' NOW (Tuesday 1 December 2026, 10:00 in New York).
"""

from datetime import UTC, datetime, timedelta

import pytest
from django.test import Client
from django.utils.html import escape

from booking.errors import ClientOverlap, SlotUnavailable
from booking.models import Booking
from booking.services import booking_create
from booking.tests.factories import BookingFactory
from booking.tests.helpers import frozen
from clinic.models import Role, User
from clinic.tests.factories import PASSWORD, AdminFactory, ClientFactory, StaffFactory
from config.testing.threads import run_together
from intake.models import IntakeAccess
from records.models import TreatmentNote
from web.tests.conftest import waitlist_offer

ANSWERS = {"pressure_preference": "medium", "primary_goal": "relaxation", "consent": True}
FORM = {"pressure_preference": "medium", "primary_goal": "relaxation", "consent": "true"}
SECRET_NOTE = "Recovering from a knee operation, please be gentle."
HUGE = "99999999999999999999"


@pytest.fixture(autouse=True)
def _clock():
    with frozen():
        yield


def booked(world, client_user, start, *, therapist=None, notes="") -> Booking:
    return booking_create(
        client=client_user,
        service_id=world.session_60.pk,
        starts_at=start,
        therapist_id=(therapist or world.therapist).pk,
        location_id=world.location.pk,
        answers={**ANSWERS, "notes": notes} if notes else ANSWERS,
        booked_by=client_user,
    )


@pytest.fixture
def stranger(clinic_world):
    """Another client, with a booking (and a secret in its intake) three days on, 11:00, with Maya."""
    user = ClientFactory(first_name="Zelda", last_name="Quartermain")
    day = clinic_world.first_day() + timedelta(days=3)
    return booked(clinic_world, user, clinic_world.local(day, 11), notes=SECRET_NOTE)


@pytest.fixture
def signed_in(client, web_client_user):
    client.force_login(web_client_user)
    return client


def client_pages(booking_pk: int, entry_pk: int = 1, offer_pk: int = 1) -> list[tuple[str, str]]:
    """(method, path) of every client page."""
    b = f"/bookings/{booking_pk}"
    return [
        ("get", "/book/"),
        ("get", "/book/times/"),
        ("get", "/book/details/"),
        ("post", "/book/details/"),
        ("get", "/bookings/"),
        ("get", f"{b}/"),
        ("get", f"{b}/cancel/"),
        ("post", f"{b}/cancel/"),
        ("get", f"{b}/reschedule/"),
        ("get", f"{b}/reschedule/confirm/"),
        ("post", f"{b}/reschedule/confirm/"),
        ("get", f"{b}/intake/"),
        ("post", f"{b}/intake/"),
        ("get", f"{b}/access-log/"),
        ("get", "/waitlist/"),
        ("get", "/waitlist/join/"),
        ("post", "/waitlist/join/"),
        ("post", f"/waitlist/{entry_pk}/withdraw/"),
        ("get", f"/waitlist/offers/{offer_pk}/"),
        ("post", f"/waitlist/offers/{offer_pk}/"),
        ("post", f"/waitlist/offers/{offer_pk}/decline/"),
    ]


def therapist_pages(booking_pk: int, note_pk: int = 1) -> list[tuple[str, str]]:
    s = f"/therapist/sessions/{booking_pk}"
    return [
        ("get", "/therapist/"),
        ("get", f"{s}/"),
        ("post", f"{s}/review/"),
        ("post", f"{s}/close/"),
        ("get", f"{s}/notes/"),
        ("post", f"{s}/notes/"),
        ("post", f"{s}/notes/{note_pk}/"),
        ("post", f"{s}/notes/{note_pk}/sign/"),
        ("get", "/therapist/feed/"),
        ("post", "/therapist/feed/"),
    ]


# --- Signed out ----------------------------------------------------------------------------------


class TestSignedOut:
    def test_every_page_sends_a_visitor_to_the_login_page_and_back(self, client, clinic_world, stranger):
        for method, path in client_pages(stranger.pk) + therapist_pages(stranger.pk):
            response = getattr(client, method)(path)
            assert response.status_code == 302, (method, path)
            assert response["Location"].startswith("/login/?next="), (method, path)
        assert not IntakeAccess.objects.exists()

    @pytest.mark.parametrize(
        "target",
        [
            "https://evil.example/",
            "//evil.example",
            "//evil.example/bookings/",
            "/\\evil.example",
            "\\\\evil.example",
            "https:evil.example",
            "javascript:alert(1)",
            " //evil.example",
            "http://testserver.evil.example/",
        ],
    )
    def test_a_next_address_off_the_site_is_never_followed(self, client, web_client_user, target):
        # a real login, then a signed-in visit of the login page with the same `next`: home both times
        response = client.post("/login/", {"email": web_client_user.email, "password": PASSWORD, "next": target})
        assert (response.status_code, response["Location"]) == (302, "/"), target
        response = client.get("/login/", {"next": target})
        assert (response.status_code, response["Location"]) == (302, "/"), target
        # a failed login shows the form again, its `next` kept for the next try, escaped
        client.post("/logout/")
        response = client.post("/login/", {"next": target, "email": web_client_user.email, "password": "x"})
        assert response.status_code == 400
        assert f'name="next" value="{escape(target)}"' in response.content.decode()


# --- The wrong user --------------------------------------------------------------------------------


class TestAnotherClient:
    def test_nothing_of_another_client_s_booking_is_found_or_shown(self, signed_in, clinic_world, stranger):
        start = (stranger.starts_at + timedelta(days=1)).isoformat()
        for method, path in client_pages(stranger.pk):
            if not path.startswith(f"/bookings/{stranger.pk}/"):
                continue
            data = {"starts_at": start, **FORM, "reason": "x"} if method == "post" else {"starts_at": start}
            response = getattr(signed_in, method)(path, data)
            assert response.status_code == 404, (method, path)
            html = response.content.decode()
            assert "Quartermain" not in html, path
            assert SECRET_NOTE not in html, path
        stranger.refresh_from_db()
        assert stranger.status == Booking.Status.CONFIRMED
        assert stranger.starts_at.isoformat() != start
        assert stranger.intake.answers["notes"] == SECRET_NOTE

    def test_another_client_s_waitlist_entry_and_offer_are_not_found(self, signed_in, clinic_world):
        entry, offer = waitlist_offer(clinic_world, ClientFactory())
        for method, path in [
            ("post", f"/waitlist/{entry.pk}/withdraw/"),
            ("get", f"/waitlist/offers/{offer.pk}/"),
            ("post", f"/waitlist/offers/{offer.pk}/"),
            ("post", f"/waitlist/offers/{offer.pk}/decline/"),
        ]:
            assert getattr(signed_in, method)(path, FORM).status_code == 404, path
        entry.refresh_from_db()
        offer.refresh_from_db()
        assert entry.is_open
        assert offer.status == offer.Status.OPEN
        assert not Booking.objects.filter(client__pk=signed_in.session["_auth_user_id"]).exists()

    def test_a_booking_made_for_another_client_is_not_listed(self, signed_in, stranger):
        html = signed_in.get("/bookings/").content.decode()
        assert "Quartermain" not in html
        assert f"/bookings/{stranger.pk}/" not in html


class TestAnotherTherapist:
    def test_nothing_of_another_therapist_s_session_is_found_or_shown(self, client, clinic_world, stranger):
        note = TreatmentNote.objects.create(
            booking=stranger,
            author=clinic_world.therapist.user,
            subjective="Secret subjective",
            objective="o",
            assessment="a",
            plan="p",
            modality_given="therapeutic",
            pressure_used="medium",
        )
        client.force_login(clinic_world.therapeutic_only.user)
        for method, path in therapist_pages(stranger.pk, note.pk):
            if "/sessions/" not in path:
                continue
            response = getattr(client, method)(path, {"modality": "therapeutic", "outcome": "completed"})
            assert response.status_code == 404, (method, path)
            html = response.content.decode()
            assert "Quartermain" not in html, path
            assert SECRET_NOTE not in html, path
            assert "Secret subjective" not in html, path
        stranger.refresh_from_db()
        note.refresh_from_db()
        assert stranger.status == Booking.Status.CONFIRMED
        assert note.signed_at is None
        assert not TreatmentNote.objects.exclude(pk=note.pk).exists()
        outcomes = set(IntakeAccess.objects.values_list("outcome", flat=True))
        assert outcomes <= {"denied"}


class TestOtherRoles:
    @pytest.mark.parametrize("factory", [StaffFactory, AdminFactory])
    def test_staff_and_admins_get_the_forbidden_page_and_no_health_data(self, client, clinic_world, stranger, factory):
        client.force_login(factory())
        for method, path in client_pages(stranger.pk) + therapist_pages(stranger.pk):
            response = getattr(client, method)(path)
            assert response.status_code in (403, 405), (method, path)
            html = response.content.decode()
            assert SECRET_NOTE not in html, path
            assert "Quartermain" not in html, path
        assert not IntakeAccess.objects.exists()

    def test_a_client_on_the_therapist_pages_and_a_therapist_on_the_client_pages(self, client, clinic_world, stranger):
        client.force_login(stranger.client)
        for method, path in therapist_pages(stranger.pk):
            assert getattr(client, method)(path).status_code in (403, 405), path
        client.force_login(clinic_world.therapist.user)
        for method, path in client_pages(stranger.pk):
            response = getattr(client, method)(path)
            assert response.status_code == 403, path
            assert SECRET_NOTE not in response.content.decode()

    def test_an_account_made_inactive_loses_its_live_session(self, signed_in, web_client_user, clinic_world):
        mine = booked(clinic_world, web_client_user, clinic_world.local(clinic_world.first_day() + timedelta(2), 9))
        web_client_user.is_active = False
        web_client_user.save(update_fields=["is_active"])
        for path in ("/bookings/", f"/bookings/{mine.pk}/intake/"):
            response = signed_in.get(path)
            assert response.status_code == 302, path
            assert response["Location"].startswith("/login/"), path
        assert not IntakeAccess.objects.exists()


# --- Malformed input ----------------------------------------------------------------------------------


ODD_IDS = [HUGE, "9223372036854775807", "9223372036854775808", "0", "00000000000000000000001"]


class TestOddIds:
    @pytest.mark.parametrize("pk", ODD_IDS)
    def test_client_pages_answer_404_for_ids_that_are_no_one_s(self, signed_in, clinic_world, pk):
        for method, path in client_pages(pk, pk, pk):
            if "{" in path or not any(part == pk for part in path.split("/")):
                continue
            assert getattr(signed_in, method)(path, FORM).status_code == 404, (method, path)

    @pytest.mark.parametrize("pk", ODD_IDS)
    def test_therapist_pages_answer_404_for_ids_that_are_no_one_s(self, client, clinic_world, pk):
        client.force_login(clinic_world.therapist.user)
        for method, path in therapist_pages(pk, pk):
            if not any(part == pk for part in path.split("/")):
                continue
            assert getattr(client, method)(path).status_code == 404, (method, path)

    @pytest.mark.parametrize(
        "path", ["/bookings/-1/", "/bookings/1e3/", "/bookings/%C3%A9/", "/therapist/sessions/-1/"]
    )
    def test_ids_that_are_not_numbers_are_unknown_addresses(self, signed_in, path):
        assert signed_in.get(path).status_code == 404

    @pytest.mark.parametrize("value", ["%ff%fe", "%00", "%C0%AF", "\u202e1", "１", "٣"])
    def test_query_strings_that_are_not_clean_text_are_refused_without_a_500(self, signed_in, clinic_world, value):
        world = clinic_world
        query = f"service={world.session_60.pk}&location={world.location.pk}"
        for path in ("/book/", "/book/times/", "/book/details/", "/waitlist/join/"):
            for odd in (f"service={value}", f"{query}&week={value}", f"{query}&therapist={value}"):
                assert signed_in.get(f"{path}?{odd}").status_code < 500, (path, odd)
            assert signed_in.get(f"{path}?{query}&starts_at={value}").status_code < 500
        assert signed_in.get(f"/bookings/?page={value}").status_code == 200


class TestOddTimes:
    def test_a_week_of_garbage_is_today_and_a_far_week_stops_at_the_horizon(self, signed_in, clinic_world):
        base = {"service": clinic_world.session_60.pk, "location": clinic_world.location.pk}
        for week in ("garbage", "2026-02-30", "0000-00-00", "-1", "1900-01-01", "9999-12-31", "2026-12-01T00:00"):
            response = signed_in.get("/book/times/", {**base, "week": week})
            assert response.status_code == 200, week

    @pytest.mark.parametrize(
        "starts_at",
        ["2026-12-04T09:00:00", "2026-12-04 09:00", "2026-12-04", "09:00", "1899-12-31T23:00:00+00:00", "x" * 100],
    )
    def test_a_start_that_is_no_time_is_refused_with_the_list_of_times(self, signed_in, clinic_world, starts_at):
        base = {"service": clinic_world.session_60.pk, "location": clinic_world.location.pk, "starts_at": starts_at}
        assert signed_in.get("/book/details/", base).status_code == 400
        response = signed_in.post("/book/details/", {**base, **FORM})
        assert response.status_code == 400
        assert "Choose one of the times listed below." in response.content.decode()
        assert not Booking.objects.exists()

    @pytest.mark.parametrize("starts_at", ["2020-01-01T09:00:00-05:00", "9998-12-31T09:00:00-05:00"])
    def test_a_start_far_in_the_past_or_future_is_refused_in_the_api_s_words(self, signed_in, clinic_world, starts_at):
        base = {"service": clinic_world.session_60.pk, "location": clinic_world.location.pk, "starts_at": starts_at}
        response = signed_in.post("/book/details/", {**base, **FORM})
        assert response.status_code in (400, 409)
        assert not Booking.objects.exists()

    def test_an_inactive_service_is_not_offered(self, signed_in, clinic_world):
        service = clinic_world.session_60
        service.active = False
        service.save(update_fields=["active"])
        start = clinic_world.local(clinic_world.first_day() + timedelta(days=2), 9)
        query = {"service": service.pk, "location": clinic_world.location.pk, "starts_at": start.isoformat()}
        assert signed_in.get("/book/", query).status_code == 400
        assert signed_in.get("/book/times/", query).status_code == 302
        assert signed_in.get("/book/details/", query).status_code == 404
        assert signed_in.post("/book/details/", {**query, **FORM}).status_code == 404
        assert not Booking.objects.exists()


class TestOddForms:
    def start(self, world, days=2, hour=9) -> datetime:
        return world.local(world.first_day() + timedelta(days=days), hour)

    def place(self, world, start) -> dict:
        return {
            "service": world.session_60.pk,
            "location": world.location.pk,
            "therapist": world.therapist.pk,
            "starts_at": start.astimezone(UTC).isoformat(),
        }

    def test_a_double_submit_of_book_makes_one_booking_and_refuses_the_second_in_the_api_s_words(
        self, signed_in, clinic_world
    ):
        data = {**self.place(clinic_world, self.start(clinic_world)), **FORM}
        first = signed_in.post("/book/details/", data)
        second = signed_in.post("/book/details/", data)
        assert first.status_code == 302
        assert second.status_code == 409
        assert Booking.objects.count() == 1
        assert escape(ClientOverlap.default_detail) in second.content.decode()

    def test_the_intake_with_missing_extra_and_repeated_fields(self, signed_in, clinic_world):
        place = self.place(clinic_world, self.start(clinic_world))
        # missing: the required questions are named beside their fields
        response = signed_in.post("/book/details/", place)
        assert response.status_code == 400
        assert "This field is required." in response.content.decode()
        # extra and repeated fields: the extra ignored, the last of a repeated single choice wins
        data = {**place, **FORM, "is_admin": "1", "client": "1", "pressure_preference": ["deep", "nonsense"]}
        response = signed_in.post("/book/details/", data)
        assert response.status_code == 400
        assert not Booking.objects.exists()
        data["pressure_preference"] = ["nonsense", "light"]
        data["conditions"] = ["lower_back_pain", "lower_back_pain"]
        response = signed_in.post("/book/details/", data)
        assert response.status_code in (302, 400)
        assert Booking.objects.count() <= 1

    def test_a_100k_character_answer_is_refused_beside_its_field(self, signed_in, clinic_world):
        place = self.place(clinic_world, self.start(clinic_world))
        response = signed_in.post("/book/details/", {**place, **FORM, "notes": "é" * 100_000})
        assert response.status_code == 400
        assert not Booking.objects.exists()
        assert signed_in.post("/intake/assess/", {**FORM, "notes": "é" * 100_000}).status_code == 200

    def test_a_100k_character_cancel_reason_is_refused(self, signed_in, clinic_world, web_client_user):
        mine = booked(clinic_world, web_client_user, self.start(clinic_world, days=5))
        response = signed_in.post(f"/bookings/{mine.pk}/cancel/", {"reason": "x" * 100_000})
        assert response.status_code == 400
        mine.refresh_from_db()
        assert mine.status == Booking.Status.CONFIRMED

    def test_a_100k_character_treatment_note_is_refused_or_kept_whole(self, client, clinic_world, web_client_user):
        mine = booked(clinic_world, web_client_user, self.start(clinic_world, days=1, hour=9))
        client.force_login(clinic_world.therapist.user)
        with frozen(mine.starts_at + timedelta(minutes=30)):
            response = client.post(
                f"/therapist/sessions/{mine.pk}/notes/",
                {
                    "new-subjective": "s" * 100_000,
                    "new-objective": "o",
                    "new-assessment": "a",
                    "new-plan": "p",
                    "new-pressure_used": "medium",
                    "new-modality_given": "therapeutic",
                },
            )
        assert response.status_code in (302, 400)
        for note in TreatmentNote.objects.all():
            assert len(note.subjective) == 100_000

    def test_waitlist_join_with_garbage_is_refused_beside_its_fields(self, signed_in, clinic_world):
        for data in (
            {},
            {"service": "abc", "from": "garbage", "to": "2026-02-30"},
            {"service": HUGE, "from": "2026-12-05", "to": "2026-12-04", "location": HUGE, "therapist": "-1"},
            {"service": clinic_world.session_60.pk, "from": "9999-12-31", "to": "9999-12-31"},
            {"service": clinic_world.session_60.pk, "from": "2026-12-05", "to": "2026-12-05", "earliest_time": "25:99"},
        ):
            assert signed_in.post("/waitlist/join/", data).status_code == 400, data

    def test_htmx_endpoints_without_htmx_and_with_the_wrong_method(self, signed_in, clinic_world):
        assert signed_in.get("/intake/assess/").status_code == 405
        assert signed_in.post("/intake/assess/", FORM).status_code == 200
        base = {"service": clinic_world.session_60.pk, "location": clinic_world.location.pk}
        full = signed_in.get("/book/times/", base)
        fragment = signed_in.get("/book/times/", base, headers={"HX-Request": "true"})
        assert full.status_code == fragment.status_code == 200
        assert "<html" in full.content.decode()
        assert "<html" not in fragment.content.decode()

    def test_changing_the_intake_of_a_cancelled_booking_is_refused(self, signed_in, clinic_world, web_client_user):
        mine = booked(clinic_world, web_client_user, self.start(clinic_world, days=5))
        assert signed_in.post(f"/bookings/{mine.pk}/cancel/", {"reason": ""}).status_code == 302
        response = signed_in.post(f"/bookings/{mine.pk}/intake/", {**FORM, "notes": "changed"})
        assert response.status_code == 409
        mine.refresh_from_db()
        assert mine.intake.answers.get("notes", "") != "changed"


# --- CSRF, the page policy, caches ----------------------------------------------------------------


class TestCsrf:
    def test_every_post_needs_its_token(self, clinic_world, web_client_user, stranger):
        mine = booked(clinic_world, web_client_user, clinic_world.local(clinic_world.first_day() + timedelta(5), 9))
        entry, offer = waitlist_offer(clinic_world, web_client_user)
        client = Client(enforce_csrf_checks=True)
        client.force_login(web_client_user)
        for method, path in client_pages(mine.pk, entry.pk, offer.pk):
            if method == "post":
                assert client.post(path, FORM).status_code == 403, path
        for path in ("/login/", "/register/", "/logout/", "/intake/assess/"):
            assert client.post(path, FORM).status_code == 403, path
        client.force_login(clinic_world.therapist.user)
        for method, path in therapist_pages(stranger.pk):
            if method == "post":
                assert client.post(path, {"outcome": "completed"}).status_code == 403, path
        mine.refresh_from_db()
        offer.refresh_from_db()
        assert mine.status == Booking.Status.CONFIRMED
        assert offer.status == offer.Status.OPEN
        assert "_auth_user_id" in client.session


class TestErrorPagesAndCaches:
    def test_error_pages_carry_the_page_policy(self, signed_in, clinic_world, stranger):
        for path, status in [
            (f"/bookings/{stranger.pk}/", 404),
            (f"/bookings/{stranger.pk}/intake/", 404),
            ("/waitlist/offers/1/", 404),
        ]:
            response = signed_in.get(path)
            assert response.status_code == status, path
            assert "script-src 'self'" in response.get("Content-Security-Policy", ""), path

    def test_a_therapist_account_without_a_profile_gets_a_403_with_the_policy(self, client, db):
        from clinic.models import Role
        from clinic.tests.factories import UserFactory

        client.force_login(UserFactory(role=Role.THERAPIST))
        for path in ("/therapist/", "/therapist/feed/"):
            response = client.get(path)
            assert response.status_code == 403
            assert "script-src 'self'" in response.get("Content-Security-Policy", ""), path

    def test_another_therapist_s_session_404_carries_the_policy(self, client, clinic_world, stranger):
        client.force_login(clinic_world.therapeutic_only.user)
        for path in (f"/therapist/sessions/{stranger.pk}/", f"/therapist/sessions/{stranger.pk}/notes/"):
            response = client.get(path)
            assert response.status_code == 404
            assert "script-src 'self'" in response.get("Content-Security-Policy", ""), path

    def test_pages_with_health_data_are_not_stored(self, signed_in, clinic_world, web_client_user):
        mine = booked(clinic_world, web_client_user, clinic_world.local(clinic_world.first_day() + timedelta(5), 9))
        _, offer = waitlist_offer(clinic_world, web_client_user)
        place = {
            "service": clinic_world.session_60.pk,
            "location": clinic_world.location.pk,
            "starts_at": clinic_world.local(clinic_world.first_day() + timedelta(2), 9).isoformat(),
        }
        for method, path, data in [
            ("get", f"/bookings/{mine.pk}/intake/", {}),
            ("get", f"/bookings/{mine.pk}/access-log/", {}),
            ("get", "/book/details/", place),
            ("get", f"/waitlist/offers/{offer.pk}/", {}),
            ("post", "/intake/assess/", FORM),
        ]:
            response = getattr(signed_in, method)(path, data)
            assert response.status_code == 200, path
            assert "no-store" in response.get("Cache-Control", ""), path


class TestMethods:
    def test_a_post_to_a_page_that_only_shows_is_refused(self, signed_in, clinic_world, web_client_user):
        mine = booked(clinic_world, web_client_user, clinic_world.local(clinic_world.first_day() + timedelta(5), 9))
        base = {"service": clinic_world.session_60.pk, "location": clinic_world.location.pk}
        for path in (
            "/",
            "/book/",
            "/book/times/",
            "/bookings/",
            f"/bookings/{mine.pk}/",
            f"/bookings/{mine.pk}/reschedule/",
            f"/bookings/{mine.pk}/access-log/",
            "/waitlist/",
        ):
            assert signed_in.get(path, base).status_code in (200, 302), path
            assert signed_in.head(path, base).status_code in (200, 302), path
            for method in ("post", "put", "delete", "patch"):
                response = getattr(signed_in, method)(path, base)
                assert response.status_code == 405, (method, path)
                assert "script-src 'self'" in response["Content-Security-Policy"]
        # the POST pages refuse other methods the same way
        for path in ("/waitlist/1/withdraw/", "/waitlist/offers/1/decline/", "/intake/assess/", "/logout/"):
            assert signed_in.get(path).status_code == 405, path
        for path in ("/book/details/", f"/bookings/{mine.pk}/cancel/", f"/bookings/{mine.pk}/intake/"):
            assert signed_in.put(path).status_code == 405, path


class TestTwice:
    def test_cancelling_twice_refuses_the_second_in_the_service_s_words(self, signed_in, clinic_world, web_client_user):
        mine = booked(clinic_world, web_client_user, clinic_world.local(clinic_world.first_day() + timedelta(5), 9))
        assert signed_in.post(f"/bookings/{mine.pk}/cancel/", {"reason": ""}).status_code == 302
        response = signed_in.post(f"/bookings/{mine.pk}/cancel/", {"reason": ""})
        assert response.status_code == 409
        start = clinic_world.local(clinic_world.first_day() + timedelta(6), 9).isoformat()
        response = signed_in.post(f"/bookings/{mine.pk}/reschedule/confirm/", {"starts_at": start})
        assert response.status_code == 409
        mine.refresh_from_db()
        assert mine.status == Booking.Status.CANCELLED
        assert mine.starts_at.isoformat() != start

    def test_accepting_an_offer_twice_makes_one_booking(self, signed_in, clinic_world, web_client_user):
        _, offer = waitlist_offer(clinic_world, web_client_user)
        assert signed_in.post(f"/waitlist/offers/{offer.pk}/", FORM).status_code == 302
        second = signed_in.post(f"/waitlist/offers/{offer.pk}/", FORM)
        assert second.status_code == 302  # to the booking (TestAnOfferAcceptedTwice)
        assert Booking.objects.filter(client=web_client_user).count() == 1
        assert signed_in.post(f"/waitlist/offers/{offer.pk}/decline/").status_code in (302, 404)
        assert Booking.objects.filter(client=web_client_user, status=Booking.Status.CONFIRMED).count() == 1

    def test_withdrawing_twice_and_declining_twice(self, signed_in, clinic_world, web_client_user):
        entry, offer = waitlist_offer(clinic_world, web_client_user)
        assert signed_in.post(f"/waitlist/offers/{offer.pk}/decline/").status_code == 302
        assert signed_in.post(f"/waitlist/offers/{offer.pk}/decline/").status_code in (302, 404)
        assert signed_in.post(f"/waitlist/{entry.pk}/withdraw/").status_code == 302
        assert signed_in.post(f"/waitlist/{entry.pk}/withdraw/").status_code in (302, 404)
        # the declined offer cannot be accepted afterwards
        assert signed_in.post(f"/waitlist/offers/{offer.pk}/", FORM).status_code in (404, 409)
        assert not Booking.objects.filter(client=web_client_user, status=Booking.Status.CONFIRMED).exists()

    def test_the_time_held_for_an_offer_is_not_the_client_s_booking_yet(self, signed_in, clinic_world, web_client_user):
        _, offer = waitlist_offer(clinic_world, web_client_user)
        hold = offer.hold
        for path in ("", "cancel/", "intake/", "reschedule/", "access-log/"):
            assert signed_in.get(f"/bookings/{hold.pk}/{path}").status_code == 404, path
        assert signed_in.post(f"/bookings/{hold.pk}/cancel/", {"reason": ""}).status_code == 404
        hold.refresh_from_db()
        assert hold.status == Booking.Status.HELD

    def test_a_therapist_cannot_close_or_review_a_held_time(self, client, clinic_world, web_client_user):
        _, offer = waitlist_offer(clinic_world, web_client_user)
        client.force_login(offer.hold.therapist.user)
        for tail in ("", "notes/"):
            assert client.get(f"/therapist/sessions/{offer.hold.pk}/{tail}").status_code == 404, tail
        assert client.post(f"/therapist/sessions/{offer.hold.pk}/close/", {"outcome": "no_show"}).status_code == 404
        review = client.post(f"/therapist/sessions/{offer.hold.pk}/review/", {"modality": "therapeutic"})
        assert review.status_code == 404


class TestMore:
    @pytest.mark.parametrize("target", ["/x%0d%0aSet-Cookie:a=b", "/x%0ay", "/x%00y", "/%E2%80%AE"])
    def test_a_next_address_never_adds_a_header(self, client, web_client_user, target):
        response = client.post(f"/login/?next={target}", {"email": web_client_user.email, "password": PASSWORD})
        assert response.status_code == 302
        assert "\n" not in response["Location"]
        assert "\r" not in response["Location"]
        assert "a=b" not in response.cookies

    def test_a_pending_intake_booked_by_the_front_desk_opens(self, signed_in, clinic_world, web_client_user):
        pending = BookingFactory(
            client=web_client_user,
            therapist=clinic_world.therapist,
            location=clinic_world.location,
            service=clinic_world.session_60,
            starts_at=clinic_world.local(clinic_world.first_day() + timedelta(4), 9),
            intake=None,
            intake_status=Booking.IntakeStatus.PENDING,
        )
        for tail in ("", "intake/", "access-log/", "cancel/", "reschedule/"):
            assert signed_in.get(f"/bookings/{pending.pk}/{tail}").status_code == 200, tail
        response = signed_in.post(f"/bookings/{pending.pk}/intake/", {**FORM, "notes": "é" * 3})
        assert response.status_code == 302
        pending.refresh_from_db()
        assert pending.intake is not None

    def test_reschedule_with_a_start_that_is_no_time(self, signed_in, clinic_world, web_client_user):
        mine = booked(clinic_world, web_client_user, clinic_world.local(clinic_world.first_day() + timedelta(5), 9))
        url = f"/bookings/{mine.pk}/reschedule/confirm/"
        for starts_at in ("", "garbage", "2026-12-08T09:00:00", "0001-01-01T00:00:00+14:00", "x" * 10_000):
            for method in ("get", "post"):
                response = getattr(signed_in, method)(url, {"starts_at": starts_at})
                assert response.status_code == 400, (method, starts_at[:20])
        past = clinic_world.local(clinic_world.first_day() - timedelta(days=30), 9).isoformat()
        response = signed_in.post(f"/bookings/{mine.pk}/reschedule/confirm/", {"starts_at": past})
        assert response.status_code == 409
        before = mine.starts_at
        mine.refresh_from_db()
        assert mine.starts_at == before

    def test_a_therapist_s_review_with_garbage_is_refused_beside_its_field(self, client, clinic_world, stranger):
        client.force_login(clinic_world.therapist.user)
        url = f"/therapist/sessions/{stranger.pk}/review/"
        for data in ({}, {"modality": "x" * 1000}, {"modality": "therapeutic", "note": "n" * 100_000}):
            assert client.post(url, data).status_code == 400, list(data)
        for outcome in ("", "cancelled", "confirmed", "x" * 1000):
            response = client.post(f"/therapist/sessions/{stranger.pk}/close/", {"outcome": outcome})
            assert response.status_code == 400, outcome
        stranger.refresh_from_db()
        assert stranger.status == Booking.Status.CONFIRMED
        assert stranger.intake.reviewed_modality in (None, "")


class TestAccounts:
    def test_oversized_or_repeated_login_values_are_a_400(self, client, web_client_user):
        for data in (
            {"email": web_client_user.email, "password": "p" * 100_000},
            {"email": "e" * 100_000 + "@example.com", "password": "p"},
            {"email": [web_client_user.email, "b@example.com"], "password": ["x", PASSWORD]},
        ):
            assert client.post("/login/", data).status_code == 400
        assert "_auth_user_id" not in client.session

    def test_registering_cannot_choose_a_role(self, client, db):
        data = {"first_name": "A", "last_name": "B", "email": "n@example.com", "password": "Valid-pass-2026-x"}
        response = client.post("/register/", {**data, "role": "admin", "is_staff": "1", "is_superuser": "1"})
        assert response.status_code == 302
        user = User.objects.get(email="n@example.com")
        assert (user.role, user.is_staff, user.is_superuser) == (Role.CLIENT, False, False)

    def test_markup_in_a_name_or_an_answer_is_shown_as_text(self, client, clinic_world):
        user = ClientFactory(first_name="<script>alert(1)</script>", last_name="<b>x</b>")
        mine = booked(
            clinic_world, user, clinic_world.local(clinic_world.first_day() + timedelta(1), 9), notes="<img src=x>"
        )
        client.force_login(clinic_world.therapist.user)
        day = mine.starts_at.astimezone(clinic_world.location.tz).date().isoformat()
        for path in ("/therapist/", f"/therapist/sessions/{mine.pk}/"):
            html = client.get(path, {"date": day} if path == "/therapist/" else {}).content.decode()
            assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html, path
            assert "<script>alert" not in html, path
            assert "<img src=x>" not in html, path
        client.force_login(user)
        html = client.get(f"/bookings/{mine.pk}/intake/").content.decode()
        assert "<img src=x>" not in html
        assert "&lt;img src=x&gt;" in html


class TestLinksToTimesNotOffered:
    """A link to step 3 (or to confirm a move) naming a time not offered now: past, far ahead, or taken."""

    @pytest.mark.parametrize("when", ["yesterday", "taken", "far"])
    def test_opening_it_says_so_with_the_day_s_times(self, signed_in, clinic_world, web_client_user, when):
        world = clinic_world
        start = {
            "yesterday": world.local(world.first_day() - timedelta(days=1), 9),
            "taken": world.local(world.first_day() + timedelta(days=2), 9),
            "far": datetime(9998, 12, 30, 9, tzinfo=world.location.tz),
        }[when]
        if when == "taken":
            booked(world, ClientFactory(), start, therapist=world.therapist)
        mine = booked(world, web_client_user, world.local(world.first_day() + timedelta(days=5), 9))
        query = {"starts_at": start.isoformat(), "therapist": world.therapist.pk}
        place = {"service": world.session_60.pk, "location": world.location.pk, **query}
        for response in (
            signed_in.get("/book/details/", place),
            signed_in.get(f"/bookings/{mine.pk}/reschedule/confirm/", query),
        ):
            html = response.content.decode()
            assert response.status_code == 409
            assert escape(SlotUnavailable.default_detail) in html
            assert f'value="{start.astimezone(UTC).isoformat()}"' not in html
        # an offered time opens as before
        offered = world.local(world.first_day() + timedelta(days=3), 9)
        assert signed_in.get("/book/details/", {**place, "starts_at": offered.isoformat()}).status_code == 200
        move = {**query, "starts_at": offered.isoformat()}
        assert signed_in.get(f"/bookings/{mine.pk}/reschedule/confirm/", move).status_code == 200


class TestHtmxSignedOut:
    def test_an_htmx_request_after_the_session_ended_sends_the_whole_page_to_the_login(self, client, clinic_world):
        query = {"service": clinic_world.session_60.pk, "location": clinic_world.location.pk, "week": "2026-12-08"}
        response = client.get("/book/times/", query, headers={"HX-Request": "true"})
        # not the login page swapped into the week's box: htmx sends the browser there
        assert response["HX-Redirect"].startswith("/login/?next=/book/times/")
        assert "<form" not in response.content.decode()
        # without htmx, the plain redirect
        response = client.get("/book/times/", query)
        assert response.status_code == 302


class TestAnOfferAcceptedTwice:
    def test_a_second_accept_or_a_later_visit_goes_to_the_booking(self, signed_in, clinic_world, web_client_user):
        _, offer = waitlist_offer(clinic_world, web_client_user)
        first = signed_in.post(f"/waitlist/offers/{offer.pk}/", FORM)
        assert first.status_code == 302
        for response in (
            signed_in.post(f"/waitlist/offers/{offer.pk}/", FORM),
            signed_in.get(f"/waitlist/offers/{offer.pk}/"),
        ):
            # not the API's address nor "no longer open": the booking it became
            assert (response.status_code, response["Location"]) == (302, first["Location"])
        html = signed_in.get(first["Location"]).content.decode()
        assert "You have already accepted this offer" in html
        assert "/api/v1/" not in html
        assert Booking.objects.filter(client=web_client_user, status=Booking.Status.CONFIRMED).count() == 1


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
class TestDoubleSubmitsAtOnce:
    """Two submits of the same form released together on their own threads (a double click on a slow line)."""

    def clients(self, user, n=2) -> list[Client]:
        pair = [Client() for _ in range(n)]
        for each in pair:
            each.force_login(user)
        return pair

    def test_book_twice_at_once_makes_one_booking_the_other_refused_in_the_api_s_words(
        self, clinic_world, web_client_user
    ):
        world = clinic_world
        start = world.local(world.first_day() + timedelta(days=2), 9)
        data = {
            "service": world.session_60.pk,
            "location": world.location.pk,
            "therapist": world.therapist.pk,
            "starts_at": start.astimezone(UTC).isoformat(),
            **FORM,
        }
        calls = [lambda c=c: c.post("/book/details/", data) for c in self.clients(web_client_user)]
        first, second = run_together(calls)
        assert sorted([first.status_code, second.status_code]) == [302, 409]
        refused = first if first.status_code == 409 else second
        html = refused.content.decode()
        assert escape(ClientOverlap.default_detail) in html or escape(SlotUnavailable.default_detail) in html
        assert Booking.objects.filter(client=web_client_user).count() == 1

    def test_accept_twice_at_once_makes_one_booking_and_both_go_to_it(self, clinic_world, web_client_user):
        _, offer = waitlist_offer(clinic_world, web_client_user)
        url = f"/waitlist/offers/{offer.pk}/"
        results = run_together([lambda c=c: c.post(url, FORM) for c in self.clients(web_client_user)])
        assert [r.status_code for r in results] == [302, 302]
        assert {r["Location"] for r in results} == {f"/bookings/{offer.pk}/"}
        assert Booking.objects.filter(client=web_client_user, status=Booking.Status.CONFIRMED).count() == 1
