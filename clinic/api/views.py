"""HTTP views of the clinic API: accounts, the clinic's settings, locations, rooms, services, therapists.

Views parse with a serializer, call one service or selector and serialize
the answer; the rules live in `clinic.services` and `clinic.selectors`.
"""

from django.contrib.auth import logout as session_logout
from django.contrib.auth.signals import user_logged_in, user_logged_out
from django.shortcuts import get_object_or_404
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiExample, OpenApiParameter, OpenApiResponse, extend_schema
from knox.models import AuthToken
from rest_framework import status
from rest_framework.generics import GenericAPIView
from rest_framework.permissions import AllowAny, IsAuthenticated
from rest_framework.response import Response
from rest_framework.views import APIView

from clinic import selectors, services
from clinic.api.serializers import (
    ActiveFilterQuerySerializer,
    ClinicSerializer,
    LocationSerializer,
    MeSerializer,
    RegisteredSerializer,
    RegisterSerializer,
    RoomListQuerySerializer,
    RoomSerializer,
    ServiceSerializer,
    ServiceStaffSerializer,
    ServiceViewSerializer,
    ServiceWriteSerializer,
    TherapistCreateSerializer,
    TherapistListQuerySerializer,
    TherapistSerializer,
    TherapistStaffSerializer,
    TherapistUpdateSerializer,
    TherapistViewSerializer,
    TokenRequestSerializer,
    TokenSerializer,
)
from clinic.errors import HasFutureBookings, RoomInUse
from clinic.models import Role
from clinic.permissions import IsFrontDesk, ReadAnyoneWriteFrontDesk
from config.openapi import DetailSerializer, refusal
from config.throttling import ScopedRateThrottle


def _error(description: str) -> OpenApiResponse:
    return OpenApiResponse(DetailSerializer, description=description)


# Security, 401, 413, 415, 429, 503 and each answer's body come from config.openapi.AutoSchema.
VALIDATION_ERROR = OpenApiResponse(
    description="Validation failed: each field (or `non_field_errors`) → a list of messages."
)
NOT_AUTHENTICATED = _error("No or an invalid `Authorization: Token <key>` header.")
FORBIDDEN = _error("Signed in, but only front-desk staff and admins may do this.")
NOT_FOUND = _error("No such therapist (inactive therapists are visible to staff only).")
LOCATION_REFUSED = refusal(
    "LocationChangeRefused",
    {
        HasFutureBookings: "changing `time_zone`, deactivating the location or making it use rooms would "
        "strand its active future bookings (listed in `conflicts`)"
    },
)
ROOM_CHANGE_REFUSED = refusal(
    "RoomChangeRefused",
    {HasFutureBookings: "deactivating the room would strand its active future bookings (listed in `conflicts`)"},
)
ROOM_DELETE_REFUSED = refusal(
    "RoomDeleteRefused",
    {
        HasFutureBookings: "the room has active future bookings (listed in `conflicts`)",
        RoomInUse: "the room has past (or cancelled) bookings, which the clinic keeps on record: deactivate it",
    },
)
THERAPIST_CHANGE_REFUSED = refusal(
    "TherapistChangeRefused",
    {
        HasFutureBookings: "deactivating the therapist, or removing a location or a modality their active future "
        "bookings need, would strand those bookings (listed in `conflicts`)"
    },
)
THROTTLED = _error("Too many attempts from this address; retry after the `Retry-After` header's seconds.")
LOCKED_OR_THROTTLED = _error(
    "Too many attempts from this address, or too many failed logins for this email (known or not: "
    "the lockout never tells whether an account exists); retry after the `Retry-After` header's seconds."
)


TOKEN_EXAMPLE = "4f2a9c1e7b3d8a6f0e5c2b9d7a1f3e8c6b0d4a2f9e7c5b3a1d8f6e4c2a0b9d7e5"


def _is_front_desk(request) -> bool:
    user = request.user
    return bool(user and user.is_authenticated and user.role in (Role.STAFF, Role.ADMIN))


# --- Accounts -----------------------------------------------------------------


class AuthView(APIView):
    """Base of the login and register endpoints: open to anyone, throttled per address."""

    authentication_classes = []
    permission_classes = [AllowAny]
    throttle_classes = [ScopedRateThrottle]
    throttle_scope = "auth"


