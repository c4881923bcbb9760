"""The therapist's day sheet: what they read to prepare for the day's sessions.

Reading it reads full intakes, so each read is written to the intake audit
log (`IntakeAccess`, channel `day_sheet`), one row per intake shown, in one
INSERT; a booking whose intake is still pending shows no answers and is no
read. The selector only reads; `day_sheet_record_access` is the write.

A session belongs to its start's local day at its location (docs/api.md):
a therapist working in New York in the morning and in Los Angeles in the
evening sees each session on the date its own clock shows.
"""

from datetime import UTC, datetime, time, timedelta
from datetime import date as Date

from django.db import connection
from django.db.models import DateField, DateTimeField, F, Func, QuerySet
from django.db.models.functions import Cast

from booking.models import Booking
from clinic.models import Therapist, User
from intake.models import IntakeAccess
from intake.services import ip_or_none

# Every zone's offset lies within UTC-12..UTC+14: a local date's sessions all start
# inside this margin around the UTC date, so the index on `starts_at` narrows the scan.
_ZONE_MARGIN = timedelta(hours=15)


class _AtTimeZone(Func):
    """PostgreSQL's `timezone(zone, timestamptz)`: the wall-clock time in `zone` (a column)."""

    function = "timezone"
    output_field = DateTimeField()


def bookings_on_local_date(queryset: QuerySet[Booking], date: Date) -> QuerySet[Booking]:
    """The bookings of `queryset` whose start, in their location's zone, falls on `date`."""
    utc_midnight = datetime.combine(date, time(0), tzinfo=UTC)
    local_date = Cast(_AtTimeZone(F("location__time_zone"), F("starts_at")), DateField())
    return (
        queryset.filter(
            starts_at__gte=utc_midnight - _ZONE_MARGIN,
            starts_at__lt=utc_midnight + timedelta(days=1) + _ZONE_MARGIN,
        )
        .alias(local_date=local_date)
        .filter(local_date=date)
    )


def therapist_day(*, therapist: Therapist, date: Date) -> list[Booking]:
    """The therapist's active bookings (confirmed, not held) starting on `date` at their location, in time order.

    One query whatever the number of bookings: client, service, location,
    room and intake come joined.
    """
    bookings = Booking.objects.filter(therapist=therapist, status=Booking.Status.CONFIRMED)
    return list(
        bookings_on_local_date(bookings, date)
        .select_related("client", "service", "location", "room", "intake")
        .order_by("starts_at", "pk")
    )


def day_sheet_record_access(*, bookings: list[Booking], accessed_by: User, remote_addr: str | None) -> int:
    """Write one audit row per intake shown on a day sheet, in one INSERT (pending intakes show nothing).

    One plain multi-row INSERT, not `bulk_create`, which would wrap it in a
    transaction of its own (BEGIN and COMMIT: two round trips more per sheet).
    Returns how many rows it wrote.
    """
    addr = ip_or_none(remote_addr)
    rows = [
        (booking.intake_id, booking.client_id, booking.pk, accessed_by.pk, addr)
        for booking in bookings
        if booking.intake_id is not None
    ]
    if not rows:
        return 0
    quote = connection.ops.quote_name
    columns = ", ".join(
        quote(IntakeAccess._meta.get_field(name).column)
        for name in ("intake", "client", "booking_id", "accessed_by", "remote_addr", "channel", "outcome", "kind")
    )
    values = ", ".join(["(%s, %s, %s, %s, %s, %s, %s, %s, now())"] * len(rows))
    params = [
        value
        for row in rows
        for value in (*row, IntakeAccess.Channel.DAY_SHEET, IntakeAccess.Outcome.ALLOWED, IntakeAccess.Kind.INTAKE)
    ]
    with connection.cursor() as cursor:
        table = quote(IntakeAccess._meta.db_table)
        cursor.execute(f"INSERT INTO {table} ({columns}, {quote('accessed_at')}) VALUES {values}", params)
    return len(rows)
