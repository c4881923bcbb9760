"""An inactive account, or a therapist whose profile staff set inactive, loses everything at once:
its API tokens, its calendar feed, the day sheet and the intakes (issue 10, finding 2)."""

from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone
from knox.models import AuthToken
from rest_framework.test import APIClient

from booking.models import Booking
from booking.tests.factories import BookingFactory, ShiftFactory
from clinic.errors import HasFutureBookings
from clinic.models import Therapist
from clinic.services import therapist_update
from clinic.tests.factories import PASSWORD, LocationFactory, ServiceFactory, TherapistFactory
from config.testing.api import token_for, with_token
from intake.models import IntakeAccess

DAY_SHEET = "/api/v1/therapists/me/day/"
FEED_TOKEN = "/api/v1/therapists/me/feed/"


pytestmark = pytest.mark.django_db


def feed_url(therapist: Therapist) -> str:
    return f"/api/v1/therapists/{therapist.pk}/calendar.ics?token={therapist.feed_token}"


def day_sheet_url() -> str:
    return f"{DAY_SHEET}?date={timezone.localdate().isoformat()}"


def session_of(therapist: Therapist, days: int) -> Booking:
    """A confirmed session of a service with `therapist` at their location, `days` from now in their
    shift (on the hour), its intake awaiting review."""
    place = therapist.locations.first() or LocationFactory()
    therapist.locations.add(place)
    starts_at = (timezone.now() + timedelta(days=days)).replace(minute=0, second=0, microsecond=0)
    shift = ShiftFactory(therapist=therapist, location=place, starts_at=starts_at)
    return BookingFactory(
        therapist=therapist,
        location=place,
        service=ServiceFactory(),
        starts_at=shift.starts_at,
        intake__needs_review=True,
    )


@pytest.fixture
def booked(clinic, therapist):
    """A session of `therapist`'s three days ago, not yet closed: its client's name and intake are
    theirs to read until they are deactivated. (In the past: v2 refuses to deactivate a
    therapist with active future bookings, see TestUpcomingBookings.)"""
    return session_of(therapist, days=-3)


def intake_url(booking) -> str:
    return f"/api/v1/bookings/{booking.pk}/intake/"


def deactivate_user(therapist: Therapist) -> None:
    therapist.user.is_active = False
    therapist.user.save()


def deactivate_profile_by_staff(therapist: Therapist, staff_user) -> None:
    response = with_token(token_for(staff_user)).patch(
        f"/api/v1/therapists/{therapist.pk}/", {"active": False}, format="json"
    )
    assert response.status_code == 200


def save_profile_inactive(therapist: Therapist) -> None:
    """As any code path that saves the profile would (the admin, the shell), not through the service."""
    profile = Therapist.objects.get(pk=therapist.pk)
    profile.active = False
    profile.save()


# --- The calendar feed -------------------------------------------------------------------------


class TestFeed:
    def test_an_active_therapists_feed_answers(self, booked, therapist):
        response = APIClient().get(feed_url(therapist))
        assert response.status_code == 200
        assert booked.client.last_name.encode() in response.content

    def test_a_deactivated_users_feed_is_404(self, booked, therapist):
        deactivate_user(therapist)
        response = APIClient().get(feed_url(therapist))
        assert response.status_code == 404
        assert booked.client.last_name.encode() not in response.content

    def test_an_inactive_therapists_feed_is_404(self, booked, therapist, staff_user):
        deactivate_profile_by_staff(therapist, staff_user)
        assert APIClient().get(feed_url(therapist)).status_code == 404

    def test_reactivated_the_feed_answers_again(self, booked, therapist):
        therapist_update(therapist=therapist, active=False)
        therapist_update(therapist=therapist, active=True)
        assert APIClient().get(feed_url(therapist)).status_code == 200


# --- Tokens, the day sheet, intakes ------------------------------------------------------------


