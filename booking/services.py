"""Writes of the booking lifecycle: book, cancel, reschedule, complete, no-show.

Each service is one transaction that locks what it depends on before it
checks it ("lock, then check"), always in the same order so two requests
never wait on each other in a cycle:

    client row  →  booking row  →  slot rows (primary-key order)

The partial unique constraint `booking_one_confirmed_per_slot` is the last
line: if a race still reaches it, its IntegrityError, like a deadlock or a
serialization failure, becomes `SlotUnavailable` (409), never a 500.
Mail goes out only after commit, so a rolled-back booking sends nothing.

A booking's `warnings` follow from its intake and its therapist: every
service here that changes either recomputes them (`_set_warnings`).
"""

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta

from django.db import IntegrityError, OperationalError, transaction
from django.utils import timezone

from booking.availability import BookingWindow, slot_is_bookable
from booking.errors import (
    BookingNotActive,
    ClientInactive,
    ClientOverlap,
    IntakeLocked,
    LateCancellation,
    SlotUnavailable,
    TherapistNotQualified,
    TooEarly,
    TooManyBookings,
)
from booking.models import Booking, Slot
from booking.notifications import (
    notify_on_commit,
    send_booking_cancelled,
    send_booking_confirmed,
    send_booking_rescheduled,
    send_review_needed,
)
from clinic.models import Clinic, Modality, Therapist, User
from clinic.selectors import clinic_get
from intake.models import Intake
from intake.services import intake_create, intake_review, intake_update_answers

# SQLSTATEs of a lost race that PostgreSQL resolves by failing one transaction.
_RACE_SQLSTATES = {"40001", "40P01"}  # serialization_failure, deadlock_detected


def _constraint_name(exc: BaseException) -> str | None:
    diag = getattr(exc.__cause__, "diag", None)
    return getattr(diag, "constraint_name", None)


@contextmanager
def _races_become_unavailable() -> Iterator[None]:
    """Turn the database's verdict on a lost booking race into `SlotUnavailable`."""
    try:
        yield
    except IntegrityError as exc:
        if _constraint_name(exc) == "booking_one_confirmed_per_slot":
            raise SlotUnavailable() from exc
        raise
    except OperationalError as exc:
        if getattr(exc.__cause__, "sqlstate", None) in _RACE_SQLSTATES:
            raise SlotUnavailable() from exc
        raise


def _lock_client(client: User) -> None:
    # Serialises one client's bookings so the overlap check below cannot race,
    # and with the deletion of the account (booking.account_data), which
    # takes the same lock: a deleted account books nothing.
    if not list(User.objects.select_for_update().filter(pk=client.pk, is_active=True).values_list("pk")):
        raise ClientInactive()


def _lock_slot(slot_id: int) -> Slot:
    try:
        # The therapist's user comes along so the caller can render the booking without another query.
        return Slot.objects.select_for_update(of=("self",)).select_related("therapist__user").get(pk=slot_id)
    except Slot.DoesNotExist:
        raise SlotUnavailable("This slot does not exist. Please choose a time from the availability list.") from None


def _check_slot_bookable(slot: Slot, *, window: BookingWindow, exclude_booking_id: int | None = None) -> None:
    taken = Booking.objects.filter(slot=slot, status=Booking.Status.CONFIRMED)
    if exclude_booking_id is not None:
        taken = taken.exclude(pk=exclude_booking_id)
    if not slot_is_bookable(slot, window=window) or taken.exists():
        raise SlotUnavailable()


def _check_qualified(slot: Slot, modality: str) -> None:
    if modality == Modality.DEEP_TISSUE and not slot.therapist.is_trained_for(Modality.DEEP_TISSUE):
        raise TherapistNotQualified()


def _check_client_cap(client: User, *, clinic: Clinic, now: datetime) -> None:
    """Refuse a new booking to a client who already holds `max_active_bookings_per_client` active ones.

    Active here is confirmed and not yet started: a session that has taken
    place but was not yet marked completed no longer holds a place on the
    calendar, so it does not count. Call it under the client row lock
    (`_lock_client`): one client's bookings are then counted one after the
    other, and concurrent requests cannot all slip under the cap.

    Only for a new booking: a reschedule moves a booking the client already
    holds. In v1 only clients book; a booking made by the front desk (v2)
    will neither count nor be refused.
    """
    cap = clinic.max_active_bookings_per_client
    held = Booking.objects.filter(client=client, status=Booking.Status.CONFIRMED, slot__starts_at__gt=now)
    if held.count() >= cap:
        raise TooManyBookings.for_cap(cap)


