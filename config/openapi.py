"""The OpenAPI schema as the API's contract: the schema class, and the error bodies every endpoint may answer.

Each operation names its own stable `operationId`, a one-line summary and
the refusals of the clinic's rules it can answer (`refusal`: a 409 whose
`code` is one of the listed ones). What an operation answers by its kind
alone is added here, by `AutoSchema`, so no view can forget it.
config/tests/test_schema.py holds every operation to this,
config/tests/test_fuzz.py checks the answers against it, and
config/tests/test_generated_client.py books through a client generated from it.
"""

import inspect
from http import HTTPStatus
from types import SimpleNamespace

from django.contrib.auth.models import AnonymousUser
from django_filters.rest_framework import DjangoFilterBackend
from drf_spectacular import openapi
from drf_spectacular.drainage import warn
from drf_spectacular.extensions import OpenApiSerializerExtension, OpenApiSerializerFieldExtension
from drf_spectacular.plumbing import force_instance
from drf_spectacular.utils import OpenApiExample, OpenApiResponse, PolymorphicProxySerializer
from rest_framework import serializers
from rest_framework.authentication import SessionAuthentication
from rest_framework.permissions import SAFE_METHODS

from clinic.errors import DomainError
from clinic.permissions import IsAdmin, IsClient, IsFrontDesk, IsTherapist, ReadAnyoneWriteFrontDesk

API_PREFIX = "/api/v1/"


class DetailSerializer(serializers.Serializer):
    """REST framework's error body: one sentence."""

    detail = serializers.CharField()


# --- 400: field errors -------------------------------------------------------------


class ValidationErrorSerializer(serializers.Serializer):
    """Invalid input (documentation only: `ValidationErrorSchema` gives its schema)."""


VALIDATION_ERROR_SCHEMA = {
    "type": "object",
    "description": "Each field that is not valid → a list of messages; a nested field's errors nest the "
    "same way (e.g. `intake` → `answers` → a field); `non_field_errors` for the body as a whole; "
    "`detail` alone when the body or a header cannot be read at all (not JSON, nested too deeply).",
    "properties": {
        "detail": {"type": "string"},
        "non_field_errors": {"type": "array", "items": {"type": "string"}},
    },
    "additionalProperties": {
        "anyOf": [
            {"type": "array", "items": {"type": "string"}, "description": "The field's messages."},
            {"type": "object", "additionalProperties": True, "description": "A nested field's errors."},
        ]
    },
    "example": {
        "starts_at": ["Give the time with a UTC offset, e.g. 2026-12-01T09:00:00-05:00 or 2026-12-01T14:00:00Z."],
        "service": ["No active service with this id. Choose one from GET /api/v1/services/."],
    },
}


class ValidationErrorSchema(OpenApiSerializerExtension):
    target_class = ValidationErrorSerializer

    def get_name(self, auto_schema, direction):
        return "ValidationError"

    def map_serializer(self, auto_schema, direction):
        return VALIDATION_ERROR_SCHEMA


# --- `{code, detail}` bodies ---------------------------------------------------------

_CODED_BODIES: dict[str, tuple] = {}
# The body's `conflicts`, where the error takes them (clinic.errors.HasFutureBookings, booking.errors.ShiftHasBookings).
CONFLICTS_HELP = "Ids of the active bookings in the way (confirmed, or held for a waitlist offer), lowest first."


def coded_error(
    name: str, codes: dict[str, tuple[str, str]], *, description: str, conflicts: str = ""
) -> OpenApiResponse:
    """A documented `{code, detail}` answer whose `code` is one of `codes` (code → (when, example detail)).

    `name` names its schema component; one component per set of codes, so a
    generated client gets one model (and one enum) for each. `conflicts`:
    "required" or "optional" when the body lists the bookings in the way.
    """
    key = (tuple(codes), conflicts)
    known = _CODED_BODIES.setdefault(name, key)
    assert known == key, f"{name} is already the component of other codes: {known}"
    lines = "\n".join(f"- `{code}`: {when}" for code, (when, _) in codes.items())
    fields = {
        "__module__": __name__,
        "__doc__": f"{description}\n\n{lines}",
        "code": serializers.ChoiceField(choices=[(code, when) for code, (when, _) in codes.items()]),
        "detail": serializers.CharField(help_text="What happened and what to do next, for a person to read."),
    }
    if conflicts:
        fields["conflicts"] = serializers.ListField(
            child=serializers.IntegerField(), required=conflicts == "required", help_text=CONFLICTS_HELP
        )
    body = type(f"{name}Serializer", (serializers.Serializer,), fields)
    examples = [
        OpenApiExample(
            code, value={"code": code, "detail": detail, **({"conflicts": [1042, 1057]} if conflicts else {})}
        )
        for code, (_, detail) in codes.items()
    ]
    return OpenApiResponse(body, description=f"{description}\n\n{lines}", examples=examples)


def _takes_conflicts(error: type[DomainError]) -> bool:
    return "conflicts" in inspect.signature(error.__init__).parameters


