"""The clinical record over HTTP: a booking's treatment notes, and a client's history.

Who may do what, and the audit row of every read, is decided in
records.services; these views parse, call one service and render.
"""

from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import generics, status
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response
from rest_framework.views import APIView

from booking.models import Booking
from config.openapi import FORBIDDEN, NOT_FOUND, UNAUTHENTICATED, VALIDATION_ERROR, refusal
from config.security import client_ip
from records import selectors, services
from records.api.serializers import (
    HistorySessionSerializer,
    NoteCreateSerializer,
    NoteUpdateSerializer,
    TreatmentNoteSerializer,
)
from records.errors import BookingNotActive, NoteSigned, NotesTooEarly
from records.models import TreatmentNote

NOTE_CREATE_REFUSED = refusal(
    "NoteCreateRefused",
    {
        NotesTooEarly: "the session has not started yet: notes are written from its start",
        BookingNotActive: "the booking was cancelled: there was no session",
    },
)
NOTE_SIGNED = refusal("NoteSignedRefused", {NoteSigned: "the note is signed: amend it with a new note instead"})
NOT_YOURS = OpenApiResponse(
    NOT_FOUND.response,
    description="No such booking (or note of it), or not one whose notes you may see; its client too "
    "(they read their notes in `me/export/`).",
)


class BookingNotesView(generics.ListAPIView):
    """`bookings/{id}/notes/`: read every version of a booking's notes, or write a draft."""

    permission_classes = [IsAuthenticated]
    serializer_class = TreatmentNoteSerializer
    filter_backends = []

    @extend_schema(
        operation_id="bookings_notes_list",
        summary="A booking's treatment notes, every version, oldest first",
        description="Its therapist and admins; front-desk staff 403; anyone else 404 (its client too: "
        "they read their notes in `me/export/`). Drafts and signed notes, amendments with them. Every "
        "read, allowed or refused, is audit-logged (kind `notes`).",
        responses={200: TreatmentNoteSerializer(many=True), 401: UNAUTHENTICATED, 403: FORBIDDEN, 404: NOT_YOURS},
    )
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return TreatmentNote.objects.none()
        return services.notes_read(
            booking_id=self.kwargs["pk"], user=self.request.user, address=client_ip(self.request)
        )

    @extend_schema(
        operation_id="bookings_notes_create",
        summary="Write a draft treatment note (the booking's therapist, from the session's start)",
        description="A draft: change it with PATCH, then sign it. To correct a signed note, write a new "
        "one with `amends` set to it. `areas_treated` are body areas of the intake form, "
        "`pressure_used` one of its pressure values.",
        request=NoteCreateSerializer,
        responses={
            201: TreatmentNoteSerializer,
            400: OpenApiResponse(
                VALIDATION_ERROR.response,
                description="A value outside the intake form's lists, a text too long, an unknown field, or "
                "`amends` that is not a signed note of this booking.",
            ),
            401: UNAUTHENTICATED,
            403: OpenApiResponse(
                FORBIDDEN.response, description="Front-desk staff and admins: notes are the therapist's."
            ),
            404: NOT_YOURS,
            409: NOTE_CREATE_REFUSED,
        },
    )
    def post(self, request, pk: int):
        services.note_write_check(booking_id=pk, user=request.user)
        body = NoteCreateSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        note = services.note_create(booking_id=pk, author=request.user, **body.validated_data)
        note = selectors.note_get(note_id=note.pk)
        return Response(TreatmentNoteSerializer(note).data, status=status.HTTP_201_CREATED)


class BookingNoteView(APIView):
    """`bookings/{id}/notes/{nid}/`: its author changes a draft."""

    permission_classes = [IsAuthenticated]

    @extend_schema(
        operation_id="bookings_notes_partial_update",
        summary="Change a draft treatment note (its author)",
        description="Any of the note's fields; the others stay. A signed note never changes: 409 `note_signed`.",
        request=NoteUpdateSerializer,
        responses={
            200: TreatmentNoteSerializer,
            400: OpenApiResponse(
                VALIDATION_ERROR.response,
                description="A value outside the intake form's lists, a text too long, or an unknown field.",
            ),
            401: UNAUTHENTICATED,
            403: OpenApiResponse(FORBIDDEN.response, description="Not its author (staff, admins, another therapist)."),
            404: NOT_YOURS,
            409: NOTE_SIGNED,
        },
    )
    def patch(self, request, pk: int, nid: int):
        services.note_write_check(booking_id=pk, note_id=nid, user=request.user)
        body = NoteUpdateSerializer(data=request.data, partial=True)
        body.is_valid(raise_exception=True)
        note = services.note_update(booking_id=pk, note_id=nid, author=request.user, **body.validated_data)
        return Response(TreatmentNoteSerializer(selectors.note_get(note_id=note.pk)).data)


class BookingNoteSignView(APIView):
    """`bookings/{id}/notes/{nid}/sign/`: its author signs a draft."""

    permission_classes = [IsAuthenticated]

    @extend_schema(
        operation_id="bookings_notes_sign",
        summary="Sign a draft treatment note (its author): from then on it never changes",
        description="Sets `signed_at`. The database refuses any later change or deletion of the note.",
        request=None,
        responses={
            200: TreatmentNoteSerializer,
            401: UNAUTHENTICATED,
            403: OpenApiResponse(FORBIDDEN.response, description="Not its author (staff, admins, another therapist)."),
            404: NOT_YOURS,
            409: NOTE_SIGNED,
        },
    )
    def post(self, request, pk: int, nid: int):
        services.note_write_check(booking_id=pk, note_id=nid, user=request.user)
        note = services.note_sign(booking_id=pk, note_id=nid, author=request.user)
        return Response(TreatmentNoteSerializer(selectors.note_get(note_id=note.pk)).data)


class ClientHistoryView(generics.ListAPIView):
    """`clients/{id}/history/`: a client's sessions with their signed notes, for their therapists."""

    permission_classes = [IsAuthenticated]
    serializer_class = HistorySessionSerializer
    filter_backends = []

    @extend_schema(
        operation_id="clients_history_list",
        summary="A client's history: their sessions, newest first, with the signed treatment notes",
        description="The sessions that have started and were not cancelled (completed, no-show, or "
        "confirmed and begun), newest first, each with its signed notes. For admins and for a therapist "
        "who has or had such a session with the client, or a confirmed upcoming one; front-desk staff "
        "403; anyone else 404. Every read, allowed or refused, is audit-logged (kind `history`).",
        responses={
            200: HistorySessionSerializer(many=True),
            401: UNAUTHENTICATED,
            403: FORBIDDEN,
            404: OpenApiResponse(
                NOT_FOUND.response, description="No such client, or not one whose history you may see."
            ),
        },
    )
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return Booking.objects.none()
        return services.history_read(
            client_id=self.kwargs["pk"], user=self.request.user, address=client_ip(self.request)
        )
