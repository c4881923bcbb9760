"""API clients for the tests, holding a given token."""

from knox.models import AuthToken
from rest_framework.test import APIClient


def token_for(user) -> str:
    """A new API token of `user` (as a login would make)."""
    return AuthToken.objects.create(user)[1]


def with_token(token: str) -> APIClient:
    """An API client that sends `token`."""
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Token {token}")
    return api
