"""Writes of the clinic's settings, places and people: accounts, therapists, the clinic row,
locations, rooms and services.

Each function is one transaction. Validation problems are raised as Django
`ValidationError`s keyed by field, which the API's exception handler turns
into a 400 in DRF's field → messages shape.
"""

import copy
import functools
import operator
import re
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from axes.models import AccessAttempt, AccessFailureLog, AccessLog
from django.conf import settings
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Model, Q, QuerySet
from django.utils import timezone
from knox.models import AuthToken

from clinic.errors import HasFutureBookings, RoomInUse
from clinic.models import Clinic, Location, Modality, Role, Room, Service, Therapist, User
from clinic.selectors import future_booking_ids, needing_modality_q

EMAIL_TAKEN = "An account with this email already exists."

# What the Django admin may do follows the role (see User's docstring).
_ROLE_FLAGS: dict[str, dict[str, bool]] = {
    Role.CLIENT: {"is_staff": False, "is_superuser": False},
    Role.THERAPIST: {"is_staff": False, "is_superuser": False},
    Role.STAFF: {"is_staff": True, "is_superuser": False},
    Role.ADMIN: {"is_staff": True, "is_superuser": True},
}

CLINIC_EDITABLE_FIELDS = frozenset(
    {
        "name",
        "time_zone",
        "currency",
        "min_notice_hours",
        "booking_horizon_days",
        "cancellation_window_hours",
        "booking_step_minutes",
        "waitlist_hold_minutes",
        "max_active_bookings_per_client",
    }
)
# Upper bounds that keep the booking policies sane (and date arithmetic far from overflowing).
CLINIC_POLICY_MAXIMUMS = {
    "min_notice_hours": 24 * 365,
    "booking_horizon_days": 5 * 365,
    "cancellation_window_hours": 24 * 365,
    "max_active_bookings_per_client": 100,
}
CURRENCY_MESSAGE = "Give the ISO 4217 code of the currency: three capital letters, e.g. USD or EUR."


@dataclass(frozen=True)
class MinutesRange:
    """A whole number of minutes from `low` to `high` in steps of `step`, and the sentence that says so."""

    low: int
    high: int
    step: int
    message: str

    def allows(self, value: int) -> bool:
        return self.low <= value <= self.high and value % self.step == 0


# The rules of the minutes the clinic's settings and services are counted in; the
# database's check constraints (clinic.models) hold the same ones.
BOOKING_STEP = MinutesRange(5, 60, 5, "Give the step between offered start times in minutes: 5 to 60, a multiple of 5.")
WAITLIST_HOLD = MinutesRange(5, 24 * 60, 1, "Give how long an offer is held in minutes: 5 to 1440 (24 hours).")
SERVICE_DURATION = MinutesRange(
    15, 240, 5, "Give the session's length in minutes: 15 to 240, a multiple of 5 (e.g. 60)."
)
SERVICE_BUFFER = MinutesRange(
    0, 60, 5, "Give the turnover time after each session in minutes: 0 to 60, a multiple of 5 (0 for none)."
)
MINUTES_RULES = {
    "booking_step_minutes": BOOKING_STEP,
    "waitlist_hold_minutes": WAITLIST_HOLD,
    "duration_minutes": SERVICE_DURATION,
    "buffer_minutes": SERVICE_BUFFER,
}
PRICE_MESSAGE = "Give the price as a decimal number of at least 0, with at most 2 decimal places (e.g. 90.00)."

LOCATION_NAME_TAKEN = "A location with this name already exists."
ROOM_NAME_TAKEN = "This location already has a room with this name."
ROOM_STAYS = "A room stays at its location: add a room at the other location instead."


def role_flags(role: str) -> dict[str, bool]:
    """`is_staff` / `is_superuser` for a role: staff get the admin, admins are superusers."""
    try:
        return dict(_ROLE_FLAGS[role])
    except KeyError:
        raise ValidationError({"role": [f"{role!r} is not a role; choose one of {', '.join(Role.values)}."]}) from None


