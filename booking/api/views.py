"""Views of the booking API: they parse with a serializer, call one service or
selector, and render the result. Rules live in `booking.services` and
`booking.availability`; who may see which booking in `booking.selectors`."""

from django.core.paginator import InvalidPage
from django.core.paginator import Paginator as DjangoPaginator
from drf_spectacular.utils import (
    OpenApiExample,
    OpenApiParameter,
    OpenApiResponse,
    PolymorphicProxySerializer,
    extend_schema,
    extend_schema_view,
)
from rest_framework import generics, mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import NotFound, PermissionDenied
from rest_framework.permissions import AllowAny, IsAuthenticated
from rest_framework.response import Response

from booking import services
from booking.api.filters import BookingFilter
from booking.api.serializers import (
    ANSWERS_EXAMPLE,
    BOOKING_EXAMPLE,
    AvailabilityQuerySerializer,
    BookingCancelSerializer,
    BookingCreateSerializer,
    BookingRescheduleSerializer,
    BookingRoomSerializer,
    BookingSerializer,
    OfferedStartSerializer,
    StaffBookingCreateSerializer,
    render_offered_starts,
)
from booking.availability import offered_starts
from booking.errors import (
    BookingNotActive,
    ClientInactive,
    ClientOverlap,
    IdempotencyKeyInUse,
    IdempotencyKeyReused,
    LateCancellation,
    RoomUnavailable,
    SlotUnavailable,
    TherapistNotQualified,
    TooEarly,
    TooManyBookings,
)
from booking.idempotency import HEADER as IDEMPOTENCY_HEADER
from booking.idempotency import idempotent
from booking.models import Booking
from booking.selectors import booking_list_for
from clinic.models import Role
from clinic.permissions import IsFrontDesk
from config.openapi import FORBIDDEN, NOT_FOUND, PAGE_NOT_FOUND, UNAUTHENTICATED, VALIDATION_ERROR, refusal
from config.pagination import PageNumberPagination

IDEMPOTENCY_PARAMETER = OpenApiParameter(
    IDEMPOTENCY_HEADER,
    str,
    location=OpenApiParameter.HEADER,
    required=False,
    description="Optional, up to 255 characters: a retry with the same key and body replays the first answer.",
)
IDEMPOTENCY_REUSED = refusal(
    "IdempotencyKeyReused",
    {IdempotencyKeyReused: "the key was used before with a different request: use a new key for a new request"},
    description="The `Idempotency-Key` belongs to another request; nothing was done.",
)
IN_USE = {IdempotencyKeyInUse: "a request with this `Idempotency-Key` is still running: retry in a moment"}
NOT_ACTIVE = {BookingNotActive: "the booking is cancelled, completed or a no-show"}
LATE = {LateCancellation: "a client inside the clinic's cancellation window: the front desk can still do it"}
PLACE_REFUSALS = {
    SlotUnavailable: "the start is not offered for that service (and therapist, location), or with no therapist "
    "given no trained therapist is free then",
    TherapistNotQualified: "the intake asks for deep tissue and the therapist asked for is not trained in it",
    ClientOverlap: "the client already has an active booking overlapping that time",
}
ACCOUNT_INACTIVE = {ClientInactive: "the client's account is deactivated or deleted"}


# --- Availability ------------------------------------------------------------------


class _Counted:
    """One page of rows and the count of all of them, as Django's Paginator reads a list."""

    def __init__(self, count: int, rows: list, offset: int):
        self._count, self._rows, self._offset = count, rows, offset

    def count(self) -> int:
        return self._count

    def __getitem__(self, index: slice) -> list:
        assert index.start == self._offset, "only the page fetched can be read"
        return self._rows


MAX_OFFSET = 2**62


