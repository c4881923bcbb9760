"""Writes of the clinic's settings and people: accounts, therapists, the clinic row.

Each function is one transaction. Validation problems are raised as Django
`ValidationError`s keyed by field, which the API's exception handler turns
into a 400 in DRF's field → messages shape.
"""

from collections.abc import Iterable
from typing import Any

from axes.models import AccessAttempt, AccessFailureLog, AccessLog
from django.conf import settings
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone
from knox.models import AuthToken

from clinic.models import Clinic, Modality, Role, Therapist, User

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
        "min_notice_hours",
        "booking_horizon_days",
        "cancellation_window_hours",
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


@transaction.atomic
def therapist_create(
    *, email: str, first_name: str, last_name: str, bio: str = "", modalities: Iterable[str]
) -> Therapist:
    """Front desk adds a therapist: their account (no usable password until one is set) and profile."""
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
    _raise_if(errors)

    user.set_unusable_password()
    _user_insert(user)
    therapist = Therapist(user=user, bio=bio)
    therapist.modalities = modalities
    therapist.save()
    return therapist


@transaction.atomic
def therapist_update(
    *,
    therapist: Therapist,
    bio: str | None = None,
    modalities: Iterable[str] | None = None,
    active: bool | None = None,
) -> Therapist:
    """Change a therapist's bio, trained modalities or whether they work here; None leaves a field as is.

    An inactive therapist is not bookable and loses all access at once
    (clinic.permissions.user_has_access): their API tokens are revoked
    here, so reactivating them later revives none. Locks the therapist row
    first so concurrent edits apply one after the other.
    """
    locked = Therapist.objects.select_for_update().get(pk=therapist.pk)
    changed: list[str] = []
    if bio is not None:
        locked.bio = bio
        changed.append("bio")
    if modalities is not None:
        locked.modalities = modalities_clean(modalities)
        changed += ["gives_therapeutic", "gives_deep_tissue"]
    if active is not None:
        locked.active = active
        changed.append("active")
    if changed:
        locked.save(update_fields=changed)
    if active is False:
        token_revoke_all(user=locked.user)
    # The caller's instance reflects the change too.
    for field in ("bio", "gives_therapeutic", "gives_deep_tissue", "active"):
        setattr(therapist, field, getattr(locked, field))
    return therapist


@transaction.atomic
def clinic_update(*, clinic: Clinic, **fields: Any) -> Clinic:
    """Change the clinic's name, time zone (IANA) or booking policies; validated with the model's own rules.

    Locks the clinic row first so concurrent edits apply one after the other.
    """
    unknown = set(fields) - CLINIC_EDITABLE_FIELDS
    if unknown:
        raise ValidationError({name: ["This setting cannot be changed here."] for name in sorted(unknown)})
    locked = Clinic.objects.select_for_update().get(pk=clinic.pk)
    for name, value in fields.items():
        setattr(locked, name, value)
    errors: dict[str, list[str]] = {}
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
    is theirs to clear (booking.account_data.account_delete does it all).
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
