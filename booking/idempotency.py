"""`Idempotency-Key` for booking writes (docs/api.md, Bookings).

The first request with a key claims it by inserting an `IdempotencyRecord`
in its own, immediately committed transaction; the unique key (user, key)
is what makes two simultaneous requests see each other, on any number of
app processes. The first request's answer is then stored on the record:

- same user, same key, same request → the stored answer is replayed;
- same key, different request → 422 `idempotency_key_reused`;
- same key while the first still runs → 409 `idempotency_key_in_use`.

A request that fails with a server error releases its key so it can be
retried. Another user's key is another record: it never replays anything.
Records are kept 24 hours (`idempotency_purge`); a deleted account's go at
once, with the answers that name them (`idempotency_forget`).
"""

import hashlib
import json
from datetime import timedelta

from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone
from rest_framework.exceptions import ValidationError
from rest_framework.response import Response

from booking.errors import IdempotencyKeyInUse, IdempotencyKeyReused
from booking.models import IdempotencyRecord

HEADER = "Idempotency-Key"
MAX_KEY_LENGTH = 255
KEEP_FOR = timedelta(hours=24)
# A claim older than this with no answer belongs to a process that died.
ABANDONED_AFTER = timedelta(minutes=5)


def _fingerprint(request) -> str:
    body = json.dumps(request.data, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(f"{request.method} {request.path}\n{body}".encode()).hexdigest()


def _claim(user, key: str, fingerprint: str) -> IdempotencyRecord | None:
    """Insert the claim; None when this user already holds the key."""
    try:
        with transaction.atomic():
            return IdempotencyRecord.objects.create(user=user, key=key, request_fingerprint=fingerprint)
    except IntegrityError:
        return None


def _existing(user, key: str, fingerprint: str) -> Response | IdempotencyRecord | None:
    """The replayed answer for a key already claimed, or the record taken over from a dead claim;
    None when the claim was released meanwhile (its request failed), so the key is free again."""
    with transaction.atomic():
        record = IdempotencyRecord.objects.select_for_update().filter(user=user, key=key).first()
        if record is None:
            return None
        if record.request_fingerprint != fingerprint:
            raise IdempotencyKeyReused()
        if record.response_status is not None:
            response = Response(record.response_body, status=record.response_status)
            response["Idempotent-Replayed"] = "true"
            return response
        if timezone.now() - record.created_at < ABANDONED_AFTER:
            raise IdempotencyKeyInUse()
        record.created_at = timezone.now()
        record.save(update_fields=["created_at"])
        return record


def idempotent(view, request, handler) -> Response:
    """Run `handler()` (which returns a Response) at most once per user and key."""
    key = request.headers.get(HEADER)
    if key is None:
        return handler()
    if not key or len(key) > MAX_KEY_LENGTH:
        raise ValidationError({HEADER: [f"Must be 1 to {MAX_KEY_LENGTH} characters."]})
    fingerprint = _fingerprint(request)
    record = _claim(request.user, key, fingerprint)
    while record is None:
        outcome = _existing(request.user, key, fingerprint)
        if isinstance(outcome, Response):
            return outcome
        record = outcome or _claim(request.user, key, fingerprint)
    try:
        response = handler()
    except Exception as exc:
        try:
            response = view.handle_exception(exc)
        except Exception:
            record.delete()
            raise
    if response.status_code >= 500:
        record.delete()
    else:
        record.response_status = response.status_code
        record.response_body = json.loads(json.dumps(response.data, default=str))
        record.save(update_fields=["response_status", "response_body"])
    return response


def idempotency_purge(*, older_than: timedelta = KEEP_FOR) -> int:
    """Delete records older than `older_than`; returns how many."""
    deleted, _ = IdempotencyRecord.objects.filter(created_at__lt=timezone.now() - older_than).delete()
    return deleted


def idempotency_forget(*, user) -> int:
    """Delete the stored answers that hold `user`'s data; returns how many (account deletion).

    Their own requests' records, and those of others whose stored answer
    names them: a booking's answer carries its client (`client: {id,
    name}`), so the front desk's cancel or reschedule of their booking is
    kept otherwise for 24 hours with their name. A key forgotten this way
    is free again: a retry runs anew, against the booking as it now is.
    """
    deleted, _ = IdempotencyRecord.objects.filter(Q(user=user) | Q(response_body__client__id=user.pk)).delete()
    return deleted
