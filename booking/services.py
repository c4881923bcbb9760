"""Writes of the booking lifecycle: book, cancel, reschedule, move room, complete, no-show, intake, review.

Each service is one transaction that locks what it depends on before it
checks it ("lock, then check"), always in the same order so two requests
never wait on each other in a cycle:

    client row  →  booking row  →  therapist row  →  the client's intake lock (intake.services)
                                                 (→ the exclusion constraints on rooms)

A new booking's intake is stored last, under the therapist's lock once the
time is found free: a refused booking stores none.

The therapist row lock serialises everything that decides whether a time
of theirs is bookable: bookings, and the schedule writes (shifts, time
off) that take the same lock (booking/schedule.py). Each candidate
therapist is tried in a savepoint: one that does not fit is rolled back,
its lock released, before the next is tried, so no request holds two
therapists at once. Rooms are not locked: the room's exclusion constraint
decides between two bookings racing for it, and the loser moves on to the
next free room. The constraints are the last line: a race that still
reaches one (or a deadlock, a serialization failure) becomes a 409, never a 500.
Mail is a job deferred in the same transaction (booking.mail), so a rolled-back booking sends nothing.

A booking's `warnings` follow from its intake and its therapist: every
service here that changes either recomputes them (`_set_warnings`).

Every change a calendar event of the booking shows bumps `sequence` (the
event's SEQUENCE; `updated_at`, its LAST-MODIFIED, moves with it): a
reschedule, a room move, a cancellation, and a review or an intake that
changes the event's text (`_bump_sequence_if_shown`, booking.ics).
"""

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta

from django.core.exceptions import ValidationError
from django.db import IntegrityError, OperationalError, connection, transaction
from django.db.models import Count
from django.utils import timezone

from booking import mail, waitlist
from booking.availability import OfferedStart, free_rooms, local_day_bounds, offers_at
from booking.errors import (
    BookingNotActive,
    ClientInactive,
    ClientOverlap,
    IntakeLocked,
    IntakePending,
    LateCancellation,
    RoomUnavailable,
    SlotUnavailable,
    TherapistNotQualified,
    TooEarly,
    TooManyBookings,
)
from booking.events import (
    BOOKING_CANCELLED,
    BOOKING_COMPLETED,
    BOOKING_CREATED,
    BOOKING_NO_SHOW,
    BOOKING_RESCHEDULED,
    announce,
)
from booking.ics import shown
from booking.models import Booking
from clinic.models import Clinic, Location, Modality, Role, Room, Service, Therapist, User
from clinic.selectors import clinic_get
from intake import rules
from intake.form import validate_answers
from intake.models import Intake
from intake.services import intake_create, intake_review, intake_review_clear, intake_update_answers

# SQLSTATEs of a lost race that PostgreSQL resolves by failing one transaction.
_RACE_SQLSTATES = {"40001", "40P01"}  # serialization_failure, deadlock_detected

THERAPIST_OVERLAP = "booking_therapist_no_overlap"
ROOM_OVERLAP = "booking_room_no_overlap"
CLIENT_OVERLAP = "booking_client_no_overlap"


def _constraint_name(exc: BaseException) -> str | None:
    diag = getattr(exc.__cause__, "diag", None)
    return getattr(diag, "constraint_name", None)


@contextmanager
def _races_become_conflicts() -> Iterator[None]:
    """Turn the database's verdict on a lost race into the domain error a person can act on."""
    try:
        yield
    except IntegrityError as exc:
        name = _constraint_name(exc)
        if name == CLIENT_OVERLAP:
            raise ClientOverlap() from exc
        if name in (THERAPIST_OVERLAP, ROOM_OVERLAP):
            raise SlotUnavailable() from exc
        raise
    except OperationalError as exc:
        if getattr(exc.__cause__, "sqlstate", None) in _RACE_SQLSTATES:
            raise SlotUnavailable() from exc
        raise


