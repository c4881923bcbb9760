"""The client's pages over HTTP (Django's test client): the API's rules and words, audit rows, bad input.

The clock stands at the booking tests' NOW (Tuesday 1 December 2026, 10:00
in New York); `clinic_world`'s therapists work 08:00-20:00 there for ten days.
"""

from datetime import UTC, timedelta

import pytest
from django.core.exceptions import ValidationError
from django.test import Client
from django.utils.html import escape
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from booking.errors import IntakeLocked, SlotUnavailable, TherapistNotQualified
from booking.models import Booking
from booking.services import booking_create
from booking.tests.helpers import frozen
from clinic.api.serializers import LoginLocked, TokenRequestSerializer
from clinic.models import Role, User
from clinic.services import EMAIL_TAKEN
from clinic.tests.factories import PASSWORD, ClientFactory, StaffFactory
from intake.form import validate_answers
from intake.models import IntakeAccess
from web.tests.conftest import DEEP_ANSWERS

THERAPEUTIC = {"pressure_preference": "medium", "primary_goal": "relaxation", "consent": "true"}


@pytest.fixture(autouse=True)
def _clock():
    with frozen():
        yield


def api_message(answers: dict, field: str) -> str:
    """What the API answers for these answers' `field` (intake.form.validate_answers), word for word."""
    with pytest.raises(ValidationError) as refused:
        validate_answers(answers)
    return refused.value.message_dict[field][0]


def utc(moment) -> str:
    """A start as the pages send it back: ISO 8601 in UTC."""
    return moment.astimezone(UTC).isoformat()


def place(world, start, therapist=None, service=None) -> dict:
    data = {"service": (service or world.session_90).pk, "location": world.location.pk, "starts_at": start.isoformat()}
    if therapist is not None:
        data["therapist"] = therapist.pk
    return data


def booked(world, client_user, start, *, therapist=None, answers=None, service=None) -> Booking:
    return booking_create(
        client=client_user,
        service_id=(service or world.session_60).pk,
        starts_at=start,
        therapist_id=therapist.pk if therapist else None,
        location_id=world.location.pk,
        answers=answers or {"pressure_preference": "medium", "primary_goal": "relaxation", "consent": True},
        booked_by=client_user,
    )


@pytest.fixture
def signed_in(client, web_client_user):
    client.force_login(web_client_user)
    return client


# --- Logging in, registering, logging out ------------------------------------------------------


