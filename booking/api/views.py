"""Views of the booking API: they parse with a serializer, call one service or
selector, and render the result. Rules live in `booking.services`,
`booking.schedule` and `booking.availability`."""

from django.core.exceptions import ValidationError as DjangoValidationError
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_view
from rest_framework import generics, mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import PermissionDenied, ValidationError
from rest_framework.permissions import AllowAny, IsAuthenticated
from rest_framework.response import Response

from booking import schedule, services
from booking.api.filters import BookingFilter, SlotFilter
from booking.api.serializers import (
    AvailabilityQuerySerializer,
    AvailableSlotSerializer,
    BookingCancelSerializer,
    BookingCreateSerializer,
    BookingRescheduleSerializer,
    BookingSerializer,
    GenerateResultSerializer,
    GenerateSlotsSerializer,
    SlotCreateSerializer,
    SlotSerializer,
    SlotStatusSerializer,
    TimeOffSerializer,
    WorkingHoursSerializer,
    render_available_slots,
)
from booking.availability import availability
from booking.idempotency import HEADER as IDEMPOTENCY_HEADER
from booking.idempotency import idempotent
from booking.models import Booking, TimeOff, WorkingHours
from booking.selectors import booking_list_for, slot_list
from clinic.models import Role
from clinic.permissions import IsClient, IsFrontDesk
from clinic.selectors import clinic_get
from config.openapi import FORBIDDEN, NOT_FOUND, UNAUTHENTICATED, VALIDATION_ERROR, conflict

IDEMPOTENCY_PARAMETER = OpenApiParameter(
    IDEMPOTENCY_HEADER,
    str,
    location=OpenApiParameter.HEADER,
    required=False,
    description="Optional, up to 255 characters: a retry with the same key and body replays the first answer.",
)


# --- Availability ------------------------------------------------------------------


class AvailabilityView(generics.GenericAPIView):
    """The bookable slots between two local dates (`to` inclusive, at most 31 days)."""

    permission_classes = [AllowAny]
    serializer_class = AvailableSlotSerializer
    filter_backends = []

    @extend_schema(
        parameters=[AvailabilityQuerySerializer],
        responses={200: AvailableSlotSerializer(many=True), 400: VALIDATION_ERROR},
    )
    def get(self, request):
        query = AvailabilityQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        params = query.validated_data
        rows = availability(
            clinic=clinic_get(),
            start=params["from"],
            end=params["to"],
            therapist_id=params.get("therapist"),
            modality=params.get("modality"),
        )
        page = self.paginate_queryset(rows)
        return self.get_paginated_response(render_available_slots(page))


# --- Schedules (front desk) ---------------------------------------------------------------


@extend_schema_view(
    list=extend_schema(responses={200: WorkingHoursSerializer(many=True), 401: UNAUTHENTICATED, 403: FORBIDDEN}),
    create=extend_schema(responses={201: WorkingHoursSerializer, 400: VALIDATION_ERROR, 403: FORBIDDEN}),
    retrieve=extend_schema(responses={200: WorkingHoursSerializer, 403: FORBIDDEN, 404: NOT_FOUND}),
    partial_update=extend_schema(responses={200: WorkingHoursSerializer, 400: VALIDATION_ERROR, 404: NOT_FOUND}),
    destroy=extend_schema(responses={204: None, 403: FORBIDDEN, 404: NOT_FOUND}),
)
class WorkingHoursViewSet(viewsets.ModelViewSet):
    """The weekly template of each therapist's working hours (clinic local time)."""

    permission_classes = [IsFrontDesk]
    serializer_class = WorkingHoursSerializer
    queryset = WorkingHours.objects.all()
    filterset_fields = ["therapist", "weekday"]
    http_method_names = ["get", "post", "patch", "delete", "head", "options"]