def _lock_client(client_id: int) -> None:
    # Serialises one client's bookings so the cap and overlap checks cannot race,
    # and with the deletion of the account (records.account_data), which
    # takes the same lock: a deleted account books nothing. Plain SQL: on every
    # booking's path, where the ORM's compiling costs more than the statement.
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1 FROM clinic_user WHERE id = %s AND is_active FOR UPDATE", [client_id])
        if cursor.fetchone() is None:
            raise ClientInactive()


NO_SUCH_THERAPIST = "No such therapist. Choose a time from the availability list."


def _columns(model, alias: str) -> str:
    return ", ".join(f'{alias}."{field.column}"' for field in model._meta.concrete_fields)


def _from_row(model, values):
    """A model instance from a plain-SQL row of `_columns(model, ...)`, as the ORM would load it."""
    fields = model._meta.concrete_fields
    return model.from_db("default", [field.attname for field in fields], values)


# The therapist's row lock with their user and the location asked for, in one statement (a booking's path).
_LOCK_THERAPIST_AT_SQL = f"""
SELECT {_columns(Therapist, "t")}, {_columns(User, "u")}, {_columns(Location, "l")}
FROM clinic_therapist t
JOIN clinic_user u ON u.id = t.user_id
LEFT JOIN clinic_therapist_locations tl ON tl.therapist_id = t.id AND tl.location_id = %(location)s
LEFT JOIN clinic_location l ON l.id = tl.location_id
WHERE t.id = %(therapist)s
FOR UPDATE OF t
"""


def _lock_therapist_at(therapist_id: int, location_id: int) -> tuple[Therapist, Location | None]:
    """`_lock_therapist`, and the location if the therapist works there (else None): one statement, not two."""
    with connection.cursor() as cursor:
        cursor.execute(_LOCK_THERAPIST_AT_SQL, {"therapist": therapist_id, "location": location_id})
        row = cursor.fetchone()
    if row is None:
        raise SlotUnavailable(NO_SUCH_THERAPIST)
    n, m = len(Therapist._meta.concrete_fields), len(User._meta.concrete_fields)
    therapist = _from_row(Therapist, row[:n])
    therapist.user = _from_row(User, row[n : n + m])
    location = _from_row(Location, row[n + m :]) if row[n + m] is not None else None
    return therapist, location


def _lock_therapist(therapist_id: int) -> Therapist:
    try:
        return Therapist.objects.select_for_update(of=("self",)).select_related("user").get(pk=therapist_id)
    except Therapist.DoesNotExist:
        raise SlotUnavailable(NO_SUCH_THERAPIST) from None


def _lock_booking(booking_id: int) -> Booking:
    return (
        Booking.objects.select_for_update(of=("self",))
        .select_related("therapist__user", "client", "intake", "location", "room", "service")
        .get(pk=booking_id)
    )


def _active_service(service_id: int) -> Service:
    # Plain SQL: see `_lock_client`.
    service = next(
        iter(Service.objects.raw("SELECT * FROM clinic_service WHERE id = %s AND active", [service_id])), None
    )
    if service is None:
        raise ValidationError({"service": ["No active service with this id. Choose one from GET /api/v1/services/."]})
    return service


def _check_client_free(client_id: int, starts_at: datetime, ends_at: datetime, *, exclude_booking_id=None) -> None:
    overlapping = Booking.objects.filter(
        client_id=client_id, status=Booking.Status.CONFIRMED, starts_at__lt=ends_at, ends_at__gt=starts_at
    )
    if exclude_booking_id is not None:
        overlapping = overlapping.exclude(pk=exclude_booking_id)
    if overlapping.exists():
        raise ClientOverlap()


# The client's places against the cap, and their sessions overlapping the new one, counted in one statement
# (plain SQL: see `_lock_client`).
_CLIENT_BOOKINGS_SQL = """
SELECT count(*) FILTER (WHERE starts_at > %(now)s AND (booked_by_id IS NULL OR booked_by_id = %(client)s)),
       count(*) FILTER (WHERE starts_at < %(ends_at)s AND ends_at > %(starts_at)s)
FROM booking_booking WHERE client_id = %(client)s AND status = 'confirmed'
"""