def refusal(name: str, reasons: dict[type[DomainError], str], *, description: str = "") -> OpenApiResponse:
    """A 409 (or an error's own status): a rule of the clinic refused the request, for one of `reasons`.

    `reasons` maps each domain error the operation can raise to when it does;
    the body's `code` is an enum of their codes, with each error's own
    sentence as an example.
    """
    with_conflicts = [_takes_conflicts(error) for error in reasons]
    conflicts = "required" if all(with_conflicts) else "optional" if any(with_conflicts) else ""
    return coded_error(
        name,
        {error.code: (when, error.default_detail) for error, when in reasons.items()},
        description=description
        or "A rule of the clinic refused the request; nothing was changed. The `code` is one of:",
        conflicts=conflicts,
    )


# --- The answers of every kind of operation ---------------------------------------------

VALIDATION_ERROR = OpenApiResponse(ValidationErrorSerializer, description="Invalid input: field → list of messages.")
UNAUTHENTICATED = OpenApiResponse(
    DetailSerializer, description="No valid credentials: no token, or one that expired or was revoked."
)
INVALID_CREDENTIALS = OpenApiResponse(
    DetailSerializer,
    description="A token was sent and is not valid (expired, revoked, or its account closed). "
    "Send none to use this as anyone.",
)
FORBIDDEN = OpenApiResponse(DetailSerializer, description="Your role may not do this.")
CSRF_FAILED = "Signed in with the session cookie, the CSRF token is missing or wrong."
NOT_FOUND = OpenApiResponse(DetailSerializer, description="No such object, or not one you may see.")
PAGE_NOT_FOUND = OpenApiResponse(DetailSerializer, description='`page` is not a page of this list ("Invalid page.").')
UNSUPPORTED_MEDIA_TYPE = OpenApiResponse(
    DetailSerializer, description="The body is not `application/json`: the API reads JSON only."
)
REQUEST_TOO_LARGE = coded_error(
    "RequestTooLarge",
    {
        "request_too_large": (
            "the declared body is over the size limit (DATA_UPLOAD_MAX_MEMORY_SIZE); nothing of it was read",
            "The request body is larger than the 262144 bytes allowed.",
        )
    },
    description="The request body is too large.",
)
THROTTLED = OpenApiResponse(
    DetailSerializer,
    description="Too many requests (per address for logins, registration and anonymous requests, per user "
    "otherwise); retry after `Retry-After` seconds.",
    examples=[
        OpenApiExample("throttled", value={"detail": "Request was throttled. Expected available in 42 seconds."})
    ],
)
SERVICE_UNAVAILABLE = coded_error(
    "ServiceUnavailable",
    {
        "service_unavailable": (
            "the database (or the shared cache) does not answer; retry after `Retry-After` seconds",
            "The service is briefly unavailable; please try again shortly.",
        )
    },
    description="The service is briefly unavailable.",
)
RETRY_AFTER = {"Retry-After": {"schema": {"type": "integer"}, "description": "Seconds to wait before trying again."}}
# Answers whose body is the same wherever they are given: an operation that
# declares one with a description only gets this body under its description.
GENERIC_BODIES = {
    "400": VALIDATION_ERROR,
    "401": UNAUTHENTICATED,
    "403": FORBIDDEN,
    "404": NOT_FOUND,
    "413": REQUEST_TOO_LARGE,
    "415": UNSUPPORTED_MEDIA_TYPE,
    "429": THROTTLED,
    "503": SERVICE_UNAVAILABLE,
}
ROLE_PERMISSIONS = (IsClient, IsTherapist, IsFrontDesk, IsAdmin)


def resource_tag(path: str) -> str:
    """The resource an API path belongs to: its first segment (`bookings`, `working-hours`, `auth`, ...).

    A therapist's own day sheet is `day-sheet`; the calendar feed and its token are `calendar`.
    """
    parts = path.removeprefix(API_PREFIX).strip("/").split("/")
    if parts[0] == "therapists" and len(parts) > 1:
        if parts[1:] == ["me", "day"]:
            return "day-sheet"
        if parts[1:] == ["me", "feed"] or parts[-1] == "calendar.ics":
            return "calendar"
    return parts[0]


