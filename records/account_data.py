"""What the clinic holds on a person: the export, and the deletion of a client's account.

They span all the clinical data, so they live at the top of the graph
(records → booking → intake → clinic): the booking app gives the bookings
and intakes (booking.account_data), this app adds the treatment notes, and
the audit log of reads of all of it closes the export.
"""

from datetime import datetime

from django.db import transaction
from django.utils import timezone

from booking.account_data import account_bookings_erase, account_bookings_export
from clinic.models import Role, User
from clinic.services import account_anonymise
from intake.models import IntakeAccess
from intake.services import intake_access_log
from records.selectors import note_list_queryset


@transaction.atomic
def account_export(*, user: User, remote_addr: str | None = None) -> dict:
    """Everything the clinic holds on `user`, as objects for the export's serializer.

    Booking's part (booking.account_data.account_bookings_export: the account,
    bookings, intakes), the treatment notes of their sessions (drafts too:
    the clinic holds them), and every read of their data the audit log
    holds: of their intakes, their notes and their history. The export reads
    the intakes and the notes, so it is audit-logged first (a row per intake,
    a row per booking with notes) and the rows it wrote are part of it.
    """
    data = account_bookings_export(user=user, remote_addr=remote_addr)
    notes = list(note_list_queryset().filter(booking__client=user).order_by("booking__starts_at", "created_at", "id"))
    for booking_id in dict.fromkeys(note.booking_id for note in notes):
        intake_access_log(
            kind=IntakeAccess.Kind.NOTES,
            client=user,
            booking_id=booking_id,
            user=user,
            remote_addr=remote_addr,
            channel=IntakeAccess.Channel.API,
        )
    # The reads of their data, as their access log shows them: a stranger's refused probe read
    # nothing, and exporting it would hand the client that stranger's name and address.
    reads = (
        IntakeAccess.objects.filter(client=user, outcome=IntakeAccess.Outcome.ALLOWED)
        .select_related("accessed_by")
        .order_by("accessed_at", "id")
    )
    return {
        "exported_at": timezone.now(),
        **data,
        "treatment_notes": notes,
        "intake_reads": list(reads),
    }


@transaction.atomic
def account_delete(*, user: User, now: datetime | None = None) -> User:
    """Delete a client's account: deactivate it and anonymise what it holds, in one transaction.

    Locks the client's row first, as every booking write does. Then booking's
    part (booking.account_data.account_bookings_erase: future bookings
    cancelled, their cancellation reasons and intake answers erased, stored
    idempotent answers forgotten), and the account is anonymised
    (clinic.services.account_anonymise). Treatment notes stay as they are:
    they are a clinical record (signed ones cannot change at all), kept with
    the booking times and the audit log; the person they are about is the
    anonymised account.
    """
    if user.role != Role.CLIENT:
        raise ValueError("Only client accounts are deleted this way.")
    now = now or timezone.now()
    list(User.objects.select_for_update().filter(pk=user.pk).values_list("pk"))
    account_bookings_erase(user=user, now=now)
    return account_anonymise(user=user)
