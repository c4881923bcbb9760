"""Token authentication checks the token presented, and only that one."""

from datetime import timedelta

import pytest
from django.core.management import call_command
from django.utils import timezone
from knox.models import AuthToken
from rest_framework.test import APIClient

from clinic.tests.factories import ClientFactory


def _client_with(token: str) -> APIClient:
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Token {token}")
    return api


@pytest.mark.django_db
def test_a_valid_token_authenticates_in_one_query(django_assert_num_queries):
    user = ClientFactory()
    _, token = AuthToken.objects.create(user)
    AuthToken.objects.create(user, expiry=timedelta(seconds=-1))  # another, expired: not read per request
    with django_assert_num_queries(1):  # the token with its user
        from clinic.authentication import TokenAuthentication

        found_user, _ = TokenAuthentication().authenticate_credentials(token.encode())
    assert found_user == user
    assert _client_with(token).get("/api/v1/me/").status_code == 200


@pytest.mark.django_db
def test_an_expired_token_is_refused_and_deleted():
    user = ClientFactory()
    _, token = AuthToken.objects.create(user, expiry=timedelta(seconds=-1))
    assert _client_with(token).get("/api/v1/me/").status_code == 401
    assert not AuthToken.objects.filter(user=user).exists()


@pytest.mark.django_db
def test_a_wrong_token_is_refused():
    ClientFactory()
    assert _client_with("0" * 64).get("/api/v1/me/").status_code == 401


@pytest.mark.django_db
def test_purge_expired_tokens_keeps_live_ones():
    user = ClientFactory()
    live, _ = AuthToken.objects.create(user)
    AuthToken.objects.create(user, expiry=timedelta(seconds=-1))
    call_command("purge_expired_tokens")
    assert list(AuthToken.objects.filter(user=user)) == [live]
    assert live.expiry > timezone.now()


@pytest.mark.django_db
def test_a_therapist_comes_with_their_profile(django_assert_num_queries):
    from clinic.authentication import TokenAuthentication
    from clinic.tests.factories import TherapistFactory

    therapist = TherapistFactory()
    _, token = AuthToken.objects.create(therapist.user)
    with django_assert_num_queries(1):
        user, _ = TokenAuthentication().authenticate_credentials(token.encode())
        assert user.therapist == therapist
    client, _ = TokenAuthentication().authenticate_credentials(AuthToken.objects.create(ClientFactory())[1].encode())
    with django_assert_num_queries(0):
        assert not hasattr(client, "therapist")
