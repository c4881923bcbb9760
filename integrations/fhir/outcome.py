"""Errors as FHIR answers them: an `OperationOutcome` with the status the rest of the API would give.

The views let the project's exception handler decide the status and headers
(401 with `WWW-Authenticate`, 429 and 503 with `Retry-After`, ...) and
replace its JSON body with an OperationOutcome whose issue code says what
went wrong. (The body-size guard of config/middleware.py answers a 413
before any view runs: that one stays `{"code", "detail"}` JSON.)
"""

from fhir.resources.R4B.operationoutcome import OperationOutcome

from integrations.fhir.resources import operation_outcome

# HTTP status -> IssueType (http://hl7.org/fhir/R4B/valueset-issue-type.html).
ISSUE_CODES = {
    400: "invalid",
    401: "login",
    403: "forbidden",
    404: "not-found",
    405: "not-supported",
    406: "not-supported",
    413: "too-long",
    415: "not-supported",
    429: "throttled",
    503: "transient",
}


def _sentence(data) -> str:
    """The error's sentence from the handler's body: `detail`, or the messages of a field error."""
    if isinstance(data, dict):
        if "detail" in data:
            return str(data["detail"])
        return " ".join(_sentence(value) for value in data.values())
    if isinstance(data, list):
        return " ".join(_sentence(item) for item in data)
    return str(data)


def outcome_for(status: int, data, *, code: str | None = None) -> OperationOutcome:
    """The OperationOutcome of an error answer: `status`, the handler's body `data`, an IssueType `code` if known."""
    return operation_outcome(
        code=code or ISSUE_CODES.get(status, "processing" if status < 500 else "exception"),
        diagnostics=_sentence(data),
    )
