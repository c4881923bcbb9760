"""Query-string filters of the booking list (django-filter).

`from` and `to` are local dates, each read in the time zone of the
booking's own location (docs/api.md, Conventions), `to` inclusive. (`from`
is a Python keyword, so those two filters are added to `base_filters`
after the class is built.)
"""

from datetime import date, timedelta

import django_filters
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db.models import DateField, DateTimeField, F, Func, QuerySet, Value

from booking.availability import EARLIEST_DATE, LATEST_DATE
from booking.models import Booking


class LocalMidnight(Func):
    """The instant local midnight starts `day` in the zone named by `zone` (a column), in SQL.

    `day::timestamp AT TIME ZONE zone`: correct across daylight-saving changes,
    and per row, so bookings at locations in different zones each get their own day.
    """

    template = "((%(expressions)s))"
    arg_joiner = ")::timestamp AT TIME ZONE ("
    output_field = DateTimeField()

    def __init__(self, day: date, zone, **extra):
        super().__init__(Value(day, output_field=DateField()), zone, **extra)


def _location_midnight(day: date) -> LocalMidnight:
    return LocalMidnight(day, F("location__time_zone"))


class BookingFilter(django_filters.FilterSet):
    therapist = django_filters.NumberFilter(field_name="therapist_id")
    location = django_filters.NumberFilter(field_name="location_id")
    needs_review = django_filters.BooleanFilter(
        method="filter_needs_review", label="The assessment's needs_review, or any warning"
    )

    class Meta:
        model = Booking
        fields = ["status", "therapist", "location", "needs_review", "intake_status"]

    def filter_needs_review(self, qs: QuerySet, name, value: bool) -> QuerySet:
        return qs.filter(Booking.needs_review_q()) if value else qs.exclude(Booking.needs_review_q())

    def filter_from(self, qs: QuerySet, name, value: date) -> QuerySet:
        return qs.filter(starts_at__gte=_location_midnight(value))

    def filter_to(self, qs: QuerySet, name, value: date) -> QuerySet:
        return qs.filter(starts_at__lt=_location_midnight(value + timedelta(days=1)))


# Beyond these a day's bounds do not exist (booking.availability).
_DATE_VALIDATORS = [MinValueValidator(EARLIEST_DATE), MaxValueValidator(LATEST_DATE)]

BookingFilter.base_filters["from"] = django_filters.DateFilter(
    method="filter_from",
    label="From this local date (YYYY-MM-DD) at the booking's location",
    validators=_DATE_VALIDATORS,
)
BookingFilter.base_filters["to"] = django_filters.DateFilter(
    method="filter_to",
    label="To this local date (YYYY-MM-DD) at the booking's location, inclusive",
    validators=_DATE_VALIDATORS,
)
