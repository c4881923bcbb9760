"""Views of the therapist-facing API: the day sheet, the calendar feed and its token."""

from urllib.parse import urlencode

from django.http import HttpResponse
from django.urls import reverse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiExample, OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework.exceptions import NotFound
from rest_framework.negotiation import BaseContentNegotiation
from rest_framework.permissions import AllowAny
from rest_framework.renderers import JSONRenderer
from rest_framework.response import Response
from rest_framework.views import APIView

from booking.api.therapist_serializers import DaySheetQuerySerializer, DaySheetSerializer, FeedTokenSerializer
from booking.day_sheet import day_sheet_record_access, therapist_day
from booking.ics import feed_token_rotate, therapist_by_feed_token, therapist_calendar
from clinic.permissions import IsTherapist, therapist_has_access
from config.openapi import UNAUTHENTICATED, DetailSerializer
from config.security import client_ip

ICS_CONTENT_TYPE = "text/calendar; charset=utf-8"
NOT_A_THERAPIST = OpenApiResponse(DetailSerializer, description="Not an active therapist.")
CALENDAR_EXAMPLE = (
    "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//Massage clinic//Bookings//EN\r\n"
    "BEGIN:VEVENT\r\nUID:booking-1042@clinic.example.com\r\nSEQUENCE:0\r\n"
    "DTSTART:20261201T140000Z\r\nDTEND:20261201T150000Z\r\n"
    "SUMMARY:Massage\\, 60 min - Maria Lopez (therapeutic)\r\nLOCATION:Midtown\\, Room 2\r\n"
    "STATUS:CONFIRMED\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n"
)


class TherapistDayView(APIView):
    permission_classes = [IsTherapist]

    @extend_schema(
        operation_id="therapist_day_sheet",
        summary="The therapist's day sheet",
        description=(
            "The calling therapist's active bookings starting on `date`, in time order, with the service, "
            "location, room and the intake details to prepare. A session belongs to its start's local day at "
            "its location. Each intake shown is written to the audit log; a pending intake (a front-desk "
            "booking the client has not completed yet) shows no answers and is not a read."
        ),
        parameters=[
            OpenApiParameter(
                "date", OpenApiTypes.DATE, required=True, description="YYYY-MM-DD, in each location's time zone"
            )
        ],
        responses={
            200: DaySheetSerializer,
            400: OpenApiResponse(description="`date` missing or not YYYY-MM-DD."),
            401: UNAUTHENTICATED,
            403: NOT_A_THERAPIST,
        },
    )
    def get(self, request):
        query = DaySheetQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        day = query.validated_data["date"]
        bookings = therapist_day(therapist=request.user.therapist, date=day)
        # Audit first: if the log cannot be written, nothing is shown.
        day_sheet_record_access(bookings=bookings, accessed_by=request.user, remote_addr=client_ip(request))
        return Response(DaySheetSerializer({"date": day, "bookings": bookings}).data)


def _feed_answer(request, therapist) -> dict:
    path = reverse("therapist-calendar-feed", kwargs={"pk": therapist.pk})
    url = request.build_absolute_uri(path) + "?" + urlencode({"token": therapist.feed_token})
    return FeedTokenSerializer({"token": therapist.feed_token, "url": url}).data


class TherapistFeedView(APIView):
    permission_classes = [IsTherapist]

    @extend_schema(
        operation_id="therapist_feed_token",
        summary="The therapist's calendar feed address",
        responses={
            200: FeedTokenSerializer,
            401: UNAUTHENTICATED,
            403: NOT_A_THERAPIST,
        },
    )
    def get(self, request):
        return Response(_feed_answer(request, request.user.therapist))

    @extend_schema(
        operation_id="therapist_feed_token_rotate",
        summary="Replace the calendar feed token",
        description="A new token; the old address stops working at once.",
        request=None,
        responses={
            200: FeedTokenSerializer,
            401: UNAUTHENTICATED,
            403: NOT_A_THERAPIST,
        },
    )
    def post(self, request):
        therapist = feed_token_rotate(therapist=request.user.therapist)
        return Response(_feed_answer(request, therapist))


class _IgnoreAccept(BaseContentNegotiation):
    """Calendar apps send all sorts of Accept headers; the answer is the calendar (errors as JSON)."""

    def select_parser(self, request, parsers):
        return parsers[0]

    def select_renderer(self, request, renderers, format_suffix=None):
        return renderers[0], renderers[0].media_type


class TherapistCalendarView(APIView):
    """The feed is opened by its token alone (calendar apps send no credentials)."""

    authentication_classes = []
    permission_classes = [AllowAny]
    renderer_classes = [JSONRenderer]
    content_negotiation_class = _IgnoreAccept

    @extend_schema(
        operation_id="therapist_calendar_feed",
        summary="The therapist's calendar (iCalendar, RFC 5545)",
        description=(
            "Confirmed bookings from 30 days ago onward, cancelled ones as STATUS:CANCELLED. Events name the "
            'modality, the client and "intake needs review" when so, and carry no health details. '
            "An unknown therapist, a wrong, missing or replaced token, and the feed of a therapist who is "
            "inactive (or whose account is) answer 404."
        ),
        auth=[],
        parameters=[OpenApiParameter("token", OpenApiTypes.STR, required=True, description="The feed token")],
        responses={
            (200, "text/calendar"): OpenApiResponse(
                OpenApiTypes.STR,
                description="The calendar: iCalendar text (RFC 5545), UTF-8.",
                examples=[OpenApiExample("A calendar", value=CALENDAR_EXAMPLE)],
            ),
            404: OpenApiResponse(description="Unknown or inactive therapist, or a wrong, missing or replaced token."),
        },
    )
    def get(self, request, pk: int):
        therapist = therapist_by_feed_token(therapist_id=pk, token=request.query_params.get("token"))
        # The feed names clients: it closes with the therapist's access (clinic.permissions).
        if therapist is None or not therapist_has_access(therapist):
            raise NotFound()
        response = HttpResponse(therapist_calendar(therapist=therapist), content_type=ICS_CONTENT_TYPE)
        response["Content-Disposition"] = f'inline; filename="therapist-{therapist.pk}.ics"'
        # No Cache-Control here: it names clients, so config.middleware.NoStoreMiddleware says no-store.
        return response
