"""Shared pieces of the OpenAPI schema: the error bodies every endpoint may answer."""

from drf_spectacular.utils import OpenApiResponse
from rest_framework import serializers


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
