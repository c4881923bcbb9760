"""Who may use the clinic at all, and the role checks for the API (docs/api.md, Conventions: roles)."""

from rest_framework.permissions import SAFE_METHODS, BasePermission

from clinic.models import Role, Therapist, User


def user_has_access(user: User) -> bool:
    """Whether an account may use the clinic at all: it is active, and a therapist's profile is active too.

    The one rule for "inactive": the token and session authentication
    (clinic.authentication), the login, `IsTherapist` and the calendar feed
    all ask it, so a deactivated account, or a therapist staff set inactive,
    loses the API, the day sheet, the intakes and the feed at once. (Their
    tokens are revoked as well: clinic.services.token_revoke_all.) The
    authentication loads a therapist's profile with the user, so asking
    costs no query there.
    """
    if not user.is_active:
        return False
    if user.role == Role.THERAPIST:
        # A therapist account without a profile yet (staff add it next) has nothing of a therapist's to open.
        therapist = getattr(user, "therapist", None)
        return therapist is None or therapist.active
    return True


def therapist_has_access(therapist: Therapist) -> bool:
    """`user_has_access` seen from the profile: the therapist and their account are both active."""
    return therapist.active and therapist.user.is_active


class IsClient(BasePermission):
    """A registered client (the role that books)."""

    message = "Only client accounts can do this."

    def has_permission(self, request, view):
        return bool(request.user and request.user.is_authenticated and request.user.role == Role.CLIENT)


class IsTherapist(BasePermission):
    """An active therapist with an active profile (see `user_has_access`)."""

    message = "Only active therapists can do this."

    def has_permission(self, request, view):
        user = request.user
        return bool(
            user
            and user.is_authenticated
            and user.role == Role.THERAPIST
            and hasattr(user, "therapist")
            and user_has_access(user)
        )


class IsFrontDesk(BasePermission):
    """Front-desk staff or an admin: they run the schedule."""

    message = "Only front-desk staff can do this."

    def has_permission(self, request, view):
        return bool(request.user and request.user.is_authenticated and request.user.role in (Role.STAFF, Role.ADMIN))


class IsAdmin(BasePermission):
    message = "Only administrators can do this."

    def has_permission(self, request, view):
        return bool(request.user and request.user.is_authenticated and request.user.role == Role.ADMIN)


class ReadAnyoneWriteFrontDesk(BasePermission):
    """Reads are public; writes need front-desk staff or an admin."""

    message = "Only front-desk staff can change this."

    def has_permission(self, request, view):
        if request.method in SAFE_METHODS:
            return True
        return IsFrontDesk().has_permission(request, view)
