"""Who may read or answer a booking's intake, and the audit row of each read.

The API's intake endpoints, the FHIR `QuestionnaireResponse` and the pages
all call these, so one decision and one kind of audit row serve them all;
each caller translates the refusals below into its own 404 and 403.

How a user stands to a booking (`booking_relation`): an admin or front-desk
staff by their role; else its client or its therapist; else a stranger. A
held waitlist offer is not a booking of its client or therapist yet: to
them it is a stranger's, as any other booking they may not see.

| who                         | read (`booking_intake_read`) | answer (`booking_intake_answerer`, `..._answer_when`) |
|---|---|---|
| its client                  | yes | until the session starts (then `IntakeLocked`) |
| its therapist, an admin     | yes | while the intake is pending, from the start (before it `TooEarly`) |
| front-desk staff            | `IntakeReadForbidden` | `IntakeAnswerForbidden` |
| a stranger, no such booking | `BookingNotFound` (never reveal whose it is) | `BookingNotFound` |

Each read of a completed intake writes an `allowed` audit row, each refused
attempt on one a `denied` row (`intake.services.intake_access_log`, kind
`intake`, the caller's channel and address). A pending intake has nothing
to read: `IntakeNotCompleted` (a 404), and no row.
"""

from collections.abc import Collection
from datetime import datetime

from django.utils import timezone

from booking.errors import IntakeLocked, TooEarly
from booking.models import Booking
from clinic.models import Role, User
from intake.models import IntakeAccess
from intake.services import intake_access_log

CLIENT, THERAPIST, STAFF, ADMIN, STRANGER = "client", "therapist", "staff", "admin", "stranger"

# Who reads the full intake, and who answers it, by default (the intake endpoint's).
INTAKE_READERS = frozenset({CLIENT, THERAPIST, ADMIN})
INTAKE_ANSWERERS = frozenset({CLIENT, THERAPIST, ADMIN})

_RELATED = ("therapist__user", "client", "intake__reviewed_by", "location", "room", "service")


class IntakeAccessRefused(Exception):
    """A booking's intake refused to a user; `detail` is None where the caller words its own refusal."""

    default_detail: str | None = None

    def __init__(self, detail: str | None = None):
        self.detail = detail or self.default_detail
        super().__init__(self.detail or type(self).__name__)


class BookingNotFound(IntakeAccessRefused):
    """No such booking, or not one the user may see: a 404 that never reveals whose it is."""


class IntakeNotCompleted(BookingNotFound):
    """The intake is still pending (a front-desk booking the client has not completed): nothing to read, a 404."""

    default_detail = "The client has not completed the intake for this booking yet."


class IntakeForbidden(IntakeAccessRefused):
    """The user sees the booking but their role may not do this with its intake: a 403."""

    default_detail = "Your role may not do this with this booking's intake."


class IntakeReadForbidden(IntakeForbidden):
    """A read of the intake refused (front-desk staff; the booking's client where a caller allows only clinicians)."""


class IntakeAnswerForbidden(IntakeForbidden):
    """Answers refused to this user: front-desk staff, or a clinician changing a completed intake."""


def booking_relation(user: User, booking: Booking) -> str:
    """How `user` stands to `booking`: client, therapist, staff, admin or stranger."""
    if user.role == Role.ADMIN:
        return ADMIN
    if user.role == Role.STAFF:
        return STAFF
    if booking.status == Booking.Status.HELD:
        return STRANGER  # an offer, not their booking yet (it is only in the front desk's lists)
    if booking.client_id == user.pk:
        return CLIENT
    if booking.therapist.user_id == user.pk:
        return THERAPIST
    return STRANGER


def booking_get(*, booking_id: int) -> Booking:
    """The booking with what its intake pages and endpoints show joined; `BookingNotFound` if there is none."""
    booking = Booking.objects.select_related(*_RELATED).filter(pk=booking_id).first()
    if booking is None:
        raise BookingNotFound()
    return booking


def booking_authorize(*, booking_id: int, user: User, allowed: Collection[str]) -> tuple[Booking, str]:
    """The booking and `user`'s relation to it, if that relation is `allowed`; no audit row (nothing is read).

    `BookingNotFound` to strangers (and for no such booking), `IntakeForbidden`
    to anyone else not allowed.
    """
    booking = booking_get(booking_id=booking_id)
    relation = booking_relation(user, booking)
    if relation == STRANGER:
        raise BookingNotFound()
    if relation not in allowed:
        raise IntakeForbidden()
    return booking, relation


def booking_intake_read(
    *,
    booking_id: int,
    user: User,
    remote_addr: str | None,
    channel: str,
    readers: Collection[str] = INTAKE_READERS,
    allow_pending: bool = False,
) -> Booking:
    """The booking whose completed intake `user` reads through `channel`, the `allowed` audit row written.

    Refusals, each a `denied` row first (when there is an intake to refuse):
    `BookingNotFound` to a stranger (and, with no row, for no such booking),
    `IntakeReadForbidden` to a relation not among `readers`. A pending intake
    writes nothing: `IntakeNotCompleted`, or with `allow_pending` the booking
    itself (its `intake` None), for a page that shows the booking without it.
    """
    booking = booking_get(booking_id=booking_id)
    relation = booking_relation(user, booking)
    if relation == STRANGER or relation not in readers:
        _log(booking, user, remote_addr, channel, IntakeAccess.Outcome.DENIED)
        raise BookingNotFound() if relation == STRANGER else IntakeReadForbidden()
    if booking.intake is None:
        if allow_pending:
            return booking
        raise IntakeNotCompleted()
    _log(booking, user, remote_addr, channel, IntakeAccess.Outcome.ALLOWED)
    return booking


def _log(booking: Booking, user: User, remote_addr: str | None, channel: str, outcome: str) -> None:
    if booking.intake is None:
        return  # a pending intake: nothing was there to read
    intake_access_log(
        intake=booking.intake,
        user=user,
        booking_id=booking.pk,
        remote_addr=remote_addr,
        channel=channel,
        outcome=outcome,
    )


def booking_intake_answerer(*, booking_id: int, user: User) -> tuple[Booking, str]:
    """The booking whose answers `user` may give or change, and their relation (check the time next).

    `BookingNotFound` to strangers, `IntakeAnswerForbidden` to front-desk
    staff and to its therapist or an admin once the intake is completed (the
    answers are then the client's). No audit row: nothing is read.
    """
    booking = booking_get(booking_id=booking_id)
    relation = booking_relation(user, booking)
    if relation == STRANGER:
        raise BookingNotFound()
    if relation not in INTAKE_ANSWERERS:
        raise IntakeAnswerForbidden()
    if relation != CLIENT and not booking.is_pending:
        raise IntakeAnswerForbidden("Only the client changes the answers of a completed intake.")
    return booking, relation


def booking_intake_answer_when(*, booking: Booking, relation: str, now: datetime | None = None) -> None:
    """Whether answers may be given now: the client until the start, its therapist or an admin from it.

    `IntakeLocked` to the client once an active booking has started;
    `TooEarly` to its therapist or an admin before the start (the client
    completes the intake until then). A cancelled or closed booking is left
    to `booking.services.booking_intake_update`, which refuses it.
    """
    started = (now or timezone.now()) >= booking.starts_at
    if relation != CLIENT and not started:
        raise TooEarly(
            "Until the session starts the client completes the intake (they were asked by mail); "
            "from its start, its therapist may complete it with them."
        )
    if relation == CLIENT and started and booking.is_active:
        raise IntakeLocked()