class TestAccounts:
    def test_wrong_credentials_are_refused_in_the_api_s_words(self, client, web_client_user):
        response = client.post("/login/", {"email": web_client_user.email, "password": "wrong"})
        assert response.status_code == 400
        assert TokenRequestSerializer.BAD_CREDENTIALS in response.content.decode()
        assert "_auth_user_id" not in client.session

    def test_a_login_opens_a_session_and_goes_back_where_it_was_asked(self, client, web_client_user):
        response = client.post("/login/?next=/bookings/", {"email": "ROSA@example.com", "password": PASSWORD})
        assert (response.status_code, response.url) == (302, "/bookings/")
        assert client.session["_auth_user_id"] == str(web_client_user.pk)

    def test_a_therapist_goes_to_their_day(self, client, clinic_world):
        response = client.post("/login/", {"email": clinic_world.therapist.user.email, "password": PASSWORD})
        assert (response.status_code, response.url) == (302, "/therapist/")

    def test_a_next_address_off_the_site_is_not_followed(self, client, web_client_user):
        response = client.post(
            "/login/", {"email": web_client_user.email, "password": PASSWORD, "next": "https://evil.example.com/"}
        )
        assert response.url == "/"

    def test_the_lockout_counts_page_logins_and_answers_in_the_api_s_words(self, client, web_client_user):
        for _ in range(4):
            assert client.post("/login/", {"email": web_client_user.email, "password": "wrong"}).status_code == 400
        fifth = client.post("/login/", {"email": web_client_user.email, "password": "wrong"})
        response = client.post("/login/", {"email": web_client_user.email, "password": PASSWORD})
        assert fifth.status_code == 429
        assert response.status_code == 429
        assert escape(str(LoginLocked().detail)) in response.content.decode()
        assert "_auth_user_id" not in client.session

    def test_registration_errors_stand_beside_their_fields(self, client, web_client_user):
        response = client.post(
            "/register/", {"first_name": "", "last_name": "Diaz", "email": "ana@example.com", "password": "123"}
        )
        assert response.status_code == 400
        html = response.content.decode()
        assert '<p class="error" id="id_first_name_error">This field may not be blank.</p>' in html
        assert 'aria-describedby="id_first_name_error"' in html
        assert 'aria-invalid="true"' in html
        # then the service's checks, as in the API: Django's password validators, a taken email
        weak = client.post(
            "/register/", {"first_name": "Ana", "last_name": "Diaz", "email": "ana@example.com", "password": "123"}
        )
        assert weak.status_code == 400
        assert "This password is too short." in weak.content.decode()
        taken = client.post(
            "/register/",
            {"first_name": "Rosa", "last_name": "Diaz", "email": "ROSA@example.com", "password": "wild-lavender-42"},
        )
        assert taken.status_code == 400
        assert f'<p class="error" id="id_email_error">{EMAIL_TAKEN}</p>' in taken.content.decode()
        assert User.objects.count() == 1

    def test_a_new_client_is_registered_and_signed_in(self, client, db):
        response = client.post(
            "/register/",
            {
                "first_name": "Ana",
                "last_name": "Silva",
                "email": "ana@example.com",
                "password": "wild-lavender-river-42",
            },
        )
        assert (response.status_code, response.url) == (302, "/book/")
        user = User.objects.get(email="ana@example.com")
        assert user.role == Role.CLIENT
        assert client.session["_auth_user_id"] == str(user.pk)

    def test_logging_out_is_a_post(self, signed_in):
        assert signed_in.get("/logout/").status_code == 405
        assert signed_in.post("/logout/").status_code == 302
        assert "_auth_user_id" not in signed_in.session


class TestWhoMayOpenThePages:
    def test_a_visitor_is_asked_to_log_in_first(self, client, db):
        response = client.get("/bookings/")
        assert (response.status_code, response.url) == (302, "/login/?next=/bookings/")

    @pytest.mark.parametrize(
        "factory", [StaffFactory, lambda: User.objects.create_user("t@example.com", role=Role.THERAPIST)]
    )
    def test_other_roles_get_a_page_that_says_whose_pages_these_are(self, client, db, factory):
        client.force_login(factory())
        response = client.get("/book/")
        assert response.status_code == 403
        assert "These pages are for clients" in response.content.decode()

    def test_another_client_s_booking_is_not_found(self, client, clinic_world, web_client_user):
        theirs = booked(
            clinic_world, ClientFactory(), clinic_world.local(clinic_world.first_day() + timedelta(days=3), 9)
        )
        client.force_login(web_client_user)
        for path in ("", "intake/", "cancel/", "reschedule/", "access-log/"):
            assert client.get(f"/bookings/{theirs.pk}/{path}").status_code == 404
        assert client.post(f"/bookings/{theirs.pk}/cancel/").status_code == 404
        # the attempt on their intake is logged as refused, as the API logs it; nothing was read
        attempts = IntakeAccess.objects.filter(accessed_by=web_client_user)
        assert [(a.booking_id, a.outcome, a.channel) for a in attempts] == [(theirs.pk, "denied", "web")]

    def test_every_page_carries_the_page_policy(self, client, db):
        policy = client.get("/")["Content-Security-Policy"]
        assert "script-src 'self'" in policy
        assert "style-src 'self'" in policy
        assert "unsafe-inline" not in policy


