"""A person's bookings and intakes in their export, and their erasure when a client deletes the account.

These are the booking app's pieces of what spans all the clinical data: the
export and the deletion themselves live at the top of the graph
(records.account_data), which adds the treatment notes and orchestrates.
Dependencies point booking → clinic and booking → intake, never back.
"""

from datetime import datetime

from django.db import transaction
from django.db.models import F

from booking.idempotency import idempotency_forget
from booking.models import Booking
from booking.selectors import waitlist_entries_for
from booking.waitlist import FreedTime, waitlist_client_withdraw_all, waitlist_match_later
from clinic.models import Role, User
from intake.models import Intake, IntakeAccess
from intake.services import intake_access_log

ACCOUNT_DELETED = "Account deleted."


@transaction.atomic
def account_bookings_export(*, user: User, remote_addr: str | None = None) -> dict:
    """The account, and `user`'s bookings and intakes, as objects for the export's serializer.

    The account (and therapist profile), their bookings with times, service,
    therapist, location, room, price and status (a held waitlist offer too:
    it is theirs), their intakes with answers, assessment and review, and
    their waitlist entries with any offer.
    The export reads the full intakes, so, like every such read, each is
    audit-logged (one row per intake) before it is returned.
    """
    bookings = list(
        Booking.objects.filter(client=user)
        .select_related("therapist__user", "service", "location", "room", "intake")
        .order_by("starts_at", "id")
    )
    intakes = list(
        Intake.objects.filter(client=user).select_related("reviewed_by", "booking").order_by("created_at", "id")
    )
    for intake in intakes:
        booking = getattr(intake, "booking", None)
        intake_access_log(
            intake=intake,
            user=user,
            booking_id=booking.pk if booking else None,
            remote_addr=remote_addr,
            channel=IntakeAccess.Channel.API,
        )
    return {
        "account": user,
        "therapist": getattr(user, "therapist", None) if user.role == Role.THERAPIST else None,
        "bookings": bookings,
        "intakes": intakes,
        "waitlist": list(waitlist_entries_for(user).filter(client=user)),
    }


@transaction.atomic
def account_bookings_erase(*, user: User, now: datetime) -> None:
    """Erase what a deleted client's bookings and intakes hold of them, and cancel what is still to come.

    - the free text they wrote goes: the reasons they gave for cancelling;
    - their waitlist entries are withdrawn, and the time held for their
      offers goes to the next waiting client (booking.waitlist);
    - future confirmed bookings are cancelled (reason "Account deleted."),
      in one UPDATE: the client's cancellation window does not apply, since
      nobody could come to them, and no mail goes to an address that is
      gone; their time is offered to the waitlist by one job per booking,
      after this commits (an account's deletion does not wait on matching);
    - every intake keeps its form version and modality (what the session
      was) but loses its answers, flags (and new flags), reasons, score,
      changes since the last one and review note;
    - the stored answers of Idempotency-Key requests go: theirs, and the
      front desk's that name them (booking.idempotency.idempotency_forget).

    Bookings keep their times, service, therapist, location and status, and
    the audit log is untouched (it is append-only). The caller holds the
    client's row lock (records.account_data.account_delete), as every
    booking write takes it, so no booking is made or moved meanwhile.
    """
    Booking.objects.filter(cancelled_by=user).exclude(cancel_reason="").update(cancel_reason="", updated_at=now)
    waitlist_client_withdraw_all(client=user, now=now)
    to_cancel = Booking.objects.filter(
        client=user, status__in=(Booking.Status.CONFIRMED, Booking.Status.HELD), starts_at__gt=now
    )
    freed = [FreedTime.of_booking(booking) for booking in to_cancel.filter(status=Booking.Status.CONFIRMED)]
    to_cancel.update(
        status=Booking.Status.CANCELLED,
        cancelled_at=now,
        cancelled_by=user,
        cancel_reason=ACCOUNT_DELETED,
        # The therapist's calendar must see the event change (iCalendar SEQUENCE).
        sequence=F("sequence") + 1,
        updated_at=now,
    )
    for time in freed:
        waitlist_match_later(
            starts_at=time.starts_at, ends_at=time.ends_at, therapist_id=time.therapist_id, location_id=time.location_id
        )
    Intake.objects.filter(client=user).update(
        answers={},
        flags=[],
        reasons=[],
        changes_since_last=None,
        new_flags=[],
        score=0,
        needs_review=False,
        review_note="",
        review_stale=False,
        updated_at=now,
    )
    idempotency_forget(user=user)