@extend_schema_view(
    list=extend_schema(responses={200: SlotSerializer(many=True), 400: VALIDATION_ERROR, 403: FORBIDDEN}),
    retrieve=extend_schema(responses={200: SlotSerializer, 404: NOT_FOUND}),
    destroy=extend_schema(
        responses={204: None, 404: NOT_FOUND, 409: conflict("slot_booked: the slot has an active booking.")}
    ),
)
class SlotViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """Slots of every therapist, for the front desk."""

    permission_classes = [IsFrontDesk]
    serializer_class = SlotSerializer
    filterset_class = SlotFilter

    def get_queryset(self):
        return slot_list()

    @extend_schema(
        request=SlotCreateSerializer,
        responses={
            201: SlotSerializer,
            400: VALIDATION_ERROR,
            409: conflict("slot_overlap or time_off_overlap: the therapist is not free then."),
        },
    )
    def create(self, request):
        data = SlotCreateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        slot = schedule.slot_create(**data.validated_data)
        return Response(SlotSerializer(self.get_queryset().get(pk=slot.pk)).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=SlotStatusSerializer, responses={200: SlotSerializer, 400: VALIDATION_ERROR, 404: NOT_FOUND})
    def partial_update(self, request, pk=None):
        slot = self.get_object()
        data = SlotStatusSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        schedule.slot_set_status(slot_id=slot.pk, status=data.validated_data["status"])
        return Response(SlotSerializer(self.get_queryset().get(pk=slot.pk)).data)

    def destroy(self, request, pk=None):
        schedule.slot_delete(slot_id=self.get_object().pk)
        return Response(status=status.HTTP_204_NO_CONTENT)

    @extend_schema(
        request=GenerateSlotsSerializer,
        responses={200: GenerateResultSerializer, 400: VALIDATION_ERROR, 403: FORBIDDEN},
    )
    @action(detail=False, methods=["post"])
    def generate(self, request):
        """Build slots from working hours for local dates `from`..`to` (at most 92 days); idempotent."""
        data = GenerateSlotsSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        params = data.validated_data
        therapist = params.get("therapist")
        result = schedule.slots_generate(
            start=params["from"], end=params["to"], therapist_id=therapist.pk if therapist else None
        )
        return Response(GenerateResultSerializer(result).data)


class TimeOffCreatedSerializer(TimeOffSerializer):
    conflicts = BookingSerializer(many=True, read_only=True)

    class Meta(TimeOffSerializer.Meta):
        fields = TimeOffSerializer.Meta.fields + ["conflicts"]


@extend_schema_view(
    list=extend_schema(responses={200: TimeOffSerializer(many=True), 403: FORBIDDEN}),
    retrieve=extend_schema(responses={200: TimeOffSerializer, 404: NOT_FOUND}),
    destroy=extend_schema(responses={204: None, 404: NOT_FOUND}),
)
class TimeOffViewSet(
    mixins.ListModelMixin, mixins.RetrieveModelMixin, mixins.DestroyModelMixin, viewsets.GenericViewSet
):
    """Therapists' time off. Creating it blocks the open slots it overlaps."""

    permission_classes = [IsFrontDesk]
    serializer_class = TimeOffSerializer
    queryset = TimeOff.objects.order_by("starts_at")
    filterset_fields = ["therapist"]

    @extend_schema(
        request=TimeOffSerializer,
        responses={201: TimeOffCreatedSerializer, 400: VALIDATION_ERROR, 403: FORBIDDEN},
        description="Answers 201 with `conflicts`: the active bookings the time off overlaps. "
        "They are not cancelled: the front desk decides what to do with each.",
    )
    def create(self, request):
        data = TimeOffSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        time_off, conflicts = schedule.time_off_create(**data.validated_data, by=request.user)
        body = TimeOffSerializer(time_off).data
        body["conflicts"] = BookingSerializer(conflicts, many=True, context={"request": request}).data
        return Response(body, status=status.HTTP_201_CREATED)

    def perform_destroy(self, instance):
        schedule.time_off_delete(time_off_id=instance.pk)


# --- Bookings ---------------------------------------------------------------------


BOOKING_CONFLICTS = conflict(
    "slot_unavailable, therapist_not_qualified, client_overlap, too_many_bookings (the client already "
    "holds the clinic's `max_active_bookings_per_client` upcoming bookings), idempotency_key_in_use "
    "(each with a sentence saying what to do)."
)


CLOSE_SCHEMA = extend_schema(
    request=None,
    responses={
        200: BookingSerializer,
        403: FORBIDDEN,
        404: NOT_FOUND,
        409: conflict("too_early or booking_not_active."),
    },
)