class AutoSchema(openapi.AutoSchema):
    """drf-spectacular's schema, plus what an operation answers by its kind alone.

    - tags: the resource of the path (`resource_tag`);
    - security: none where anyone may call the operation (a token, if sent, is
      still read: a bad one is a 401), else the token or the session;
    - answers, each with its body:
      - 400 and 415 where the operation takes a body;
      - 400 on a list with query filters, for a filter value that is not valid;
      - 401 where a login is needed, or where a token sent is read;
      - 403 where a role permission can refuse a signed-in user, and on writes
        the session cookie may sign (CSRF);
      - 404 where the path names an object, and on a paginated list (`page` past its end);
      - 413, 429 and 503 anywhere (the body's size is checked before routing;
        every request is throttled; the database may be down).

    An operation that declares one of these keeps its own description; one
    declared without a body gets the shared body under its description.
    """

    def get_tags(self) -> list[str]:
        return [resource_tag(self.path)]

    # An operation names its own id and summary (`extend_schema`); these run only where it does not,
    # and warn, so `manage.py spectacular --fail-on-warn` (config/tests/test_schema.py) refuses it.

    def get_operation_id(self) -> str:
        warn(f"{self.method} {self.path} has no operationId: give it a stable one (extend_schema(operation_id=...)).")
        return super().get_operation_id()

    def get_summary(self) -> str | None:
        warn(f"{self.method} {self.path} has no summary: give it one line (extend_schema(summary=...)).")
        return None

    def get_auth(self) -> list[dict]:
        auth = super().get_auth()  # registers the security schemes
        return [] if self._allows_anyone() else [requirement for requirement in auth if requirement]

    def _get_response_bodies(self, direction="response"):
        responses = super()._get_response_bodies(direction)
        for code, response in self._implied_responses():
            if code not in responses:
                responses[code] = self._get_response_for_code(response, code, direction=direction)
        for code, response in list(responses.items()):
            if "content" not in response and code in GENERIC_BODIES:
                body = self._get_response_for_code(GENERIC_BODIES[code], code, direction=direction)
                responses[code] = {**body, "description": response.get("description") or body["description"]}
            elif not response.get("description"):
                response["description"] = HTTPStatus(int(code)).phrase
        for code in ("429", "503"):
            responses[code].setdefault("headers", {}).update(RETRY_AFTER)
        if "403" in responses and self._csrf_checked() and CSRF_FAILED not in responses["403"]["description"]:
            responses["403"]["description"] += f" Or: {CSRF_FAILED[0].lower()}{CSRF_FAILED[1:]}"
        return dict(sorted(responses.items()))

    def _get_request_for_media_type(self, serializer, direction="request"):
        schema, required = super()._get_request_for_media_type(serializer, direction)
        proxy = force_instance(serializer)
        if isinstance(proxy, PolymorphicProxySerializer):
            # One of several shapes: the body is required when each shape has a required field.
            shapes = [force_instance(shape) for shape in proxy.serializers]
            required = all(any(field.required for field in shape.fields.values()) for shape in shapes)
        return schema, required

    def _implied_responses(self):
        if self._takes_body():
            yield "400", VALIDATION_ERROR
            yield "415", UNSUPPORTED_MEDIA_TYPE
        if self.method == "GET" and self._is_list_view():
            if self._has_filters():
                yield "400", VALIDATION_ERROR
            if self._get_paginator() is not None:
                yield "404", PAGE_NOT_FOUND
        authenticators = self.view.get_authenticators()
        if not self._allows_anyone():
            yield "401", UNAUTHENTICATED
        elif authenticators:
            yield "401", INVALID_CREDENTIALS
        refused = self._role_refusal()
        if refused:
            yield "403", OpenApiResponse(DetailSerializer, description=refused)
        elif self._csrf_checked():
            yield "403", OpenApiResponse(DetailSerializer, description=CSRF_FAILED)
        if "{" in self.path:
            yield "404", NOT_FOUND
        yield "413", REQUEST_TOO_LARGE
        yield "429", THROTTLED
        yield "503", SERVICE_UNAVAILABLE

    def _csrf_checked(self) -> bool:
        """Whether a write may be signed by the session cookie, whose CSRF check can refuse it (403)."""
        return self.method not in SAFE_METHODS and any(
            isinstance(authenticator, SessionAuthentication) for authenticator in self.view.get_authenticators()
        )

    def _takes_body(self) -> bool:
        return self.method in ("POST", "PUT", "PATCH") and self.get_request_serializer() is not None

    def _allows_anyone(self) -> bool:
        """Whether every permission of the view lets an anonymous caller make this request."""
        anonymous = SimpleNamespace(method=self.method, user=AnonymousUser(), auth=None)
        try:
            return all(permission.has_permission(anonymous, self.view) for permission in self.view.get_permissions())
        except AttributeError:  # a permission that reads more of the request than these: not for anyone
            return False

    def _has_filters(self) -> bool:
        filter_backends = getattr(self.view, "filter_backends", None) or []
        return any(issubclass(backend, DjangoFilterBackend) for backend in filter_backends) and bool(
            getattr(self.view, "filterset_class", None) or getattr(self.view, "filterset_fields", None)
        )

    def _role_refusal(self) -> str:
        """What a role permission of the view answers a signed-in user it refuses; "" when none can."""
        for permission in self.view.get_permissions():
            if isinstance(permission, ReadAnyoneWriteFrontDesk):
                if self.method not in SAFE_METHODS:
                    return permission.message
            elif isinstance(permission, ROLE_PERMISSIONS):
                return permission.message
        return ""


class WallClockTimeField(OpenApiSerializerFieldExtension):
    """REST framework's TimeField as it really speaks: a wall-clock time without
    an offset ("09:00:00", the clinic's local time). JSON Schema's `time`
    format requires an offset, so the schema said every answer was invalid."""

    target_class = "rest_framework.fields.TimeField"
    match_subclasses = True

    def map_serializer_field(self, auto_schema, direction):
        return {
            "type": "string",
            "format": "partial-time",
            "pattern": r"^([01]\d|2[0-3]):[0-5]\d(:[0-5]\d(\.\d{1,6})?)?$",
            "example": "09:00:00",
        }
