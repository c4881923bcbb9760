"""Token authentication: knox's, checking only the token presented.

knox's `_cleanup_token` reads all of the user's tokens on every request to
delete their expired ones, an extra query per request for housekeeping.
Here a request checks only the token it presents (an expired one is
refused and deleted); `manage.py purge_expired_tokens` does the rest.
"""

from django.utils import timezone
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from knox.auth import TokenAuthentication as KnoxTokenAuthentication


class TokenAuthentication(KnoxTokenAuthentication):
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
