"""The signed-in person's own data: `GET me/export/` and `DELETE me/` (docs/api.md, Accounts).

Here, at the top of the graph, because they span all the clinical data:
bookings and intakes (booking, intake) and treatment notes (records).
"""

from drf_spectacular.utils import extend_schema, extend_schema_field
from rest_framework import serializers, status
from rest_framework.exceptions import PermissionDenied
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response
from rest_framework.views import APIView

from booking.api.intake_views import IntakeAccessSerializer
from booking.api.waitlist_serializers import WaitlistEntrySerializer
from booking.models import Booking
from clinic.api.views import MeView
from clinic.models import Modality, Role, Therapist, User
from config.openapi import FORBIDDEN, UNAUTHENTICATED
from config.security import client_ip
from intake.api.serializers import IntakeSerializer
from intake.models import Intake
from records.account_data import account_delete, account_export
from records.api.serializers import TreatmentNoteSerializer


class ExportAccountSerializer(serializers.ModelSerializer):
    class Meta:
        model = User
        fields = ["id", "email", "first_name", "last_name", "phone", "role", "is_active", "date_joined", "last_login"]
        read_only_fields = fields


class ExportTherapistSerializer(serializers.ModelSerializer):
    modalities = serializers.ListField(child=serializers.ChoiceField(choices=Modality.choices))

    class Meta:
        model = Therapist
        fields = ["id", "bio", "modalities", "active"]
        read_only_fields = fields


class ExportNamedSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()


class ExportServiceSerializer(ExportNamedSerializer):
    duration_minutes = serializers.IntegerField()


class ExportLocationSerializer(ExportNamedSerializer):
    time_zone = serializers.CharField()


class ExportBookingSerializer(serializers.ModelSerializer):
    service = ExportServiceSerializer()
    therapist = ExportNamedSerializer()
    location = ExportLocationSerializer()
    room = ExportNamedSerializer(allow_null=True)
    modality = serializers.SerializerMethodField()
    intake = serializers.IntegerField(
        source="intake_id", allow_null=True, help_text="Null while the intake is pending."
    )

    class Meta:
        model = Booking
        fields = [
            "id",
            "service",
            "therapist",
            "location",
            "room",
            "starts_at",
            "ends_at",
            "price",
            "currency",
            "status",
            "intake_status",
            "modality",
            "intake",
            "created_at",
            "cancelled_at",
            "cancel_reason",
        ]
        read_only_fields = fields

    @extend_schema_field(serializers.ChoiceField(choices=Modality.choices, allow_null=True))
    def get_modality(self, booking: Booking) -> str | None:
        return booking.intake.modality if booking.intake is not None else None


class ExportIntakeSerializer(IntakeSerializer):
    id = serializers.IntegerField()
    booking = serializers.SerializerMethodField()
    created_at = serializers.DateTimeField()
    updated_at = serializers.DateTimeField()

    @extend_schema_field(serializers.IntegerField(allow_null=True))
    def get_booking(self, intake: Intake) -> int | None:
        booking = getattr(intake, "booking", None)
        return booking.pk if booking else None


class ExportIntakeReadSerializer(IntakeAccessSerializer):
    intake = serializers.IntegerField(
        source="intake_id", allow_null=True, help_text="The intake read; null for a read of notes or a history."
    )

    class Meta(IntakeAccessSerializer.Meta):
        fields = ["id", "intake", "booking_id", *IntakeAccessSerializer.Meta.fields[1:]]
        read_only_fields = fields


class AccountExportSerializer(serializers.Serializer):
    """Everything the clinic holds on the signed-in person."""

    exported_at = serializers.DateTimeField()
    account = ExportAccountSerializer()
    therapist = ExportTherapistSerializer(allow_null=True, help_text="The therapist profile; null unless a therapist.")
    bookings = ExportBookingSerializer(
        many=True,
        help_text="Their bookings as a client: times, service, therapist, location, room, price, status.",
    )
    intakes = ExportIntakeSerializer(many=True, help_text="Their intakes: answers, assessment and review.")
    waitlist = WaitlistEntrySerializer(
        many=True, help_text="Their waitlist entries, as `GET /api/v1/waitlist/` shows them, closed ones too."
    )
    treatment_notes = TreatmentNoteSerializer(
        many=True,
        help_text="The treatment notes of their sessions, every version (drafts too), by session then oldest first.",
    )
    intake_reads = ExportIntakeReadSerializer(
        many=True,
        help_text="The audit log: every read of their intakes, treatment notes and history (`kind`), "
        "this export's included.",
    )


class AccountExportView(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(
        operation_id="me_export",
        summary="Everything the clinic holds on me",
        description="The account, bookings, intakes (health answers included), the treatment notes of their "
        "sessions and the audit log of reads of all of these, as JSON. The export is itself a read of the "
        "intakes and the notes, so it is audit-logged.",
        responses={200: AccountExportSerializer, 401: UNAUTHENTICATED},
    )
    def get(self, request):
        data = account_export(user=request.user, remote_addr=client_ip(request))
        return Response(AccountExportSerializer(data).data)


class AccountView(MeView):
    """`me/`: the account (clinic.api.views.MeView), and its deletion by a client."""

    @extend_schema(
        operation_id="me_destroy",
        summary="Delete my account (clients)",
        description="Deactivates the account and anonymises it: email `deleted-<id>@invalid`, names and phone "
        "blanked, no password, every token revoked; intake answers, flags and notes erased, and the reasons "
        "they gave for cancelling; stored Idempotency-Key answers that name them deleted; future bookings "
        "cancelled. Booking times, treatment notes (a clinical record) and the audit log stay. Therapists "
        "and staff: 403 (the clinic closes those accounts).",
        request=None,
        responses={204: None, 401: UNAUTHENTICATED, 403: FORBIDDEN},
    )
    def delete(self, request):
        if request.user.role != Role.CLIENT:
            raise PermissionDenied("Only client accounts can be deleted here; the clinic closes staff accounts.")
        account_delete(user=request.user)
        return Response(status=status.HTTP_204_NO_CONTENT)