@pytest.mark.parametrize(
    "deactivate",
    [
        pytest.param(lambda therapist, staff: deactivate_user(therapist), id="user-deactivated"),
        pytest.param(deactivate_profile_by_staff, id="profile-set-inactive-by-staff"),
        pytest.param(lambda therapist, staff: therapist_update(therapist=therapist, active=False), id="service"),
        pytest.param(lambda therapist, staff: save_profile_inactive(therapist), id="profile-saved-inactive"),
    ],
)
class TestInactiveTherapistLosesEverything:
    def test_their_tokens_are_revoked(self, booked, therapist, staff_user, deactivate):
        token = token_for(therapist.user)
        deactivate(therapist, staff_user)
        assert not AuthToken.objects.filter(user=therapist.user).exists()
        assert with_token(token).get(day_sheet_url()).status_code == 401
        assert with_token(token).get(intake_url(booked)).status_code == 401

    def test_a_fresh_token_opens_nothing(self, booked, therapist, staff_user, deactivate):
        deactivate(therapist, staff_user)
        token = token_for(therapist.user)  # made behind the login's back
        api = with_token(token)
        for response in (api.get(day_sheet_url()), api.get(intake_url(booked)), api.get(FEED_TOKEN)):
            assert response.status_code == 401
            assert booked.client.last_name not in response.content.decode()
        assert api.post(FEED_TOKEN).status_code == 401
        assert not IntakeAccess.objects.filter(outcome=IntakeAccess.Outcome.ALLOWED).exists()

    def test_they_cannot_log_in(self, booked, therapist, staff_user, deactivate):
        deactivate(therapist, staff_user)
        response = APIClient().post(
            "/api/v1/auth/token/", {"email": therapist.user.email, "password": PASSWORD}, format="json"
        )
        assert response.status_code == 400
        assert not AuthToken.objects.filter(user=therapist.user).exists()

    def test_a_session_opens_nothing_either(self, booked, therapist, staff_user, deactivate):
        deactivate(therapist, staff_user)
        web = Client()
        web.force_login(therapist.user)
        assert web.get(day_sheet_url()).status_code in (401, 403)
        assert web.get(intake_url(booked)).status_code in (401, 403)
        assert web.get(FEED_TOKEN).status_code in (401, 403)


# --- A therapist with upcoming sessions ------------------------------------------------------------


class TestUpcomingBookings:
    """v2 refuses to deactivate a therapist whose active future bookings would be stranded
    (docs/api.md: 409 `has_future_bookings`); a refusal changes nothing, tokens included."""

    @pytest.fixture
    def upcoming(self, booked, therapist):
        return session_of(therapist, days=3)

    def test_staff_are_refused_and_the_therapist_keeps_their_access(self, upcoming, therapist, staff_user):
        token = token_for(therapist.user)
        response = with_token(token_for(staff_user)).patch(
            f"/api/v1/therapists/{therapist.pk}/", {"active": False}, format="json"
        )
        assert response.status_code == 409
        assert response.json()["code"] == "has_future_bookings"
        assert response.json()["conflicts"] == [upcoming.pk]
        assert Therapist.objects.get(pk=therapist.pk).active
        assert with_token(token).get(day_sheet_url()).status_code == 200
        assert with_token(token).get(intake_url(upcoming)).status_code == 200
        assert APIClient().get(feed_url(therapist)).status_code == 200

    def test_the_service_refuses_and_revokes_nothing(self, upcoming, therapist):
        token = token_for(therapist.user)
        with pytest.raises(HasFutureBookings):
            therapist_update(therapist=therapist, active=False)
        assert AuthToken.objects.filter(user=therapist.user).exists()
        assert with_token(token).get(intake_url(upcoming)).status_code == 200

    @pytest.mark.parametrize(
        "deactivate",
        [
            pytest.param(deactivate_user, id="user-deactivated"),
            pytest.param(save_profile_inactive, id="profile-saved-inactive"),
        ],
    )
    def test_deactivated_around_the_service_they_lose_everything_all_the_same(self, upcoming, therapist, deactivate):
        token = token_for(therapist.user)
        deactivate(therapist)
        assert not AuthToken.objects.filter(user=therapist.user).exists()
        assert with_token(token).get(intake_url(upcoming)).status_code == 401
        assert with_token(token_for(therapist.user)).get(intake_url(upcoming)).status_code == 401
        response = APIClient().get(feed_url(therapist))
        assert response.status_code == 404
        assert upcoming.client.last_name.encode() not in response.content


def test_reactivating_a_therapist_revives_no_old_token(booked, therapist):
    token = token_for(therapist.user)
    therapist_update(therapist=therapist, active=False)
    therapist_update(therapist=therapist, active=True)
    assert with_token(token).get(day_sheet_url()).status_code == 401
    fresh = token_for(therapist.user)
    assert with_token(fresh).get(day_sheet_url()).status_code == 200


def test_other_therapists_keep_their_access(booked, therapist, other_therapist):
    theirs = token_for(other_therapist.user)
    therapist_update(therapist=therapist, active=False)
    assert with_token(theirs).get(day_sheet_url()).status_code == 200


def test_an_active_therapist_still_reads_day_sheet_and_intake(booked, therapist):
    api = with_token(token_for(therapist.user))
    assert api.get(day_sheet_url()).status_code == 200
    assert api.get(intake_url(booked)).status_code == 200


def test_a_therapist_profile_set_inactive_in_the_admin_loses_its_tokens(clinic, admin_user):
    therapist = TherapistFactory()
    token = token_for(therapist.user)
    browser = Client()
    browser.force_login(admin_user)
    response = browser.post(
        f"/admin/clinic/therapist/{therapist.pk}/change/",
        {"user": therapist.user.pk, "bio": therapist.bio, "gives_therapeutic": "on", "gives_deep_tissue": "on"},
    )
    assert response.status_code == 302, response.context["adminform"].form.errors
    assert not Therapist.objects.get(pk=therapist.pk).active
    assert with_token(token).get(day_sheet_url()).status_code == 401
