"""The clinic itself: its policies, its people and their roles."""

import secrets
import zoneinfo

from django.contrib.auth.models import AbstractUser, BaseUserManager
from django.core.exceptions import ValidationError
from django.core.validators import MinValueValidator
from django.db import models
from django.db.models import Q


class Modality(models.TextChoices):
    """The two kinds of massage the clinic gives."""

    THERAPEUTIC = "therapeutic", "Therapeutic massage"
    DEEP_TISSUE = "deep_tissue", "Deep tissue massage"


class Role(models.TextChoices):
    CLIENT = "client", "Client"
    THERAPIST = "therapist", "Therapist"
    STAFF = "staff", "Front-desk staff"
    ADMIN = "admin", "Administrator"


class UserManager(BaseUserManager):
    """Users log in with their email address; there is no username."""

    use_in_migrations = True

    def _create_user(self, email, password, **extra_fields):
        if not email:
            raise ValueError("An email address is required.")
        email = self.normalize_email(email).lower()
        user = self.model(email=email, **extra_fields)
        user.set_password(password)
        user.save(using=self._db)
        return user

    def create_user(self, email, password=None, **extra_fields):
        extra_fields.setdefault("role", Role.CLIENT)
        extra_fields.setdefault("is_staff", False)
        extra_fields.setdefault("is_superuser", False)
        return self._create_user(email, password, **extra_fields)

    def create_superuser(self, email, password=None, **extra_fields):
        extra_fields["role"] = Role.ADMIN
        extra_fields["is_staff"] = True
        extra_fields["is_superuser"] = True
        return self._create_user(email, password, **extra_fields)


class User(AbstractUser):
    """An account: a client, a therapist, front-desk staff or an admin.

    `role` is the one source of truth for what the API lets a user do;
    `is_staff` / `is_superuser` follow it (staff and admins use the Django
    admin, only admins are superusers) and the constraint below keeps them
    in step.
    """

    username = None
    email = models.EmailField("email address", unique=True)
    phone = models.CharField(max_length=32, blank=True)
    role = models.CharField(max_length=16, choices=Role.choices, default=Role.CLIENT)

    USERNAME_FIELD = "email"
    REQUIRED_FIELDS = []

    objects = UserManager()

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=Q(is_superuser=False) | Q(role=Role.ADMIN),
                name="user_superuser_is_admin",
            ),
        ]

    def __str__(self):
        return self.get_full_name() or self.email

    @property
    def display_name(self) -> str:
        return self.get_full_name() or self.email

    @property
    def is_client(self) -> bool:
        return self.role == Role.CLIENT

    @property
    def is_therapist(self) -> bool:
        return self.role == Role.THERAPIST

    @property
    def is_front_desk(self) -> bool:
        """Staff or admin: may run the schedule."""
        return self.role in (Role.STAFF, Role.ADMIN)

    @property
    def is_admin(self) -> bool:
        return self.role == Role.ADMIN


def _validate_time_zone(value: str) -> None:
    if value not in zoneinfo.available_timezones():
        raise ValidationError(f"{value!r} is not an IANA time zone such as 'Europe/Paris'.")


def _validate_currency(value: str) -> None:
    if len(value) != 3 or not value.isalpha() or not value.isupper():
        raise ValidationError(f"{value!r} is not an ISO 4217 currency code such as 'USD' or 'EUR'.")


class Clinic(models.Model):
    """The clinic's settings: a single row (id 1), created on first use."""

    name = models.CharField(max_length=200)
    time_zone = models.CharField(
        max_length=64, validators=[_validate_time_zone], help_text="IANA time zone, e.g. America/New_York"
    )
    min_notice_hours = models.PositiveIntegerField(
        default=2, help_text="How long before its start a time stops being bookable online."
    )
    booking_horizon_days = models.PositiveIntegerField(default=60, help_text="How far ahead clients may book.")
    cancellation_window_hours = models.PositiveIntegerField(
        default=24, help_text="Clients may not cancel later than this before the start; staff always may."
    )
    max_active_bookings_per_client = models.PositiveIntegerField(
        default=4,
        validators=[MinValueValidator(1)],
        help_text="How many upcoming confirmed bookings one client may hold at once; "
        "one more is refused (rescheduling one is not).",
    )
    currency = models.CharField(
        max_length=3, default="USD", validators=[_validate_currency], help_text="ISO 4217 code of every price."
    )
    booking_step_minutes = models.PositiveSmallIntegerField(
        default=15, help_text="Offered start times are a shift's start plus multiples of this (5 to 60, by 5)."
    )
    waitlist_hold_minutes = models.PositiveSmallIntegerField(
        default=30, help_text="How long freed time is held for the waitlist client it is offered to."
    )

    class Meta:
        constraints = [
            models.CheckConstraint(condition=Q(id=1), name="clinic_single_row"),
            models.CheckConstraint(condition=Q(booking_horizon_days__gte=1), name="clinic_horizon_positive"),
            models.CheckConstraint(
                condition=Q(max_active_bookings_per_client__gte=1), name="clinic_booking_cap_positive"
            ),
            models.CheckConstraint(
                condition=Q(booking_step_minutes__gte=5, booking_step_minutes__lte=60)
                & Q(booking_step_minutes__in=range(5, 61, 5)),
                name="clinic_booking_step_valid",
            ),
            models.CheckConstraint(
                condition=Q(waitlist_hold_minutes__gte=5, waitlist_hold_minutes__lte=24 * 60),
                name="clinic_waitlist_hold_valid",
            ),
        ]

    def __str__(self):
        return self.name

    @property
    def tz(self) -> zoneinfo.ZoneInfo:
        return zoneinfo.ZoneInfo(self.time_zone)