class RegisterView(AuthView):
    @extend_schema(
        operation_id="auth_register",
        summary="Register as a client",
        description="Creates a client account and returns a token for it. The password must pass "
        "the clinic's password rules; an email already registered (in any letter case) is refused.",
        request=RegisterSerializer,
        responses={201: RegisteredSerializer, 400: VALIDATION_ERROR, 429: THROTTLED},
        examples=[
            OpenApiExample(
                "A new client",
                value={
                    "email": "maria.lopez@example.com",
                    "password": "wild-lavender-river-42",
                    "first_name": "Maria",
                    "last_name": "Lopez",
                    "phone": "+1 212 555 0142",
                },
                request_only=True,
            ),
            OpenApiExample(
                "Registered",
                value={
                    "id": 318,
                    "email": "maria.lopez@example.com",
                    "first_name": "Maria",
                    "last_name": "Lopez",
                    "token": TOKEN_EXAMPLE,
                },
                response_only=True,
                status_codes=[201],
            ),
        ],
        auth=[],
    )
    def post(self, request):
        params = RegisterSerializer(data=request.data)
        params.is_valid(raise_exception=True)
        user = services.account_create(role=Role.CLIENT, **params.validated_data)
        token = services.token_create(user=user)
        body = RegisteredSerializer(
            {
                "id": user.pk,
                "email": user.email,
                "first_name": user.first_name,
                "last_name": user.last_name,
                "token": token,
            }
        ).data
        return Response(body, status=status.HTTP_201_CREATED)


class TokenView(AuthView):
    @extend_schema(
        operation_id="auth_token",
        summary="Log in: exchange email and password for a token",
        description="Wrong credentials, an unknown email and a deactivated account all answer the same 400. "
        "After `AXES_FAILURE_LIMIT` failed logins for one email from one address within `AXES_COOLOFF_MINUTES` "
        "(5 in 15 by default) that email is locked from that address for `AXES_COOLOFF_MINUTES`: 429, even with "
        "the right password. Other addresses are not affected.",
        request=TokenRequestSerializer,
        responses={200: TokenSerializer, 400: VALIDATION_ERROR, 429: LOCKED_OR_THROTTLED},
        examples=[
            OpenApiExample(
                "Credentials",
                value={"email": "maria.lopez@example.com", "password": "wild-lavender-river-42"},
                request_only=True,
            ),
            OpenApiExample("A token", value={"token": TOKEN_EXAMPLE}, response_only=True, status_codes=[200]),
        ],
        auth=[],
    )
    def post(self, request):
        params = TokenRequestSerializer(data=request.data, context={"request": request})
        params.is_valid(raise_exception=True)
        user = params.validated_data["user"]
        token = services.token_create(user=user)
        # As Django's own login does: updates last_login, and clears the lockout's failure count.
        user_logged_in.send(sender=user.__class__, request=request, user=user)
        return Response(TokenSerializer({"token": token}).data)


def _end_session(request) -> None:
    """Revocation's companion for the caller's own way in: the session ends, or logging out is recorded.

    Django's `logout()` flushes the session and sends `user_logged_out`; a
    token request sends that signal itself, as Django's logout would (axes
    records the logout time).
    """
    if isinstance(request.auth, AuthToken):
        user_logged_out.send(sender=request.user.__class__, request=request, user=request.user)
    else:
        session_logout(request._request)