@pytest.mark.parametrize(
    ("path", "data"),
    [
        ("/login/", {"email": "a@example.com", "password": "x"}),
        ("/register/", {"email": "a@example.com"}),
        ("/logout/", {}),
        ("/intake/assess/", {}),
        ("/book/details/", {}),
    ],
)
def test_every_form_needs_its_csrf_token(db, web_client_user, path, data):
    client = Client(enforce_csrf_checks=True)
    client.force_login(web_client_user)
    assert client.post(path, data).status_code == 403


# --- Booking ---------------------------------------------------------------------------------------


class TestBooking:
    def test_the_week_lists_offered_times_in_the_location_s_time(self, signed_in, clinic_world):
        world = clinic_world
        response = signed_in.get("/book/times/", {"service": world.session_90.pk, "location": world.location.pk})
        html = response.content.decode()
        assert response.status_code == 200
        assert "Tuesday 1 December" in html
        # 10:00 now + 2 hours' notice: today from noon
        assert "starts_at=2026-12-01T17%3A00%3A00%2B00%3A00" in html
        assert "starts_at=2026-12-01T16%3A45%3A00%2B00%3A00" not in html
        assert ">18:30<" in html
        assert ">18:45<" not in html

    def test_htmx_reloads_only_the_week(self, signed_in, clinic_world):
        world = clinic_world
        response = signed_in.get(
            "/book/times/",
            {"service": world.session_90.pk, "location": world.location.pk, "therapist": world.therapist.pk},
            HTTP_HX_REQUEST="true",
        )
        html = response.content.decode()
        assert html.lstrip().startswith('<div id="week">')
        assert f"therapist={world.therapist.pk}" in html

    def test_invalid_answers_stand_beside_their_questions_in_the_api_s_words(self, signed_in, clinic_world):
        world = clinic_world
        start = world.local(world.first_day() + timedelta(days=2), 9)
        posted = {
            **place(world, start),
            "primary_goal": "relaxation",
            "focus_areas": ["neck"],
            "avoid_areas": ["neck"],
            "medications": "x" * 501,
        }
        response = signed_in.post("/book/details/", posted)
        html = response.content.decode()
        assert response.status_code == 400
        answers = {
            "primary_goal": "relaxation",
            "focus_areas": ["neck"],
            "avoid_areas": ["neck"],
            "medications": "x" * 501,
        }
        for field in ("pressure_preference", "avoid_areas", "medications", "consent"):
            message = api_message({**answers, "consent": False}, field)
            assert f'id="q-{field}-error">{message}</p>' in html.replace("&#x27;", "'"), field
        assert 'aria-describedby="q-pressure_preference-error" aria-invalid="true"' in html
        assert not Booking.objects.exists()
        # what was given is still there
        assert 'id="q-focus_areas-neck" value="neck" checked' in html

    def test_a_time_taken_meanwhile_shows_the_refusal_and_the_times_free_now(self, signed_in, clinic_world):
        world = clinic_world
        start = world.local(world.first_day() + timedelta(days=2), 9)
        page = signed_in.get("/book/details/", place(world, start, world.therapist))
        assert page.status_code == 200
        # meanwhile someone else books that time with that therapist
        booked(world, ClientFactory(), start, therapist=world.therapist, service=world.session_90)
        response = signed_in.post("/book/details/", {**place(world, start, world.therapist), **THERAPEUTIC})
        html = response.content.decode()
        assert response.status_code == 409
        assert escape(SlotUnavailable.default_detail) in html
        assert 'name="starts_at"' in html
        assert 'type="radio"' in html
        assert f'value="{utc(start)}"' not in html
        assert f'value="{utc(start + timedelta(hours=2))}"' in html  # after the 90 min and 15 min buffer
        # choosing a fresh time books it
        later = start + timedelta(hours=2)
        response = signed_in.post("/book/details/", {**place(world, later, world.therapist), **THERAPEUTIC})
        assert response.status_code == 302

    def test_deep_tissue_with_a_therapist_who_does_not_give_it_is_refused_with_times_of_those_who_do(
        self, signed_in, clinic_world
    ):
        world = clinic_world
        start = world.local(world.first_day() + timedelta(days=2), 9)
        answers = {**DEEP_ANSWERS, "consent": "true"}
        response = signed_in.post("/book/details/", {**place(world, start, world.therapeutic_only), **answers})
        assert response.status_code == 409
        assert escape(TherapistNotQualified.default_detail) in response.content.decode()
        assert f'value="{utc(start)}"' in response.content.decode()  # Maya gives it then
        assert f'name="therapist" value="{world.therapeutic_only.pk}"' not in response.content.decode()

    def test_a_booking_is_made_and_confirmed(self, signed_in, clinic_world, web_client_user):
        world = clinic_world
        start = world.local(world.first_day() + timedelta(days=2), 9)
        response = signed_in.post("/book/details/", {**place(world, start), **THERAPEUTIC}, follow=True)
        booking = Booking.objects.get(client=web_client_user)
        assert response.redirect_chain == [(f"/bookings/{booking.pk}/", 302)]
        html = response.content.decode()
        assert "You are booked" in html
        assert "Thursday 3 December, 09:00 to 10:30 (America/New_York)" in html
        assert "135.00 USD" in html
        assert booking.starts_at == start
        assert booking.service == world.session_90

    def test_the_suggestion_fragment_follows_the_answers(self, client, db):
        deep = client.post("/intake/assess/", {"pressure_preference": "deep", "primary_goal": "pain_relief"})
        assert "Deep tissue massage" in deep.content.decode()
        light = client.post("/intake/assess/", {"pressure_preference": "light", "primary_goal": "pain_relief"})
        assert "Therapeutic massage" in light.content.decode()
        assert "Client asked for light pressure" in light.content.decode()
        missing = client.post("/intake/assess/", {"pressure_preference": "light"})
        assert "Answer Main goal of the session to see" in missing.content.decode()


