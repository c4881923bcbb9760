"""Query-string filters of the slot and booking lists (django-filter).

`from` and `to` are local dates in the clinic's time zone, `to` inclusive.
(`from` is a Python keyword, so those two filters are added to
`base_filters` after the class is built.)
"""

import django_filters
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db.models import QuerySet

from booking.availability import EARLIEST_DATE, LATEST_DATE, local_day_bounds
from booking.models import Booking, Slot
from clinic.selectors import clinic_get


class LocalDateRangeFilterSet(django_filters.FilterSet):
    starts_at_field = "starts_at"

    def filter_from(self, qs: QuerySet, name, value) -> QuerySet:
        start, _ = local_day_bounds(value, clinic_get().tz)
        return qs.filter(**{f"{self.starts_at_field}__gte": start})

    def filter_to(self, qs: QuerySet, name, value) -> QuerySet:
        _, end = local_day_bounds(value, clinic_get().tz)
        return qs.filter(**{f"{self.starts_at_field}__lt": end})


class SlotFilter(LocalDateRangeFilterSet):
    class Meta:
        model = Slot
        fields = ["therapist", "status"]


class BookingFilter(LocalDateRangeFilterSet):
    starts_at_field = "slot__starts_at"
    therapist = django_filters.NumberFilter(field_name="slot__therapist_id")
    needs_review = django_filters.BooleanFilter(
        method="filter_needs_review", label="The assessment's needs_review, or any warning"
    )

    class Meta:
        model = Booking
        fields = ["status", "therapist", "needs_review"]

    def filter_needs_review(self, qs: QuerySet, name, value: bool) -> QuerySet:
        return qs.filter(Booking.needs_review_q()) if value else qs.exclude(Booking.needs_review_q())


# Beyond these a day's bounds do not exist (booking.availability).
_DATE_VALIDATORS = [MinValueValidator(EARLIEST_DATE), MaxValueValidator(LATEST_DATE)]

for _filterset in (SlotFilter, BookingFilter):
    _filterset.base_filters["from"] = django_filters.DateFilter(
        method="filter_from", label="From this local date (YYYY-MM-DD)", validators=_DATE_VALIDATORS
    )
    _filterset.base_filters["to"] = django_filters.DateFilter(
        method="filter_to", label="To this local date (YYYY-MM-DD), inclusive", validators=_DATE_VALIDATORS
    )