@extend_schema_view(
    list=extend_schema(responses={200: BookingSerializer(many=True), 400: VALIDATION_ERROR, 401: UNAUTHENTICATED}),
    retrieve=extend_schema(responses={200: BookingSerializer, 401: UNAUTHENTICATED, 404: NOT_FOUND}),
)
class BookingViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """Bookings, scoped by role: a client sees their own, a therapist theirs,
    staff and admins all; any other booking is a 404."""

    permission_classes = [IsAuthenticated]
    serializer_class = BookingSerializer
    filterset_class = BookingFilter

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):  # schema generation has no user
            return Booking.objects.none()
        return booking_list_for(self.request.user)

    def _render(self, booking: Booking, status_code=status.HTTP_200_OK) -> Response:
        """The booking a service returned (its relations already loaded): no second read."""
        return Response(self.get_serializer(booking).data, status=status_code)

    def _require(self, allowed: bool, message: str) -> None:
        if not allowed:
            raise PermissionDenied(message)

    @extend_schema(
        request=BookingCreateSerializer,
        parameters=[IDEMPOTENCY_PARAMETER],
        responses={
            201: BookingSerializer,
            400: VALIDATION_ERROR,
            401: UNAUTHENTICATED,
            403: FORBIDDEN,
            409: BOOKING_CONFLICTS,
            422: conflict("idempotency_key_reused: the key was used with a different body."),
        },
    )
    def create(self, request):
        """Book a slot with an intake, in one transaction (clients)."""
        self._require(request.user.role == Role.CLIENT, IsClient.message)
        return idempotent(self, request, lambda: self._create(request))

    def _create(self, request) -> Response:
        data = BookingCreateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        try:
            booking = services.booking_create(
                client=request.user,
                slot_id=data.validated_data["slot"],
                answers=data.validated_data["intake"]["answers"],
            )
        except DjangoValidationError as exc:
            raise ValidationError({"intake": {"answers": _messages(exc)}}) from exc
        return self._render(booking, status.HTTP_201_CREATED)

    @extend_schema(
        request=BookingCancelSerializer,
        parameters=[IDEMPOTENCY_PARAMETER],
        responses={
            200: BookingSerializer,
            403: FORBIDDEN,
            404: NOT_FOUND,
            409: conflict("late_cancellation or booking_not_active."),
        },
    )
    @action(detail=True, methods=["post"])
    def cancel(self, request, pk=None):
        """Cancel a booking (its client within the cancellation policy; staff always)."""
        booking, data = self._client_change(request, BookingCancelSerializer, "cancel")
        return idempotent(
            self,
            request,
            lambda: self._render(
                services.booking_cancel(booking_id=booking.pk, by=request.user, reason=data["reason"])
            ),
        )

    @extend_schema(
        request=BookingRescheduleSerializer,
        parameters=[IDEMPOTENCY_PARAMETER],
        responses={
            200: BookingSerializer,
            400: VALIDATION_ERROR,
            403: FORBIDDEN,
            404: NOT_FOUND,
            409: conflict(
                "slot_unavailable, therapist_not_qualified, client_overlap, late_cancellation or "
                "booking_not_active; the booking stays on its slot."
            ),
        },
    )
    @action(detail=True, methods=["post"])
    def reschedule(self, request, pk=None):
        """Move a booking and its intake to another slot, atomically."""
        booking, data = self._client_change(request, BookingRescheduleSerializer, "reschedule")
        return idempotent(
            self,
            request,
            lambda: self._render(
                services.booking_reschedule(booking_id=booking.pk, by=request.user, slot_id=data["slot"])
            ),
        )

    def _client_change(self, request, serializer_class, verb: str) -> tuple[Booking, dict]:
        """The booking (404 if not visible) and the parsed body, for its client or the front desk only."""
        booking = self.get_object()
        self._require(
            request.user.is_front_desk or booking.client_id == request.user.pk,
            f"Only the booking's client or the front desk can {verb} it.",
        )
        data = serializer_class(data=request.data)
        data.is_valid(raise_exception=True)
        return booking, data.validated_data

    def _close(self, request, status_value: str) -> Response:
        booking = self.get_object()
        self._require(
            request.user.is_front_desk or booking.slot.therapist.user_id == request.user.pk,
            "Only the booking's therapist or the front desk can do this.",
        )
        return self._render(services.booking_close(booking_id=booking.pk, status=status_value))

    @CLOSE_SCHEMA
    @action(detail=True, methods=["post"])
    def complete(self, request, pk=None):
        """Mark the session done (its therapist or staff, after the start time)."""
        return self._close(request, Booking.Status.COMPLETED)

    @CLOSE_SCHEMA
    @action(detail=True, methods=["post"], url_path="no-show")
    def no_show(self, request, pk=None):
        """Mark that the client did not come (its therapist or staff, after the start time)."""
        return self._close(request, Booking.Status.NO_SHOW)


def _messages(exc: DjangoValidationError):
    return exc.message_dict if hasattr(exc, "error_dict") else {"non_field_errors": exc.messages}
