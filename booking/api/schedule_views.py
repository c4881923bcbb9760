"""Views of the front desk's schedule: working hours, shifts and their generation, time off, closures.

Front-desk staff and admins only. Each view parses with a serializer, calls
one `booking.schedule` service and renders the result; the rules live there.
"""

from contextlib import contextmanager

from django.core.exceptions import ObjectDoesNotExist
from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import NotFound
from rest_framework.response import Response

from booking import schedule
from booking.api.schedule_serializers import (
    ClosureCreatedSerializer,
    ClosureSerializer,
    GenerateResultSerializer,
    GenerateShiftsSerializer,
    ShiftFilter,
    ShiftSerializer,
    TimeOffCreatedSerializer,
    TimeOffSerializer,
    WorkingHoursSerializer,
)
from booking.errors import ShiftHasBookings, ShiftOverlap
from booking.models import Closure, Shift, TimeOff, WorkingHours
from clinic.permissions import IsFrontDesk
from config.openapi import NOT_FOUND, VALIDATION_ERROR, refusal

OVERLAP = {ShiftOverlap: "the therapist has another shift (at any location) overlapping that time"}
SHIFT_OVERLAP = refusal("ShiftOverlapRefused", OVERLAP)
SHIFT_CHANGE_REFUSED = refusal(
    "ShiftChangeRefused",
    {
        **OVERLAP,
        ShiftHasBookings: "active bookings inside it would be left outside every shift (listed in `conflicts`)",
    },
)
SHIFT_DELETE_REFUSED = refusal(
    "ShiftDeleteRefused", {ShiftHasBookings: "active bookings lie inside it (listed in `conflicts`)"}
)
NOT_AT_LOCATION = "; the therapist must work at the location (else 400 on `location`)"


@contextmanager
def _still_there():
    """An object deleted by someone else between the lookup and the service is a 404 too."""
    try:
        yield
    except ObjectDoesNotExist as exc:
        raise NotFound() from exc


# --- Working hours -------------------------------------------------------------


@extend_schema_view(
    list=extend_schema(
        operation_id="working_hours_list",
        summary="Working-hours rows (front desk)",
        responses={200: WorkingHoursSerializer(many=True)},
    ),
    retrieve=extend_schema(
        operation_id="working_hours_retrieve",
        summary="One working-hours row (front desk)",
        responses={200: WorkingHoursSerializer, 404: NOT_FOUND},
    ),
    create=extend_schema(
        operation_id="working_hours_create",
        summary="Add a weekly working-hours row (front desk)",
        responses={201: WorkingHoursSerializer, 400: VALIDATION_ERROR},
        description="Add a weekly row in the location's local time" + NOT_AT_LOCATION + ".",
    ),
    partial_update=extend_schema(
        operation_id="working_hours_partial_update",
        summary="Change a working-hours row (front desk)",
        responses={200: WorkingHoursSerializer, 400: VALIDATION_ERROR, 404: NOT_FOUND},
        description="Change a row; shifts already made keep their times" + NOT_AT_LOCATION + ".",
    ),
    destroy=extend_schema(
        operation_id="working_hours_destroy",
        summary="Delete a working-hours row (front desk)",
        responses={204: None, 404: NOT_FOUND},
        description="Delete a row; shifts already made stay.",
    ),
)
class WorkingHoursViewSet(viewsets.ModelViewSet):
    """The weekly template of each therapist's working hours, in each location's local time."""

    permission_classes = [IsFrontDesk]
    serializer_class = WorkingHoursSerializer
    queryset = WorkingHours.objects.all()
    filterset_fields = ["therapist", "location", "weekday"]
    http_method_names = ["get", "post", "patch", "delete", "head", "options"]

    def perform_create(self, serializer):
        serializer.instance = schedule.working_hours_create(**serializer.validated_data)

    def perform_update(self, serializer):
        with _still_there():
            serializer.instance = schedule.working_hours_update(
                working_hours_id=serializer.instance.pk, **serializer.validated_data
            )

    def perform_destroy(self, instance):
        with _still_there():
            schedule.working_hours_delete(working_hours_id=instance.pk)


# --- Shifts ------------------------------------------------------------------


