"""The safety net under token revocation: a password change or a deactivation, however made, revokes tokens.

STYLE.md keeps business logic out of `save()` and signals, and the
project's own writes revoke tokens explicitly (clinic.services:
`account_anonymise`, `therapist_update`, `token_revoke_all`). But passwords
and activity also change where no service of ours runs: Django's admin
(the password form, the user and therapist forms), `manage.py
changepassword`, a shell's `set_password(); save()`. Missing one of them
leaves a stolen token working after the very password change meant to kill
it, so this is the one exception, kept to a comparison on save:

- saving a user whose stored password hash differs from the new one (not a
  hash upgrade at login, see `_is_hash_upgrade`), or who goes from active
  to inactive, revokes all their tokens;
- saving a therapist profile that goes from active to inactive revokes its
  user's tokens;
- deleting a user deletes their tokens through knox's foreign key
  (`on_delete=CASCADE`), in the same transaction.

Why signals and not: a database trigger (like the audit log's) would also
catch a bulk `QuerySet.update()`, but needs a migration of knox's table and
ours; `User.save()` overridden would be the same hook hidden in the model;
Django's `password_changed` validator hook misses deactivation and unusable
passwords. Bulk updates bypass signals: the project never changes a
password or `is_active` that way, and the authentication refuses an
inactive account's tokens whatever happens (clinic.permissions.user_has_access).
The revocation runs after the row is written (post_save), so locks are
taken user → tokens, as `token_create` takes them.
"""

from django.contrib.auth.hashers import get_hasher, identify_hasher, is_password_usable
from django.db.models.signals import post_save, pre_save
from django.dispatch import receiver

from clinic.models import Therapist, User
from clinic.services import token_revoke_all

_USER_FIELDS = frozenset({"password", "is_active"})
_PENDING = "_revoke_tokens_after_save"


def _is_hash_upgrade(user: User, stored_hash: str) -> bool:
    """Whether the new hash is Django re-hashing the same password at login (a stronger hasher or cost).

    `AbstractBaseUser.check_password` then calls `set_password` and clears
    `_password` before saving ("Password hash upgrades shouldn't be
    considered password changes"); a real change through `set_password`
    keeps it set until after the save. Only a stored hash that Django would
    upgrade counts, so a new hash written directly is still a change.
    """
    if getattr(user, "_password", None) is not None:
        return False
    if not (is_password_usable(stored_hash) and is_password_usable(user.password)):
        return False
    try:
        stored_hasher = identify_hasher(stored_hash)
        new_hasher = identify_hasher(user.password)
    except ValueError:
        return False
    preferred = get_hasher("default")
    outdated = stored_hasher.algorithm != preferred.algorithm or preferred.must_update(stored_hash)
    return outdated and new_hasher.algorithm == preferred.algorithm


@receiver(pre_save, sender=User, dispatch_uid="clinic.signals.user_credentials_changing")
def _user_credentials_changing(sender, instance: User, raw: bool, using: str, update_fields, **kwargs) -> None:
    setattr(instance, _PENDING, False)
    fields = _USER_FIELDS if update_fields is None else _USER_FIELDS & set(update_fields)
    if raw or instance.pk is None or not fields:
        return
    stored = sender._base_manager.using(using).filter(pk=instance.pk).values("password", "is_active").first()
    if stored is None:
        return
    password_changed = (
        "password" in fields
        and stored["password"] != instance.password
        and not _is_hash_upgrade(instance, stored["password"])
    )
    deactivated = "is_active" in fields and stored["is_active"] and not instance.is_active
    setattr(instance, _PENDING, password_changed or deactivated)


@receiver(post_save, sender=User, dispatch_uid="clinic.signals.user_credentials_changed")
def _user_credentials_changed(sender, instance: User, raw: bool, **kwargs) -> None:
    if not raw and getattr(instance, _PENDING, False):
        setattr(instance, _PENDING, False)
        token_revoke_all(user=instance)


@receiver(pre_save, sender=Therapist, dispatch_uid="clinic.signals.therapist_deactivating")
def _therapist_deactivating(sender, instance: Therapist, raw: bool, using: str, update_fields, **kwargs) -> None:
    setattr(instance, _PENDING, False)
    if raw or instance.pk is None or instance.active or (update_fields is not None and "active" not in update_fields):
        return
    was_active = sender._base_manager.using(using).filter(pk=instance.pk, active=True).exists()
    setattr(instance, _PENDING, was_active)


@receiver(post_save, sender=Therapist, dispatch_uid="clinic.signals.therapist_deactivated")
def _therapist_deactivated(sender, instance: Therapist, raw: bool, **kwargs) -> None:
    if not raw and getattr(instance, _PENDING, False):
        setattr(instance, _PENDING, False)
        token_revoke_all(user=instance.user)
