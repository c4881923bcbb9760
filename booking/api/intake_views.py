"""A booking's intake: read it, give or change the answers, review it, and see who read it.

Who may do what (docs/api.md, Bookings; Privacy and audit):

| endpoint | allowed | refused with 403 | everyone else |
|---|---|---|---|
| GET  .../intake/            | its client, its therapist, admin | staff | 404 |
| PUT  .../intake/            | its client; its therapist, admin (pending only) | staff | 404 |
| POST .../review/            | its therapist, admin             | its client, staff | 404 |
| GET  .../intake/access-log/ | its client, admin                | its therapist, staff | 404 |

PUT: the client until the session starts (then 409 `intake_locked`); its
therapist or an admin only while the intake is pending (a completed one is
the client's: 403), and from the start (before it, 409 `too_early`).

A held waitlist offer is not a booking of its client or therapist yet: to
them it is a 404 like anyone else's. A pending intake (a front-desk booking
the client has not completed) has nothing to read: GET is a 404.

Every read of the full intake, and every refused attempt to read it, is
written to the audit log (`IntakeAccess`) in the same request.
"""

from django.utils import timezone
from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import generics, serializers
from rest_framework.exceptions import NotFound, PermissionDenied
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response
from rest_framework.views import APIView

from booking import services
from booking.api.serializers import BookingIntakeSerializer, BookingReviewSerializer, BookingSerializer
from booking.errors import BookingNotActive, IntakeLocked, IntakePending, TherapistNotQualified, TooEarly
from booking.models import Booking
from booking.selectors import booking_list_for
from clinic.models import Role, User
from config.openapi import FORBIDDEN, NOT_FOUND, UNAUTHENTICATED, VALIDATION_ERROR, refusal
from config.security import client_ip
from intake.api.serializers import AnswersSerializer
from intake.models import IntakeAccess
from intake.selectors import intake_access_list
from intake.services import intake_access_log

CLIENT, THERAPIST, STAFF, ADMIN, STRANGER = "client", "therapist", "staff", "admin", "stranger"

INTAKE_UPDATE_REFUSED = refusal(
    "IntakeUpdateRefused",
    {
        IntakeLocked: "the session has started: the client can no longer change the answers",
        TooEarly: "a therapist or admin completes a pending intake from the session's start only",
        BookingNotActive: "the booking is cancelled, completed or a no-show",
    },
)
REVIEW_REFUSED = refusal(
    "ReviewRefused",
    {
        TherapistNotQualified: "the booking's therapist does not give that modality",
        IntakePending: "the client has not completed the intake yet",
    },
)


def _booking(pk: int) -> Booking:
    booking = (
        Booking.objects.select_related(
            "therapist__user", "client", "intake__reviewed_by", "location", "room", "service"
        )
        .filter(pk=pk)
        .first()
    )
    if booking is None:
        raise NotFound()
    return booking


def _relation(user: User, booking: Booking) -> str:
    """How `user` stands to `booking`: client, therapist, staff, admin or stranger."""
    if user.role == Role.ADMIN:
        return ADMIN
    if user.role == Role.STAFF:
        return STAFF
    if booking.status == Booking.Status.HELD:
        return STRANGER  # an offer, not their booking yet (it is only in the front desk's lists)
    if booking.client_id == user.pk:
        return CLIENT
    if booking.therapist.user_id == user.pk:
        return THERAPIST
    return STRANGER


def _authorize(user: User, booking: Booking, allowed: set[str]) -> str:
    """The caller's relation; 404 to strangers (never reveal another client's booking), 403 to others not allowed."""
    relation = _relation(user, booking)
    if relation == STRANGER:
        raise NotFound()
    if relation not in allowed:
        raise PermissionDenied("Your role may not do this with this booking's intake.")
    return relation