class Location(models.Model):
    """A place the clinic works: its own address and time zone, with treatment rooms or without.

    A location that `uses_rooms` needs a free active room for every session;
    one without books therapists only (home visits, a single-room practice).
    """

    name = models.CharField(max_length=200)
    address = models.TextField(blank=True)
    time_zone = models.CharField(
        max_length=64, validators=[_validate_time_zone], help_text="IANA time zone, e.g. America/New_York"
    )
    uses_rooms = models.BooleanField(default=False, help_text="Every session needs a free room of this location.")
    active = models.BooleanField(default=True)

    class Meta:
        ordering = ["id"]
        constraints = [models.UniqueConstraint(fields=["name"], name="location_name_unique")]

    def __str__(self):
        return self.name

    @property
    def tz(self) -> zoneinfo.ZoneInfo:
        return zoneinfo.ZoneInfo(self.time_zone)


class Room(models.Model):
    """A treatment room of a location: two sessions never share one at the same time."""

    location = models.ForeignKey(Location, on_delete=models.PROTECT, related_name="rooms")
    name = models.CharField(max_length=100)
    active = models.BooleanField(default=True)

    class Meta:
        ordering = ["location_id", "id"]
        constraints = [models.UniqueConstraint(fields=["location", "name"], name="room_name_unique_per_location")]

    def __str__(self):
        return f"{self.location} · {self.name}"


class Service(models.Model):
    """What a client buys: a session of `duration_minutes`, then `buffer_minutes` of turnover, at a price.

    The buffer (notes, linen, rest) follows every session: neither the
    therapist nor the room can start another one in it. The modality is not
    a service: the intake decides it.
    """

    name = models.CharField(max_length=200)
    description = models.TextField(blank=True)
    duration_minutes = models.PositiveSmallIntegerField()
    buffer_minutes = models.PositiveSmallIntegerField(default=0)
    price = models.DecimalField(max_digits=9, decimal_places=2)
    active = models.BooleanField(default=True)

    class Meta:
        ordering = ["duration_minutes", "id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(duration_minutes__gte=15, duration_minutes__lte=240)
                & Q(duration_minutes__in=range(15, 241, 5)),
                name="service_duration_valid",
            ),
            models.CheckConstraint(
                condition=Q(buffer_minutes__lte=60) & Q(buffer_minutes__in=range(0, 61, 5)),
                name="service_buffer_valid",
            ),
            models.CheckConstraint(condition=Q(price__gte=0), name="service_price_not_negative"),
        ]

    def __str__(self):
        return self.name


def new_feed_token() -> str:
    return secrets.token_urlsafe(32)


class Therapist(models.Model):
    """A therapist's profile: who they are to clients and what they are trained in.

    The two trained modalities are booleans so that "trained for deep tissue"
    is an indexable column on every database; the API shows them as the list
    `modalities`. A check constraint keeps the list non-empty.
    """

    user = models.OneToOneField(User, on_delete=models.PROTECT, related_name="therapist")
    bio = models.TextField(blank=True)
    gives_therapeutic = models.BooleanField(default=True)
    gives_deep_tissue = models.BooleanField(default=False)
    active = models.BooleanField(default=True)
    locations = models.ManyToManyField(Location, blank=True, related_name="therapists")
    feed_token = models.CharField(max_length=64, unique=True, default=new_feed_token, editable=False)

    class Meta:
        ordering = ["id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(gives_therapeutic=True) | Q(gives_deep_tissue=True),
                name="therapist_has_a_modality",
            ),
        ]

    def __str__(self):
        return self.user.display_name

    @property
    def name(self) -> str:
        return self.user.display_name

    @property
    def modalities(self) -> list[str]:
        return [
            m
            for m, given in (
                (Modality.THERAPEUTIC, self.gives_therapeutic),
                (Modality.DEEP_TISSUE, self.gives_deep_tissue),
            )
            if given
        ]

    @modalities.setter
    def modalities(self, values) -> None:
        self.gives_therapeutic = Modality.THERAPEUTIC in values
        self.gives_deep_tissue = Modality.DEEP_TISSUE in values

    def is_trained_for(self, modality: str) -> bool:
        return modality in self.modalities

    @staticmethod
    def trained_for_q(modality: str, *, prefix: str = "") -> Q:
        """A filter on therapists trained for `modality`; `prefix` reaches them through a relation ("therapist__")."""
        field = {Modality.THERAPEUTIC: "gives_therapeutic", Modality.DEEP_TISSUE: "gives_deep_tissue"}[modality]
        return Q(**{f"{prefix}{field}": True})


class SentMail(models.Model):
    """One mail the worker has handed to the mail server: the ledger that makes a mail job safe to retry.

    `key` names the event (the job that sends it); a retried or re-run job finds
    its key here and sends nothing. Only the key and the time are kept: no
    address, no subject, nothing of the person.
    """

    key = models.CharField(max_length=200, unique=True)
    sent_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = "sent mail"

    def __str__(self) -> str:
        return self.key