def _check_client_may_book(
    client_id: int, starts_at: datetime, ends_at: datetime, *, clinic: Clinic | None, now: datetime
) -> None:
    """Refuse a new booking to a client at their cap (unless `clinic` is None: the front desk's booking),
    or one overlapping a session of theirs; one statement (bench/README.md, finding 7).

    The cap is `max_active_bookings_per_client` active bookings: confirmed
    and not yet started (a session that has taken place but was not yet
    marked completed no longer holds a place on the calendar), not made by
    the front desk for them (the clinic's own decision, e.g. a course of
    sessions booked by phone). Call it under the client row lock
    (`_lock_client`): one client's bookings are then counted one after the other.
    """
    with connection.cursor() as cursor:
        cursor.execute(
            _CLIENT_BOOKINGS_SQL, {"client": client_id, "now": now, "starts_at": starts_at, "ends_at": ends_at}
        )
        held, overlapping = cursor.fetchone()
    if clinic is not None and held >= clinic.max_active_bookings_per_client:
        raise TooManyBookings.for_cap(clinic.max_active_bookings_per_client)
    if overlapping:
        raise ClientOverlap()


def requested_modality(intake: Intake | None) -> str | None:
    """The modality the booking asks of its therapist: a current review's, else what the answers suggest."""
    if intake is None:
        return None
    if intake.reviewed_modality and not intake.review_stale:
        return intake.reviewed_modality
    return intake.suggested_modality


def booking_warnings(*, intake: Intake | None, therapist: Therapist) -> list[str]:
    """The warning codes that hold for a booking of `therapist` with `intake` (Booking.WarningCode)."""
    modality = requested_modality(intake)
    if modality and not therapist.is_trained_for(modality):
        return [Booking.WarningCode.THERAPIST_NOT_QUALIFIED.value]
    return []


def _set_warnings(booking: Booking) -> list[str]:
    """Recompute the booking's warnings from its intake and therapist; save them if they changed."""
    warnings = booking_warnings(intake=booking.intake, therapist=booking.therapist)
    if warnings != booking.warnings:
        booking.warnings = warnings
        booking.save(update_fields=["warnings", "updated_at"])
    return warnings


def _bump_sequence_if_shown(booking: Booking, before: bytes) -> None:
    """Bump the booking's SEQUENCE (and LAST-MODIFIED) when its events now show other than `before` (`shown`)."""
    if shown(booking) != before:
        booking.sequence += 1
        booking.save(update_fields=["sequence", "updated_at"])


def _fewest_bookings_first(offers: list[OfferedStart], starts_at: datetime) -> list[OfferedStart]:
    """The offers ordered as docs/api.md says: fewest active bookings that local day, then lowest therapist id.

    One counting query per location offered (its own local day), none when there is no choice to make.
    """
    if len(offers) < 2:
        return offers
    loads: dict[tuple[int, int], int] = {}
    for location in Location.objects.filter(pk__in={o.location_id for o in offers}):
        day_start, day_end = local_day_bounds(starts_at.astimezone(location.tz).date(), location.tz)
        counted = (
            Booking.objects.filter(
                therapist_id__in={o.therapist_id for o in offers if o.location_id == location.pk},
                status=Booking.Status.CONFIRMED,
                starts_at__gte=day_start,
                starts_at__lt=day_end,
            )
            .values("therapist_id")
            .annotate(n=Count("id"))
        )
        loads.update({(row["therapist_id"], location.pk): row["n"] for row in counted})
    return sorted(offers, key=lambda o: (loads.get((o.therapist_id, o.location_id), 0), o.therapist_id, o.location_id))


def _check_modality(therapist: Therapist, modality: str | None) -> None:
    if modality == Modality.DEEP_TISSUE and not therapist.is_trained_for(Modality.DEEP_TISSUE):
        raise TherapistNotQualified()


class _DoesNotFit(Exception):
    """This therapist (or every room) cannot take the session: roll back and try the next."""