def requested_modality(intake: Intake) -> str:
    """The modality the booking asks of its therapist: a current review's, else what the answers suggest."""
    if intake.reviewed_modality and not intake.review_stale:
        return intake.reviewed_modality
    return intake.suggested_modality


def booking_warnings(*, intake: Intake, therapist: Therapist) -> list[str]:
    """The warning codes that hold for a booking of `therapist` with `intake` (Booking.WarningCode)."""
    if not therapist.is_trained_for(requested_modality(intake)):
        return [Booking.WarningCode.THERAPIST_NOT_QUALIFIED.value]
    return []


def _set_warnings(booking: Booking) -> list[str]:
    """Recompute the booking's warnings from its intake and therapist; save them if they changed."""
    warnings = booking_warnings(intake=booking.intake, therapist=booking.slot.therapist)
    if warnings != booking.warnings:
        booking.warnings = warnings
        booking.save(update_fields=["warnings", "updated_at"])
    return warnings


def _check_client_free(client: User, slot: Slot, *, exclude_booking_id: int | None = None) -> None:
    overlapping = Booking.objects.filter(
        client=client,
        status=Booking.Status.CONFIRMED,
        slot__starts_at__lt=slot.ends_at,
        slot__ends_at__gt=slot.starts_at,
    )
    if exclude_booking_id is not None:
        overlapping = overlapping.exclude(pk=exclude_booking_id)
    if overlapping.exists():
        raise ClientOverlap()


def _lock_booking(booking_id: int) -> Booking:
    return (
        Booking.objects.select_for_update(of=("self",))
        .select_related("slot__therapist__user", "client", "intake")
        .get(pk=booking_id)
    )


def booking_create(*, client: User, slot_id: int, answers: dict, now: datetime | None = None) -> Booking:
    """Book `slot_id` for `client` with a new intake from `answers`, all or nothing.

    Validates and assesses the answers (400 on invalid answers), locks the
    client, checks they are under the clinic's cap of active bookings, locks
    the slot, checks it is bookable, the therapist trained for deep tissue
    when that is suggested and the client free at that time, and inserts.
    """
    clinic = clinic_get()
    now = now or timezone.now()
    window = BookingWindow.of(clinic, now)
    with _races_become_unavailable(), transaction.atomic():
        intake = intake_create(client=client, answers=answers)
        _lock_client(client)
        _check_client_cap(client, clinic=clinic, now=now)
        slot = _lock_slot(slot_id)
        _check_slot_bookable(slot, window=window)
        _check_qualified(slot, intake.suggested_modality)
        _check_client_free(client, slot)
        booking = Booking.objects.create(
            slot=slot, client=client, intake=intake, warnings=booking_warnings(intake=intake, therapist=slot.therapist)
        )
        notify_on_commit(send_booking_confirmed, booking.id)
        if booking.needs_review:
            notify_on_commit(send_review_needed, booking.id)
    return booking


def _check_client_may_change(booking: Booking, *, by: User, clinic, now: datetime) -> None:
    """Clients may not cancel or move a booking inside the cancellation window; staff always may."""
    if by.is_front_desk:
        return
    if booking.slot.starts_at - now < timedelta(hours=clinic.cancellation_window_hours):
        raise LateCancellation(
            f"Bookings can be changed online up to {clinic.cancellation_window_hours} hours before "
            "they start. Please call the clinic to change this one."
        )


def booking_cancel(*, booking_id: int, by: User, reason: str = "", now: datetime | None = None) -> Booking:
    """Cancel a confirmed booking; its slot is bookable again at once."""
    clinic = clinic_get()
    now = now or timezone.now()
    with transaction.atomic():
        booking = _lock_booking(booking_id)
        if not booking.is_active:
            raise BookingNotActive()
        _check_client_may_change(booking, by=by, clinic=clinic, now=now)
        booking.status = Booking.Status.CANCELLED
        booking.cancelled_at = now
        booking.cancelled_by = by
        booking.cancel_reason = reason
        booking.save(update_fields=["status", "cancelled_at", "cancelled_by", "cancel_reason", "updated_at"])
        notify_on_commit(send_booking_cancelled, booking.id)
    return booking


