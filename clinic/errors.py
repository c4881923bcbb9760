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

    def __init__(self, detail: str | None = None):
        self.detail = detail or self.default_detail
        super().__init__(self.detail)