def _place_with(
    *,
    booking: Booking | None,
    client_id: int,
    service: Service,
    offer: OfferedStart,
    starts_at: datetime,
    ends_at: datetime,
    occupied_until: datetime,
    for_staff: bool,
    clinic: Clinic,
    now: datetime,
    fields: dict,
    qualify_for: str | None = None,
    make_intake: Callable[[], Intake] | None = None,
) -> Booking:
    """Place the session with `offer`'s therapist under their row lock, in the first free room; or _DoesNotFit.

    With `qualify_for` (a modality), the therapist must be trained for it (`_check_modality`), checked
    first under the lock. With `make_intake`, the booking's intake is stored once the time is found
    free, so a refusal stores none (and spends nothing on it).
    """
    exclude = booking.pk if booking is not None else None
    therapist, location = _lock_therapist_at(offer.therapist_id, offer.location_id)
    if qualify_for is not None:
        _check_modality(therapist, qualify_for)
    # A waitlist hold past its expiry no longer counts: the ones in the way go now, under the lock.
    waitlist.holds_expire_stale(
        therapist_id=offer.therapist_id,
        location_id=offer.location_id,
        starts_at=starts_at,
        occupied_until=occupied_until,
        now=now,
    )
    # Under the lock the time is checked again: a shift or time off may have changed meanwhile.
    still = offers_at(
        service=service,
        starts_at=starts_at,
        clinic=clinic,
        location_id=offer.location_id,
        therapist_id=offer.therapist_id,
        for_staff=for_staff,
        now=now,
        exclude_booking_id=exclude,
    )
    if not still or location is None:  # (offered, they work there: `location` is theirs)
        raise _DoesNotFit()
    rooms = (
        free_rooms(
            location_id=location.pk,
            starts_at=starts_at,
            occupied_until=occupied_until,
            exclude_booking_id=exclude,
            now=now,
        )
        if location.uses_rooms
        else [None]
    )
    if make_intake is not None and rooms:
        fields = {**fields, "intake": make_intake()}
    for n, room_id in enumerate(rooms, 1):
        values = {
            "therapist": therapist,
            "location": location,
            "room_id": room_id,
            "service": service,
            "starts_at": starts_at,
            "ends_at": ends_at,
            "occupied_until": occupied_until,
            **fields,
        }
        try:
            # A savepoint only while another room is left to try: it costs two round trips.
            with transaction.atomic(savepoint=n < len(rooms)):
                if booking is None:
                    return Booking.objects.create(client_id=client_id, **values)
                for name, value in values.items():
                    setattr(booking, name, value)
                booking.save()
                return booking
        except IntegrityError as exc:
            name = _constraint_name(exc)
            if name == ROOM_OVERLAP:
                continue  # another booking took this room first: the next one may be free
            if name == CLIENT_OVERLAP:
                raise ClientOverlap() from exc
            if name == THERAPIST_OVERLAP:
                raise _DoesNotFit() from exc
            raise
    raise _DoesNotFit()


def _place(
    *,
    booking: Booking | None,
    client_id: int,
    service: Service,
    starts_at: datetime,
    therapist_id: int | None,
    location_id: int | None,
    modality: str | None,
    for_staff: bool,
    clinic: Clinic,
    now: datetime,
    fields: dict,
    qualify_for: str | None = None,
    make_intake: Callable[[], Intake] | None = None,
) -> Booking:
    """Put a session of `service` at `starts_at` on the calendar: a new booking, or `booking` moved there.

    Tries each therapist offered that start (the given one, or every one
    trained for `modality`, fewest bookings that local day first), each
    under its row lock in a savepoint while another is left to try, and the
    first free room where the location has rooms. A therapist and location
    both given are locked, then checked: no check before the lock, which
    would only repeat the one under it. `qualify_for`, `make_intake`: see `_place_with`.
    Raises SlotUnavailable when nothing fits.
    """
    exclude = booking.pk if booking is not None else None
    ends_at = starts_at + timedelta(minutes=service.duration_minutes)
    occupied_until = ends_at + timedelta(minutes=service.buffer_minutes)
    if therapist_id is not None and location_id is not None:
        offers = [OfferedStart(therapist_id, "", location_id, starts_at, ends_at)]
    else:
        offered = offers_at(
            service=service,
            starts_at=starts_at,
            clinic=clinic,
            location_id=location_id,
            therapist_id=therapist_id,
            modality=None if therapist_id else modality,
            for_staff=for_staff,
            now=now,
            exclude_booking_id=exclude,
        )
        offers = _fewest_bookings_first(offered, starts_at)
    for n, offer in enumerate(offers, 1):
        try:
            # A savepoint per therapist while another is left: one that does not fit is rolled back,
            # its row lock released (without one, the whole transaction fails with it, as it must then).
            with transaction.atomic(savepoint=n < len(offers)):
                return _place_with(
                    booking=booking,
                    client_id=client_id,
                    service=service,
                    offer=offer,
                    starts_at=starts_at,
                    ends_at=ends_at,
                    occupied_until=occupied_until,
                    for_staff=for_staff,
                    clinic=clinic,
                    now=now,
                    fields=fields,
                    qualify_for=qualify_for,
                    make_intake=make_intake,
                )
        except _DoesNotFit:
            continue
    raise SlotUnavailable()


