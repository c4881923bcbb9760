"""The booking rules a request can break, each a 409 (or 422) with a stable code."""

from clinic.errors import DomainError


class SlotUnavailable(DomainError):
    code = "slot_unavailable"
    default_detail = (
        "This time can no longer be booked for this service (it is taken, outside the therapist's shifts, "
        "too soon or too far ahead). Please choose another time from the availability list."
    )


class TherapistNotQualified(DomainError):
    """The booking's therapist is not trained in the modality asked for.

    Its `code` is also the booking warning of the same name (`Booking.WarningCode`),
    set where the answers, not a person's choice, ask for such a modality.
    """

    code = "therapist_not_qualified"
    default_detail = (
        "Your intake suggests deep tissue massage, which this therapist does not give. "
        "Please choose a time with a therapist trained in deep tissue massage."
    )

    @classmethod
    def for_review(cls, modality_label: str) -> "TherapistNotQualified":
        return cls(
            f"The booking's therapist does not give {modality_label.lower()}. Choose a modality they give, "
            "or have the front desk move the booking to a therapist who gives it."
        )


class ClientOverlap(DomainError):
    code = "client_overlap"
    default_detail = (
        "You already have a booking at an overlapping time. Cancel or reschedule it first, or choose another time."
    )


class TooManyBookings(DomainError):
    """The client already holds the clinic's `max_active_bookings_per_client` upcoming bookings."""

    code = "too_many_bookings"
    default_detail = (
        "You already have as many upcoming bookings as the clinic allows at once. "
        "Cancel one you no longer need, or book again after your next session."
    )

    @classmethod
    def for_cap(cls, cap: int) -> "TooManyBookings":
        bookings = "booking" if cap == 1 else "bookings"
        return cls(
            f"You already have {cap} upcoming {bookings}, the most the clinic allows at once. "
            "Cancel one you no longer need, or book again after your next session."
        )


class ClientInactive(DomainError):
    code = "account_inactive"
    default_detail = "This account has been deleted or deactivated, so it cannot book. Please contact the clinic."


class LateCancellation(DomainError):
    code = "late_cancellation"
    default_detail = "This booking starts too soon to be changed online. Please call the clinic."


class BookingNotActive(DomainError):
    code = "booking_not_active"
    default_detail = "This booking is no longer active (it was cancelled, completed or marked as a no-show)."


class TooEarly(DomainError):
    code = "too_early"
    default_detail = "This session has not started yet; mark it once its start time has passed."


class IntakeLocked(DomainError):
    code = "intake_locked"
    default_detail = "The session has started, so the intake can no longer be changed."


class IntakePending(DomainError):
    code = "intake_pending"
    default_detail = (
        "The client has not completed the intake for this booking yet, so there is nothing to review. "
        "Ask them to complete it, or complete it with them (PUT .../intake/)."
    )


class ShiftOverlap(DomainError):
    code = "shift_overlap"
    default_detail = (
        "This therapist already has a shift overlapping that time (at any location). "
        "Choose a free time or change the other shift."
    )


class ShiftHasBookings(DomainError):
    code = "shift_has_bookings"
    default_detail = (
        "Active bookings lie in this shift and would be left outside every shift. "
        "Move or cancel them first (see `conflicts`)."
    )

    def __init__(self, detail: str | None = None, *, conflicts: list[int]):
        super().__init__(detail, conflicts=sorted(conflicts))


class RoomUnavailable(DomainError):
    code = "room_unavailable"
    default_detail = "That room is not free for this booking's time (or not at its location). Choose another room."


class IdempotencyKeyReused(DomainError):
    code = "idempotency_key_reused"
    status_code = 422
    default_detail = "This Idempotency-Key was already used with a different request. Use a new key for a new request."


class IdempotencyKeyInUse(DomainError):
    code = "idempotency_key_in_use"
    default_detail = "A request with this Idempotency-Key is still being processed. Retry in a moment."
