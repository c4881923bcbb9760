"""The schedule and the bookings on it.

Invariants (docs/design.md) live in the database so any number of app processes
stay correct:

1. one confirmed booking per slot: `booking_one_confirmed_per_slot`;
2. a therapist's slots never overlap: the PostgreSQL exclusion constraint
   `slot_no_overlap_per_therapist` (added in migration 0002; services
   check first, under a lock, for a friendlier error);
3. slots, time off and working hours end after they start: check constraints.
"""

from django.conf import settings
from django.db import models
from django.db.models import F, Q

from clinic.models import Therapist
from intake.models import Intake


class Weekday(models.IntegerChoices):
    MONDAY = 0
    TUESDAY = 1
    WEDNESDAY = 2
    THURSDAY = 3
    FRIDAY = 4
    SATURDAY = 5
    SUNDAY = 6


class WorkingHours(models.Model):
    """A weekly template row: a therapist works `weekday` from start to end, local time.

    Slot generation cuts the span into `slot_minutes` slots separated by
    `buffer_minutes` of rest.
    """

    therapist = models.ForeignKey(Therapist, on_delete=models.CASCADE, related_name="working_hours")
    weekday = models.PositiveSmallIntegerField(choices=Weekday.choices)
    start_time = models.TimeField()
    end_time = models.TimeField()
    slot_minutes = models.PositiveSmallIntegerField(default=60)
    buffer_minutes = models.PositiveSmallIntegerField(default=0)

    class Meta:
        verbose_name_plural = "working hours"
        ordering = ["therapist_id", "weekday", "start_time"]
        constraints = [
            models.CheckConstraint(condition=Q(end_time__gt=F("start_time")), name="working_hours_end_after_start"),
            models.CheckConstraint(condition=Q(weekday__gte=0, weekday__lte=6), name="working_hours_weekday_valid"),
            models.CheckConstraint(
                condition=Q(slot_minutes__gte=5, slot_minutes__lte=480), name="working_hours_slot_length_valid"
            ),
            models.CheckConstraint(condition=Q(buffer_minutes__lte=240), name="working_hours_buffer_valid"),
        ]

    def __str__(self):
        return f"{self.therapist} {self.get_weekday_display()} {self.start_time:%H:%M}-{self.end_time:%H:%M}"


class Slot(models.Model):
    """A bookable span of one therapist's time, in UTC.

    `status` says whether the front desk opened it; whether it is booked
    is whether a confirmed booking points at it.
    """

    class Status(models.TextChoices):
        OPEN = "open", "Open"
        BLOCKED = "blocked", "Blocked"

    # No index of its own: slot_therapist_start_idx and the exclusion constraint both start with it.
    therapist = models.ForeignKey(Therapist, on_delete=models.PROTECT, related_name="slots", db_index=False)
    starts_at = models.DateTimeField()
    ends_at = models.DateTimeField()
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.OPEN)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["starts_at", "therapist_id"]
        constraints = [
            models.CheckConstraint(condition=Q(ends_at__gt=F("starts_at")), name="slot_ends_after_start"),
        ]
        indexes = [
            # A therapist's schedule in time order (slot lists, generation's
            # overlap check, the day sheet).
            models.Index(fields=["therapist", "starts_at"], name="slot_therapist_start_idx"),
            # Availability scans open slots by start time across therapists.
            models.Index(fields=["starts_at"], condition=Q(status="open"), name="slot_open_start_idx"),
        ]

    def __str__(self):
        return f"{self.therapist} {self.starts_at:%Y-%m-%d %H:%M} UTC"