def booking_create(
    *,
    client: User,
    service_id: int,
    starts_at: datetime,
    therapist_id: int | None = None,
    location_id: int | None = None,
    answers: dict | None = None,
    booked_by: User,
    now: datetime | None = None,
) -> Booking:
    """Book a session of `service_id` at `starts_at` for `client`, all or nothing.

    Booked by the client, `answers` are required: validated and assessed
    first (400), they decide the modality the therapist must be trained
    for. Booked by the front desk, there are no answers: the intake is
    pending, the client is asked for it by mail, and the front desk may
    book inside the notice and past the horizon (not in the past), and
    the booking does not count against the client's cap.
    """
    clinic = clinic_get()
    now = now or timezone.now()
    by_staff = booked_by.is_front_desk
    if not by_staff and booked_by.pk != client.pk:
        raise ValueError("A client books for themselves; the front desk books for clients.")
    if client.role != Role.CLIENT:
        raise ValidationError({"client": ["Bookings are made for client accounts only."]})
    cleaned = None
    modality = None
    if not by_staff:
        if answers is None:
            raise ValidationError({"intake": ["The intake answers are required to book."]})
        cleaned = validate_answers(answers)
        modality = rules.assess(cleaned)["modality"]
    service = _active_service(service_id)
    with _races_become_conflicts(), transaction.atomic():
        _lock_client(client.pk)
        ends_at = starts_at + timedelta(minutes=service.duration_minutes)
        _check_client_may_book(client.pk, starts_at, ends_at, clinic=None if by_staff else clinic, now=now)
        # The therapist asked for must be trained for the intake's modality: checked under their lock
        # when the location is given too (`_place`), else here, before the offers are looked up.
        qualify_for = modality if therapist_id is not None else None
        if qualify_for is not None and location_id is None:
            therapist = Therapist.objects.filter(pk=therapist_id).first()
            if therapist is None:
                raise SlotUnavailable(NO_SUCH_THERAPIST)
            _check_modality(therapist, qualify_for)
            qualify_for = None
        # The intake is stored under the therapist's lock once the time is found free (`_place_with`).
        make_intake = None if cleaned is None else lambda: intake_create(client=client, answers=cleaned)
        booking = _place(
            booking=None,
            client_id=client.pk,
            service=service,
            starts_at=starts_at,
            therapist_id=therapist_id,
            location_id=location_id,
            modality=modality,
            for_staff=by_staff,
            clinic=clinic,
            now=now,
            fields={
                "price": service.price,
                "currency": clinic.currency,
                "intake": None,
                "intake_status": Booking.IntakeStatus.PENDING if cleaned is None else Booking.IntakeStatus.COMPLETE,
                "booked_by": booked_by,
            },
            qualify_for=qualify_for,
            make_intake=make_intake,
        )
        booking.client = client  # every relation the answer shows is loaded: the view renders it as it is
        intake = booking.intake
        if intake is not None:
            booking.warnings = booking_warnings(intake=intake, therapist=booking.therapist)
            if booking.warnings:
                booking.save(update_fields=["warnings", "updated_at"])
        booking_made_known(booking)
    return booking


