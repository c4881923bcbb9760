"""Role checks for the API (docs/api.md, Conventions: roles)."""

from rest_framework.permissions import SAFE_METHODS, BasePermission

from clinic.models import Role


class IsClient(BasePermission):
    """A registered client (the role that books)."""

    message = "Only client accounts can do this."

    def has_permission(self, request, view):
        return bool(request.user and request.user.is_authenticated and request.user.role == Role.CLIENT)


class IsTherapist(BasePermission):
    message = "Only therapists can do this."

    def has_permission(self, request, view):
        user = request.user
        return bool(user and user.is_authenticated and user.role == Role.THERAPIST and hasattr(user, "therapist"))


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
