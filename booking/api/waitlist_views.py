"""Views of the waitlist API: they parse with a serializer, call one `booking.waitlist` service or a
selector, and render the result. Who may see which entry or offer is `booking.selectors`'."""

from django.core.exceptions import ObjectDoesNotExist
from drf_spectacular.utils import OpenApiExample, OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import NotFound, PermissionDenied
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response

from booking import waitlist
from booking.api.serializers import MAX_ID, BookingSerializer
from booking.api.views import ACCOUNT_INACTIVE, IDEMPOTENCY_PARAMETER, IDEMPOTENCY_REUSED, IN_USE
from booking.api.waitlist_serializers import (
    ENTRY_EXAMPLE,
    WaitlistAcceptSerializer,
    WaitlistEntryFilter,
    WaitlistEntrySerializer,
    WaitlistJoinSerializer,
)
from booking.errors import ClientOverlap, SlotUnavailable, TooManyBookings
from booking.idempotency import idempotent
from booking.models import WaitlistEntry, WaitlistOffer
from booking.selectors import booking_list_for, waitlist_entries_for, waitlist_offers_for
from clinic.models import Role
from clinic.permissions import IsClient
from config.openapi import FORBIDDEN, NOT_FOUND, UNAUTHENTICATED, refusal

WAITLIST_ROLES = (Role.CLIENT, Role.STAFF, Role.ADMIN)
NOT_FOR_ROLE = "Only clients and the front desk use the waitlist."
OFFER_EXPIRED = {
    waitlist.OfferExpired: "the offer is no longer open: past its expiry, declined, withdrawn or already accepted"
}
ACCEPT_REFUSED = refusal(
    "WaitlistAcceptRefused",
    {
        **OFFER_EXPIRED,
        TooManyBookings: "the client already holds the clinic's `max_active_bookings_per_client` upcoming bookings",
        ClientOverlap: "the client has another booking overlapping the held time",
        SlotUnavailable: "the schedule changed under the hold (time off or a closure added over it)",
        **ACCOUNT_INACTIVE,
        **IN_USE,
    },
    description="A rule of the clinic refused the booking; nothing was stored, and the offer stays open until "
    "its expiry unless the `code` is `offer_expired`. The `code` is one of:",
)
DECLINE_REFUSED = refusal("WaitlistDeclineRefused", OFFER_EXPIRED)
WITHDRAW_REFUSED = refusal(
    "WaitlistWithdrawRefused", {waitlist.WaitlistEntryBooked: "the entry already became a booking"}
)
WAITLIST_FORBIDDEN = OpenApiResponse(description=f"A therapist: {NOT_FOR_ROLE}")


@extend_schema_view(
    list=extend_schema(
        operation_id="waitlist_list",
        summary="Waitlist entries: a client's own, all for the front desk",
        responses={200: WaitlistEntrySerializer(many=True), 401: UNAUTHENTICATED, 403: WAITLIST_FORBIDDEN},
    ),
    retrieve=extend_schema(
        operation_id="waitlist_retrieve",
        summary="One waitlist entry",
        responses={200: WaitlistEntrySerializer, 401: UNAUTHENTICATED, 403: WAITLIST_FORBIDDEN, 404: NOT_FOUND},
    ),
)
class WaitlistViewSet(
    mixins.ListModelMixin, mixins.RetrieveModelMixin, mixins.DestroyModelMixin, viewsets.GenericViewSet
):
    """Waitlist entries: a client joins, sees and withdraws their own; the front desk sees and withdraws any."""

    permission_classes = [IsAuthenticated]
    serializer_class = WaitlistEntrySerializer
    filterset_class = WaitlistEntryFilter
    http_method_names = ["get", "post", "delete", "head", "options"]

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):  # schema generation has no user
            return WaitlistEntry.objects.none()
        return waitlist_entries_for(self.request.user)

    def initial(self, request, *args, **kwargs):
        super().initial(request, *args, **kwargs)
        if request.user.role not in WAITLIST_ROLES:
            raise PermissionDenied(NOT_FOR_ROLE)

    def _render(self, entry: WaitlistEntry, status_code=status.HTTP_200_OK) -> Response:
        return Response(self.get_serializer(self.get_queryset().get(pk=entry.pk)).data, status=status_code)

    @extend_schema(
        operation_id="waitlist_create",
        summary="Join the waitlist for a service (clients)",
        request=WaitlistJoinSerializer,
        responses={
            201: WaitlistEntrySerializer,
            400: OpenApiResponse(
                description="Invalid input: `to` before `from`, `from` before today, more than 92 days; an unknown "
                "or inactive service, location or therapist (or one not working there); `latest_time` not after "
                "`earliest_time`."
            ),
            401: UNAUTHENTICATED,
            403: OpenApiResponse(description="Not a client: clients join the waitlist themselves."),
        },
        examples=[
            OpenApiExample(
                "Mornings in the first week of December",
                value={
                    "service": 3,
                    "from": "2026-12-02",
                    "to": "2026-12-06",
                    "location": 2,
                    "earliest_time": "09:00",
                    "latest_time": "13:00",
                },
                request_only=True,
            ),
            OpenApiExample("Joined", value={**ENTRY_EXAMPLE, "status": "waiting", "offer": None}, response_only=True),
        ],
        description=(
            "Wait for a time of a service between two local dates (inclusive), optionally at one location, with "
            "one therapist, between two local times of day. When such time frees up, the entry that joined first "
            "gets it held for `waitlist_hold_minutes` (an `offer`, mailed); accept or decline it. Joining offers "
            "nothing by itself: book what is free now from the availability list."
        ),
    )
    def create(self, request):
        if request.user.role != Role.CLIENT:
            raise PermissionDenied("Clients join the waitlist themselves.")
        data = WaitlistJoinSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        params = data.validated_data
        entry = waitlist.waitlist_join(
            client=request.user,
            service_id=params["service"],
            from_date=params["from"],
            to_date=params["to"],
            location_id=params.get("location"),
            therapist_id=params.get("therapist"),
            earliest_time=params.get("earliest_time"),
            latest_time=params.get("latest_time"),
        )
        return self._render(entry, status.HTTP_201_CREATED)

    @extend_schema(
        operation_id="waitlist_destroy",
        summary="Leave the waitlist (withdraw an entry)",
        responses={
            204: None,
            401: UNAUTHENTICATED,
            403: WAITLIST_FORBIDDEN,
            404: NOT_FOUND,
            409: WITHDRAW_REFUSED,
        },
        description="The entry stays listed as `withdrawn`. Time held for it is released and offered to the next "
        "entry. Withdrawing an entry that expired or was withdrawn changes nothing.",
    )
    def destroy(self, request, pk=None):
        entry = self.get_object()
        try:
            waitlist.waitlist_withdraw(entry_id=entry.pk, by=request.user)
        except ObjectDoesNotExist as exc:
            raise NotFound() from exc
        return Response(status=status.HTTP_204_NO_CONTENT)