def booking_made_known(booking: Booking) -> None:
    """A booking just confirmed (made, or a waitlist hold accepted): its mails and its event, in this transaction.

    The client's confirmation; the request to complete a pending intake, or
    the therapist's review mail when the intake needs review; `booking.created`.
    """
    mail.send_later(mail.CONFIRMED, booking.id)
    if booking.is_pending:
        mail.send_later(mail.INTAKE_REQUEST, booking.id)
    elif booking.needs_review:
        mail.send_later(mail.REVIEW_NEEDED, booking.id)
    announce(BOOKING_CREATED, booking)


def _check_client_may_change(booking: Booking, *, by: User, clinic, now: datetime) -> None:
    """Clients may not cancel or move a booking inside the cancellation window; staff always may."""
    if by.is_front_desk:
        return
    if booking.starts_at - now < timedelta(hours=clinic.cancellation_window_hours):
        raise LateCancellation(
            f"Bookings can be changed online up to {clinic.cancellation_window_hours} hours before "
            "they start. Please call the clinic to change this one."
        )


def booking_cancel(*, booking_id: int, by: User, reason: str = "", now: datetime | None = None) -> Booking:
    """Cancel a confirmed booking; its time is bookable again at once, offered first to the waitlist."""
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
        booking.sequence += 1
        booking.save(
            update_fields=["status", "cancelled_at", "cancelled_by", "cancel_reason", "sequence", "updated_at"]
        )
        # The waitlist is offered the freed time here, in this transaction: nobody can take it in between.
        waitlist.waitlist_offer_freed(
            starts_at=booking.starts_at,
            ends_at=booking.occupied_until,
            therapist_id=booking.therapist_id,
            location_id=booking.location_id,
            now=now,
        )
        mail.send_later(mail.CANCELLED, booking.id)
        announce(BOOKING_CANCELLED, booking)
    return booking


def booking_reschedule(
    *,
    booking_id: int,
    by: User,
    starts_at: datetime,
    service_id: int | None = None,
    therapist_id: int | None = None,
    location_id: int | None = None,
    now: datetime | None = None,
) -> Booking:
    """Move a confirmed booking (and its intake) to a new time, service, therapist or location, atomically.

    Omitted choices keep the booking's. The same rules as booking apply,
    with the booking itself not in the way (its own time, the client's
    overlap, the cap). On any refusal the booking stays where it was (the
    transaction rolls back). A new therapist drops the old review; the
    price follows a new service.
    """
    clinic = clinic_get()
    now = now or timezone.now()
    with _races_become_conflicts(), transaction.atomic():
        client_id = Booking.objects.values_list("client_id", flat=True).get(pk=booking_id)
        _lock_client(client_id)
        booking = _lock_booking(booking_id)
        if not booking.is_active:
            raise BookingNotActive()
        _check_client_may_change(booking, by=by, clinic=clinic, now=now)
        service = booking.service if service_id in (None, booking.service_id) else _active_service(service_id)
        new_therapist_id = therapist_id or booking.therapist_id
        new_location_id = location_id or booking.location_id
        unchanged = (
            starts_at == booking.starts_at
            and service.pk == booking.service_id
            and new_therapist_id == booking.therapist_id
            and new_location_id == booking.location_id
        )
        if unchanged:
            raise SlotUnavailable("The booking is already at this time. Choose another time, service or therapist.")
        ends_at = starts_at + timedelta(minutes=service.duration_minutes)
        _check_client_free(client_id, starts_at, ends_at, exclude_booking_id=booking.pk)
        modality = requested_modality(booking.intake)
        if new_therapist_id != booking.therapist_id:
            new_therapist = Therapist.objects.filter(pk=new_therapist_id).first()
            if new_therapist is None:
                raise SlotUnavailable("No such therapist. Choose a time from the availability list.")
            _check_modality(new_therapist, modality)
        old_therapist_id = booking.therapist_id
        left = waitlist.FreedTime.of_booking(booking)
        fields = {"sequence": booking.sequence + 1, "reminder_sent_at": None}
        if service.pk != booking.service_id:
            fields["price"] = service.price
        booking = _place(
            booking=booking,
            client_id=client_id,
            service=service,
            starts_at=starts_at,
            therapist_id=new_therapist_id,
            location_id=new_location_id,
            modality=modality,
            for_staff=by.is_front_desk,
            clinic=clinic,
            now=now,
            fields=fields,
        )
        if booking.therapist_id != old_therapist_id and booking.intake is not None and booking.intake.reviewed_modality:
            booking.intake = intake_review_clear(intake=booking.intake)
        _set_warnings(booking)
        # The time it left is offered to the waitlist in this transaction, as a cancellation's.
        waitlist.waitlist_offer_freed(
            starts_at=left.starts_at,
            ends_at=left.ends_at,
            therapist_id=left.therapist_id,
            location_id=left.location_id,
            now=now,
        )
        mail.send_later(mail.RESCHEDULED, booking.id)
        announce(BOOKING_RESCHEDULED, booking)
    return booking


