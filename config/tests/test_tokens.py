"""API tokens can be cancelled: logout, logout everywhere, and revocation whenever the password or the
account's activity changes, however it changes; a cap on live tokens per user (issue 10, finding 3)."""

from datetime import timedelta
from unittest import mock

import pytest
from django.contrib.auth.hashers import PBKDF2PasswordHasher
from django.core.management import call_command
from django.test import Client
from knox.models import AuthToken
from rest_framework.test import APIClient

from clinic.models import User
from clinic.tests.factories import PASSWORD, ClientFactory, TherapistFactory
from config.testing.api import token_for, with_token

ME = "/api/v1/me/"
LOGIN = "/api/v1/auth/token/"
LOGOUT = "/api/v1/auth/logout/"
LOGOUT_ALL = "/api/v1/auth/logout-all/"
NEW_PASSWORD = "plum-orchard-velvet-42"


pytestmark = pytest.mark.django_db


def works(token: str) -> bool:
    status = with_token(token).get(ME).status_code
    assert status in (200, 401)
    return status == 200


def login(email: str, password: str = PASSWORD):
    return APIClient().post(LOGIN, {"email": email, "password": password}, format="json")


# --- Logout ------------------------------------------------------------------------------------


class TestLogout:
    def test_logout_revokes_the_token_presented_and_only_it(self, clinic, client_user):
        # given: two devices
        phone, laptop = token_for(client_user), token_for(client_user)
        # when
        response = with_token(phone).post(LOGOUT)
        # then
        assert response.status_code == 204
        assert not works(phone)
        assert works(laptop)

    def test_logout_all_revokes_every_token_of_the_user(self, clinic, client_user, other_client_user):
        phone, laptop = token_for(client_user), token_for(client_user)
        someone_else = token_for(other_client_user)
        assert with_token(phone).post(LOGOUT_ALL).status_code == 204
        assert not works(phone)
        assert not works(laptop)
        assert not AuthToken.objects.filter(user=client_user).exists()
        assert works(someone_else)

    @pytest.mark.parametrize("path", [LOGOUT, LOGOUT_ALL])
    def test_anonymous_gets_401(self, api, clinic, path):
        assert api.post(path).status_code == 401

    @pytest.mark.parametrize("path", [LOGOUT, LOGOUT_ALL])
    def test_a_revoked_token_cannot_log_out_again(self, clinic, client_user, path):
        token = token_for(client_user)
        assert with_token(token).post(path).status_code == 204
        assert with_token(token).post(path).status_code == 401

    def test_a_session_logout_ends_the_session(self, clinic, client_user):
        web = APIClient()
        web.force_login(client_user)
        token = token_for(client_user)
        assert web.post(LOGOUT_ALL).status_code == 204
        assert web.get(ME).status_code == 401
        assert not works(token)


# --- Revocation on a password change -------------------------------------------------------------


class TestPasswordChange:
    def test_set_password_and_save_revokes_every_token(self, clinic, client_user):
        token = token_for(client_user)
        # when
        client_user.set_password(NEW_PASSWORD)
        client_user.save()
        # then
        assert not works(token)

    def test_a_password_saved_with_update_fields_revokes_too(self, clinic, client_user):
        token = token_for(client_user)
        client_user.set_password(NEW_PASSWORD)
        client_user.save(update_fields=["password"])
        assert not works(token)

    def test_the_admin_password_form_revokes_every_token(self, clinic, client_user, admin_user):
        token = token_for(client_user)
        admins_token = token_for(admin_user)
        browser = Client()
        browser.force_login(admin_user)
        # when
        response = browser.post(
            f"/admin/clinic/user/{client_user.pk}/password/",
            {"password1": NEW_PASSWORD, "password2": NEW_PASSWORD, "usable_password": "true"},
        )
        # then
        assert response.status_code == 302
        assert User.objects.get(pk=client_user.pk).check_password(NEW_PASSWORD)
        assert not works(token)
        assert works(admins_token)

    def test_manage_py_changepassword_revokes_every_token(self, clinic, client_user):
        token = token_for(client_user)
        with mock.patch("getpass.getpass", return_value=NEW_PASSWORD):
            call_command("changepassword", client_user.email, stdout=mock.Mock())
        assert User.objects.get(pk=client_user.pk).check_password(NEW_PASSWORD)
        assert not works(token)

    def test_an_unusable_password_revokes_every_token(self, clinic, client_user):
        token = token_for(client_user)
        client_user.set_unusable_password()
        client_user.save()
        assert not works(token)

    def test_logging_in_keeps_the_other_devices(self, clinic, client_user):
        # Login saves last_login (and may re-hash the password): no password change.
        token = token_for(client_user)
        assert login(client_user.email).status_code == 200
        assert works(token)

    def test_a_password_hash_upgraded_at_login_is_no_change(self, clinic, client_user, settings):
        # given: the clinic moves to a stronger hasher; Django re-hashes the password at the next login
        token = token_for(client_user)
        settings.PASSWORD_HASHERS = [
            "config.tests.test_tokens.FastPBKDF2PasswordHasher",
            "django.contrib.auth.hashers.MD5PasswordHasher",
        ]
        old_hash = User.objects.get(pk=client_user.pk).password
        # when
        assert login(client_user.email).status_code == 200
        # then: the same password, stored anew, and the other devices kept
        assert User.objects.get(pk=client_user.pk).password != old_hash
        assert works(token)

    def test_saving_other_fields_keeps_the_tokens(self, clinic, client_user):
        token = token_for(client_user)
        client_user.first_name = "Dana"
        client_user.save()
        assert works(token)


