"""A booking's intake: read it, change the answers, review it, and see who read it.

Who may do what (docs/api.md, Bookings; Privacy and audit):

| endpoint | allowed | refused with 403 | everyone else |
|---|---|---|---|
| GET  .../intake/            | its client, its therapist, admin | staff | 404 |
| PUT  .../intake/            | its client (until the start)     | its therapist, staff, admin | 404 |
| POST .../review/            | its therapist, admin             | its client, staff | 404 |
| GET  .../intake/access-log/ | its client, admin                | its therapist, staff | 404 |

Every read of the full intake, and every refused attempt to read it, is
written to the audit log (`IntakeAccess`) in the same request.
"""

from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import generics, serializers
from rest_framework.exceptions import NotFound, PermissionDenied
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response
from rest_framework.views import APIView

from booking import services
from booking.api.serializers import BookingIntakeSerializer, BookingReviewSerializer, BookingSerializer
from booking.models import Booking
from booking.selectors import booking_list_for
from clinic.models import Role, User
from config.openapi import FORBIDDEN, NOT_FOUND, UNAUTHENTICATED, VALIDATION_ERROR, conflict
from config.security import client_ip
from intake.api.serializers import AnswersSerializer
from intake.models import IntakeAccess
from intake.selectors import intake_access_list
from intake.services import intake_access_log


def _booking(pk: int) -> Booking:
    booking = (
        Booking.objects.select_related("slot__therapist__user", "client", "intake__reviewed_by").filter(pk=pk).first()
    )
    if booking is None:
        raise NotFound()
    return booking


def _relation(user: User, booking: Booking) -> str:
    """How `user` stands to `booking`: client, therapist, staff, admin or stranger."""
    if user.role == Role.ADMIN:
        return "admin"
    if user.role == Role.STAFF:
        return "staff"
    if booking.client_id == user.pk:
        return "client"
    if booking.slot.therapist.user_id == user.pk:
        return "therapist"
    return "stranger"


def _authorize(user: User, booking: Booking, allowed: set[str]) -> None:
    """404 to strangers (never reveal another client's booking), 403 to the others not allowed."""
    relation = _relation(user, booking)
    if relation == "stranger":
        raise NotFound()
    if relation not in allowed:
        raise PermissionDenied("Your role may not do this with this booking's intake.")


class BookingIntakeView(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(
        responses={200: BookingIntakeSerializer, 401: UNAUTHENTICATED, 403: FORBIDDEN, 404: NOT_FOUND},
        description="The full intake (health answers). Its client, its therapist and admins; "
        "front-desk staff 403. Every read, allowed or refused, is audit-logged.",
    )
    def get(self, request, pk: int):
        booking = _booking(pk)
        try:
            _authorize(request.user, booking, {"client", "therapist", "admin"})
        except (NotFound, PermissionDenied):
            self._log(request, booking, IntakeAccess.Outcome.DENIED)
            raise
        self._log(request, booking, IntakeAccess.Outcome.ALLOWED)
        return Response(BookingIntakeSerializer(booking.intake, context={"booking": booking}).data)

    @extend_schema(
        request=AnswersSerializer,
        responses={
            200: OpenApiResponse(
                BookingIntakeSerializer,
                description="The intake, re-assessed. Answers that now ask for a modality the booking's "
                "therapist is not trained in are kept: the booking gets the `therapist_not_qualified` "
                "warning (in `warnings`) and needs review.",
            ),
            400: VALIDATION_ERROR,
            403: FORBIDDEN,
            404: NOT_FOUND,
            409: conflict("intake_locked (the session has started) or booking_not_active."),
        },
        description="Replace the answers before the session starts; they are re-assessed and an "
        "existing therapist review is kept but marked stale. The booking's client only.",
    )
    def put(self, request, pk: int):
        booking = _booking(pk)
        _authorize(request.user, booking, {"client"})
        answers = AnswersSerializer(data=request.data)
        answers.is_valid(raise_exception=True)
        booking = services.booking_intake_update(booking_id=booking.pk, answers=answers.validated_data)
        return Response(BookingIntakeSerializer(booking.intake, context={"booking": booking}).data)

    @staticmethod
    def _log(request, booking: Booking, outcome: str) -> None:
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
        request=BookingReviewSerializer,
        responses={
            200: BookingSerializer,
            400: VALIDATION_ERROR,
            403: FORBIDDEN,
            404: NOT_FOUND,
            409: conflict("therapist_not_qualified: the booking's therapist does not give that modality."),
        },
        description="The treating therapist (or an admin) sets the booking's final modality, with a note. "
        "Only a modality the booking's therapist is trained in; a review settles a "
        "`therapist_not_qualified` warning.",
    )
    def post(self, request, pk: int):
        booking = _booking(pk)
        _authorize(request.user, booking, {"therapist", "admin"})
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
        fields = ["id", "accessed_by", "accessed_at", "remote_addr", "channel", "outcome"]
        read_only_fields = fields


@extend_schema(responses={200: IntakeAccessSerializer(many=True), 403: FORBIDDEN, 404: NOT_FOUND})
class BookingIntakeAccessLogView(generics.ListAPIView):
    """Who read this booking's intake, when and from where: its client sees the reads, admins refusals too."""

    permission_classes = [IsAuthenticated]
    serializer_class = IntakeAccessSerializer
    filter_backends = []

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return IntakeAccess.objects.none()
        booking = _booking(self.kwargs["pk"])
        _authorize(self.request.user, booking, {"client", "admin"})
        return intake_access_list(intake=booking.intake, user=self.request.user)
