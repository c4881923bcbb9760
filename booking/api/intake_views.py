"""A booking's intake: read it, give or change the answers, review it, and see who read it.

Who may do what (docs/api.md, Bookings; Privacy and audit), decided with
its audit rows by `booking.intake_access` (the FHIR QuestionnaireResponse
and the pages call it too); this module only turns its refusals into 404s
and 403s:

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

from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import generics, serializers
from rest_framework.exceptions import NotFound, PermissionDenied
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response
from rest_framework.views import APIView

from booking import intake_access, services
from booking.api.serializers import BookingIntakeSerializer, BookingReviewSerializer, BookingSerializer
from booking.errors import BookingNotActive, IntakeLocked, IntakePending, TherapistNotQualified, TooEarly
from booking.intake_access import ADMIN, CLIENT, THERAPIST, BookingNotFound, IntakeAccessRefused
from booking.models import Booking
from booking.selectors import booking_list_for
from clinic.models import User
from config.openapi import FORBIDDEN, NOT_FOUND, UNAUTHENTICATED, VALIDATION_ERROR, refusal
from config.security import client_ip
from intake.api.serializers import AnswersSerializer
from intake.models import IntakeAccess
from intake.selectors import intake_access_list

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


def _refused(error: IntakeAccessRefused) -> NotFound | PermissionDenied:
    """The API's 404 or 403 for a refusal of `booking.intake_access` (its words, or DRF's own 404)."""
    if isinstance(error, BookingNotFound):
        return NotFound(error.detail)
    return PermissionDenied(error.detail)


def _authorize(user: User, pk: int, allowed: set[str]) -> tuple[Booking, str]:
    try:
        return intake_access.booking_authorize(booking_id=pk, user=user, allowed=allowed)
    except IntakeAccessRefused as error:
        raise _refused(error) from error


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
        try:
            booking = intake_access.booking_intake_read(
                booking_id=pk, user=request.user, remote_addr=client_ip(request), channel=IntakeAccess.Channel.API
            )
        except IntakeAccessRefused as error:
            raise _refused(error) from error
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
        try:
            booking, relation = intake_access.booking_intake_answerer(booking_id=pk, user=request.user)
        except IntakeAccessRefused as error:
            raise _refused(error) from error
        answers = AnswersSerializer(data=request.data)
        answers.is_valid(raise_exception=True)
        intake_access.booking_intake_answer_when(booking=booking, relation=relation)
        booking = services.booking_intake_update(booking_id=booking.pk, answers=answers.validated_data)
        return Response(BookingIntakeSerializer(booking.intake, context={"booking": booking}).data)


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
        booking, _ = _authorize(request.user, pk, {THERAPIST, ADMIN})
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
        booking, _ = _authorize(self.request.user, self.kwargs["pk"], {CLIENT, ADMIN})
        return intake_access_list(intake=booking.intake, booking_id=booking.pk, user=self.request.user)
