"""The schedule and the bookings on it (v2: services of their own length, shifts, rooms).

Invariants (docs/design.md) live in the database, so any number of app
processes and workers stay correct:

1. a therapist is never in two places: `booking_therapist_no_overlap`, an
   exclusion constraint on the occupied range `[starts_at, occupied_until)`
   (the session plus its buffer) of active and held bookings;
2. a room is never double-booked: `booking_room_no_overlap`, the same on the room;
3. a client never holds two overlapping sessions: `booking_client_no_overlap`
   on `[starts_at, ends_at)` of confirmed bookings;
4. a therapist's shifts never overlap: `shift_no_overlap_per_therapist`;
5. a booking lies inside a shift of its therapist at its location, outside
   time off and closures: checked by `booking.services` under a lock on the
   therapist row (time off or a closure added later is reported, not enforced);
6. spans end after they start: check constraints.

A lost race on 1-3 raises an IntegrityError that the services turn into a 409.
"""

from django.conf import settings
from django.contrib.postgres.constraints import ExclusionConstraint
from django.contrib.postgres.fields import DateTimeRangeField, RangeOperators
from django.db import models
from django.db.models import F, Func, Q

from clinic.models import Location, Room, Service, Therapist
from intake.models import Intake


class TsTzRange(Func):
    """PostgreSQL's `tstzrange(lower, upper)`: half-open, '[)' by default."""

    function = "TSTZRANGE"
    output_field = DateTimeRangeField()


class Weekday(models.IntegerChoices):
    MONDAY = 0
    TUESDAY = 1
    WEDNESDAY = 2
    THURSDAY = 3
    FRIDAY = 4
    SATURDAY = 5
    SUNDAY = 6


class WorkingHours(models.Model):
    """A weekly template row: a therapist works at `location` on `weekday` from start to end, its local time."""

    therapist = models.ForeignKey(Therapist, on_delete=models.CASCADE, related_name="working_hours")
    location = models.ForeignKey(Location, on_delete=models.PROTECT, related_name="working_hours")
    weekday = models.PositiveSmallIntegerField(choices=Weekday.choices)
    start_time = models.TimeField()
    end_time = models.TimeField()

    class Meta:
        verbose_name_plural = "working hours"
        ordering = ["therapist_id", "weekday", "start_time"]
        constraints = [
            models.CheckConstraint(condition=Q(end_time__gt=F("start_time")), name="working_hours_end_after_start"),
            models.CheckConstraint(condition=Q(weekday__gte=0, weekday__lte=6), name="working_hours_weekday_valid"),
        ]

    def __str__(self):
        span = f"{self.start_time:%H:%M}-{self.end_time:%H:%M}"
        return f"{self.therapist} at {self.location} {self.get_weekday_display()} {span}"


class Shift(models.Model):
    """A span in which a therapist works at a location, in UTC; bookings are made inside shifts."""

    therapist = models.ForeignKey(Therapist, on_delete=models.PROTECT, related_name="shifts", db_index=False)
    location = models.ForeignKey(Location, on_delete=models.PROTECT, related_name="shifts")
    starts_at = models.DateTimeField()
    ends_at = models.DateTimeField()
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["starts_at", "therapist_id"]
        constraints = [
            models.CheckConstraint(condition=Q(ends_at__gt=F("starts_at")), name="shift_ends_after_start"),
            ExclusionConstraint(
                name="shift_no_overlap_per_therapist",
                expressions=[
                    ("therapist", RangeOperators.EQUAL),
                    (TsTzRange("starts_at", "ends_at"), RangeOperators.OVERLAPS),
                ],
            ),
        ]
        indexes = [models.Index(fields=["starts_at", "ends_at"], name="shift_span_idx")]

    def __str__(self):
        return f"{self.therapist} at {self.location} {self.starts_at:%Y-%m-%d %H:%M}-{self.ends_at:%H:%M} UTC"


class TimeOff(models.Model):
    """A span in which a therapist does not work: subtracted from availability, never cancelling bookings."""

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


