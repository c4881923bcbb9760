"""Request parsing and response shapes of the clinic API (docs/api.md: Accounts; the clinic: locations,
rooms, services, therapists)."""

from decimal import Decimal

from django.conf import settings
from django.contrib.auth import authenticate
from rest_framework import serializers
from rest_framework.exceptions import Throttled

from clinic.models import Clinic, Location, Modality, Role, Room, Service, Therapist, User
from clinic.permissions import user_has_access
from clinic.services import (
    BOOKING_STEP,
    CLINIC_POLICY_MAXIMUMS,
    CURRENCY_MESSAGE,
    PRICE_MESSAGE,
    SERVICE_BUFFER,
    SERVICE_DURATION,
    WAITLIST_HOLD,
    MinutesRange,
    email_normalize,
)

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

    class Meta:
        ref_name = "Credentials"  # the schema's name ("TokenRequestRequest" otherwise)

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


def minutes_kwargs(rule: MinutesRange) -> dict:
    """An IntegerField's bounds for a MinutesRange, refused with the rule's own sentence.

    Steps other than 1 are checked by the service, with the same sentence.
    """
    return {
        "min_value": rule.low,
        "max_value": rule.high,
        "error_messages": {"min_value": rule.message, "max_value": rule.message},
        "help_text": rule.message.removeprefix("Give "),
    }


class ClinicSerializer(serializers.ModelSerializer):
    currency = serializers.RegexField(
        r"^[A-Z]{3}$",
        max_length=3,
        error_messages={"invalid": CURRENCY_MESSAGE, "max_length": CURRENCY_MESSAGE},
        help_text="ISO 4217 code of every price, e.g. USD. A booking keeps the currency it was made in.",
    )

    class Meta:
        model = Clinic
        fields = [
            "name",
            "currency",
            "min_notice_hours",
            "booking_horizon_days",
            "cancellation_window_hours",
            "booking_step_minutes",
            "waitlist_hold_minutes",
            "max_active_bookings_per_client",
        ]
        extra_kwargs = {
            "min_notice_hours": {"max_value": CLINIC_POLICY_MAXIMUMS["min_notice_hours"]},
            "booking_horizon_days": {"min_value": 1, "max_value": CLINIC_POLICY_MAXIMUMS["booking_horizon_days"]},
            "cancellation_window_hours": {"max_value": CLINIC_POLICY_MAXIMUMS["cancellation_window_hours"]},
            "booking_step_minutes": minutes_kwargs(BOOKING_STEP),
            "waitlist_hold_minutes": minutes_kwargs(WAITLIST_HOLD),
            "max_active_bookings_per_client": {
                "min_value": 1,
                "max_value": CLINIC_POLICY_MAXIMUMS["max_active_bookings_per_client"],
                "help_text": "How many upcoming confirmed bookings one client may hold at once; one more is "
                "refused with 409 `too_many_bookings` (rescheduling one is not). Default 4.",
            },
        }


# --- Locations and rooms ------------------------------------------------------------


class LocationSerializer(serializers.ModelSerializer):
    """A location as anyone sees it, and the body that adds or changes one (staff)."""

    class Meta:
        model = Location
        fields = ["id", "name", "address", "time_zone", "uses_rooms", "active"]
        read_only_fields = ["id"]
        extra_kwargs = {
            # Uniqueness is the service's to check (race-safely, with its own sentence).
            "name": {"validators": []},
            "address": {"max_length": 1000},
            "time_zone": {"help_text": "IANA time zone, e.g. America/New_York: local dates and hours here are in it."},
            "active": {"help_text": "Inactive locations offer nothing and are listed to staff only."},
        }


class ActiveFilterQuerySerializer(serializers.Serializer):
    include_inactive = serializers.BooleanField(
        required=False, default=False, help_text="Staff and admins only: also list inactive ones."
    )


class RoomSerializer(serializers.ModelSerializer):
    """A treatment room (staff only)."""

    class Meta:
        model = Room
        fields = ["id", "location", "name", "active"]
        read_only_fields = ["id"]
        validators = []  # a name taken at the location is the service's to report, on `name`
        extra_kwargs = {
            "location": {"help_text": "The location's id; a room stays at the location it was added to."},
            "active": {"help_text": "Inactive rooms are never booked."},
        }


class RoomListQuerySerializer(serializers.Serializer):
    location = serializers.PrimaryKeyRelatedField(
        queryset=Location.objects.all(), required=False, help_text="Only this location's rooms."
    )


# --- Services -----------------------------------------------------------------------


class ServiceSerializer(serializers.ModelSerializer):
    """A service as anyone sees it; `currency` is the clinic's."""

    currency = serializers.SerializerMethodField(help_text="ISO 4217 code of the price: the clinic's currency.")

    class Meta:
        model = Service
        fields = ["id", "name", "description", "duration_minutes", "buffer_minutes", "price", "currency"]
        read_only_fields = fields
        extra_kwargs = {
            "duration_minutes": {"help_text": "The session's length."},
            "buffer_minutes": {"help_text": "Turnover after each session, when neither therapist nor room is free."},
            "price": {"help_text": 'A decimal string, e.g. "90.00".'},
        }

    def get_currency(self, service: Service) -> str:
        return self.context["currency"]


