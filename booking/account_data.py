"""What the clinic holds on a person: the export, and the deletion of a client's account.

These live in the booking app because they reach everything: the account
(clinic), the bookings (here) and the intakes and their audit log (intake);
dependencies point booking → clinic and booking → intake, never back.
"""

from datetime import datetime

from django.db import transaction
from django.utils import timezone

from booking.idempotency import idempotency_forget
from booking.models import Booking
from clinic.models import Role, User
from clinic.services import account_anonymise
from intake.models import Intake, IntakeAccess
from intake.services import intake_access_log

ACCOUNT_DELETED = "Account deleted."


@transaction.atomic
def account_export(*, user: User, remote_addr: str | None = None) -> dict:
    """Everything the clinic holds on `user`, as objects for the export's serializer.

    The account (and therapist profile), their bookings with times, service,
    therapist, location, room, price and status (a held waitlist offer too:
    it is theirs), their intakes with answers, assessment and review,
    and every audit row of a read of those intakes. The export reads the
    full intakes, so, like every such read, it is audit-logged first (one
    row per intake) and the rows it wrote are part of it.
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
    # The reads of their data, as their access log shows them: a stranger's refused probe read
    # nothing, and exporting it would hand the client that stranger's name and address.
    reads = (
        IntakeAccess.objects.filter(intake__client=user, outcome=IntakeAccess.Outcome.ALLOWED)
        .select_related("accessed_by")
        .order_by("accessed_at", "id")
    )
    return {
        "exported_at": timezone.now(),
        "account": user,
        "therapist": getattr(user, "therapist", None) if user.role == Role.THERAPIST else None,
        "bookings": bookings,
        "intakes": intakes,
        "intake_reads": list(reads),
    }


@transaction.atomic
def account_delete(*, user: User, now: datetime | None = None) -> User:
    """Delete a client's account: deactivate it and anonymise what it holds, in one transaction.

    - the free text they wrote goes: the reasons they gave for cancelling;
    - future confirmed bookings, and time held for their waitlist offers, are
      cancelled (reason "Account deleted."), in one UPDATE: the client's
      cancellation window does not apply, since nobody could come to them,
      and no mail goes to an address that is gone;
    - every intake keeps its form version and modality (what the session
      was) but loses its answers, flags, reasons, score and review note;
    - the stored answers of Idempotency-Key requests go: theirs, and the
      front desk's that name them (booking.idempotency.idempotency_forget);
    - the account is anonymised (clinic.services.account_anonymise).

    Bookings keep their times, service, therapist, location and status, and the intake audit
    log is untouched (it is append-only). Locks the client's row first, as
    every booking write does, so no booking is made or moved meanwhile.
    """
    if user.role != Role.CLIENT:
        raise ValueError("Only client accounts are deleted this way.")
    now = now or timezone.now()
    list(User.objects.select_for_update().filter(pk=user.pk).values_list("pk"))
    Booking.objects.filter(cancelled_by=user).exclude(cancel_reason="").update(cancel_reason="", updated_at=now)
    Booking.objects.filter(
        client=user, status__in=(Booking.Status.CONFIRMED, Booking.Status.HELD), starts_at__gt=now
    ).update(
        status=Booking.Status.CANCELLED,
        cancelled_at=now,
        cancelled_by=user,
        cancel_reason=ACCOUNT_DELETED,
        updated_at=now,
    )
    Intake.objects.filter(client=user).update(
        answers={},
        flags=[],
        reasons=[],
        score=0,
        needs_review=False,
        review_note="",
        review_stale=False,
        updated_at=now,
    )
    idempotency_forget(user=user)
    return account_anonymise(user=user)
