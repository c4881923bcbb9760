"""Admin permissions that follow the role, so the front desk can use the admin
without anyone granting them model permissions by hand.

Staff may run the schedule and bookings, keep locations, rooms, services and
therapists up to date (locations and services are deactivated, never
deleted: bookings refer to them) and see accounts. They get nothing of the
intake app: what they may know of an intake (modality, needs review) the
booking admin shows, and the intake admin is for superusers only whatever
anyone is granted (`clinic.admin.HEALTH_FIELDS`). Admins are superusers and
have everything.
"""

from django.contrib.auth.backends import BaseBackend

from clinic.models import Role

FRONT_DESK_PERMISSIONS = frozenset(
    [f"clinic.{action}_clinic" for action in ("view", "change")]
    + [
        f"clinic.{action}_{model}"
        for model in ("therapist", "location", "service")
        for action in ("view", "add", "change")
    ]
    + [f"clinic.{action}_room" for action in ("view", "add", "change", "delete")]
    + ["clinic.view_user"]
    + [
        f"booking.{action}_{model}"
        for model in ("workinghours", "shift", "timeoff", "closure")
        for action in ("view", "add", "change", "delete")
    ]
    # Change: the bookings list's cancel action (a booking's own page only shows it).
    + ["booking.view_booking", "booking.change_booking"]
    # Change: the waitlist's withdraw action (an entry's own page only shows it; entries hold no health data).
    + ["booking.view_waitlistentry", "booking.change_waitlistentry"]
)


class RolePermissionBackend(BaseBackend):
    """Grants `FRONT_DESK_PERMISSIONS` to active front-desk staff; nothing to anyone else."""

    def get_all_permissions(self, user_obj, obj=None):
        if obj is None and user_obj.is_active and getattr(user_obj, "role", None) == Role.STAFF:
            return FRONT_DESK_PERMISSIONS
        return frozenset()

    def has_module_perms(self, user_obj, app_label):
        return any(perm.startswith(f"{app_label}.") for perm in self.get_all_permissions(user_obj))