class TimeOff(models.Model):
    """A span in which a therapist does not work; it blocks the open slots it overlaps."""

    therapist = models.ForeignKey(Therapist, on_delete=models.CASCADE, related_name="time_off")
    starts_at = models.DateTimeField()
    ends_at = models.DateTimeField()
    reason = models.CharField(max_length=200, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name_plural = "time off"
        ordering = ["starts_at"]
        constraints = [
            models.CheckConstraint(condition=Q(ends_at__gt=F("starts_at")), name="time_off_ends_after_start"),
        ]
        indexes = [models.Index(fields=["therapist", "starts_at"], name="time_off_therapist_start_idx")]

    def __str__(self):
        return f"{self.therapist} off {self.starts_at:%Y-%m-%d %H:%M}-{self.ends_at:%Y-%m-%d %H:%M} UTC"


class Booking(models.Model):
    """A client's appointment on a slot, with the intake that tags its modality.

    History is kept: a cancelled booking stays with who cancelled it and why;
    a rescheduled one moves to its new slot and bumps `sequence` (the
    calendar feed's SEQUENCE).

    `warnings` are codes any role may see (docs/api.md), kept up to date by
    `booking.services` whenever the answers, the review or the therapist
    change. The booking needs review when its intake's assessment says so
    or when it carries any warning.
    """

    class Status(models.TextChoices):
        CONFIRMED = "confirmed", "Confirmed"
        CANCELLED = "cancelled", "Cancelled"
        COMPLETED = "completed", "Completed"
        NO_SHOW = "no_show", "No-show"

    class WarningCode(models.TextChoices):
        # The same code as the refusal `booking.errors.TherapistNotQualified`.
        THERAPIST_NOT_QUALIFIED = (
            "therapist_not_qualified",
            "The intake asks for a modality the therapist is not trained in",
        )

    slot = models.ForeignKey(Slot, on_delete=models.PROTECT, related_name="bookings")
    client = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="bookings")
    intake = models.OneToOneField(Intake, on_delete=models.PROTECT, related_name="booking")
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.CONFIRMED)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    cancelled_at = models.DateTimeField(null=True, blank=True)
    cancelled_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    cancel_reason = models.CharField(max_length=500, blank=True)
    closed_at = models.DateTimeField(null=True, blank=True, help_text="When it was marked completed or no-show.")
    sequence = models.PositiveIntegerField(default=0, help_text="Bumped on each reschedule (iCalendar SEQUENCE).")
    reminder_sent_at = models.DateTimeField(null=True, blank=True)
    warnings = models.JSONField(
        default=list, blank=True, help_text="Codes of Booking.WarningCode that hold now, e.g. therapist_not_qualified."
    )

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            # The last line against double booking: whatever the code does,
            # a slot carries at most one confirmed booking.
            models.UniqueConstraint(
                fields=["slot"], condition=Q(status="confirmed"), name="booking_one_confirmed_per_slot"
            ),
            models.CheckConstraint(
                condition=~Q(status="cancelled") | Q(cancelled_at__isnull=False),
                name="booking_cancelled_has_time",
            ),
        ]
        indexes = [
            models.Index(fields=["client", "status"], name="booking_client_status_idx"),
            # Reminders pick confirmed bookings not yet reminded.
            models.Index(
                fields=["slot"],
                condition=Q(status="confirmed", reminder_sent_at__isnull=True),
                name="booking_reminder_due_idx",
            ),
        ]

    def __str__(self):
        return f"Booking #{self.pk} {self.client} on {self.slot}"

    @property
    def is_active(self) -> bool:
        return self.status == self.Status.CONFIRMED

    @property
    def needs_review(self) -> bool:
        """The booking's `needs_review` (docs/api.md): the assessment's, or any warning."""
        return self.intake.needs_review or bool(self.warnings)

    @property
    def awaits_review(self) -> bool:
        """Needs the therapist's review still: the intake awaits one, or a warning holds."""
        return self.intake.awaits_review or bool(self.warnings)

    @staticmethod
    def needs_review_q() -> Q:
        """A filter on bookings whose `needs_review` is true."""
        return Q(intake__needs_review=True) | ~Q(warnings=[])


class IdempotencyRecord(models.Model):
    """The first answer to a request sent with an `Idempotency-Key`, per user.

    While the first request runs, `response_status` is null: a concurrent
    duplicate sees the row (or waits on its unique key) and answers 409.
    Records are kept at least 24 hours (see `booking.services.idempotency_purge`).
    """

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    key = models.CharField(max_length=255)
    request_fingerprint = models.CharField(max_length=64)
    response_status = models.PositiveSmallIntegerField(null=True, blank=True)
    response_body = models.JSONField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["user", "key"], name="idempotency_key_per_user")]

    def __str__(self):
        return f"{self.user_id}:{self.key}"