class Closure(models.Model):
    """A location, or one of its rooms, closed for a span (a holiday, maintenance): subtracted from availability."""

    location = models.ForeignKey(Location, on_delete=models.CASCADE, related_name="closures")
    room = models.ForeignKey(Room, null=True, blank=True, on_delete=models.CASCADE, related_name="closures")
    starts_at = models.DateTimeField()
    ends_at = models.DateTimeField()
    reason = models.CharField(max_length=200, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["starts_at"]
        constraints = [
            models.CheckConstraint(condition=Q(ends_at__gt=F("starts_at")), name="closure_ends_after_start"),
        ]
        indexes = [models.Index(fields=["location", "starts_at"], name="closure_location_start_idx")]

    def __str__(self):
        where = self.room or self.location
        return f"{where} closed {self.starts_at:%Y-%m-%d %H:%M}-{self.ends_at:%Y-%m-%d %H:%M} UTC"


ACTIVE_STATUSES = ("confirmed", "held")


class Booking(models.Model):
    """A client's session of a service with a therapist at a location (in a room where it has rooms).

    `occupied_until` is `ends_at` plus the service's buffer when booked: the
    therapist and the room are busy over `[starts_at, occupied_until)`. The
    price and the buffer are copied when booked, so editing a service never
    touches existing bookings. A booking made by the front desk starts with
    its intake pending (`intake` null) until the client completes it.

    History is kept: a cancelled booking stays with who cancelled it and why;
    a rescheduled one moves and bumps `sequence` (the calendar's SEQUENCE).

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
        HELD = "held", "Held for a waitlist offer"

    class IntakeStatus(models.TextChoices):
        COMPLETE = "complete", "Complete"
        PENDING = "pending", "Pending"

    class WarningCode(models.TextChoices):
        # The same code as the refusal `booking.errors.TherapistNotQualified`.
        THERAPIST_NOT_QUALIFIED = (
            "therapist_not_qualified",
            "The intake asks for a modality the therapist is not trained in",
        )

    client = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="bookings")
    therapist = models.ForeignKey(Therapist, on_delete=models.PROTECT, related_name="bookings", db_index=False)
    location = models.ForeignKey(Location, on_delete=models.PROTECT, related_name="bookings")
    room = models.ForeignKey(Room, null=True, blank=True, on_delete=models.PROTECT, related_name="bookings")
    service = models.ForeignKey(Service, on_delete=models.PROTECT, related_name="bookings")
    starts_at = models.DateTimeField()
    ends_at = models.DateTimeField()
    occupied_until = models.DateTimeField(help_text="ends_at plus the service's buffer when booked.")
    price = models.DecimalField(max_digits=9, decimal_places=2, help_text="The service's price when booked.")
    currency = models.CharField(max_length=3)
    intake = models.OneToOneField(Intake, null=True, blank=True, on_delete=models.PROTECT, related_name="booking")
    intake_status = models.CharField(max_length=16, choices=IntakeStatus.choices, default=IntakeStatus.COMPLETE)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.CONFIRMED)
    booked_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        help_text="Who made it: the client, or the front desk for them (then it does not count against the cap).",
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    hold_expires_at = models.DateTimeField(null=True, blank=True, help_text="For a held waitlist offer.")
    cancelled_at = models.DateTimeField(null=True, blank=True)
    cancelled_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    cancel_reason = models.CharField(max_length=500, blank=True)
    closed_at = models.DateTimeField(null=True, blank=True, help_text="When it was marked completed or no-show.")
    sequence = models.PositiveIntegerField(default=0, help_text="Bumped on each change (iCalendar SEQUENCE).")
    reminder_sent_at = models.DateTimeField(null=True, blank=True)
    intake_reminder_sent_at = models.DateTimeField(
        null=True, blank=True, help_text="When the client was reminded of their pending intake (once per booking)."
    )
    warnings = models.JSONField(
        default=list, blank=True, help_text="Codes of Booking.WarningCode that hold now, e.g. therapist_not_qualified."
    )

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.CheckConstraint(condition=Q(ends_at__gt=F("starts_at")), name="booking_ends_after_start"),
            models.CheckConstraint(condition=Q(occupied_until__gte=F("ends_at")), name="booking_occupied_covers"),
            models.CheckConstraint(
                condition=~Q(status="cancelled") | Q(cancelled_at__isnull=False),
                name="booking_cancelled_has_time",
            ),
            models.CheckConstraint(
                condition=Q(intake_status="pending", intake__isnull=True)
                | Q(intake_status="complete", intake__isnull=False),
                name="booking_intake_status_matches",
            ),
            models.CheckConstraint(
                condition=~Q(status="held") | Q(hold_expires_at__isnull=False), name="booking_hold_expires"
            ),
            ExclusionConstraint(
                name="booking_therapist_no_overlap",
                expressions=[
                    ("therapist", RangeOperators.EQUAL),
                    (TsTzRange("starts_at", "occupied_until"), RangeOperators.OVERLAPS),
                ],
                condition=Q(status__in=ACTIVE_STATUSES),
            ),
            ExclusionConstraint(
                name="booking_room_no_overlap",
                expressions=[
                    ("room", RangeOperators.EQUAL),
                    (TsTzRange("starts_at", "occupied_until"), RangeOperators.OVERLAPS),
                ],
                condition=Q(status__in=ACTIVE_STATUSES, room__isnull=False),
            ),
            ExclusionConstraint(
                name="booking_client_no_overlap",
                expressions=[
                    ("client", RangeOperators.EQUAL),
                    (TsTzRange("starts_at", "ends_at"), RangeOperators.OVERLAPS),
                ],
                condition=Q(status="confirmed"),
            ),
        ]
        indexes = [
            models.Index(fields=["client", "status"], name="booking_client_status_idx"),
            models.Index(fields=["starts_at"], name="booking_starts_idx"),
            # Reminders pick confirmed bookings not yet reminded.
            models.Index(
                fields=["starts_at"],
                condition=Q(status="confirmed", reminder_sent_at__isnull=True),
                name="booking_reminder_due_idx",
            ),
            # And pending intakes not yet reminded of.
            models.Index(
                fields=["starts_at"],
                condition=Q(status="confirmed", intake_status="pending", intake_reminder_sent_at__isnull=True),
                name="booking_intake_remind_due_idx",
            ),
            # Held waitlist offers: every booking looks for stale ones in its way, under its lock
            # (booking.waitlist.holds_expire_stale); there are few, so the index stays small.
            models.Index(fields=["hold_expires_at"], condition=Q(status="held"), name="booking_held_idx"),
        ]

    def __str__(self):
        return f"Booking #{self.pk} {self.client} {self.starts_at:%Y-%m-%d %H:%M} UTC"

    @property
    def is_active(self) -> bool:
        return self.status == self.Status.CONFIRMED

    @property
    def is_pending(self) -> bool:
        return self.intake_status == self.IntakeStatus.PENDING

    @property
    def needs_review(self) -> bool:
        """The booking's `needs_review` (docs/api.md): the assessment's, or any warning."""
        return bool(self.intake and self.intake.needs_review) or bool(self.warnings)

    @property
    def awaits_review(self) -> bool:
        """Needs the therapist's review still: the intake awaits one, or a warning holds."""
        return bool(self.intake and self.intake.awaits_review) or bool(self.warnings)

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


class WaitlistEntry(models.Model):
    """A client waiting for a service between two local dates, optionally at a location, with a therapist,
    between two local times of day.

    When time that fits frees up, the entry that joined first gets an offer
    (`WaitlistOffer`): the time held for it as a `held` booking. One open
    offer per entry at a time (`waitlist_one_open_offer_per_entry`); every
    change of an entry or its offers takes the entry's row lock first
    (booking.waitlist). No health data: the intake is given when an offer is accepted.
    """

    class Status(models.TextChoices):
        WAITING = "waiting", "Waiting"
        OFFERED = "offered", "Offered a held time"
        BOOKED = "booked", "Booked"
        EXPIRED = "expired", "Expired"
        WITHDRAWN = "withdrawn", "Withdrawn"

    client = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="waitlist_entries")
    service = models.ForeignKey(Service, on_delete=models.PROTECT, related_name="waitlist_entries")
    location = models.ForeignKey(
        Location, null=True, blank=True, on_delete=models.PROTECT, related_name="waitlist_entries"
    )
    therapist = models.ForeignKey(
        Therapist, null=True, blank=True, on_delete=models.PROTECT, related_name="waitlist_entries"
    )
    from_date = models.DateField(help_text="The first local date the client can come.")
    to_date = models.DateField(help_text="The last local date the client can come (inclusive).")
    earliest_time = models.TimeField(null=True, blank=True, help_text="Local time of day: not starting before.")
    latest_time = models.TimeField(null=True, blank=True, help_text="Local time of day: ending by.")
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.WAITING)
    created_at = models.DateTimeField(auto_now_add=True, help_text="When the client joined: first come, first offered.")
    updated_at = models.DateTimeField(auto_now=True)
    closed_at = models.DateTimeField(null=True, blank=True, help_text="When it was booked, expired or withdrawn.")

    class Meta:
        verbose_name_plural = "waitlist entries"
        ordering = ["created_at", "id"]
        constraints = [
            models.CheckConstraint(condition=Q(to_date__gte=F("from_date")), name="waitlist_entry_dates_ordered"),
            # One open entry per wish: two submits at once cannot both join (booking.waitlist.waitlist_join).
            models.UniqueConstraint(
                fields=[
                    "client",
                    "service",
                    "location",
                    "therapist",
                    "from_date",
                    "to_date",
                    "earliest_time",
                    "latest_time",
                ],
                condition=Q(status__in=["waiting", "offered"]),
                nulls_distinct=False,
                name="waitlist_entry_once_while_open",
            ),
            models.CheckConstraint(
                condition=Q(earliest_time__isnull=True)
                | Q(latest_time__isnull=True)
                | Q(latest_time__gt=F("earliest_time")),
                name="waitlist_entry_times_ordered",
            ),
            models.CheckConstraint(
                condition=Q(status__in=("waiting", "offered"), closed_at__isnull=True)
                | Q(status__in=("booked", "expired", "withdrawn"), closed_at__isnull=False),
                name="waitlist_entry_closed_has_time",
            ),
        ]
        indexes = [
            # The matcher reads the waiting entries in the order they joined.
            models.Index(fields=["created_at"], condition=Q(status="waiting"), name="waitlist_waiting_idx"),
        ]

    def __str__(self):
        return f"Waitlist #{self.pk} {self.client} {self.service} {self.from_date}..{self.to_date} ({self.status})"

    @property
    def is_open(self) -> bool:
        return self.status in (self.Status.WAITING, self.Status.OFFERED)