class OfferedStartsPagination(PageNumberPagination):
    """Pages of offered starts: the page is computed in SQL with its exact count, one query a page.

    The rule computes rows, it does not store them, so the count cannot come
    from a table; `offered_starts` returns it with the page. (`page=last`
    would need the count first: pages are numbers here.)
    """

    last_page_strings = ()

    def paginate_offered(self, request, fetch) -> list:
        """`fetch(limit, offset)` → (count, rows) for the page asked for; 404 for a page that is not one."""
        self.request = request
        size = self.get_page_size(request)
        raw = request.query_params.get(self.page_query_param) or "1"
        number = int(raw) if raw.isascii() and raw.isdigit() else 0
        offset = (number - 1) * size
        # Past MAX_OFFSET no list reaches, and SQL's bigint OFFSET would overflow.
        if number < 1 or offset > MAX_OFFSET:
            raise NotFound(self.invalid_page_message.format(page_number=raw, message="Not a page of this list."))
        count, rows = fetch(size, offset)
        paginator = DjangoPaginator(_Counted(count, rows, offset), size)
        try:
            self.page = paginator.page(number)
        except InvalidPage as exc:
            raise NotFound(self.invalid_page_message.format(page_number=number, message=str(exc))) from exc
        return list(self.page)


class AvailabilityView(generics.GenericAPIView):
    """The start times offered for a service between two local dates (`to` inclusive, at most 31 days).

    Ordered by start, then therapist. Front-desk callers get the same list
    with the clinic's notice and horizon relaxed to "in the future".
    """

    permission_classes = [AllowAny]
    serializer_class = OfferedStartSerializer
    pagination_class = OfferedStartsPagination
    filter_backends = []

    @extend_schema(
        operation_id="availability_list",
        summary="The start times offered for a service",
        parameters=[AvailabilityQuerySerializer],
        responses={
            200: OfferedStartSerializer(many=True),
            400: OpenApiResponse(
                description="`from`/`to` missing, not dates, `to` before `from` or more than 31 days; "
                "`service` unknown or inactive; another parameter malformed."
            ),
            404: PAGE_NOT_FOUND,
        },
    )
    def get(self, request):
        query = AvailabilityQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        params = query.validated_data
        for_staff = request.user.is_authenticated and request.user.is_front_desk

        def fetch(limit: int, offset: int):
            return offered_starts(
                service=params["service"],
                from_date=params["from"],
                to_date=params["to"],
                location_id=params.get("location"),
                therapist_id=params.get("therapist"),
                modality=params.get("modality"),
                for_staff=for_staff,
                limit=limit,
                offset=offset,
            )

        rows = self.paginator.paginate_offered(request, fetch)
        return self.get_paginated_response(render_offered_starts(rows))


# --- Bookings ---------------------------------------------------------------------


CREATE_REFUSED = refusal(
    "BookingCreateRefused",
    {
        **PLACE_REFUSALS,
        TooManyBookings: "the client already holds the clinic's `max_active_bookings_per_client` upcoming "
        "bookings (front-desk bookings do not count)",
        **ACCOUNT_INACTIVE,
        **IN_USE,
    },
    description="A rule of the clinic refused the booking; nothing was stored. The `code` is one of:",
)
RESCHEDULE_REFUSED = refusal(
    "BookingRescheduleRefused",
    {**PLACE_REFUSALS, **LATE, **NOT_ACTIVE, **ACCOUNT_INACTIVE, **IN_USE},
    description="A rule of the clinic refused the move; the booking stays as it was. The `code` is one of:",
)
CANCEL_REFUSED = refusal("BookingCancelRefused", {**LATE, **NOT_ACTIVE, **IN_USE})
CLOSE_REFUSED = refusal("BookingCloseRefused", {TooEarly: "the session has not started yet", **NOT_ACTIVE, **IN_USE})
ROOM_REFUSED = refusal(
    "BookingRoomRefused",
    {RoomUnavailable: "not a free active room of the booking's location for its time", **NOT_ACTIVE},
)
KEY_MALFORMED = OpenApiResponse(description="`Idempotency-Key` empty or longer than 255 characters.")


def _close_schema(operation_id: str, summary: str, verb: str):
    return extend_schema(
        operation_id=operation_id,
        summary=summary,
        request=None,
        parameters=[IDEMPOTENCY_PARAMETER],
        responses={
            200: BookingSerializer,
            400: KEY_MALFORMED,
            401: UNAUTHENTICATED,
            403: FORBIDDEN,
            404: NOT_FOUND,
            409: CLOSE_REFUSED,
            # With an Idempotency-Key the body is read for the key's fingerprint.
            415: OpenApiResponse(description="With an `Idempotency-Key`, a body that is not JSON."),
            422: IDEMPOTENCY_REUSED,
        },
        description=f"Mark that {verb} (its therapist or the front desk, from the start time on).",
    )