def email_normalize(email: str) -> str:
    """An email as stored: trimmed and lowercased, so uniqueness is case-insensitive."""
    return (email or "").strip().lower()


def modalities_clean(values: Iterable[str] | None) -> list[str]:
    """A therapist's modalities checked: a non-empty list of known values without repeats."""
    if values is None or isinstance(values, (str, bytes)):
        raise ValidationError({"modalities": ["Give a list of modalities, e.g. ['therapeutic']."]})
    values = list(values)
    errors = []
    if not values:
        errors.append(f"Give at least one modality: {', '.join(Modality.values)}.")
    unknown = [v for v in values if v not in Modality.values]
    if unknown:
        errors.append(f"Unknown modality {', '.join(map(repr, unknown))}; choose from {', '.join(Modality.values)}.")
    elif len(set(values)) != len(values):
        errors.append("Each modality may be listed only once.")
    if errors:
        raise ValidationError({"modalities": errors})
    return values


def _user_build(
    *, email: str, role: str, first_name: str, last_name: str, phone: str, errors: dict[str, list[str]]
) -> User:
    """An unsaved user with the role's admin flags; field problems (format, length) are added to `errors`."""
    user = User(email=email, role=role, first_name=first_name, last_name=last_name, phone=phone, **role_flags(role))
    try:
        # Uniqueness is checked by _user_insert, race-safely; constraints follow from role_flags.
        user.full_clean(exclude=["password"], validate_unique=False, validate_constraints=False)
    except ValidationError as exc:
        for field, messages in exc.message_dict.items():
            errors.setdefault(field, []).extend(messages)
    return user


def _user_insert(user: User) -> User:
    """Insert the user row; a taken email, even taken a moment ago by a concurrent request, is a ValidationError.

    No row lock can guard an email nobody has yet, so the database decides:
    the email column is unique, and of two concurrent inserts of one address
    the second waits for the first to commit and then fails with an
    IntegrityError. A savepoint keeps the outer transaction usable so that
    the loser gets the same "taken" error as the ordinary pre-check gives.
    """
    if User.objects.filter(email__iexact=user.email).exists():
        raise ValidationError({"email": [EMAIL_TAKEN]})
    try:
        with transaction.atomic():
            user.save(force_insert=True)
    except IntegrityError:
        if User.objects.filter(email__iexact=user.email).exists():
            raise ValidationError({"email": [EMAIL_TAKEN]}) from None
        raise
    return user


def _raise_if(errors: dict[str, list[str]]) -> None:
    if errors:
        raise ValidationError(errors)


def rule_errors(fields: dict[str, Any]) -> dict[str, list[str]]:
    """The minutes, currency and price given that break the clinic's rules, field → the rule's sentence."""
    errors: dict[str, list[str]] = {}
    for name, rule in MINUTES_RULES.items():
        value = fields.get(name)
        if name in fields and (not isinstance(value, int) or isinstance(value, bool) or not rule.allows(value)):
            errors[name] = [rule.message]
    if "currency" in fields and not (
        isinstance(fields["currency"], str) and re.fullmatch(r"[A-Z]{3}", fields["currency"])
    ):
        errors["currency"] = [CURRENCY_MESSAGE]
    if "price" in fields:
        price = fields["price"]
        if not isinstance(price, Decimal) or not price.is_finite() or price < 0:
            errors["price"] = [PRICE_MESSAGE]
    return errors


def _full_clean(obj: Model, errors: dict[str, list[str]] | None = None) -> None:
    """The model's field checks (lengths, blanks, time zones) plus `errors` found before, raised together.

    Uniqueness and check constraints are left out: the callers check those
    with sentences of their own, and the database has the last word.
    """
    errors = dict(errors or {})
    try:
        obj.full_clean(exclude=list(errors), validate_unique=False, validate_constraints=False)
    except ValidationError as exc:
        for field, messages in exc.message_dict.items():
            errors.setdefault(field, []).extend(messages)
    _raise_if(errors)


