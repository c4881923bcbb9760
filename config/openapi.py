"""Shared pieces of the OpenAPI schema: the error bodies every endpoint may answer, and the schema class."""

from django_filters.rest_framework import DjangoFilterBackend
from drf_spectacular import openapi
from drf_spectacular.extensions import OpenApiSerializerFieldExtension
from drf_spectacular.utils import OpenApiResponse
from rest_framework import serializers
from rest_framework.permissions import SAFE_METHODS

from clinic.permissions import IsAdmin, IsClient, IsFrontDesk, IsTherapist, ReadAnyoneWriteFrontDesk


class DomainErrorSerializer(serializers.Serializer):
    """A refusal by a rule of the clinic: a stable code and a sentence a person can act on."""

    code = serializers.CharField()
    detail = serializers.CharField()


class DetailSerializer(serializers.Serializer):
    detail = serializers.CharField()


def conflict(description: str) -> OpenApiResponse:
    return OpenApiResponse(DomainErrorSerializer, description=description)


VALIDATION_ERROR = OpenApiResponse(description="Invalid input: field → list of messages.")
UNAUTHENTICATED = OpenApiResponse(DetailSerializer, description="No valid credentials were sent.")
FORBIDDEN = OpenApiResponse(DetailSerializer, description="Your role may not do this.")
NOT_FOUND = OpenApiResponse(DetailSerializer, description="No such object, or not one you may see.")


UNSUPPORTED_MEDIA_TYPE = OpenApiResponse(
    DetailSerializer, description="The body's Content-Type is not one this endpoint reads (send application/json)."
)
PAGE_NOT_FOUND = OpenApiResponse(DetailSerializer, description='`page` is not a page of this list ("Invalid page.").')


class AutoSchema(openapi.AutoSchema):
    """drf-spectacular's schema, plus the answers a view gives by its kind alone.

    Declared per operation, these were easy to forget (the schema fuzz in
    config/tests/test_fuzz.py found each one missing somewhere):

    - 400 and 415 where the operation takes a body (one that does not parse,
      or is not of a media type the view reads);
    - 401 where a request must be authenticated (its security has no `{}`);
    - 403 where a role permission can refuse a signed-in user;
    - 400 on a list with query filters, for a filter value that is not valid;
    - 404 on a paginated list, for a `page` past its end.

    An operation that declares one of these keeps its own description.
    Answers any endpoint may give — 429 (throttled), 413 (body too large),
    503 (database unavailable) — are described once, in the API's description.
    """

    def _get_response_bodies(self, direction="response"):
        responses = super()._get_response_bodies(direction)
        for code, response in self._implied_responses():
            if code not in responses:
                responses[code] = self._get_response_for_code(response, code, direction=direction)
        return responses

    def _implied_responses(self):
        if self.method in ("POST", "PUT", "PATCH") and self.get_request_serializer() is not None:
            yield "400", VALIDATION_ERROR
            yield "415", UNSUPPORTED_MEDIA_TYPE
        auth = self.get_auth()
        if auth and {} not in auth:
            yield "401", UNAUTHENTICATED
        if self._may_refuse_a_role():
            yield "403", FORBIDDEN
        if self.method == "GET" and self._is_list_view():
            if self._has_filters():
                yield "400", VALIDATION_ERROR
            if self._get_paginator() is not None:
                yield "404", PAGE_NOT_FOUND

    def _has_filters(self) -> bool:
        filter_backends = getattr(self.view, "filter_backends", None) or []
        return any(issubclass(backend, DjangoFilterBackend) for backend in filter_backends) and bool(
            getattr(self.view, "filterset_class", None) or getattr(self.view, "filterset_fields", None)
        )

    def _may_refuse_a_role(self) -> bool:
        for permission in self.view.get_permissions():
            if isinstance(permission, ReadAnyoneWriteFrontDesk):
                if self.method not in SAFE_METHODS:
                    return True
            elif isinstance(permission, (IsClient, IsTherapist, IsFrontDesk, IsAdmin)):
                return True
        return False


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