def booking_reschedule(*, booking_id: int, by: User, slot_id: int, now: datetime | None = None) -> Booking:
    """Move a confirmed booking (and its intake) to another slot, atomically.

    The same rules as booking apply to the new slot, checked against the
    booking's final modality, except the cap on active bookings: a move adds
    none. On any refusal the booking stays where it was. The warnings are
    recomputed for the new therapist.
    """
    clinic = clinic_get()
    now = now or timezone.now()
    window = BookingWindow.of(clinic, now)
    with _races_become_unavailable(), transaction.atomic():
        client_id = Booking.objects.values_list("client_id", flat=True).get(pk=booking_id)
        _lock_client(User(pk=client_id))
        booking = _lock_booking(booking_id)
        if not booking.is_active:
            raise BookingNotActive()
        _check_client_may_change(booking, by=by, clinic=clinic, now=now)
        if slot_id == booking.slot_id:
            raise SlotUnavailable("The booking is already on this slot. Choose another time.")
        # Both slots in primary-key order, as every writer does.
        locked = {pk: _lock_slot(pk) for pk in sorted((booking.slot_id, slot_id))}
        new_slot = locked[slot_id]
        _check_slot_bookable(new_slot, window=window)
        _check_qualified(new_slot, booking.intake.modality)
        _check_client_free(booking.client, new_slot, exclude_booking_id=booking.pk)
        booking.slot = new_slot
        booking.sequence += 1
        booking.reminder_sent_at = None
        booking.warnings = booking_warnings(intake=booking.intake, therapist=new_slot.therapist)
        booking.save(update_fields=["slot", "sequence", "reminder_sent_at", "warnings", "updated_at"])
        notify_on_commit(send_booking_rescheduled, booking.id)
    return booking


def booking_close(*, booking_id: int, status: str, now: datetime | None = None) -> Booking:
    """Mark a confirmed booking `completed` or `no_show`, once its start time has passed."""
    if status not in (Booking.Status.COMPLETED, Booking.Status.NO_SHOW):
        raise ValueError(f"Cannot close a booking as {status!r}")
    now = now or timezone.now()
    with transaction.atomic():
        booking = _lock_booking(booking_id)
        if not booking.is_active:
            raise BookingNotActive()
        if now < booking.slot.starts_at:
            raise TooEarly()
        booking.status = status
        booking.closed_at = now
        booking.save(update_fields=["status", "closed_at", "updated_at"])
    return booking


def booking_intake_update(*, booking_id: int, answers: dict, now: datetime | None = None) -> Booking:
    """Replace the answers of a booking's intake before the session starts (re-assessed); returns the booking.

    Answers are facts: when they now ask for a modality the therapist is not
    trained in, they are kept all the same, and the booking gets the
    `therapist_not_qualified` warning, so it needs review. While it needs
    review (the assessment's or a warning), the therapist is mailed.
    """
    now = now or timezone.now()
    with transaction.atomic():
        booking = _lock_booking(booking_id)
        if not booking.is_active:
            raise BookingNotActive()
        if now >= booking.slot.starts_at:
            raise IntakeLocked()
        booking.intake = intake_update_answers(intake=booking.intake, answers=answers)
        _set_warnings(booking)
        if booking.needs_review:
            notify_on_commit(send_review_needed, booking.id)
    return booking


def booking_review(*, booking_id: int, reviewer: User, modality: str, note: str = "") -> Booking:
    """Record the treating therapist's final modality for a booking.

    A modality the booking's therapist is not trained in is refused
    (`TherapistNotQualified`): a review is a person's choice, unlike answers.
    A review within their training settles a `therapist_not_qualified` warning.
    """
    with transaction.atomic():
        booking = _lock_booking(booking_id)
        if modality in Modality.values and not booking.slot.therapist.is_trained_for(modality):
            raise TherapistNotQualified.for_review(Modality(modality).label)
        booking.intake = intake_review(intake=booking.intake, reviewer=reviewer, modality=modality, note=note)
        _set_warnings(booking)
    return booking