def _save_unique(obj: Model, *, taken: QuerySet, field: str, message: str, **save_kwargs) -> None:
    """Save `obj`; a `field` value `taken` already, even a moment ago by a concurrent request, is a ValidationError.

    As `_user_insert`: the unique constraint decides a race, and a savepoint
    keeps the outer transaction usable so that the loser gets the same 400.
    """
    if taken.exists():
        raise ValidationError({field: [message]})
    try:
        with transaction.atomic():
            obj.save(**save_kwargs)
    except IntegrityError:
        if taken.exists():
            raise ValidationError({field: [message]}) from None
        raise


def _refuse_if(conflicts: Iterable[int], detail: str) -> None:
    conflicts = sorted(set(conflicts))
    if conflicts:
        raise HasFutureBookings(detail, conflicts=conflicts)


@transaction.atomic
def account_create(
    *,
    email: str,
    password: str,
    role: str,
    first_name: str = "",
    last_name: str = "",
    phone: str = "",
    modalities: Iterable[str] | None = None,
) -> User:
    """Create an account of any role; a therapist also gets a profile (default modality: therapeutic).

    The email is stored lowercased and must not be taken in any letter case;
    the password must pass Django's password validators. All field problems
    are reported together.
    """
    role_flags(role)  # an unknown role is refused before anything else
    errors: dict[str, list[str]] = {}
    user = _user_build(
        email=email_normalize(email),
        role=role,
        first_name=first_name,
        last_name=last_name,
        phone=phone,
        errors=errors,
    )
    if role == Role.THERAPIST:
        try:
            modalities = modalities_clean([Modality.THERAPEUTIC] if modalities is None else modalities)
        except ValidationError as exc:
            errors.update(exc.message_dict)
    elif modalities is not None:
        errors["modalities"] = ["Only therapists have modalities."]
    try:
        validate_password(password, user=user)
    except ValidationError as exc:
        errors["password"] = exc.messages
    _raise_if(errors)

    user.set_password(password)
    _user_insert(user)
    if role == Role.THERAPIST:
        therapist = Therapist(user=user)
        therapist.modalities = modalities
        therapist.save()
    return user


def locations_clean(values: Iterable[Location] | None) -> list[Location]:
    """A therapist's locations checked: existing locations, each once (an empty list is allowed)."""
    if values is None or isinstance(values, (str, bytes)):
        raise ValidationError({"locations": ["Give a list of location ids, e.g. [1, 2]."]})
    values = list(values)
    if len({location.pk for location in values}) != len(values):
        raise ValidationError({"locations": ["Each location may be listed only once."]})
    return values


@transaction.atomic
def therapist_create(
    *,
    email: str,
    first_name: str,
    last_name: str,
    bio: str = "",
    modalities: Iterable[str],
    locations: Iterable[Location] = (),
) -> Therapist:
    """Front desk adds a therapist: their account (no usable password until one is set), profile and locations."""
    errors: dict[str, list[str]] = {}
    user = _user_build(
        email=email_normalize(email),
        role=Role.THERAPIST,
        first_name=first_name,
        last_name=last_name,
        phone="",
        errors=errors,
    )
    try:
        modalities = modalities_clean(modalities)
    except ValidationError as exc:
        errors.update(exc.message_dict)
    try:
        locations = locations_clean(locations)
    except ValidationError as exc:
        errors.update(exc.message_dict)
    _raise_if(errors)

    user.set_unusable_password()
    _user_insert(user)
    therapist = Therapist(user=user, bio=bio)
    therapist.modalities = modalities
    therapist.save()
    therapist.locations.set(locations)
    return therapist


