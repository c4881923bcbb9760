"""Token authentication: knox's, checking only the token presented.

knox's `_cleanup_token` reads all of the user's tokens on every request to
delete their expired ones, an extra query per request for housekeeping.
Here a request checks only the token it presents (an expired one is
refused and deleted); `manage.py purge_expired_tokens` does the rest. The
token, its user and the user's therapist profile (if any) come in one query.
(knox's AUTO_REFRESH is not used: tokens live TOKEN_TTL_HOURS from login.)
"""

import binascii
from hmac import compare_digest

from django.utils import timezone
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from knox.auth import TokenAuthentication as KnoxTokenAuthentication
from knox.crypto import hash_token
from knox.models import get_token_model
from knox.settings import CONSTANTS
from rest_framework import exceptions


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
