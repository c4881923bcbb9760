"""Domain errors: a rule of the clinic refused a request.

Services raise these; `config.exceptions.api_exception_handler` turns them
into `409 {"code": ..., "detail": ...}` (or the error's own `status_code`).
Each subclass has a stable `code` and a default sentence that says what the
person can do next.
"""


class DomainError(Exception):
    code = "conflict"
    status_code = 409
    default_detail = "The clinic's rules do not allow this request."

    def __init__(self, detail: str | None = None, **extra):
        self.detail = detail or self.default_detail
        # More of the answer's body beside code and detail, e.g. `conflicts` (a list of booking ids).
        self.extra = extra
        super().__init__(self.detail)


class HasFutureBookings(DomainError):
    """A change would strand active future bookings; `conflicts` lists them for the front desk."""

    code = "has_future_bookings"
    default_detail = "Active future bookings depend on this. Move or cancel the bookings listed in `conflicts` first."

    def __init__(self, detail: str | None = None, *, conflicts: list[int]):
        super().__init__(detail, conflicts=sorted(conflicts))


class RoomInUse(DomainError):
    code = "room_in_use"
    default_detail = "This room has past bookings, which the clinic keeps on record. Deactivate it instead."