def therapist_change_check(
    *,
    therapist: Therapist,
    active: bool | None = None,
    modalities: Iterable[str] | None = None,
    locations: Iterable[Location] | None = None,
) -> None:
    """Raise HasFutureBookings if the change would strand active future bookings of `therapist`; None = unchanged.

    Deactivating strands all of them; removing a location, those there;
    removing a modality, those whose intake asks for it (the review's, else
    the suggestion; a pending intake asks for none). `therapist` holds the
    values before the change.
    """
    if not therapist.pk:
        return
    if active is False and therapist.active:
        _refuse_if(
            future_booking_ids(therapist.bookings),
            "This therapist has active future bookings. Give them to another therapist or cancel them, "
            "then deactivate the therapist.",
        )
        return
    needs: list[Q] = []
    removed: list[str] = []
    if locations is not None:
        kept = {location.pk for location in locations}
        for location in therapist.locations.exclude(pk__in=kept).order_by("pk"):
            needs.append(Q(location=location))
            removed.append(f"the location {location.name!r}")
    if modalities is not None:
        for modality in Modality.values:
            if therapist.is_trained_for(modality) and modality not in modalities:
                needs.append(needing_modality_q(modality))
                removed.append(f"the modality {modality}")
    if needs:
        _refuse_if(
            future_booking_ids(therapist.bookings, functools.reduce(operator.or_, needs)),
            f"Active future bookings of this therapist need {' and '.join(removed)}. Give them to another "
            "therapist or cancel them, then make the change.",
        )


@transaction.atomic
def therapist_update(
    *,
    therapist: Therapist,
    bio: str | None = None,
    modalities: Iterable[str] | None = None,
    active: bool | None = None,
    locations: Iterable[Location] | None = None,
) -> Therapist:
    """Change a therapist's bio, trained modalities, locations or whether they work here; None leaves a field as is.

    A change that would strand an active future booking (deactivating,
    removing a location or a modality it needs) is refused with
    HasFutureBookings listing them. An inactive therapist is not bookable
    and loses all access at once (clinic.permissions.user_has_access):
    their API tokens are revoked here, so reactivating them later revives
    none. Locks the therapist row (after the locations it sets: see
    Locations) before it checks, so concurrent edits apply one after the
    other and a booking (which locks its therapist too) cannot slip in
    between the check and the change.
    """
    if modalities is not None:
        modalities = modalities_clean(modalities)
    if locations is not None:
        locations = locations_clean(locations)
        # The locations come first in the lock order (see Locations below): a location being
        # deactivated meanwhile does not miss this therapist among its own.
        list(
            Location.objects.select_for_update(no_key=True)
            .filter(pk__in=[location.pk for location in locations])
            .order_by("pk")
            .values_list("pk")
        )
    locked = Therapist.objects.select_for_update().get(pk=therapist.pk)
    therapist_change_check(therapist=locked, active=active, modalities=modalities, locations=locations)
    changed: list[str] = []
    if bio is not None:
        locked.bio = bio
        changed.append("bio")
    if modalities is not None:
        locked.modalities = modalities
        changed += ["gives_therapeutic", "gives_deep_tissue"]
    if active is not None:
        locked.active = active
        changed.append("active")
    if changed:
        locked.save(update_fields=changed)
    if locations is not None:
        locked.locations.set(locations)
        # The caller's instance may hold the old list, prefetched.
        getattr(therapist, "_prefetched_objects_cache", {}).pop("locations", None)
    if active is False:
        token_revoke_all(user=locked.user)
    # The caller's instance reflects the change too.
    for field in ("bio", "gives_therapeutic", "gives_deep_tissue", "active"):
        setattr(therapist, field, getattr(locked, field))
    return therapist


@transaction.atomic
def clinic_update(*, clinic: Clinic, **fields: Any) -> Clinic:
    """Change the clinic's name, time zone (IANA), currency (ISO 4217) or booking policies.

    Checked with the clinic's rules (MinutesRange, CLINIC_POLICY_MAXIMUMS)
    and the model's own. Prices of bookings made before a currency change
    keep the currency they were booked in. Locks the clinic row first so
    concurrent edits apply one after the other.
    """
    unknown = set(fields) - CLINIC_EDITABLE_FIELDS
    if unknown:
        raise ValidationError({name: ["This setting cannot be changed here."] for name in sorted(unknown)})
    locked = Clinic.objects.select_for_update().get(pk=clinic.pk)
    for name, value in fields.items():
        setattr(locked, name, value)
    errors = rule_errors(fields)
    for name, maximum in CLINIC_POLICY_MAXIMUMS.items():
        if name in fields and isinstance(fields[name], int) and fields[name] > maximum:
            errors[name] = [f"Ensure this value is less than or equal to {maximum}."]
    if fields.get("booking_horizon_days") == 0:
        errors["booking_horizon_days"] = ["Clients must be able to book at least one day ahead."]
    _raise_if(errors)
    locked.full_clean()
    if fields:
        locked.save(update_fields=list(fields))
    for name in CLINIC_EDITABLE_FIELDS:
        setattr(clinic, name, getattr(locked, name))
    return clinic