class LogoutView(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(
        operation_id="auth_logout",
        summary="Log out: revoke the token presented",
        description="The token sent with this request stops working at once; the user's other tokens (other "
        "devices) keep working. Signed in with a session instead, the session ends.",
        request=None,
        responses={204: None, 401: NOT_AUTHENTICATED},
    )
    def post(self, request):
        if isinstance(request.auth, AuthToken):
            services.token_revoke(token=request.auth)
        _end_session(request)
        return Response(status=status.HTTP_204_NO_CONTENT)


class LogoutAllView(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(
        operation_id="auth_logout_all",
        summary="Log out everywhere: revoke every token of the user",
        description="Every token of the signed-in user stops working at once, the one sent included: for a "
        "lost or stolen device. (A password change or deactivation does the same.) Signed in with a session, "
        "the session ends too. The calendar feed has a token of its own: replace it with "
        "`POST /api/v1/therapists/me/feed/`.",
        request=None,
        responses={204: None, 401: NOT_AUTHENTICATED},
    )
    def post(self, request):
        services.token_revoke_all(user=request.user)
        _end_session(request)
        return Response(status=status.HTTP_204_NO_CONTENT)


class MeView(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(
        operation_id="me_retrieve",
        summary="The signed-in account",
        responses={200: MeSerializer, 401: NOT_AUTHENTICATED},
    )
    def get(self, request):
        return Response(MeSerializer(request.user).data)


# --- Clinic -------------------------------------------------------------------


class ClinicView(APIView):
    permission_classes = [ReadAnyoneWriteFrontDesk]

    @extend_schema(
        operation_id="clinic_retrieve",
        summary="The clinic's name, currency and booking policies",
        responses={200: ClinicSerializer},
    )
    def get(self, request):
        return Response(ClinicSerializer(selectors.clinic_get()).data)

    @extend_schema(
        operation_id="clinic_partial_update",
        summary="Change the clinic's settings (staff)",
        description="Any of the fields. `currency` is an ISO 4217 code (three capital letters); "
        "`booking_step_minutes` 5 to 60, a multiple of 5; `waitlist_hold_minutes` 5 to 1440. "
        "Bookings already made keep their price and currency.",
        request=ClinicSerializer(partial=True),
        responses={200: ClinicSerializer, 400: VALIDATION_ERROR, 401: NOT_AUTHENTICATED, 403: FORBIDDEN},
    )
    def patch(self, request):
        clinic = selectors.clinic_get()
        params = ClinicSerializer(clinic, data=request.data, partial=True)
        params.is_valid(raise_exception=True)
        clinic = services.clinic_update(clinic=clinic, **params.validated_data)
        return Response(ClinicSerializer(clinic).data)


# --- Locations --------------------------------------------------------------------

LOCATION_ID = OpenApiParameter("id", OpenApiTypes.INT, OpenApiParameter.PATH, description="The location's id.")
LOCATION_NOT_FOUND = _error("No such location (inactive locations are visible to staff only).")


class LocationListView(GenericAPIView):
    permission_classes = [ReadAnyoneWriteFrontDesk]
    serializer_class = LocationSerializer
    filter_backends = []  # filtering is parsed and validated explicitly below

    @extend_schema(
        operation_id="locations_list",
        summary="The clinic's active locations",
        description="Anyone sees the active locations. Staff and admins may add `include_inactive=true` "
        "to see every location.",
        parameters=[ActiveFilterQuerySerializer],
        responses={200: LocationSerializer(many=True), 400: VALIDATION_ERROR},
    )
    def get(self, request):
        query = ActiveFilterQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        include_inactive = query.validated_data["include_inactive"] and _is_front_desk(request)
        page = self.paginate_queryset(selectors.location_list(include_inactive=include_inactive))
        return self.get_paginated_response(LocationSerializer(page, many=True).data)

    @extend_schema(
        operation_id="locations_create",
        summary="Add a location (staff)",
        description="`time_zone` is an IANA name; local dates and working hours at the location are in it. "
        "A location that `uses_rooms` offers a session only where one of its active rooms is free.",
        request=LocationSerializer,
        responses={201: LocationSerializer, 400: VALIDATION_ERROR, 401: NOT_AUTHENTICATED, 403: FORBIDDEN},
    )
    def post(self, request):
        params = LocationSerializer(data=request.data)
        params.is_valid(raise_exception=True)
        location = services.location_create(**params.validated_data)
        return Response(LocationSerializer(location).data, status=status.HTTP_201_CREATED)


class LocationDetailView(GenericAPIView):
    permission_classes = [ReadAnyoneWriteFrontDesk]
    serializer_class = LocationSerializer

    def get_location(self, request, pk: int):
        return get_object_or_404(selectors.location_list(include_inactive=_is_front_desk(request)), pk=pk)

    @extend_schema(
        operation_id="locations_retrieve",
        summary="One location",
        description="Inactive locations are 404 except to staff and admins.",
        parameters=[LOCATION_ID],
        responses={200: LocationSerializer, 404: LOCATION_NOT_FOUND},
    )
    def get(self, request, pk: int):
        return Response(LocationSerializer(self.get_location(request, pk)).data)

    @extend_schema(
        operation_id="locations_partial_update",
        summary="Change a location (staff)",
        description="Changing `time_zone`, deactivating the location, or making it use rooms while active "
        "future bookings there (have no room) would be stranded answers 409 `has_future_bookings` with their "
        "ids in `conflicts`: move or cancel them first.",
        parameters=[LOCATION_ID],
        request=LocationSerializer(partial=True),
        responses={
            200: LocationSerializer,
            400: VALIDATION_ERROR,
            401: NOT_AUTHENTICATED,
            403: FORBIDDEN,
            404: LOCATION_NOT_FOUND,
            409: LOCATION_REFUSED,
        },
    )
    def patch(self, request, pk: int):
        location = self.get_location(request, pk)
        params = LocationSerializer(location, data=request.data, partial=True)
        params.is_valid(raise_exception=True)
        location = services.location_update(location=location, **params.validated_data)
        return Response(LocationSerializer(location).data)


# --- Rooms ------------------------------------------------------------------------

ROOM_ID = OpenApiParameter("id", OpenApiTypes.INT, OpenApiParameter.PATH, description="The room's id.")
ROOM_NOT_FOUND = _error("No such room.")
STAFF_ONLY = _error("Signed in, but only front-desk staff and admins may see or change rooms.")


class RoomListView(GenericAPIView):
    permission_classes = [IsFrontDesk]
    serializer_class = RoomSerializer
    filter_backends = []  # filtering is parsed and validated explicitly below

    @extend_schema(
        operation_id="rooms_list",
        summary="Treatment rooms, active or not (staff)",
        parameters=[RoomListQuerySerializer],
        responses={200: RoomSerializer(many=True), 400: VALIDATION_ERROR, 401: NOT_AUTHENTICATED, 403: STAFF_ONLY},
    )
    def get(self, request):
        query = RoomListQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        page = self.paginate_queryset(selectors.room_list(location=query.validated_data.get("location")))
        return self.get_paginated_response(RoomSerializer(page, many=True).data)

    @extend_schema(
        operation_id="rooms_create",
        summary="Add a room to a location (staff)",
        description="Room names are unique within a location.",
        request=RoomSerializer,
        responses={201: RoomSerializer, 400: VALIDATION_ERROR, 401: NOT_AUTHENTICATED, 403: STAFF_ONLY},
    )
    def post(self, request):
        params = RoomSerializer(data=request.data)
        params.is_valid(raise_exception=True)
        room = services.room_create(**params.validated_data)
        return Response(RoomSerializer(room).data, status=status.HTTP_201_CREATED)


class RoomDetailView(GenericAPIView):
    permission_classes = [IsFrontDesk]
    serializer_class = RoomSerializer

    def get_room(self, pk: int):
        return get_object_or_404(selectors.room_list(), pk=pk)

    @extend_schema(
        operation_id="rooms_retrieve",
        summary="One room (staff)",
        parameters=[ROOM_ID],
        responses={200: RoomSerializer, 401: NOT_AUTHENTICATED, 403: STAFF_ONLY, 404: ROOM_NOT_FOUND},
    )
    def get(self, request, pk: int):
        return Response(RoomSerializer(self.get_room(pk)).data)

    @extend_schema(
        operation_id="rooms_partial_update",
        summary="Rename or (de)activate a room (staff)",
        description="A room stays at its location (another `location` is a 400). Deactivating a room with "
        "active future bookings answers 409 `has_future_bookings` with their ids in `conflicts`.",
        parameters=[ROOM_ID],
        request=RoomSerializer(partial=True),
        responses={
            200: RoomSerializer,
            400: VALIDATION_ERROR,
            401: NOT_AUTHENTICATED,
            403: STAFF_ONLY,
            404: ROOM_NOT_FOUND,
            409: ROOM_CHANGE_REFUSED,
        },
    )
    def patch(self, request, pk: int):
        room = self.get_room(pk)
        params = RoomSerializer(room, data=request.data, partial=True)
        params.is_valid(raise_exception=True)
        room = services.room_update(room=room, **params.validated_data)
        return Response(RoomSerializer(room).data)

    @extend_schema(
        operation_id="rooms_destroy",
        summary="Delete a room nothing was booked in (staff)",
        description="A room with active future bookings → 409 `has_future_bookings` with their ids in "
        "`conflicts`; a room with past (or cancelled) bookings, which the clinic keeps on record → 409 "
        "`room_in_use`: deactivate it instead.",
        parameters=[ROOM_ID],
        request=None,
        responses={
            204: None,
            401: NOT_AUTHENTICATED,
            403: STAFF_ONLY,
            404: ROOM_NOT_FOUND,
            409: ROOM_DELETE_REFUSED,
        },
    )
    def delete(self, request, pk: int):
        services.room_delete(room=self.get_room(pk))
        return Response(status=status.HTTP_204_NO_CONTENT)


# --- Services -----------------------------------------------------------------------

SERVICE_ID = OpenApiParameter("id", OpenApiTypes.INT, OpenApiParameter.PATH, description="The service's id.")
SERVICE_NOT_FOUND = _error("No such service (inactive services are visible to staff only).")


def _service_context() -> dict:
    return {"currency": selectors.clinic_get().currency}


class ServiceListView(GenericAPIView):
    permission_classes = [ReadAnyoneWriteFrontDesk]
    serializer_class = ServiceSerializer
    filter_backends = []  # filtering is parsed and validated explicitly below

    @extend_schema(
        operation_id="services_list",
        summary="What clients can book: the active services, shortest first",
        description="Prices are decimal strings in the clinic's `currency`. Staff and admins may add "
        "`include_inactive=true`; they then see every service with `active`.",
        parameters=[ActiveFilterQuerySerializer],
        responses={200: ServiceViewSerializer(many=True), 400: VALIDATION_ERROR},
    )
    def get(self, request):
        query = ActiveFilterQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        staff_view = query.validated_data["include_inactive"] and _is_front_desk(request)
        page = self.paginate_queryset(selectors.service_list(include_inactive=staff_view))
        serializer_class = ServiceStaffSerializer if staff_view else ServiceSerializer
        return self.get_paginated_response(serializer_class(page, many=True, context=_service_context()).data)

    @extend_schema(
        operation_id="services_create",
        summary="Add a service (staff)",
        description="`duration_minutes` 15 to 240 and `buffer_minutes` 0 to 60, both multiples of 5; "
        "`price` a decimal string of at least 0.",
        request=ServiceWriteSerializer,
        responses={201: ServiceStaffSerializer, 400: VALIDATION_ERROR, 401: NOT_AUTHENTICATED, 403: FORBIDDEN},
    )
    def post(self, request):
        params = ServiceWriteSerializer(data=request.data)
        params.is_valid(raise_exception=True)
        service = services.service_create(**params.validated_data)
        return Response(
            ServiceStaffSerializer(service, context=_service_context()).data, status=status.HTTP_201_CREATED
        )


class ServiceDetailView(GenericAPIView):
    permission_classes = [ReadAnyoneWriteFrontDesk]
    serializer_class = ServiceSerializer

    def get_service(self, request, pk: int):
        return get_object_or_404(selectors.service_list(include_inactive=_is_front_desk(request)), pk=pk)

    @extend_schema(
        operation_id="services_retrieve",
        summary="One service",
        description="Inactive services are 404 except to staff and admins, who also see `active`.",
        parameters=[SERVICE_ID],
        responses={200: ServiceViewSerializer, 404: SERVICE_NOT_FOUND},
    )
    def get(self, request, pk: int):
        service = self.get_service(request, pk)
        serializer_class = ServiceStaffSerializer if _is_front_desk(request) else ServiceSerializer
        return Response(serializer_class(service, context=_service_context()).data)

    @extend_schema(
        operation_id="services_partial_update",
        summary="Change or deactivate a service (staff)",
        description="Rules as when adding one. Bookings already made keep their times and price: a change "
        "applies to what is offered and booked from now on.",
        parameters=[SERVICE_ID],
        request=ServiceWriteSerializer(partial=True),
        responses={
            200: ServiceStaffSerializer,
            400: VALIDATION_ERROR,
            401: NOT_AUTHENTICATED,
            403: FORBIDDEN,
            404: SERVICE_NOT_FOUND,
        },
    )
    def patch(self, request, pk: int):
        service = self.get_service(request, pk)
        params = ServiceWriteSerializer(service, data=request.data, partial=True)
        params.is_valid(raise_exception=True)
        service = services.service_update(service=service, **params.validated_data)
        return Response(ServiceStaffSerializer(service, context=_service_context()).data)


# --- Therapists ---------------------------------------------------------------

THERAPIST_ID = OpenApiParameter("id", OpenApiTypes.INT, OpenApiParameter.PATH, description="The therapist's id.")
# One schema for both views of a therapist: `active` and `email` are only there
# for front-desk staff. (Two schemas under `oneOf` could not tell them apart:
# the staff view is also a valid public view.)
THERAPIST_VIEW = TherapistViewSerializer
THERAPIST_VIEWS = TherapistViewSerializer(many=True)


class TherapistListView(GenericAPIView):
    permission_classes = [ReadAnyoneWriteFrontDesk]
    serializer_class = TherapistSerializer
    filter_backends = []  # filtering is parsed and validated explicitly below

    @extend_schema(
        operation_id="therapists_list",
        summary="Active therapists",
        description="Anyone sees the active therapists, with the active locations they work at. Staff and "
        "admins may add `include_inactive=true`; they then see every therapist with `active`, `email` and "
        "all their locations.",
        parameters=[TherapistListQuerySerializer],
        responses={200: THERAPIST_VIEWS, 400: VALIDATION_ERROR},
    )
    def get(self, request):
        query = TherapistListQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        staff_view = query.validated_data["include_inactive"] and _is_front_desk(request)
        therapists = selectors.therapist_list(
            modality=query.validated_data.get("modality"),
            location=query.validated_data.get("location"),
            include_inactive=staff_view,
        )
        page = self.paginate_queryset(therapists)
        serializer_class = TherapistStaffSerializer if staff_view else TherapistSerializer
        return self.get_paginated_response(serializer_class(page, many=True).data)

    @extend_schema(
        operation_id="therapists_create",
        summary="Add a therapist (staff)",
        description="Creates the therapist's account (without a usable password), profile and locations.",
        request=TherapistCreateSerializer,
        responses={201: TherapistStaffSerializer, 400: VALIDATION_ERROR, 401: NOT_AUTHENTICATED, 403: FORBIDDEN},
    )
    def post(self, request):
        params = TherapistCreateSerializer(data=request.data)
        params.is_valid(raise_exception=True)
        therapist = services.therapist_create(**params.validated_data)
        return Response(TherapistStaffSerializer(therapist).data, status=status.HTTP_201_CREATED)


class TherapistDetailView(GenericAPIView):
    permission_classes = [ReadAnyoneWriteFrontDesk]
    serializer_class = TherapistSerializer

    def get_therapist(self, request, pk: int):
        therapists = selectors.therapist_list(include_inactive=_is_front_desk(request))
        return get_object_or_404(therapists, pk=pk)

    @extend_schema(
        operation_id="therapists_retrieve",
        summary="One therapist",
        description="Inactive therapists are 404 except to staff and admins, who also see `active` and `email`.",
        parameters=[THERAPIST_ID],
        responses={200: THERAPIST_VIEW, 404: NOT_FOUND},
    )
    def get(self, request, pk: int):
        therapist = self.get_therapist(request, pk)
        serializer_class = TherapistStaffSerializer if _is_front_desk(request) else TherapistSerializer
        return Response(serializer_class(therapist).data)

    @extend_schema(
        operation_id="therapists_partial_update",
        summary="Change a therapist's bio, modalities, locations or active flag (staff)",
        description="Deactivating a therapist, or removing a location or a modality that their active future "
        "bookings need (a booking needs the modality its intake asks for; a pending intake none), answers "
        "409 `has_future_bookings` with those bookings' ids in `conflicts`: give them to another therapist "
        "or cancel them first.",
        parameters=[THERAPIST_ID],
        request=TherapistUpdateSerializer,
        responses={
            200: TherapistStaffSerializer,
            400: VALIDATION_ERROR,
            401: NOT_AUTHENTICATED,
            403: FORBIDDEN,
            404: NOT_FOUND,
            409: THERAPIST_CHANGE_REFUSED,
        },
    )
    def patch(self, request, pk: int):
        therapist = self.get_therapist(request, pk)
        params = TherapistUpdateSerializer(data=request.data)
        params.is_valid(raise_exception=True)
        therapist = services.therapist_update(therapist=therapist, **params.validated_data)
        return Response(TherapistStaffSerializer(therapist).data)
