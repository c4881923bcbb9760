"""The therapist's day sheet: what they read to prepare for the day's sessions.

Reading it reads full intakes, so each read is written to the intake audit
log (`IntakeAccess`, channel `day_sheet`), one row per booking shown, in one
INSERT. The selector only reads; `day_sheet_record_access` is the write.
"""

import ipaddress
from datetime import date as Date
from datetime import datetime, time, timedelta

from booking.models import Booking
from clinic.models import Therapist, User
from clinic.selectors import clinic_get
from intake.models import IntakeAccess


def local_day_span(day: Date, tz) -> tuple[datetime, datetime]:
    """[local midnight, next local midnight) of `day` in `tz`, as aware datetimes.

    Built from the calendar date, not by adding 24 hours, so a day with a
    daylight-saving change is 23 or 25 hours long, as it is on the wall.
    """
    start = datetime.combine(day, time.min, tzinfo=tz)
    end = datetime.combine(day + timedelta(days=1), time.min, tzinfo=tz)
    return start, end


def therapist_day(*, therapist: Therapist, date: Date) -> list[Booking]:
    """The therapist's confirmed bookings starting on `date` (the clinic's local day), in time order.

    One query (two with the clinic row) whatever the number of bookings:
    slot, client and intake come joined.
    """
    start, end = local_day_span(date, clinic_get().tz)
    return list(
        Booking.objects.filter(
            slot__therapist=therapist,
            status=Booking.Status.CONFIRMED,
            slot__starts_at__gte=start,
            slot__starts_at__lt=end,
        )
        .select_related("slot", "client", "intake")
        .order_by("slot__starts_at", "pk")
    )


def _clean_ip(remote_addr: str | None) -> str | None:
    """The address as stored, or None when the server gave none usable (e.g. a unix socket)."""
    try:
        return str(ipaddress.ip_address((remote_addr or "").strip()))
    except ValueError:
        return None


def day_sheet_record_access(
    *, bookings: list[Booking], accessed_by: User, remote_addr: str | None
) -> list[IntakeAccess]:
    """Write one audit row per intake shown on a day sheet, in one INSERT."""
    addr = _clean_ip(remote_addr)
    return IntakeAccess.objects.bulk_create(
        [
            IntakeAccess(
                intake_id=booking.intake_id,
                booking_id=booking.pk,
                accessed_by=accessed_by,
                remote_addr=addr,
                channel=IntakeAccess.Channel.DAY_SHEET,
                outcome=IntakeAccess.Outcome.ALLOWED,
            )
            for booking in bookings
        ]
    )
