"""A client's own intake: the latest they gave, to prefill the next one (docs/api.md, Returning clients)."""

from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework.exceptions import NotFound
from rest_framework.response import Response
from rest_framework.views import APIView

from clinic.permissions import IsClient
from config.openapi import NOT_FOUND
from config.security import client_ip
from intake.api.serializers import LatestIntakeSerializer
from intake.models import IntakeAccess
from intake.services import intake_latest_read


class LatestIntakeView(APIView):
    """`GET /api/v1/me/intake/latest/`: the signed-in client's most recent completed intake.

    It is their own health data, and still a read of a full intake: it is
    audit-logged like every other (one row, the client as reader, no booking
    it came through), so their access log shows it and a stolen session
    reading it leaves its address behind.
    """

    permission_classes = [IsClient]

    @extend_schema(
        operation_id="me_intake_latest",
        summary="Your latest intake, to prefill the next one",
        description="The answers of your most recent completed intake (whatever became of its booking), "
        "the form version they were given on and when. Audit-logged like every read of an intake.",
        responses={
            200: LatestIntakeSerializer,
            404: OpenApiResponse(NOT_FOUND.response, description="You have not completed an intake yet."),
        },
    )
    def get(self, request):
        intake = intake_latest_read(
            client=request.user, remote_addr=client_ip(request), channel=IntakeAccess.Channel.API
        )
        if intake is None:
            raise NotFound("You have not completed an intake yet.")
        return Response(LatestIntakeSerializer(intake).data)
