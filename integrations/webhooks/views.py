"""Views of the webhooks API (front desk): they parse, call one service or selector, and render."""

from django.shortcuts import get_object_or_404
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import status
from rest_framework.generics import GenericAPIView
from rest_framework.response import Response

from clinic.permissions import IsFrontDesk
from config.openapi import DetailSerializer
from integrations.webhooks import selectors, services
from integrations.webhooks.serializers import (
    WebhookCreatedSerializer,
    WebhookCreateSerializer,
    WebhookDeliverySerializer,
    WebhookSerializer,
)

WEBHOOK_ID = OpenApiParameter("id", OpenApiTypes.INT, OpenApiParameter.PATH, description="The webhook's id.")
STAFF_ONLY = OpenApiResponse(
    DetailSerializer, description="Signed in, but only front-desk staff and admins may see or change webhooks."
)
WEBHOOK_NOT_FOUND = OpenApiResponse(DetailSerializer, description="No such webhook.")
URL_RULES = (
    "The `url` must be `https` and its host must resolve to public addresses only (not loopback, private, "
    "link-local, shared (CGNAT), multicast or reserved, in IPv4 or IPv6): anything else is a 400 on `url`. "
    "The deployment's `WEBHOOK_ALLOW_PRIVATE` setting lifts this, for local receivers."
)


class WebhookListView(GenericAPIView):
    permission_classes = [IsFrontDesk]
    serializer_class = WebhookSerializer
    filter_backends = []  # no filters: every webhook, oldest first

    @extend_schema(
        operation_id="webhooks_list",
        summary="Webhook subscriptions (staff)",
        description="Never with their signing secrets.",
        responses={200: WebhookSerializer(many=True), 403: STAFF_ONLY},
    )
    def get(self, request):
        page = self.paginate_queryset(selectors.webhook_list())
        return self.get_paginated_response(WebhookSerializer(page, many=True).data)

    @extend_schema(
        operation_id="webhooks_create",
        summary="Subscribe a receiver to booking events (staff)",
        description="Answers the webhook with its signing `secret`, shown this once. " + URL_RULES,
        request=WebhookCreateSerializer,
        responses={201: WebhookCreatedSerializer, 403: STAFF_ONLY},
    )
    def post(self, request):
        params = WebhookCreateSerializer(data=request.data)
        params.is_valid(raise_exception=True)
        subscription = services.webhook_create(
            url=params.validated_data["url"], events=params.validated_data["events"], created_by=request.user
        )
        return Response(WebhookCreatedSerializer(subscription).data, status=status.HTTP_201_CREATED)


class WebhookDetailView(GenericAPIView):
    permission_classes = [IsFrontDesk]
    serializer_class = WebhookSerializer

    def get_subscription(self, pk: int):
        return get_object_or_404(selectors.webhook_list(), pk=pk)

    @extend_schema(
        operation_id="webhooks_retrieve",
        summary="One webhook subscription (staff)",
        parameters=[WEBHOOK_ID],
        responses={200: WebhookSerializer, 403: STAFF_ONLY, 404: WEBHOOK_NOT_FOUND},
    )
    def get(self, request, pk: int):
        return Response(WebhookSerializer(self.get_subscription(pk)).data)

    @extend_schema(
        operation_id="webhooks_partial_update",
        summary="Change a webhook's URL or events, or switch it off or on (staff)",
        description="Switching it on again gives it a fresh day before failures switch it off. " + URL_RULES,
        parameters=[WEBHOOK_ID],
        request=WebhookSerializer(partial=True),
        responses={200: WebhookSerializer, 403: STAFF_ONLY, 404: WEBHOOK_NOT_FOUND},
    )
    def patch(self, request, pk: int):
        subscription = self.get_subscription(pk)
        params = WebhookSerializer(subscription, data=request.data, partial=True)
        params.is_valid(raise_exception=True)
        subscription = services.webhook_update(subscription_id=subscription.pk, **params.validated_data)
        return Response(WebhookSerializer(subscription).data)

    @extend_schema(
        operation_id="webhooks_destroy",
        summary="Delete a webhook and its delivery log (staff)",
        parameters=[WEBHOOK_ID],
        request=None,
        responses={204: None, 403: STAFF_ONLY, 404: WEBHOOK_NOT_FOUND},
    )
    def delete(self, request, pk: int):
        services.webhook_delete(subscription_id=self.get_subscription(pk).pk)
        return Response(status=status.HTTP_204_NO_CONTENT)


class WebhookDeliveryListView(GenericAPIView):
    permission_classes = [IsFrontDesk]
    serializer_class = WebhookDeliverySerializer
    filter_backends = []  # no filters: the webhook's deliveries, newest first

    @extend_schema(
        operation_id="webhooks_deliveries_list",
        summary="A webhook's deliveries, newest first (staff)",
        description="Each event sent to it: its attempts, the receiver's last status code, when it was "
        "delivered or when the next attempt is due, and why the last one failed.",
        parameters=[WEBHOOK_ID],
        responses={200: WebhookDeliverySerializer(many=True), 403: STAFF_ONLY, 404: WEBHOOK_NOT_FOUND},
    )
    def get(self, request, pk: int):
        subscription = get_object_or_404(selectors.webhook_list(), pk=pk)
        page = self.paginate_queryset(selectors.webhook_delivery_list(subscription=subscription))
        return self.get_paginated_response(WebhookDeliverySerializer(page, many=True).data)