class FastPBKDF2PasswordHasher(PBKDF2PasswordHasher):
    """A hasher of another algorithm name, so that a hash made with MD5 is upgraded at login."""

    algorithm = "pbkdf2_fast"
    iterations = 1


# --- Revocation on deactivation and deletion ----------------------------------------------------


class TestDeactivation:
    def test_deactivating_revokes_and_reactivating_revives_nothing(self, clinic, client_user):
        token = token_for(client_user)
        # when
        client_user.is_active = False
        client_user.save()
        assert not AuthToken.objects.filter(user=client_user).exists()
        client_user.is_active = True
        client_user.save()
        # then
        assert not works(token)

    def test_the_admin_deactivating_an_account_revokes_its_tokens(self, clinic, client_user, admin_user):
        token = token_for(client_user)
        browser = Client()
        browser.force_login(admin_user)
        response = browser.post(
            f"/admin/clinic/user/{client_user.pk}/change/",
            {
                "email": client_user.email,
                "role": client_user.role,
                "first_name": client_user.first_name,
                "last_name": client_user.last_name,
                "phone": "",
                "date_joined_0": "2026-01-01",
                "date_joined_1": "10:00:00",
                # is_active unticked
            },
        )
        assert response.status_code == 302
        assert not User.objects.get(pk=client_user.pk).is_active
        assert not AuthToken.objects.filter(user=client_user).exists()
        assert not works(token)

    def test_deleting_an_account_deletes_its_tokens(self, clinic):
        user = ClientFactory()
        token = token_for(user)
        user.delete()
        assert not AuthToken.objects.exists()
        assert not works(token)


# --- Tokens per user ---------------------------------------------------------------------------


class TestTokenCap:
    def test_a_login_beyond_the_cap_revokes_the_oldest(self, clinic, client_user, settings):
        settings.MAX_TOKENS_PER_USER = 3
        tokens = [login(client_user.email).json()["token"] for _ in range(4)]
        assert AuthToken.objects.filter(user=client_user).count() == 3
        assert [works(t) for t in tokens] == [False, True, True, True]

    def test_expired_tokens_do_not_count_and_go(self, clinic, client_user, settings):
        settings.MAX_TOKENS_PER_USER = 2
        live = token_for(client_user)
        AuthToken.objects.create(client_user, expiry=timedelta(seconds=-1))
        fresh = login(client_user.email).json()["token"]
        assert works(live)
        assert works(fresh)
        assert AuthToken.objects.filter(user=client_user).count() == 2

    def test_other_users_tokens_are_not_counted(self, clinic, client_user, other_client_user, settings):
        settings.MAX_TOKENS_PER_USER = 1
        theirs = token_for(other_client_user)
        assert login(client_user.email).status_code == 200
        assert works(theirs)

    def test_registration_gives_a_token_under_the_cap(self, api, clinic, settings):
        settings.MAX_TOKENS_PER_USER = 1
        response = api.post(
            "/api/v1/auth/register/",
            {"email": "new@example.com", "password": NEW_PASSWORD, "first_name": "N", "last_name": "U"},
            format="json",
        )
        assert response.status_code == 201
        assert works(response.json()["token"])

    def test_the_default_cap_is_ten(self):
        from config import settings

        assert settings.MAX_TOKENS_PER_USER == 10


def test_a_therapist_logging_out_keeps_their_calendar_feed(clinic):
    # The feed has its own token (POST therapists/me/feed/ replaces it); logging out is about API tokens.
    therapist = TherapistFactory()
    token = token_for(therapist.user)
    assert with_token(token).post(LOGOUT_ALL).status_code == 204
    feed = APIClient().get(f"/api/v1/therapists/{therapist.pk}/calendar.ics?token={therapist.feed_token}")
    assert feed.status_code == 200