@extend_schema_view(
    list=extend_schema(
        operation_id="bookings_list",
        summary="Bookings you may see: a client's own, a therapist's, all for the front desk",
        responses={200: BookingSerializer(many=True), 400: VALIDATION_ERROR, 401: UNAUTHENTICATED},
    ),
    retrieve=extend_schema(
        operation_id="bookings_retrieve",
        summary="One booking",
        responses={200: BookingSerializer, 401: UNAUTHENTICATED, 404: NOT_FOUND},
    ),
)
class BookingViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """Bookings, scoped by role: a client sees their own, a therapist theirs,
    staff and admins all (held waitlist offers too); any other booking is a 404."""

    permission_classes = [IsAuthenticated]
    serializer_class = BookingSerializer
    filterset_class = BookingFilter
    http_method_names = ["get", "post", "patch", "head", "options"]

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):  # schema generation has no user
            return Booking.objects.none()
        return booking_list_for(self.request.user)

    def _render(self, booking: Booking, status_code=status.HTTP_200_OK) -> Response:
        """The booking a service changed, read again in the caller's scope: one query, its relations joined."""
        return Response(self.get_serializer(self.get_queryset().get(pk=booking.pk)).data, status=status_code)

    def _require(self, allowed: bool, message: str) -> None:
        if not allowed:
            raise PermissionDenied(message)

    # -- Create --

    @extend_schema(
        operation_id="bookings_create",
        summary="Book a session of a service",
        request=PolymorphicProxySerializer(
            component_name="NewBooking",
            serializers=[BookingCreateSerializer, StaffBookingCreateSerializer],
            resource_type_field_name=None,
        ),
        parameters=[IDEMPOTENCY_PARAMETER],
        responses={
            201: BookingSerializer,
            400: OpenApiResponse(
                description="Invalid input: field → messages (answers under `intake.answers`); a time without "
                "a UTC offset; an unknown or inactive service; for the front desk, `client` not a client account."
            ),
            401: UNAUTHENTICATED,
            403: FORBIDDEN,
            409: CREATE_REFUSED,
            422: IDEMPOTENCY_REUSED,
        },
        examples=[
            OpenApiExample(
                "A client books",
                value={"service": 3, "starts_at": "2026-12-01T09:00:00-05:00", "intake": {"answers": ANSWERS_EXAMPLE}},
                request_only=True,
            ),
            OpenApiExample(
                "The front desk books for a client",
                value={"client": 318, "service": 3, "starts_at": "2026-12-01T14:00:00Z", "therapist": 7},
                request_only=True,
            ),
            OpenApiExample("Booked", value=BOOKING_EXAMPLE, response_only=True, status_codes=[201]),
        ],
        description=(
            "A client books `{service, starts_at, therapist?, location?, intake: {answers}}` for themselves. "
            "The front desk books `{client, service, starts_at, therapist?, location?}` without answers "
            "(`StaffBookingCreate`): the intake stays `pending` and the client is asked to "
            "complete it; the clinic's notice and horizon do not apply (any future start), nor the cap. "
            "Without `therapist`, the server picks one. One transaction: everything is stored, or nothing."
        ),
    )
    def create(self, request):
        """Book a session of a service (clients with their intake; the front desk for a client)."""
        user = request.user
        self._require(user.role in (Role.CLIENT, Role.STAFF, Role.ADMIN), "Only clients and the front desk can book.")
        return idempotent(self, request, lambda: self._create(request))

    def _create(self, request) -> Response:
        user = request.user
        if user.is_front_desk:
            data = StaffBookingCreateSerializer(data=request.data)
            data.is_valid(raise_exception=True)
            client, answers = data.validated_data["client"], None
        else:
            data = BookingCreateSerializer(data=request.data)
            data.is_valid(raise_exception=True)
            client, answers = user, data.validated_data["intake"]["answers"]
        params = data.validated_data
        booking = services.booking_create(
            client=client,
            service_id=params["service"],
            starts_at=params["starts_at"],
            therapist_id=params.get("therapist"),
            location_id=params.get("location"),
            answers=answers,
            booked_by=user,
        )
        # The service's booking has every relation the answer shows loaded, and the caller may see it
        # (their own, or the front desk's): rendered as it is, not read again (bench/README.md, finding 7).
        return Response(self.get_serializer(booking).data, status=status.HTTP_201_CREATED)

    # -- Front desk: the room --

    @extend_schema(
        operation_id="bookings_partial_update",
        summary="Move a booking to another room (front desk)",
        request=BookingRoomSerializer,
        responses={
            200: BookingSerializer,
            401: UNAUTHENTICATED,
            403: FORBIDDEN,
            404: NOT_FOUND,
            409: ROOM_REFUSED,
        },
        description="Move the booking to another free room of its location (front desk).",
    )
    def partial_update(self, request, pk=None):
        booking = self.get_object()
        self._require(request.user.is_front_desk, IsFrontDesk.message)
        data = BookingRoomSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        return self._render(services.booking_move_room(booking_id=booking.pk, room_id=data.validated_data["room"]))

    # -- Cancel and reschedule --

    @extend_schema(
        operation_id="bookings_cancel",
        summary="Cancel a booking",
        request=BookingCancelSerializer,
        parameters=[IDEMPOTENCY_PARAMETER],
        responses={
            200: BookingSerializer,
            401: UNAUTHENTICATED,
            403: FORBIDDEN,
            404: NOT_FOUND,
            409: CANCEL_REFUSED,
            422: IDEMPOTENCY_REUSED,
        },
    )
    @action(detail=True, methods=["post"])
    def cancel(self, request, pk=None):
        """Cancel a booking (its client outside the cancellation window, the front desk always); its time is free."""
        booking, data = self._client_change(request, BookingCancelSerializer, "cancel")
        return idempotent(
            self,
            request,
            lambda: self._render(
                services.booking_cancel(booking_id=booking.pk, by=request.user, reason=data["reason"])
            ),
        )

    @extend_schema(
        operation_id="bookings_reschedule",
        summary="Move a booking to a new start (and service, therapist or location)",
        request=BookingRescheduleSerializer,
        parameters=[IDEMPOTENCY_PARAMETER],
        responses={
            200: BookingSerializer,
            400: VALIDATION_ERROR,
            401: UNAUTHENTICATED,
            403: FORBIDDEN,
            404: NOT_FOUND,
            409: RESCHEDULE_REFUSED,
            422: IDEMPOTENCY_REUSED,
        },
    )
    @action(detail=True, methods=["post"])
    def reschedule(self, request, pk=None):
        """Move a booking and its intake to a new start (and service, therapist or location), atomically."""
        booking, data = self._client_change(request, BookingRescheduleSerializer, "reschedule")
        return idempotent(
            self,
            request,
            lambda: self._render(
                services.booking_reschedule(
                    booking_id=booking.pk,
                    by=request.user,
                    starts_at=data["starts_at"],
                    service_id=data.get("service"),
                    therapist_id=data.get("therapist"),
                    location_id=data.get("location"),
                )
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

    # -- Complete and no-show --

    def _close(self, request, status_value: str) -> Response:
        booking = self.get_object()
        self._require(
            request.user.is_front_desk or booking.therapist.user_id == request.user.pk,
            "Only the booking's therapist or the front desk can do this.",
        )
        return idempotent(
            self, request, lambda: self._render(services.booking_close(booking_id=booking.pk, status=status_value))
        )

    @_close_schema("bookings_complete", "Mark a session done", "the session took place")
    @action(detail=True, methods=["post"])
    def complete(self, request, pk=None):
        """Mark the session done (its therapist or the front desk, after the start time)."""
        return self._close(request, Booking.Status.COMPLETED)

    @_close_schema("bookings_no_show", "Mark that the client did not come", "the client did not come")
    @action(detail=True, methods=["post"], url_path="no-show")
    def no_show(self, request, pk=None):
        """Mark that the client did not come (its therapist or the front desk, after the start time)."""
        return self._close(request, Booking.Status.NO_SHOW)