# --- Locations ------------------------------------------------------------------
# A change that could strand bookings (deactivating a location or a room,
# a location's new time zone or need for rooms) locks the row it changes,
# then the therapists who work at that location, in id order, and only then
# looks for the bookings that need it. Every booking is made under its
# therapist's row lock by a therapist of that location (booking.services,
# which rechecks the location and its rooms under that lock), so a booking
# in flight is either committed before the check looks, or made after the
# change and sees it.
#
# Lock order: location or room → therapists (therapist_update, too, locks
# the locations it sets before the therapist). The location, room and
# service rows are locked FOR NO KEY UPDATE: a booking takes its therapist
# first and, at commit, a KEY SHARE lock on the rows it refers to (the
# foreign keys are checked then), which FOR UPDATE would refuse: each
# transaction would wait for the other.


def _lock_therapists_at(location_id: int) -> None:
    """Lock the rows of the therapists who work at a location, lowest id first."""
    roster = Therapist.locations.through.objects.filter(location_id=location_id).values("therapist_id")
    list(Therapist.objects.select_for_update().filter(pk__in=roster).order_by("pk").values_list("pk"))


LOCATION_EDITABLE_FIELDS = frozenset({"name", "address", "time_zone", "uses_rooms", "active"})


@transaction.atomic
def location_create(
    *, name: str, time_zone: str, address: str = "", uses_rooms: bool = False, active: bool = True
) -> Location:
    """Add a location with its own IANA time zone; its name must not be taken."""
    location = Location(name=name, address=address, time_zone=time_zone, uses_rooms=uses_rooms, active=active)
    _full_clean(location)
    _save_unique(location, taken=Location.objects.filter(name=name), field="name", message=LOCATION_NAME_TAKEN)
    return location


def location_change_check(*, location: Location, time_zone: str, active: bool, uses_rooms: bool) -> None:
    """Raise HasFutureBookings if these new values would strand active future bookings at `location`.

    A new time zone moves every local date and working hour of the bookings
    made in the old one; deactivating leaves them nowhere; requiring rooms
    where bookings have none would let a new session take a room under
    them. `location` holds the values before the change.
    """
    if not location.pk:
        return
    if time_zone != location.time_zone:
        _refuse_if(
            future_booking_ids(location.bookings),
            "Active future bookings at this location are set in its time zone. Move them to another location "
            "or cancel them, then change the time zone.",
        )
    if location.active and not active:
        _refuse_if(
            future_booking_ids(location.bookings),
            "This location has active future bookings. Move them to another location or cancel them, "
            "then deactivate it.",
        )
    if uses_rooms and not location.uses_rooms:
        _refuse_if(
            future_booking_ids(location.bookings, Q(room__isnull=True)),
            "Active future bookings at this location have no room. Move them or cancel them, "
            "then make the location use rooms.",
        )


@transaction.atomic
def location_update(*, location: Location, **fields: Any) -> Location:
    """Change a location's name, address, time zone, use of rooms or whether it is active.

    Refused with HasFutureBookings (listing them) when active future
    bookings there would be stranded: see `location_change_check`. Locks the
    location row first (see above).
    """
    unknown = set(fields) - LOCATION_EDITABLE_FIELDS
    if unknown:
        raise ValidationError({name: ["This field cannot be changed here."] for name in sorted(unknown)})
    locked = Location.objects.select_for_update(no_key=True).get(pk=location.pk)
    before = copy.copy(locked)
    for name, value in fields.items():
        setattr(locked, name, value)
    _full_clean(locked)
    if {"time_zone", "active", "uses_rooms"} & set(fields):
        _lock_therapists_at(locked.pk)
    location_change_check(
        location=before, time_zone=locked.time_zone, active=locked.active, uses_rooms=locked.uses_rooms
    )
    if fields:
        _save_unique(
            locked,
            taken=Location.objects.filter(name=locked.name).exclude(pk=locked.pk),
            field="name",
            message=LOCATION_NAME_TAKEN,
            update_fields=list(fields),
        )
    for name in LOCATION_EDITABLE_FIELDS:
        setattr(location, name, getattr(locked, name))
    return location