class WaitlistOffer(models.Model):
    """Time held for a waitlist entry: a `held` booking, its expiry, and what became of it.

    Its primary key is the held booking's, so an offer and the booking it
    becomes when accepted share one id.
    """

    class Status(models.TextChoices):
        OPEN = "open", "Open"
        ACCEPTED = "accepted", "Accepted"
        DECLINED = "declined", "Declined"
        EXPIRED = "expired", "Expired"
        WITHDRAWN = "withdrawn", "Withdrawn"

    hold = models.OneToOneField(Booking, primary_key=True, on_delete=models.PROTECT, related_name="waitlist_offer")
    entry = models.ForeignKey(WaitlistEntry, on_delete=models.PROTECT, related_name="offers")
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.OPEN)
    expires_at = models.DateTimeField()
    created_at = models.DateTimeField(auto_now_add=True)
    closed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["created_at", "hold_id"]
        constraints = [
            models.UniqueConstraint(
                fields=["entry"], condition=Q(status="open"), name="waitlist_one_open_offer_per_entry"
            ),
            models.CheckConstraint(
                condition=Q(status="open", closed_at__isnull=True) | (~Q(status="open") & Q(closed_at__isnull=False)),
                name="waitlist_offer_closed_has_time",
            ),
        ]
        indexes = [
            # The sweep finds the open offers past their expiry.
            models.Index(fields=["expires_at"], condition=Q(status="open"), name="waitlist_offer_due_idx"),
        ]

    def __str__(self):
        return f"Offer #{self.pk} for waitlist #{self.entry_id} ({self.status})"