@extend_schema_view(
    list=extend_schema(
        operation_id="shifts_list",
        summary="Therapists' shifts (front desk)",
        responses={200: ShiftSerializer(many=True)},
    ),
    retrieve=extend_schema(
        operation_id="shifts_retrieve",
        summary="One shift (front desk)",
        responses={200: ShiftSerializer, 404: NOT_FOUND},
    ),
)
class ShiftViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """Therapists' shifts: the spans in which each works at a location, and bookings are made."""

    permission_classes = [IsFrontDesk]
    serializer_class = ShiftSerializer
    filterset_class = ShiftFilter
    queryset = Shift.objects.all()

    @extend_schema(
        operation_id="shifts_create",
        summary="Add a shift (front desk)",
        request=ShiftSerializer,
        responses={201: ShiftSerializer, 400: VALIDATION_ERROR, 409: SHIFT_OVERLAP},
        description="Add one shift (times with a UTC offset; at most 24 hours)" + NOT_AT_LOCATION + ".",
    )
    def create(self, request):
        data = ShiftSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        shift = schedule.shift_create(**data.validated_data)
        return Response(ShiftSerializer(shift).data, status=status.HTTP_201_CREATED)

    @extend_schema(
        operation_id="shifts_partial_update",
        summary="Change a shift (front desk)",
        request=ShiftSerializer(partial=True),
        responses={200: ShiftSerializer, 400: VALIDATION_ERROR, 404: NOT_FOUND, 409: SHIFT_CHANGE_REFUSED},
        description="Move, stretch or shorten a shift, or give it to another therapist or location"
        + NOT_AT_LOCATION
        + ". Refused while it would leave an active booking outside every shift.",
    )
    def partial_update(self, request, pk=None):
        shift = self.get_object()
        data = ShiftSerializer(shift, data=request.data, partial=True)
        data.is_valid(raise_exception=True)
        with _still_there():
            shift = schedule.shift_update(shift_id=shift.pk, **data.validated_data)
        return Response(ShiftSerializer(shift).data)

    @extend_schema(
        operation_id="shifts_destroy",
        summary="Delete a shift with no active bookings in it (front desk)",
        responses={204: None, 404: NOT_FOUND, 409: SHIFT_DELETE_REFUSED},
    )
    def destroy(self, request, pk=None):
        with _still_there():
            schedule.shift_delete(shift_id=self.get_object().pk)
        return Response(status=status.HTTP_204_NO_CONTENT)

    @extend_schema(
        operation_id="shifts_generate",
        summary="Make shifts from working hours for a range of dates (front desk)",
        request=GenerateShiftsSerializer,
        responses={200: GenerateResultSerializer, 400: VALIDATION_ERROR, 409: SHIFT_OVERLAP},
    )
    @action(detail=False, methods=["post"])
    def generate(self, request):
        """Make shifts from working hours for local dates `from`..`to` (at most 92 days); idempotent.

        One shift per working-hours row per date of its weekday, at its wall-clock
        times in its location's zone (09:00 stays 09:00 across daylight-saving
        changes). Not made, and counted in `skipped`: a shift overlapping another
        shift of the therapist (an identical one included), and one whose start
        or end does not exist that day. Time off is not carved out of shifts.
        """
        data = GenerateShiftsSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        params = data.validated_data
        therapist = params.get("therapist")
        result = schedule.shifts_generate(
            start=params["from"], end=params["to"], therapist_id=therapist.pk if therapist else None
        )
        return Response(GenerateResultSerializer(result).data)


# --- Time off ---------------------------------------------------------------------


@extend_schema_view(
    list=extend_schema(
        operation_id="time_off_list",
        summary="Therapists' time off (front desk)",
        responses={200: TimeOffSerializer(many=True)},
    ),
    retrieve=extend_schema(
        operation_id="time_off_retrieve",
        summary="One time off (front desk)",
        responses={200: TimeOffSerializer, 404: NOT_FOUND},
    ),
    destroy=extend_schema(
        operation_id="time_off_destroy",
        summary="Delete time off (front desk)",
        responses={204: None, 404: NOT_FOUND},
        description="Delete time off: that time is bookable again.",
    ),
)
class TimeOffViewSet(
    mixins.ListModelMixin, mixins.RetrieveModelMixin, mixins.DestroyModelMixin, viewsets.GenericViewSet
):
    """Therapists' time off: subtracted from availability, never cancelling bookings."""

    permission_classes = [IsFrontDesk]
    serializer_class = TimeOffSerializer
    queryset = TimeOff.objects.order_by("starts_at", "pk")
    filterset_fields = ["therapist"]

    @extend_schema(
        operation_id="time_off_create",
        summary="Record a therapist's time off (front desk)",
        request=TimeOffSerializer,
        responses={201: TimeOffCreatedSerializer, 400: VALIDATION_ERROR},
        description="Answers 201 with `conflicts`: the ids of the therapist's active bookings the time off "
        "overlaps. They are not cancelled: the front desk decides what to do with each.",
    )
    def create(self, request):
        data = TimeOffSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        time_off, conflicts = schedule.time_off_create(**data.validated_data, by=request.user)
        body = TimeOffSerializer(time_off).data
        body["conflicts"] = conflicts
        return Response(body, status=status.HTTP_201_CREATED)

    def perform_destroy(self, instance):
        with _still_there():
            schedule.time_off_delete(time_off_id=instance.pk)


# --- Closures -------------------------------------------------------------------


@extend_schema_view(
    list=extend_schema(
        operation_id="closures_list",
        summary="Closures of locations and rooms (front desk)",
        responses={200: ClosureSerializer(many=True)},
    ),
    retrieve=extend_schema(
        operation_id="closures_retrieve",
        summary="One closure (front desk)",
        responses={200: ClosureSerializer, 404: NOT_FOUND},
    ),
    destroy=extend_schema(
        operation_id="closures_destroy",
        summary="Delete a closure (front desk)",
        responses={204: None, 404: NOT_FOUND},
        description="Delete a closure: that time is bookable again.",
    ),
)
class ClosureViewSet(
    mixins.ListModelMixin, mixins.RetrieveModelMixin, mixins.DestroyModelMixin, viewsets.GenericViewSet
):
    """A location, or one of its rooms, closed for a span (a holiday, maintenance)."""

    permission_classes = [IsFrontDesk]
    serializer_class = ClosureSerializer
    queryset = Closure.objects.order_by("starts_at", "pk")
    filterset_fields = ["location", "room"]

    @extend_schema(
        operation_id="closures_create",
        summary="Close a location or one of its rooms for a while (front desk)",
        request=ClosureSerializer,
        responses={201: ClosureCreatedSerializer, 400: VALIDATION_ERROR},
        description="Answers 201 with `conflicts`: the ids of the active bookings at the location (or in the "
        "room) the closure overlaps. They are not cancelled: the front desk decides what to do with each.",
    )
    def create(self, request):
        data = ClosureSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        closure, conflicts = schedule.closure_create(**data.validated_data, by=request.user)
        body = ClosureSerializer(closure).data
        body["conflicts"] = conflicts
        return Response(body, status=status.HTTP_201_CREATED)

    def perform_destroy(self, instance):
        schedule.closure_delete(closure_id=instance.pk)