class WaitlistOfferViewSet(viewsets.GenericViewSet):
    """A client answers an offer of theirs: accept it (with the intake) or decline it."""

    permission_classes = [IsClient]
    queryset = WaitlistOffer.objects.none()
    # An offer's key is its held booking's id: named `id` in the path, as every object's is.
    lookup_url_kwarg = "id"

    def _offer(self, raw_id: str) -> WaitlistOffer:
        """The caller's offer named in the path; a 404 for anything else (another's, none, not an id)."""
        offer_id = int(raw_id) if raw_id.isascii() and raw_id.isdigit() else 0
        offer = None
        if 0 < offer_id <= MAX_ID:
            offer = waitlist_offers_for(self.request.user).filter(pk=offer_id).first()
        if offer is None:
            raise NotFound()
        return offer

    @extend_schema(
        operation_id="waitlist_offer_accept",
        summary="Accept a waitlist offer: the held time becomes your booking",
        request=WaitlistAcceptSerializer,
        parameters=[IDEMPOTENCY_PARAMETER],
        responses={
            201: BookingSerializer,
            400: OpenApiResponse(
                description="Invalid intake answers (field → messages under `intake.answers`), or a malformed "
                "`Idempotency-Key`."
            ),
            401: UNAUTHENTICATED,
            403: FORBIDDEN,
            404: NOT_FOUND,
            409: ACCEPT_REFUSED,
            422: IDEMPOTENCY_REUSED,
        },
        description=(
            "The hold becomes a confirmed booking with your intake, as booking it would (the answers validated "
            "and assessed). An intake asking for deep tissue of a therapist not trained in it keeps the booking, "
            "with the `therapist_not_qualified` warning. Another client's offer is a 404."
        ),
    )
    @action(detail=True, methods=["post"])
    def accept(self, request, id=None):
        """Accept an offer of yours with your intake: 201 with the booking."""
        offer = self._offer(id)
        return idempotent(self, request, lambda: self._accept(request, offer))

    def _accept(self, request, offer: WaitlistOffer) -> Response:
        data = WaitlistAcceptSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        try:
            booking = waitlist.waitlist_offer_accept(
                offer_id=offer.pk, client=request.user, answers=data.validated_data["intake"]["answers"]
            )
        except WaitlistOffer.DoesNotExist as exc:
            raise NotFound() from exc
        booking = booking_list_for(request.user).get(pk=booking.pk)
        return Response(
            BookingSerializer(booking, context=self.get_serializer_context()).data, status=status.HTTP_201_CREATED
        )

    @extend_schema(
        operation_id="waitlist_offer_decline",
        summary="Decline a waitlist offer: the time goes to the next entry",
        request=None,
        responses={
            200: WaitlistEntrySerializer,
            401: UNAUTHENTICATED,
            403: FORBIDDEN,
            404: NOT_FOUND,
            409: DECLINE_REFUSED,
        },
        description="The hold is released and offered to the next waiting entry; your entry waits again (and is "
        "not offered that time again). Declining twice changes nothing. Answers your entry.",
    )
    @action(detail=True, methods=["post"])
    def decline(self, request, id=None):
        """Decline an offer of yours: 200 with your entry, waiting again."""
        offer = self._offer(id)
        try:
            entry = waitlist.waitlist_offer_decline(offer_id=offer.pk, client=request.user)
        except WaitlistOffer.DoesNotExist as exc:
            raise NotFound() from exc
        entry = waitlist_entries_for(request.user).get(pk=entry.pk)
        return Response(WaitlistEntrySerializer(entry, context=self.get_serializer_context()).data)
