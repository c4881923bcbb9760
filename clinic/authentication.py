"""Token authentication: knox's, checking only the token presented.

knox's `_cleanup_token` reads all of the user's tokens on every request to
delete their expired ones, an extra query per request for housekeeping.
Here a request checks only the token it presents (an expired one is
refused and deleted); `manage.py purge_expired_tokens` does the rest. The
token, its user and the user's therapist profile (if any) come in one query.
(knox's AUTO_REFRESH is not used: tokens live TOKEN_TTL_HOURS from login.)

Both ways in, the token and the session, apply the project's rule of who
has access (clinic.permissions.user_has_access): a deactivated account, or
a therapist whose profile staff set inactive, is refused whatever it holds.
"""

import binascii
from hmac import compare_digest

from django.utils import timezone
from drf_spectacular.authentication import SessionScheme
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from knox.auth import TokenAuthentication as KnoxTokenAuthentication
from knox.crypto import hash_token
from knox.models import get_token_model
from knox.settings import CONSTANTS
from rest_framework import exceptions
from rest_framework.authentication import SessionAuthentication as DrfSessionAuthentication

from clinic.permissions import user_has_access


class TokenAuthentication(KnoxTokenAuthentication):
    def authenticate_credentials(self, token: bytes):
        """knox's lookup (by key prefix, then a constant-time digest match), with the therapist joined."""
        message = "Invalid token."
        token = token.decode("utf-8")
        candidates = get_token_model().objects.filter(token_key=token[: CONSTANTS.TOKEN_KEY_LENGTH])
        for auth_token in candidates.select_related("user", "user__therapist"):
            if self._cleanup_token(auth_token):
                continue
            try:
                digest = hash_token(token)
            except (TypeError, binascii.Error):
                raise exceptions.AuthenticationFailed(message) from None
            if compare_digest(digest, auth_token.digest):
                return self.validate_user(auth_token)
        raise exceptions.AuthenticationFailed(message)

    def _cleanup_token(self, auth_token) -> bool:
        if auth_token.expiry is not None and auth_token.expiry < timezone.now():
            auth_token.delete()
            return True
        return False

    def validate_user(self, auth_token):
        """The token's user, if they have access; else 401, and the token is deleted.

        Deactivation revokes tokens already (clinic.services, clinic.signals);
        a token that still turns up for an account without access is deleted
        rather than kept for a reactivation to revive.
        """
        if not user_has_access(auth_token.user):
            auth_token.delete()
            raise exceptions.AuthenticationFailed("User inactive or deleted.")
        return (auth_token.user, auth_token)


class SessionAuthentication(DrfSessionAuthentication):
    """REST framework's session authentication (the admin's login), with the same rule of who has access."""

    def authenticate(self, request):
        result = super().authenticate(request)
        if result is not None and not user_has_access(result[0]):
            return None
        return result


class TokenAuthenticationScheme(OpenApiAuthenticationExtension):
    """How the OpenAPI schema describes this authentication."""

    target_class = "clinic.authentication.TokenAuthentication"
    name = "tokenAuth"

    def get_security_definition(self, auto_schema):
        return {
            "type": "apiKey",
            "in": "header",
            "name": "Authorization",
            "description": 'The token from POST /api/v1/auth/token/, sent as "Token <key>".',
        }


class SessionAuthenticationScheme(SessionScheme):
    """The session cookie, described as drf-spectacular describes REST framework's own."""

    target_class = "clinic.authentication.SessionAuthentication"
