"""Request parsing and response shapes of the clinic API (docs/api.md: Accounts, Clinic and therapists)."""

from django.conf import settings
from django.contrib.auth import authenticate
from rest_framework import serializers
from rest_framework.exceptions import Throttled

from clinic.models import Clinic, Modality, Role, Therapist, User
from clinic.permissions import user_has_access
from clinic.services import CLINIC_POLICY_MAXIMUMS, email_normalize

# --- Accounts -----------------------------------------------------------------


class RegisterSerializer(serializers.Serializer):
    email = serializers.EmailField(max_length=254)
    password = serializers.CharField(write_only=True, trim_whitespace=False, max_length=128)
    first_name = serializers.CharField(max_length=150)
    last_name = serializers.CharField(max_length=150)
    phone = serializers.CharField(max_length=32, required=False, default="", allow_blank=True)


class RegisteredSerializer(serializers.Serializer):
    """The new account and a token to use it at once."""

    id = serializers.IntegerField()
    email = serializers.EmailField()
    first_name = serializers.CharField()
    last_name = serializers.CharField()
    token = serializers.CharField(help_text="Send as `Authorization: Token <token>`.")


class LoginLocked(Throttled):
    """Too many failed logins for one email: 429 with `Retry-After` (django-axes' lockout)."""

    default_detail = "Too many failed logins for this email. Try again later, or ask the clinic to unlock it."

    def __init__(self):
        cool_off = settings.AXES_COOLOFF_TIME
        minutes = int(cool_off.total_seconds() // 60)
        super().__init__(
            wait=cool_off.total_seconds(),
            detail=f"Too many failed logins for this email. Try again in {minutes} minutes, "
            "or ask the clinic to unlock it.",
        )


class TokenRequestSerializer(serializers.Serializer):
    """Email and password; `validated_data["user"]` is the account they open."""

    # The same message for an unknown email, a wrong password and an inactive
    # account, so the answer never tells whether an address has an account.
    BAD_CREDENTIALS = "Unable to log in with the email and password given."

    email = serializers.CharField(max_length=254)
    password = serializers.CharField(write_only=True, trim_whitespace=False, max_length=128)

    def validate(self, attrs):
        """Authenticate with the request, so the lockout (django-axes) counts the attempt.

        A locked email — known or not, the lockout counts both alike — raises
        `LoginLocked` (429) without its password being tried.
        """
        request = self.context["request"]
        # `username`, as the admin's login form sends it: the lockout keys both by it.
        user = authenticate(request, username=email_normalize(attrs["email"]), password=attrs["password"])
        if user is None:
            if getattr(request, "axes_locked_out", False):
                raise LoginLocked()
            raise serializers.ValidationError(self.BAD_CREDENTIALS, code="authorization")
        if not user_has_access(user):
            # A therapist staff set inactive: the right password opens nothing (authenticate()
            # has refused a deactivated account already).
            raise serializers.ValidationError(self.BAD_CREDENTIALS, code="authorization")
        return {"user": user}


class TokenSerializer(serializers.Serializer):
    token = serializers.CharField(help_text="Send as `Authorization: Token <token>`.")


class MeSerializer(serializers.ModelSerializer):
    therapist_id = serializers.SerializerMethodField(help_text="The therapist profile's id; null unless a therapist.")

    class Meta:
        model = User
        fields = ["id", "email", "first_name", "last_name", "role", "therapist_id"]
        read_only_fields = fields

    def get_therapist_id(self, user: User) -> int | None:
        if user.role != Role.THERAPIST:
            return None
        therapist = getattr(user, "therapist", None)
        return therapist.pk if therapist is not None else None


# --- Clinic -------------------------------------------------------------------


class ClinicSerializer(serializers.ModelSerializer):
    class Meta:
        model = Clinic
        fields = [
            "name",
            "time_zone",
            "min_notice_hours",
            "booking_horizon_days",
            "cancellation_window_hours",
            "max_active_bookings_per_client",
        ]
        extra_kwargs = {
            "min_notice_hours": {"max_value": CLINIC_POLICY_MAXIMUMS["min_notice_hours"]},
            "booking_horizon_days": {"min_value": 1, "max_value": CLINIC_POLICY_MAXIMUMS["booking_horizon_days"]},
            "cancellation_window_hours": {"max_value": CLINIC_POLICY_MAXIMUMS["cancellation_window_hours"]},
            "max_active_bookings_per_client": {
                "min_value": 1,
                "max_value": CLINIC_POLICY_MAXIMUMS["max_active_bookings_per_client"],
                "help_text": "How many upcoming confirmed bookings one client may hold at once; one more is "
                "refused with 409 `too_many_bookings` (rescheduling one is not). Default 4.",
            },
        }


# --- Therapists ---------------------------------------------------------------


class ModalitiesField(serializers.ListField):
    """A non-empty list of distinct modalities."""

    child = serializers.ChoiceField(choices=Modality.choices)

    def __init__(self, **kwargs):
        kwargs.setdefault("allow_empty", False)
        kwargs.setdefault("help_text", "What the therapist is trained to give: a non-empty list without repeats.")
        super().__init__(**kwargs)

    def to_internal_value(self, data):
        values = super().to_internal_value(data)
        if len(set(values)) != len(values):
            raise serializers.ValidationError("Each modality may be listed only once.")
        return values


class TherapistSerializer(serializers.ModelSerializer):
    """A therapist as anyone sees them."""

    name = serializers.CharField(read_only=True)
    modalities = serializers.ListField(child=serializers.ChoiceField(choices=Modality.choices), read_only=True)

    class Meta:
        model = Therapist
        fields = ["id", "name", "bio", "modalities"]
        read_only_fields = fields


class TherapistStaffSerializer(TherapistSerializer):
    """A therapist as the front desk sees them: also whether bookable and their login email."""

    email = serializers.EmailField(source="user.email", read_only=True)

    class Meta(TherapistSerializer.Meta):
        fields = [*TherapistSerializer.Meta.fields, "active", "email"]
        read_only_fields = fields


# The schema of a therapist as the therapist views answer (they render with
# one of the two serializers above): documentation only.
class TherapistViewSerializer(TherapistSerializer):
    """A therapist; `active` and `email` are shown to front-desk staff only."""

    active = serializers.BooleanField(required=False, help_text="Front-desk staff only: whether clients can book.")
    email = serializers.EmailField(required=False, help_text="Front-desk staff only: the therapist's login email.")

    class Meta(TherapistSerializer.Meta):
        fields = [*TherapistSerializer.Meta.fields, "active", "email"]
        read_only_fields = TherapistSerializer.Meta.fields
        ref_name = "TherapistView"


class TherapistListQuerySerializer(serializers.Serializer):
    modality = serializers.ChoiceField(
        choices=Modality.choices, required=False, help_text="Only therapists trained for this modality."
    )
    include_inactive = serializers.BooleanField(
        required=False, default=False, help_text="Staff and admins only: also list inactive therapists."
    )


class TherapistCreateSerializer(serializers.Serializer):
    email = serializers.EmailField(max_length=254)
    first_name = serializers.CharField(max_length=150)
    last_name = serializers.CharField(max_length=150)
    bio = serializers.CharField(required=False, default="", allow_blank=True)
    modalities = ModalitiesField()


class TherapistUpdateSerializer(serializers.Serializer):
    bio = serializers.CharField(required=False, allow_blank=True)
    modalities = ModalitiesField(required=False)
    active = serializers.BooleanField(required=False, help_text="Inactive therapists are hidden from clients.")