# --- Rooms ----------------------------------------------------------------------------


@transaction.atomic
def room_create(*, location: Location, name: str, active: bool = True) -> Room:
    """Add a room to a location; its name must not be taken there."""
    room = Room(location=location, name=name, active=active)
    _full_clean(room)
    _save_unique(room, taken=Room.objects.filter(location=location, name=name), field="name", message=ROOM_NAME_TAKEN)
    return room


def room_change_check(*, room: Room, active: bool) -> None:
    """Raise HasFutureBookings if deactivating `room` (as it is before the change) would strand bookings in it."""
    if room.pk and room.active and not active:
        _refuse_if(
            future_booking_ids(room.bookings),
            "This room has active future bookings. Move them to another room or cancel them, then deactivate it.",
        )


@transaction.atomic
def room_update(
    *, room: Room, name: str | None = None, active: bool | None = None, location: Location | None = None
) -> Room:
    """Rename a room or (de)activate it; None leaves a field as is. A room stays at its location.

    Deactivating a room with active future bookings is refused with
    HasFutureBookings listing them. Locks the room row first (see Locations).
    """
    if location is not None and location.pk != room.location_id:
        raise ValidationError({"location": [ROOM_STAYS]})
    locked = Room.objects.select_for_update(no_key=True).get(pk=room.pk)
    before = copy.copy(locked)
    changed = {field: value for field, value in (("name", name), ("active", active)) if value is not None}
    for field, value in changed.items():
        setattr(locked, field, value)
    _full_clean(locked)
    if active is False:
        _lock_therapists_at(locked.location_id)
    room_change_check(room=before, active=locked.active)
    if changed:
        _save_unique(
            locked,
            taken=Room.objects.filter(location_id=locked.location_id, name=locked.name).exclude(pk=locked.pk),
            field="name",
            message=ROOM_NAME_TAKEN,
            update_fields=list(changed),
        )
    for field in ("name", "active"):
        setattr(room, field, getattr(locked, field))
    return room


@transaction.atomic
def room_delete(*, room: Room) -> None:
    """Delete a room nothing was ever booked in (its closures go with it).

    A room with active future bookings is refused with HasFutureBookings
    listing them; one with any other booking (past or cancelled, kept on
    record) with RoomInUse: deactivate it instead. Locks the room row first.
    """
    locked = Room.objects.select_for_update(no_key=True).get(pk=room.pk)
    _lock_therapists_at(locked.location_id)
    _refuse_if(
        future_booking_ids(locked.bookings),
        "This room has active future bookings. Move them to another room or cancel them, then delete it.",
    )
    if locked.bookings.exists():
        raise RoomInUse()
    locked.delete()


# --- Services ----------------------------------------------------------------------
# A booking copies its service's times and price when it is made, so editing or
# deactivating a service changes what is offered next and nothing booked.

SERVICE_EDITABLE_FIELDS = frozenset({"name", "description", "duration_minutes", "buffer_minutes", "price", "active"})


@transaction.atomic
def service_create(
    *,
    name: str,
    duration_minutes: int,
    price: Decimal,
    description: str = "",
    buffer_minutes: int = 0,
    active: bool = True,
) -> Service:
    """Add a service: a session of 15 to 240 minutes and 0 to 60 minutes' buffer (multiples of 5), a price ≥ 0."""
    fields = {
        "name": name,
        "description": description,
        "duration_minutes": duration_minutes,
        "buffer_minutes": buffer_minutes,
        "price": price,
        "active": active,
    }
    service = Service(**fields)
    _full_clean(service, rule_errors(fields))
    service.save()
    return service