# --- My bookings ---------------------------------------------------------------------------------------


class TestMyBookings:
    def test_cancelling_inside_the_window_is_refused_in_the_service_s_words(
        self, signed_in, clinic_world, web_client_user
    ):
        world = clinic_world
        soon = booked(world, web_client_user, world.local(world.first_day() + timedelta(days=1), 9))
        response = signed_in.post(f"/bookings/{soon.pk}/cancel/", {"reason": "Flu"})
        assert response.status_code == 409
        assert "Bookings can be changed online up to 24 hours before they start." in response.content.decode()
        soon.refresh_from_db()
        assert soon.status == Booking.Status.CONFIRMED

    def test_a_booking_is_cancelled_and_a_long_reason_refused_first(self, signed_in, clinic_world, web_client_user):
        world = clinic_world
        later = booked(world, web_client_user, world.local(world.first_day() + timedelta(days=4), 9))
        too_long = signed_in.post(f"/bookings/{later.pk}/cancel/", {"reason": "x" * 501})
        assert too_long.status_code == 400
        assert "Ensure this field has no more than 500 characters." in too_long.content.decode()  # DRF's words
        done = signed_in.post(f"/bookings/{later.pk}/cancel/", {"reason": "Flu"})
        assert done.status_code == 302
        later.refresh_from_db()
        assert (later.status, later.cancel_reason) == (Booking.Status.CANCELLED, "Flu")

    def test_a_booking_moves_and_a_taken_time_is_refused_with_fresh_times(
        self, signed_in, clinic_world, web_client_user
    ):
        world = clinic_world
        day = world.first_day() + timedelta(days=4)
        mine = booked(world, web_client_user, world.local(day, 9), therapist=world.therapist)
        taken = world.local(day, 14)
        booked(world, ClientFactory(), taken, therapist=world.therapist)
        refused = signed_in.post(
            f"/bookings/{mine.pk}/reschedule/confirm/",
            {"starts_at": taken.isoformat(), "therapist": world.therapist.pk},
        )
        assert refused.status_code == 409
        assert escape(SlotUnavailable.default_detail) in refused.content.decode()
        assert f'value="{utc(world.local(day, 15, 15))}"' in refused.content.decode()
        moved = signed_in.post(
            f"/bookings/{mine.pk}/reschedule/confirm/", {"starts_at": world.local(day, 16).isoformat()}
        )
        assert moved.status_code == 302
        mine.refresh_from_db()
        assert mine.starts_at == world.local(day, 16)

    def test_reading_the_intake_is_audited_and_changing_it_uses_the_form_s_rules(
        self, signed_in, clinic_world, web_client_user
    ):
        world = clinic_world
        mine = booked(world, web_client_user, world.local(world.first_day() + timedelta(days=4), 9))
        page = signed_in.get(f"/bookings/{mine.pk}/intake/")
        assert page.status_code == 200
        row = IntakeAccess.objects.get(booking_id=mine.pk)
        assert (row.accessed_by, row.channel, row.outcome, row.kind) == (web_client_user, "web", "allowed", "intake")
        invalid = signed_in.post(f"/bookings/{mine.pk}/intake/", {"primary_goal": "nonsense", "consent": "true"})
        assert invalid.status_code == 400
        assert (
            api_message(
                {"pressure_preference": "medium", "primary_goal": "nonsense", "consent": True}, "primary_goal"
            ).replace("'", "&#x27;")
            in invalid.content.decode()
        )
        saved = signed_in.post(f"/bookings/{mine.pk}/intake/", {**THERAPEUTIC, "pressure_preference": "deep"})
        assert saved.status_code == 302
        mine.refresh_from_db()
        assert mine.intake.answers["pressure_preference"] == "deep"
        # the client sees who read it
        log = signed_in.get(f"/bookings/{mine.pk}/access-log/").content.decode()
        assert "<td>You</td>" in log

    def test_after_the_start_the_intake_is_shown_but_locked(self, signed_in, clinic_world, web_client_user):
        world = clinic_world
        mine = booked(world, web_client_user, world.local(world.first_day(), 13))
        with frozen(world.local(world.first_day(), 13, 5)):
            page = signed_in.get(f"/bookings/{mine.pk}/intake/")
            post = signed_in.post(f"/bookings/{mine.pk}/intake/", THERAPEUTIC)
        assert escape(IntakeLocked.default_detail) in page.content.decode()
        assert "<form" not in page.content.decode().split("<main", 1)[1].split("</main>")[0]
        assert post.status_code == 409


