"""The rules of the clinical record a request can break, each a 409 with a stable code."""

from booking.errors import BookingNotActive, TooEarly
from clinic.errors import DomainError

__all__ = ["BookingNotActive", "NoteSigned", "NotesTooEarly"]


class NoteSigned(DomainError):
    code = "note_signed"
    default_detail = (
        "This treatment note is signed: a clinical record is never changed. "
        "To correct it, write an amendment: POST a new note with `amends` set to this note's id."
    )


class NotesTooEarly(TooEarly):
    """Notes are written from the session's start (the `too_early` of booking.errors, with its own sentence)."""

    default_detail = "This session has not started yet; treatment notes are written from its start."