@transaction.atomic
def service_update(*, service: Service, **fields: Any) -> Service:
    """Change a service's name, description, lengths, price or whether it is offered.

    Existing bookings keep the times and price they were booked with. Locks
    the service row first so concurrent edits apply one after the other.
    """
    unknown = set(fields) - SERVICE_EDITABLE_FIELDS
    if unknown:
        raise ValidationError({name: ["This field cannot be changed here."] for name in sorted(unknown)})
    locked = Service.objects.select_for_update(no_key=True).get(pk=service.pk)
    for name, value in fields.items():
        setattr(locked, name, value)
    _full_clean(locked, rule_errors(fields))
    if fields:
        locked.save(update_fields=list(fields))
    for name in SERVICE_EDITABLE_FIELDS:
        setattr(service, name, getattr(locked, name))
    return service


def deleted_email(user: User) -> str:
    """The address a deleted account keeps: unique, and never deliverable (`.invalid`, RFC 2606)."""
    return f"deleted-{user.pk}@invalid"


@transaction.atomic
def account_anonymise(*, user: User) -> User:
    """Deactivate an account and strip what identifies its person from it.

    The row stays (bookings and the audit log point at it) with the email
    `deleted-<id>@invalid`, no name or phone, an unusable password and
    `is_active` off; its API tokens are deleted, and the login lockout's
    records of its email with them. What the other apps hold on the person
    is theirs to clear (records.account_data.account_delete does it all).
    """
    email = user.email
    user.email = deleted_email(user)
    user.first_name = user.last_name = user.phone = ""
    user.set_unusable_password()
    user.is_active = False
    user.save(update_fields=["email", "first_name", "last_name", "phone", "password", "is_active"])
    token_revoke_all(user=user)
    for record in (AccessAttempt, AccessFailureLog, AccessLog):
        record.objects.filter(username__iexact=email).delete()
    return user


# --- API tokens ------------------------------------------------------------------
# Tokens are knox's (stored as a hash). They are revoked by these services, and
# whenever an account's password or activity changes however it changes (the
# safety net in clinic/signals.py); clinic.authentication refuses the tokens of
# an account without access (clinic.permissions.user_has_access).


@transaction.atomic
def token_create(*, user: User) -> str:
    """A new API token for `user` (login, registration); returns the token to hand out, once.

    At most `MAX_TOKENS_PER_USER` live tokens per user: a login beyond the
    cap revokes the oldest, rather than refusing the login as knox's
    `TOKEN_LIMIT_PER_USER` would. Tokens cannot be listed, so a refused login
    would lock a person out of their own account until tokens expired (or
    let whoever holds the older tokens do it to them), while revoking the
    oldest keeps the newest devices working and bounds how many forgotten or
    stolen tokens stay alive. The user's expired tokens are deleted and not
    counted. Locks the user's row first, so concurrent logins cannot
    together exceed the cap.
    """
    list(User.objects.select_for_update().filter(pk=user.pk).values_list("pk"))
    AuthToken.objects.filter(user=user, expiry__lt=timezone.now()).delete()
    _, token = AuthToken.objects.create(user)
    keep = max(settings.MAX_TOKENS_PER_USER, 1)
    beyond_cap = list(
        AuthToken.objects.filter(user=user).order_by("-created", "-pk").values_list("pk", flat=True)[keep:]
    )
    if beyond_cap:
        AuthToken.objects.filter(pk__in=beyond_cap).delete()
    return token


def token_revoke(*, token: AuthToken) -> None:
    """Revoke one token (logout): it stops working at once."""
    AuthToken.objects.filter(pk=token.pk).delete()


def token_revoke_all(*, user: User) -> int:
    """Revoke every token of `user` (logout everywhere, a password change, deactivation); returns how many."""
    deleted, _ = AuthToken.objects.filter(user_id=user.pk).delete()
    return deleted


def tokens_purge_expired(*, now=None) -> int:
    """Delete every expired API token (a periodic job, clinic/tasks.py); returns how many."""
    deleted, _ = AuthToken.objects.filter(expiry__lt=now or timezone.now()).delete()
    return deleted
