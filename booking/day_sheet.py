"""The therapist's day sheet: what they read to prepare for the day's sessions.

Reading it reads full intakes, so each read is written to the intake audit
log (`IntakeAccess`, channel `day_sheet`), one row per booking shown, in one
INSERT. The selector only reads; `day_sheet_record_access` is the write.
"""

from datetime import date as Date

from booking.availability import local_day_bounds
from booking.models import Booking
from clinic.models import Therapist, User
from clinic.selectors import clinic_get
from intake.models import IntakeAccess
from intake.services import ip_or_none


def therapist_day(*, therapist: Therapist, date: Date) -> list[Booking]:
    """The therapist's confirmed bookings starting on `date` (the clinic's local day), in time order.

    One query (two with the clinic row) whatever the number of bookings:
    slot, client and intake come joined.
    """
    start, end = local_day_bounds(date, clinic_get().tz)
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


def day_sheet_record_access(
    *, bookings: list[Booking], accessed_by: User, remote_addr: str | None
) -> list[IntakeAccess]:
    """Write one audit row per intake shown on a day sheet, in one INSERT."""
    addr = ip_or_none(remote_addr)
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