def booking_move_room(*, booking_id: int, room_id: int) -> Booking:
    """Move an active booking to another free active room of its location (front desk)."""
    with transaction.atomic():
        booking = _lock_booking(booking_id)
        if not booking.is_active:
            raise BookingNotActive()
        room = Room.objects.filter(pk=room_id, location_id=booking.location_id, active=True).first()
        if room is None:
            raise RoomUnavailable("That room is not an active room of this booking's location. Choose another.")
        if room.pk == booking.room_id:
            return booking
        free = free_rooms(
            location_id=booking.location_id,
            starts_at=booking.starts_at,
            occupied_until=booking.occupied_until,
            exclude_booking_id=booking.pk,
        )
        if room.pk not in free:
            raise RoomUnavailable()
        booking.room = room
        booking.sequence += 1
        try:
            with transaction.atomic():
                booking.save(update_fields=["room", "sequence", "updated_at"])
        except IntegrityError as exc:
            if _constraint_name(exc) == ROOM_OVERLAP:
                raise RoomUnavailable() from exc
            raise
        mail.send_later(mail.RESCHEDULED, booking.id)
        announce(BOOKING_RESCHEDULED, booking)
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
        if now < booking.starts_at:
            raise TooEarly()
        booking.status = status
        booking.closed_at = now
        booking.save(update_fields=["status", "closed_at", "updated_at"])
        announce(BOOKING_COMPLETED if status == Booking.Status.COMPLETED else BOOKING_NO_SHOW, booking)
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
        before = shown(booking)
        if booking.is_pending:
            # Completing a front-desk booking's intake (after the start only by its therapist or admin:
            # the caller's check).
            booking.intake = intake_create(client=booking.client, answers=answers)
            booking.intake_status = Booking.IntakeStatus.COMPLETE
            booking.save(update_fields=["intake", "intake_status", "updated_at"])
        else:
            if now >= booking.starts_at:
                raise IntakeLocked()
            booking.intake = intake_update_answers(intake=booking.intake, answers=answers)
        _set_warnings(booking)
        _bump_sequence_if_shown(booking, before)
        if booking.needs_review:
            mail.send_later(mail.REVIEW_NEEDED, booking.id)
    return booking


def booking_review(*, booking_id: int, reviewer: User, modality: str, note: str = "") -> Booking:
    """Record the treating therapist's final modality for a booking.

    A modality the booking's therapist is not trained in is refused
    (`TherapistNotQualified`): a review is a person's choice, unlike answers.
    A review within their training settles a `therapist_not_qualified` warning.
    """
    with transaction.atomic():
        booking = _lock_booking(booking_id)
        if booking.is_pending:
            raise IntakePending()
        if modality in Modality.values and not booking.therapist.is_trained_for(modality):
            raise TherapistNotQualified.for_review(Modality(modality).label)
        before = shown(booking)
        booking.intake = intake_review(intake=booking.intake, reviewer=reviewer, modality=modality, note=note)
        _set_warnings(booking)
        _bump_sequence_if_shown(booking, before)
    return booking