# --- No input makes a 500 ------------------------------------------------------------------------------


NASTY = st.one_of(
    st.text(alphabet=st.characters(exclude_categories=("Cs",)), max_size=80),
    st.sampled_from(
        [
            "",
            "0",
            "-1",
            "99999999999999999999",
            "1e9",
            "any",
            "2026-02-30",
            "0001-01-01T00:00:00+14:00",
            "9999-12-31T23:59:59-12:00",
            "2026-12-03T09:00:00",
            "\x00",
            "%00",
            "[]",
            "{}",
        ]
    ),
)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(service=NASTY, location=NASTY, therapist=NASTY, week=NASTY, starts_at=NASTY, answer=NASTY)
def test_no_query_or_form_value_makes_a_server_error(
    signed_in, clinic_world, service, location, therapist, week, starts_at, answer
):
    world = clinic_world
    query = {"service": service, "location": location, "therapist": therapist, "week": week, "starts_at": starts_at}
    for params in (query, {**query, "service": world.session_90.pk, "location": world.location.pk}):
        for path in ("/book/", "/book/times/", "/book/details/"):
            assert signed_in.get(path, params).status_code < 500, (path, params)
        form = {**params, "pressure_preference": answer, "conditions": [answer], "notes": answer, "consent": answer}
        assert signed_in.post("/book/details/", form).status_code < 500, form
        assert signed_in.post("/intake/assess/", form).status_code < 500, form
    assert signed_in.get("/bookings/99999999999999999999/").status_code == 404