class ServiceStaffSerializer(ServiceSerializer):
    """A service as the front desk sees it: also whether it is offered."""

    class Meta(ServiceSerializer.Meta):
        fields = [*ServiceSerializer.Meta.fields, "active"]
        read_only_fields = fields


# The schema of a service as the service views answer (they render with one of
# the two serializers above): documentation only.
class ServiceViewSerializer(ServiceSerializer):
    """A service; `active` is shown to front-desk staff only."""

    active = serializers.BooleanField(required=False, help_text="Front-desk staff only: whether it is offered.")

    class Meta(ServiceSerializer.Meta):
        fields = [*ServiceSerializer.Meta.fields, "active"]
        read_only_fields = ServiceSerializer.Meta.fields
        ref_name = "ServiceView"


class ServiceWriteSerializer(serializers.ModelSerializer):
    """The body that adds or changes a service (staff)."""

    price = serializers.DecimalField(
        max_digits=9,
        decimal_places=2,
        min_value=Decimal("0"),
        error_messages={"min_value": PRICE_MESSAGE, "max_decimal_places": PRICE_MESSAGE},
        help_text='A decimal string of at least 0 with at most 2 decimal places, e.g. "90.00". '
        "Bookings already made keep the price they were made at.",
    )

    class Meta:
        model = Service
        fields = ["name", "description", "duration_minutes", "buffer_minutes", "price", "active"]
        extra_kwargs = {
            "description": {"max_length": 5000},
            "duration_minutes": minutes_kwargs(SERVICE_DURATION),
            "buffer_minutes": minutes_kwargs(SERVICE_BUFFER),
            "active": {"help_text": "Inactive services are not offered; bookings already made keep theirs."},
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
    """A therapist as anyone sees them: `locations` are the active locations they work at."""

    name = serializers.CharField(read_only=True)
    modalities = serializers.ListField(child=serializers.ChoiceField(choices=Modality.choices), read_only=True)
    locations = serializers.SerializerMethodField(help_text="Ids of the locations the therapist works at.")

    class Meta:
        model = Therapist
        fields = ["id", "name", "bio", "modalities", "locations"]
        read_only_fields = fields

    def get_locations(self, therapist: Therapist) -> list[int]:
        # From the prefetched list (clinic.selectors.therapist_list): no query per therapist.
        return sorted(location.pk for location in therapist.locations.all() if location.active)


class TherapistStaffSerializer(TherapistSerializer):
    """A therapist as the front desk sees them: also whether bookable, their login email, inactive locations."""

    email = serializers.EmailField(source="user.email", read_only=True)

    class Meta(TherapistSerializer.Meta):
        fields = [*TherapistSerializer.Meta.fields, "active", "email"]
        read_only_fields = fields

    def get_locations(self, therapist: Therapist) -> list[int]:
        return sorted(location.pk for location in therapist.locations.all())


# The schema of a therapist as the therapist views answer (they render with
# one of the two serializers above): documentation only.
class TherapistViewSerializer(TherapistSerializer):
    """A therapist; `active` and `email` are shown to front-desk staff only (and inactive locations with them)."""

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
    location = serializers.PrimaryKeyRelatedField(
        queryset=Location.objects.all(), required=False, help_text="Only therapists who work at this location."
    )
    include_inactive = serializers.BooleanField(
        required=False, default=False, help_text="Staff and admins only: also list inactive therapists."
    )


def _locations_field(**kwargs) -> serializers.PrimaryKeyRelatedField:
    return serializers.PrimaryKeyRelatedField(
        many=True,
        queryset=Location.objects.all(),
        help_text="Ids of the locations the therapist works at, each once. Removing one that their active "
        "future bookings are at is refused (409 `has_future_bookings`).",
        **kwargs,
    )


class TherapistCreateSerializer(serializers.Serializer):
    email = serializers.EmailField(max_length=254)
    first_name = serializers.CharField(max_length=150)
    last_name = serializers.CharField(max_length=150)
    bio = serializers.CharField(required=False, default="", allow_blank=True)
    modalities = ModalitiesField()
    locations = _locations_field(required=False, default=list)


class TherapistUpdateSerializer(serializers.Serializer):
    bio = serializers.CharField(required=False, allow_blank=True)
    modalities = ModalitiesField(
        required=False,
        help_text="What the therapist is trained to give: a non-empty list without repeats. Removing a modality "
        "that their active future bookings' intakes ask for is refused (409 `has_future_bookings`).",
    )
    active = serializers.BooleanField(
        required=False,
        help_text="Inactive therapists are hidden from clients and lose their access. Deactivating one with "
        "active future bookings is refused (409 `has_future_bookings`).",
    )
    locations = _locations_field(required=False)