class BookingIntakeView(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(
        operation_id="bookings_intake_retrieve",
        summary="A booking's intake: the health answers and their assessment",
        responses={
            200: BookingIntakeSerializer,
            401: UNAUTHENTICATED,
            403: FORBIDDEN,
            404: OpenApiResponse(
                NOT_FOUND.response,
                description="No such booking, not one you may see, or its intake is still pending.",
            ),
        },
        description="The full intake (health answers). Its client, its therapist and admins; "
        "front-desk staff 403. A pending intake (a front-desk booking not completed yet) is a 404. "
        "Every read, allowed or refused, is audit-logged.",
    )
    def get(self, request, pk: int):
        booking = _booking(pk)
        try:
            _authorize(request.user, booking, {CLIENT, THERAPIST, ADMIN})
        except (NotFound, PermissionDenied):
            self._log(request, booking, IntakeAccess.Outcome.DENIED)
            raise
        if booking.intake is None:
            raise NotFound("The client has not completed the intake for this booking yet.")
        self._log(request, booking, IntakeAccess.Outcome.ALLOWED)
        return Response(BookingIntakeSerializer(booking.intake, context={"booking": booking}).data)

    @extend_schema(
        operation_id="bookings_intake_update",
        summary="Give or change a booking's intake answers",
        request=AnswersSerializer,
        responses={
            200: OpenApiResponse(
                BookingIntakeSerializer,
                description="The intake, (re-)assessed. Answers that now ask for a modality the booking's "
                "therapist is not trained in are kept: the booking gets the `therapist_not_qualified` "
                "warning (in `warnings`) and needs review.",
            ),
            400: OpenApiResponse(VALIDATION_ERROR.response, description="Invalid answers: field → messages."),
            401: UNAUTHENTICATED,
            403: FORBIDDEN,
            404: NOT_FOUND,
            409: INTAKE_UPDATE_REFUSED,
        },
        description="The body is the answers object itself. Its client gives or replaces the answers until "
        "the session starts; they are (re-)assessed and an existing therapist review is kept but marked "
        "stale. A pending intake (a front-desk booking) is completed this way; from the start, while it "
        "is still pending, its therapist or an admin may complete it with the client.",
    )
    def put(self, request, pk: int):
        booking = _booking(pk)
        relation = _authorize(request.user, booking, {CLIENT, THERAPIST, ADMIN})
        if relation != CLIENT and not booking.is_pending:
            raise PermissionDenied("Only the client changes the answers of a completed intake.")
        answers = AnswersSerializer(data=request.data)
        answers.is_valid(raise_exception=True)
        # Who may answer when (the service asks no caller): the client until the start,
        # the therapist or an admin from the start, while the intake is pending.
        started = timezone.now() >= booking.starts_at
        if relation != CLIENT and not started:
            raise TooEarly(
                "Until the session starts the client completes the intake (they were asked by mail); "
                "from its start, its therapist may complete it with them."
            )
        if relation == CLIENT and started and booking.is_active:
            raise IntakeLocked()
        booking = services.booking_intake_update(booking_id=booking.pk, answers=answers.validated_data)
        return Response(BookingIntakeSerializer(booking.intake, context={"booking": booking}).data)

    @staticmethod
    def _log(request, booking: Booking, outcome: str) -> None:
        if booking.intake is None:
            return  # a pending intake: nothing was there to read
        intake_access_log(
            intake=booking.intake,
            user=request.user,
            booking_id=booking.pk,
            remote_addr=client_ip(request),
            channel=IntakeAccess.Channel.API,
            outcome=outcome,
        )


class BookingReviewView(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(
        operation_id="bookings_review",
        summary="Review a booking's intake: set its final modality",
        request=BookingReviewSerializer,
        responses={
            200: BookingSerializer,
            401: UNAUTHENTICATED,
            403: FORBIDDEN,
            404: NOT_FOUND,
            409: REVIEW_REFUSED,
        },
        description="The treating therapist (or an admin) sets the booking's final modality, with a note. "
        "Only a modality the booking's therapist is trained in; a review settles a "
        "`therapist_not_qualified` warning.",
    )
    def post(self, request, pk: int):
        booking = _booking(pk)
        _authorize(request.user, booking, {THERAPIST, ADMIN})
        data = BookingReviewSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        services.booking_review(booking_id=booking.pk, reviewer=request.user, **data.validated_data)
        booking = booking_list_for(request.user).get(pk=booking.pk)
        return Response(BookingSerializer(booking, context={"request": request}).data)


class PersonRefSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField(source="display_name")


class IntakeAccessSerializer(serializers.ModelSerializer):
    accessed_by = PersonRefSerializer(allow_null=True)

    class Meta:
        model = IntakeAccess
        fields = ["id", "kind", "accessed_by", "accessed_at", "remote_addr", "channel", "outcome"]
        read_only_fields = fields


@extend_schema_view(
    get=extend_schema(
        operation_id="bookings_intake_access_log",
        summary="Who read a booking's intake, when and from where",
        responses={200: IntakeAccessSerializer(many=True), 401: UNAUTHENTICATED, 403: FORBIDDEN, 404: NOT_FOUND},
    )
)
class BookingIntakeAccessLogView(generics.ListAPIView):
    """Who read this booking's intake or its treatment notes (`kind`), when and from where.

    Its client sees the reads, admins refusals too. While the intake is
    pending only reads of the notes can be there: the intake had nothing to read.
    """

    permission_classes = [IsAuthenticated]
    serializer_class = IntakeAccessSerializer
    filter_backends = []

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return IntakeAccess.objects.none()
        booking = _booking(self.kwargs["pk"])
        _authorize(self.request.user, booking, {CLIENT, ADMIN})
        return intake_access_list(intake=booking.intake, booking_id=booking.pk, user=self.request.user)
