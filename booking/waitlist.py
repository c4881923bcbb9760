"""The waitlist: clients waiting for a service, and the time held for them when it frees up (docs/api.md, Waitlist).

A client joins for a service between two local dates (optionally at one
location, with one therapist, between two local times of day). When time
becomes bookable (a cancellation, a reschedule away, time off or a closure
removed, a new shift), the waiting entries it could serve are taken in the
order they joined, and the first that fits gets an **offer**: the earliest
start that fits its service and times and overlaps the freed time is
**held** for it, as a booking row with status `held` (a room where the
location has rooms), for `clinic.waitlist_hold_minutes` (never past the
session's start). The exclusion constraints and availability count a hold
like a booking, so nobody else can take that time meanwhile. The client is
mailed, `waitlist.offered` is announced, and a job is scheduled at the
expiry.

- Accepted (`waitlist_offer_accept`) → the hold becomes the confirmed
  booking, with the intake given then, as `booking_create` would store it.
- Declined, withdrawn or expired → the hold is cancelled and its time is
  offered to the next waiting entry that fits, in the same transaction.
  A declining entry waits again (it is not offered the time it declined);
  an entry whose offer expired is `expired`.
- A hold past its expiry no longer counts, whatever its status says:
  availability ignores it, the worker expires it (a job at the expiry, and
  `waitlist_sweep` every minute as a safety net), and a booking transaction
  that meets one under its therapist lock expires it (`holds_expire_stale`).

Locks, in the order every writer takes them (booking.services has the rest):

    client row → waitlist entry → held booking → therapist row

Every change of an entry or its offers takes the entry's row lock first.
The matcher locks waiting entries with SKIP LOCKED (an entry another
transaction is changing is left to it), never waiting on one, and tries
each hold in a savepoint, so a lost race on a therapist or a room only
moves it on to the next start. The one-open-offer-per-entry rule is a
unique constraint. Mail and webhooks are jobs deferred in the same
transaction.

The functions are keyword-only; the API (booking/api/waitlist_views.py)
and the pages call them.
"""

import logging
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from django.core.exceptions import ValidationError
from django.db import IntegrityError, OperationalError, connection, transaction
from django.db.models import Q, QuerySet
from django.utils import timezone

from booking import mail, services, waitlist_tasks
from booking.availability import OfferedStart, offered_starts, offers_at
from booking.errors import SlotUnavailable
from booking.events import WAITLIST_OFFERED, announce
from booking.models import Booking, WaitlistEntry, WaitlistOffer
from clinic.errors import DomainError
from clinic.models import Clinic, Location, Role, Service, Therapist, User
from clinic.selectors import clinic_get
from intake.form import validate_answers
from intake.services import intake_create

logger = logging.getLogger(__name__)

# The longest span of dates one entry may wait over (a season), as shift generation.
MAX_WAITLIST_DAYS = 92

# The zones furthest behind and ahead of UTC: a moment's local date anywhere lies between its dates in these.
_WESTMOST = ZoneInfo("Etc/GMT+12")
_EASTMOST = ZoneInfo("Pacific/Kiritimati")

HOLD_EXPIRED = "Waitlist offer expired."
HOLD_DECLINED = "Waitlist offer declined."
HOLD_WITHDRAWN = "Waitlist entry withdrawn."

# SQLSTATEs of a lost race PostgreSQL resolves by failing one statement (as booking.services).
_RACE_SQLSTATES = {"40001", "40P01", "55P03"}  # serialization_failure, deadlock_detected, lock_not_available


class OfferExpired(DomainError):
    code = "offer_expired"
    default_detail = (
        "This offer is no longer open: the time was held for you only until its expiry, or the offer was "
        "declined or withdrawn. Pick another time from the availability list, or join the waitlist again."
    )


class WaitlistEntryBooked(DomainError):
    code = "waitlist_entry_booked"
    default_detail = (
        "This waitlist entry has already become a booking, so there is nothing to withdraw. "
        "Cancel the booking instead if you cannot come."
    )


@dataclass(frozen=True)
class FreedTime:
    """Time that has become bookable: `[starts_at, ends_at)` of a therapist, at a location, or both."""

    starts_at: datetime
    ends_at: datetime
    therapist_id: int | None = None
    location_id: int | None = None

    def as_job_args(self) -> dict:
        return {
            "starts_at": self.starts_at.isoformat(),
            "ends_at": self.ends_at.isoformat(),
            "therapist_id": self.therapist_id,
            "location_id": self.location_id,
        }

    def meets(self, starts_at: datetime, until: datetime) -> bool:
        """Whether `[starts_at, until)` overlaps this time (a session needing it)."""
        return starts_at < self.ends_at and self.starts_at < until

    @classmethod
    def of_booking(cls, booking: Booking) -> "FreedTime":
        """What a booking (or a hold) leaves free when it goes: its therapist's occupied range there."""
        return cls(booking.starts_at, booking.occupied_until, booking.therapist_id, booking.location_id)


# --- Joining and leaving ----------------------------------------------------------


def waitlist_join(
    *,
    client: User,
    service_id: int,
    from_date: date,
    to_date: date,
    location_id: int | None = None,
    therapist_id: int | None = None,
    earliest_time: time | None = None,
    latest_time: time | None = None,
    now: datetime | None = None,
) -> WaitlistEntry:
    """Put `client` on the waitlist for a service between two local dates (inclusive); returns the entry.

    `earliest_time`/`latest_time` are local times of day: a session offered
    starts at or after the first and ends by the second. A ValidationError
    (400) names each field that is wrong: an unknown or inactive service,
    location or therapist, a therapist who does not work at the location,
    `to` before `from`, a `from` before today (the location's today, else
    the clinic's) or past the booking horizon, more than MAX_WAITLIST_DAYS
    days, `latest_time` not after `earliest_time`; and the same entry again
    while one waits (a double submit). Joining offers nothing by itself: what is free now is
    booked from the availability list; an offer comes when time frees up.
    """
    now = now or timezone.now()
    if client.role != Role.CLIENT or not client.is_active:
        raise ValidationError({"client": ["Only an active client account can join the waitlist."]})
    errors: dict[str, list[str]] = {}
    service = Service.objects.filter(pk=service_id, active=True).first()
    if service is None:
        errors["service"] = ["No active service with this id. Choose one from GET /api/v1/services/."]
    location = None
    if location_id is not None:
        location = Location.objects.filter(pk=location_id, active=True).first()
        if location is None:
            errors["location"] = ["No active location with this id. Choose one from GET /api/v1/locations/."]
    if therapist_id is not None:
        therapist = Therapist.objects.select_related("user").filter(pk=therapist_id, active=True).first()
        if therapist is None or not therapist.user.is_active:
            errors["therapist"] = ["No active therapist with this id. Choose one from GET /api/v1/therapists/."]
        elif location is not None and not therapist.locations.filter(pk=location.pk).exists():
            errors["therapist"] = [f"{therapist.name} does not work at {location.name}. Choose another therapist."]
    clinic = clinic_get()
    today = now.astimezone(location.tz if location is not None else clinic.tz).date()
    last_bookable = today + timedelta(days=clinic.booking_horizon_days)
    if to_date < from_date:
        errors["to"] = ["Must be on or after `from`."]
    elif from_date < today:
        errors["from"] = [f"The dates must be from today ({today.isoformat()}) on."]
    elif from_date > last_bookable:
        errors["from"] = [
            f"Sessions are booked at most {clinic.booking_horizon_days} days ahead: "
            f"choose dates up to {last_bookable.isoformat()}."
        ]
    elif (to_date - from_date).days + 1 > MAX_WAITLIST_DAYS:
        errors["to"] = [f"The range may cover at most {MAX_WAITLIST_DAYS} days."]
    if earliest_time is not None and latest_time is not None and latest_time <= earliest_time:
        errors["latest_time"] = ["Must be after `earliest_time`."]
    if errors:
        raise ValidationError(errors)
    wish = {
        "client": client,
        "service": service,
        "location_id": location_id,
        "therapist_id": therapist_id,
        "from_date": from_date,
        "to_date": to_date,
        "earliest_time": earliest_time,
        "latest_time": latest_time,
    }
    # A double submit, or the same wish twice: one entry waits for it already. Two at once are
    # settled by the constraint `waitlist_entry_once_while_open`.
    try:
        with transaction.atomic():
            return WaitlistEntry.objects.create(**wish)
    except IntegrityError:
        open_statuses = (WaitlistEntry.Status.WAITING, WaitlistEntry.Status.OFFERED)
        same = WaitlistEntry.objects.filter(**wish, status__in=open_statuses).first()
        if same is None:
            raise
        raise ValidationError(
            {"non_field_errors": [f"You are already on the waitlist for this (entry #{same.pk})."]}
        ) from None


def _lock_entry(entry_id: int) -> WaitlistEntry:
    return WaitlistEntry.objects.select_for_update().get(pk=entry_id)


def _lock_account(user_id: int) -> None:
    """Lock the client's account row first, as an accept does (services._lock_client), then the entry.

    Closing a hold writes `cancelled_by`, whose foreign key takes a share lock on that account's row: a
    decline or withdrawal that took the entry first would wait for an accept holding the account, which waits
    for the entry (a deadlock, reported to the loser as `slot_unavailable` or a 500).
    """
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1 FROM clinic_user WHERE id = %s FOR UPDATE", [user_id])


def _lock_hold(offer: WaitlistOffer) -> Booking:
    return Booking.objects.select_for_update(of=("self",)).get(pk=offer.pk)


def _close(
    offer: WaitlistOffer, hold: Booking, *, status: str, now: datetime, reason: str, by: User | None = None
) -> None:
    """Close an open offer as `status`, and cancel its hold (if it still holds the time) with `reason`."""
    if hold.status == Booking.Status.HELD:
        hold.status = Booking.Status.CANCELLED
        hold.cancelled_at = now
        hold.cancelled_by = by
        hold.cancel_reason = reason
        hold.save(update_fields=["status", "cancelled_at", "cancelled_by", "cancel_reason", "updated_at"])
    offer.status = status
    offer.closed_at = now
    offer.save(update_fields=["status", "closed_at"])


def _finish(entry: WaitlistEntry, status: str, now: datetime) -> None:
    entry.status = status
    entry.closed_at = None if status in (WaitlistEntry.Status.WAITING, WaitlistEntry.Status.OFFERED) else now
    entry.save(update_fields=["status", "closed_at", "updated_at"])


def waitlist_withdraw(*, entry_id: int, by: User, now: datetime | None = None) -> WaitlistEntry:
    """Take an entry off the waitlist (its client, or the front desk); returns it, `withdrawn`.

    An open offer of it is withdrawn and its held time offered to the next
    entry that fits, in this transaction. Withdrawing an entry already closed
    (expired, withdrawn) changes nothing; one that became a booking →
    WaitlistEntryBooked. Another client's entry is WaitlistEntry.DoesNotExist (404).
    """
    now = now or timezone.now()
    with transaction.atomic():
        client_id = WaitlistEntry.objects.filter(pk=entry_id).values_list("client_id", flat=True).first()
        if client_id is None or (not by.is_front_desk and client_id != by.pk):
            raise WaitlistEntry.DoesNotExist()
        _lock_account(client_id)
        entry = _lock_entry(entry_id)
        if entry.status == WaitlistEntry.Status.BOOKED:
            raise WaitlistEntryBooked()
        if not entry.is_open:
            return entry
        offer = entry.offers.filter(status=WaitlistOffer.Status.OPEN).first()
        _finish(entry, WaitlistEntry.Status.WITHDRAWN, now)
        if offer is not None:
            hold = _lock_hold(offer)
            held = hold.status == Booking.Status.HELD
            _close(offer, hold, status=WaitlistOffer.Status.WITHDRAWN, now=now, reason=HOLD_WITHDRAWN, by=by)
            if held:
                _match(FreedTime.of_booking(hold), now=now)
    return entry


def waitlist_client_withdraw_all(*, client: User, now: datetime | None = None) -> int:
    """Withdraw every open entry of `client` (their account is being deleted); how many.

    All of them first, then the time held for any of them is released and
    offered to the other waiting entries, in this transaction: none of it
    goes back to the client. Call it under the client's row lock, as the
    account's deletion takes it (records.account_data), before their
    bookings are cancelled.
    """
    now = now or timezone.now()
    with transaction.atomic():
        entries = list(
            WaitlistEntry.objects.select_for_update()
            .filter(client=client, status__in=(WaitlistEntry.Status.WAITING, WaitlistEntry.Status.OFFERED))
            .order_by("pk")
        )
        freed = []
        for entry in entries:
            offer = entry.offers.filter(status=WaitlistOffer.Status.OPEN).first()
            _finish(entry, WaitlistEntry.Status.WITHDRAWN, now)
            if offer is not None:
                hold = _lock_hold(offer)
                if hold.status == Booking.Status.HELD:
                    freed.append(FreedTime.of_booking(hold))
                _close(offer, hold, status=WaitlistOffer.Status.WITHDRAWN, now=now, reason=HOLD_WITHDRAWN, by=client)
        for time_freed in freed:
            _match(time_freed, now=now)
    return len(entries)


# --- Offers: matching freed time to the waitlist ----------------------------------------


def waitlist_offer_freed(
    *,
    starts_at: datetime,
    ends_at: datetime,
    therapist_id: int | None = None,
    location_id: int | None = None,
    now: datetime | None = None,
) -> list[WaitlistOffer]:
    """Offer time that has just become bookable to the waitlist, in the caller's transaction; the offers made.

    `[starts_at, ends_at)` of `therapist_id` (any therapist when None) at
    `location_id` (anywhere when None). Waiting entries are taken in the
    order they joined; each gets the earliest start that fits it (its
    service, dates, location, therapist, times of day; not overlapping its
    client's own sessions or holds) and overlaps the freed time, as the
    client's availability list would offer it. A cancellation calls this in
    its own transaction, so nobody can take the time in between.
    """
    now = now or timezone.now()
    with transaction.atomic():
        return _match(FreedTime(starts_at, ends_at, therapist_id, location_id), now=now)


def waitlist_match_later(
    *,
    starts_at: datetime,
    ends_at: datetime,
    therapist_id: int | None = None,
    location_id: int | None = None,
) -> None:
    """Defer one job that offers `[starts_at, ends_at)` to the waitlist once the caller's transaction commits.

    For changes that free time in bulk (shift generation) or that should not
    wait on the waitlist (time off or a closure removed, a new shift).
    """
    waitlist_tasks.match_later(FreedTime(starts_at, ends_at, therapist_id, location_id))


def _local_dates(starts_at: datetime, ends_at: datetime) -> tuple[date, date]:
    """Every local date a moment of `[starts_at, ends_at)` has somewhere on Earth (a loose bound)."""
    return starts_at.astimezone(_WESTMOST).date(), ends_at.astimezone(_EASTMOST).date()


def _waiting_entries(freed: FreedTime, now: datetime) -> QuerySet[WaitlistEntry]:
    """The waiting entries `freed` could serve (by dates, location and therapist), first joined first."""
    first_day, last_day = _local_dates(max(freed.starts_at, now), freed.ends_at)
    entries = WaitlistEntry.objects.filter(
        status=WaitlistEntry.Status.WAITING,
        client__is_active=True,
        service__active=True,
        to_date__gte=first_day,
        from_date__lte=last_day,
    )
    if freed.therapist_id is not None:
        entries = entries.filter(Q(therapist__isnull=True) | Q(therapist_id=freed.therapist_id))
    if freed.location_id is not None:
        entries = entries.filter(Q(location__isnull=True) | Q(location_id=freed.location_id))
    return entries.select_related("service").order_by("created_at", "pk")


def _match(freed: FreedTime, *, now: datetime, skip_entry_ids: tuple[int, ...] = ()) -> list[WaitlistOffer]:
    """Offer `freed` to the waiting entries, first joined first, until it serves no more of them."""
    if freed.ends_at <= max(freed.starts_at, now):
        return []
    clinic = clinic_get()
    entries = list(
        _waiting_entries(freed, now).exclude(pk__in=skip_entry_ids).select_for_update(skip_locked=True, of=("self",))
    )
    # The starts offered for each (service, dates, therapist, location) asked about: most entries ask
    # the same question of a small freed time. A hold changes the answers, so it forgets them.
    asked: dict[tuple, list[OfferedStart]] = {}
    zones: dict[int, ZoneInfo] = {}
    offers = []
    for entry in entries:
        offer = _offer_to(entry, freed, now=now, clinic=clinic, asked=asked, zones=zones)
        if offer is not None:
            offers.append(offer)
            asked.clear()
    return offers


def _offer_to(
    entry: WaitlistEntry,
    freed: FreedTime,
    *,
    now: datetime,
    clinic: Clinic,
    asked: dict[tuple, list[OfferedStart]],
    zones: dict[int, ZoneInfo],
) -> WaitlistOffer | None:
    """Hold the earliest start of `freed` that fits `entry` and offer it; None when none fits."""
    first_day, last_day = _local_dates(max(freed.starts_at, now), freed.ends_at)
    first_day, last_day = max(first_day, entry.from_date), min(last_day, entry.to_date)
    if last_day < first_day:
        return None
    service = entry.service
    therapist_id = entry.therapist_id or freed.therapist_id
    location_id = entry.location_id or freed.location_id
    question = (service.pk, first_day, last_day, therapist_id, location_id)
    if question not in asked:
        occupied = timedelta(minutes=service.duration_minutes + service.buffer_minutes)
        _, starts = offered_starts(
            service=service,
            from_date=first_day,
            to_date=last_day,
            location_id=location_id,
            therapist_id=therapist_id,
            now=now,
        )
        asked[question] = [s for s in starts if freed.meets(s.starts_at, s.starts_at + occupied)]
    starts = [s for s in asked[question] if _fits_times(entry, s, zones)]
    if not starts:
        return None
    busy = list(
        Booking.objects.filter(
            client_id=entry.client_id,
            status__in=(Booking.Status.CONFIRMED, Booking.Status.HELD),
            starts_at__lt=starts[-1].ends_at,
            ends_at__gt=starts[0].starts_at,
        ).values_list("starts_at", "ends_at")
    )
    declined = set(
        entry.offers.filter(status=WaitlistOffer.Status.DECLINED).values_list("hold__therapist_id", "hold__starts_at")
    )
    for start in starts:
        if (start.therapist_id, start.starts_at) in declined:
            continue
        if any(s < start.ends_at and start.starts_at < e for s, e in busy):
            continue  # the client's own session or hold then: never offer them an overlap
        hold = _hold(entry, start, now=now, clinic=clinic)
        if hold is not None:
            return _open_offer(entry, hold, now=now)
    return None


def _zone(location_id: int, zones: dict[int, ZoneInfo]) -> ZoneInfo:
    if location_id not in zones:
        zones[location_id] = Location.objects.get(pk=location_id).tz
    return zones[location_id]


def _fits_times(entry: WaitlistEntry, start: OfferedStart, zones: dict[int, ZoneInfo]) -> bool:
    """Whether `start` lies on the entry's local dates and within its local times of day (at its location)."""
    tz = _zone(start.location_id, zones)
    local_start = start.starts_at.astimezone(tz)
    day = local_start.date()
    if not entry.from_date <= day <= entry.to_date:
        return False
    if entry.earliest_time is not None and local_start.time() < entry.earliest_time:
        return False
    if entry.latest_time is not None and start.ends_at > datetime.combine(day, entry.latest_time, tzinfo=tz):
        return False
    return True


def _hold(entry: WaitlistEntry, start: OfferedStart, *, now: datetime, clinic: Clinic) -> Booking | None:
    """Hold `start` for the entry's client: a `held` booking placed by the booking rules; None when it is gone.

    Placed as a client's booking would be (booking.services): under the
    therapist's row lock, checked again there, in the first free room; in a
    savepoint, so losing the time to a concurrent booking (or a deadlock
    between two matchers) only rolls this attempt back.
    """
    service = entry.service
    ends_at = start.starts_at + timedelta(minutes=service.duration_minutes)
    expires_at = min(now + timedelta(minutes=clinic.waitlist_hold_minutes), start.starts_at)
    try:
        with transaction.atomic():
            return services._place_with(
                booking=None,
                client_id=entry.client_id,
                service=service,
                offer=start,
                starts_at=start.starts_at,
                ends_at=ends_at,
                occupied_until=ends_at + timedelta(minutes=service.buffer_minutes),
                for_staff=False,
                clinic=clinic,
                now=now,
                fields={
                    "status": Booking.Status.HELD,
                    "hold_expires_at": expires_at,
                    "price": service.price,
                    "currency": clinic.currency,
                    "intake": None,
                    "intake_status": Booking.IntakeStatus.PENDING,
                    "booked_by_id": entry.client_id,
                },
            )
    except services._DoesNotFit:
        return None
    except OperationalError as exc:
        if getattr(exc.__cause__, "sqlstate", None) in _RACE_SQLSTATES:
            logger.info("Waitlist entry %s: lost a race for %s, trying the next start.", entry.pk, start.starts_at)
            return None
        raise


def _open_offer(entry: WaitlistEntry, hold: Booking, *, now: datetime) -> WaitlistOffer:
    """Record the offer of `hold` to `entry`, mail the client, announce it and schedule its expiry."""
    offer = WaitlistOffer.objects.create(hold=hold, entry=entry, expires_at=hold.hold_expires_at)
    _finish(entry, WaitlistEntry.Status.OFFERED, now)
    mail.send_later(mail.WAITLIST_OFFER, hold.pk)
    announce(WAITLIST_OFFERED, hold)
    waitlist_tasks.expire_at(offer)
    return offer


# --- Answering an offer ------------------------------------------------------------


def _lock_offer_of(client: User, offer_id: int) -> tuple[WaitlistEntry, WaitlistOffer]:
    """The client's offer and its entry, the entry locked first; WaitlistOffer.DoesNotExist (404) for anyone else's."""
    entry_id = (
        WaitlistOffer.objects.filter(pk=offer_id, entry__client_id=client.pk).values_list("entry_id", flat=True).first()
    )
    if entry_id is None:
        raise WaitlistOffer.DoesNotExist()
    entry = _lock_entry(entry_id)
    return entry, WaitlistOffer.objects.get(pk=offer_id)


def _refuse_closed(offer: WaitlistOffer, now: datetime) -> None:
    if offer.status == WaitlistOffer.Status.ACCEPTED:
        raise OfferExpired(
            f"You have already accepted this offer: it is booking #{offer.pk} (GET /api/v1/bookings/{offer.pk}/)."
        )
    if offer.status != WaitlistOffer.Status.OPEN or now >= offer.expires_at:
        raise OfferExpired()


def waitlist_offer_accept(*, offer_id: int, client: User, answers: dict, now: datetime | None = None) -> Booking:
    """Accept an offer: its hold becomes `client`'s confirmed booking, with the intake `answers`; returns it.

    All or nothing, as `booking_create`: the answers are validated and
    assessed (400), and stored with the booking; a deep-tissue intake with a
    therapist not trained in it keeps the booking, with the
    `therapist_not_qualified` warning (the time was chosen for the client,
    not by them). Refused (the offer stays open until its expiry):
    `too_many_bookings` at the client's cap, `client_overlap` with another
    of their sessions, `slot_unavailable` when the schedule changed under
    the hold (time off or a closure added). An offer not open any more, or
    past its expiry → OfferExpired. Another client's → WaitlistOffer.DoesNotExist.

    Locks the client, the entry, the hold, then the therapist: two accepts
    of one offer run one after the other and make one booking.
    """
    clinic = clinic_get()
    now = now or timezone.now()
    cleaned = validate_answers(answers)
    with services._races_become_conflicts(), transaction.atomic():
        services._lock_client(client.pk)
        entry, offer = _lock_offer_of(client, offer_id)
        _refuse_closed(offer, now)
        hold = _lock_hold(offer)
        if hold.status != Booking.Status.HELD:  # cancelled by other means (the account's deletion)
            raise OfferExpired()
        services._check_client_may_book(client.pk, hold.starts_at, hold.ends_at, clinic=clinic, now=now)
        therapist = services._lock_therapist(hold.therapist_id)
        # Under the lock, the time is checked again (in the future, as the front desk would): time off or a
        # closure may have been added over the hold since.
        still = offers_at(
            service=hold.service,
            starts_at=hold.starts_at,
            clinic=clinic,
            location_id=hold.location_id,
            therapist_id=hold.therapist_id,
            for_staff=True,
            now=now,
            exclude_booking_id=hold.pk,
        )
        if not still:
            raise SlotUnavailable(
                "The time held for you is no longer available (the clinic's schedule changed). "
                "Please pick another time from the availability list."
            )
        intake = intake_create(client=client, answers=cleaned)
        hold.status = Booking.Status.CONFIRMED
        hold.hold_expires_at = None
        hold.intake = intake
        hold.intake_status = Booking.IntakeStatus.COMPLETE
        hold.booked_by = client
        hold.warnings = services.booking_warnings(intake=intake, therapist=therapist)
        hold.save(
            update_fields=[
                "status",
                "hold_expires_at",
                "intake",
                "intake_status",
                "booked_by",
                "warnings",
                "updated_at",
            ]
        )
        offer.status = WaitlistOffer.Status.ACCEPTED
        offer.closed_at = now
        offer.save(update_fields=["status", "closed_at"])
        _finish(entry, WaitlistEntry.Status.BOOKED, now)
        services.booking_made_known(hold)
    return hold


def waitlist_offer_decline(*, offer_id: int, client: User, now: datetime | None = None) -> WaitlistEntry:
    """Decline an offer: the hold goes, the entry waits again, and the time is offered to the next entry that fits.

    The declining entry is not offered that time again. Declining twice
    changes nothing; an offer accepted, withdrawn or past its expiry →
    OfferExpired. Another client's → WaitlistOffer.DoesNotExist. Returns the entry.
    """
    now = now or timezone.now()
    with transaction.atomic():
        _lock_account(client.pk)
        entry, offer = _lock_offer_of(client, offer_id)
        if offer.status == WaitlistOffer.Status.DECLINED:
            return entry
        _refuse_closed(offer, now)
        hold = _lock_hold(offer)
        held = hold.status == Booking.Status.HELD
        _close(offer, hold, status=WaitlistOffer.Status.DECLINED, now=now, reason=HOLD_DECLINED, by=client)
        _finish(entry, WaitlistEntry.Status.WAITING, now)
        if held:
            _match(FreedTime.of_booking(hold), now=now, skip_entry_ids=(entry.pk,))
    return entry


# --- Expiry ---------------------------------------------------------------------


def waitlist_offer_expire(*, offer_id: int, now: datetime | None = None) -> bool:
    """Expire an open offer whose hold has run out, and offer its time to the next entry; whether it did.

    The job scheduled at the expiry runs this; an offer not yet due, or
    already answered, is left as it is. The entry becomes `expired`. An
    offer whose hold was cancelled by other means (the account's deletion)
    is closed as withdrawn.
    """
    now = now or timezone.now()
    with transaction.atomic():
        entry_id = WaitlistOffer.objects.filter(pk=offer_id).values_list("entry_id", flat=True).first()
        if entry_id is None:
            return False
        entry = _lock_entry(entry_id)
        offer = WaitlistOffer.objects.get(pk=offer_id)
        if offer.status != WaitlistOffer.Status.OPEN or now < offer.expires_at:
            return False
        hold = _lock_hold(offer)
        if hold.status != Booking.Status.HELD:
            _close(offer, hold, status=WaitlistOffer.Status.WITHDRAWN, now=now, reason=HOLD_WITHDRAWN)
            _finish(entry, WaitlistEntry.Status.WITHDRAWN, now)
            return True
        _close(offer, hold, status=WaitlistOffer.Status.EXPIRED, now=now, reason=HOLD_EXPIRED)
        _finish(entry, WaitlistEntry.Status.EXPIRED, now)
        _match(FreedTime.of_booking(hold), now=now)
    return True


def waitlist_sweep(*, now: datetime | None = None, batch: int = 500) -> int:
    """The safety net, every minute: expire the open offers past their expiry (each in its own transaction).

    Also closes the entries nothing can be offered to any more: `expired`
    once their last date has passed everywhere, `withdrawn` when their
    account is gone. Returns how many offers it expired.
    """
    now = now or timezone.now()
    due = list(
        WaitlistOffer.objects.filter(status=WaitlistOffer.Status.OPEN, expires_at__lte=now)
        .order_by("expires_at")
        .values_list("pk", flat=True)[:batch]
    )
    expired = sum(waitlist_offer_expire(offer_id=offer_id, now=now) for offer_id in due)
    waiting = WaitlistEntry.objects.filter(status=WaitlistEntry.Status.WAITING)
    waiting.filter(to_date__lt=now.astimezone(_WESTMOST).date()).update(
        status=WaitlistEntry.Status.EXPIRED, closed_at=now, updated_at=now
    )
    waiting.filter(client__is_active=False).update(status=WaitlistEntry.Status.WITHDRAWN, closed_at=now, updated_at=now)
    return expired


def holds_expire_stale(
    *, therapist_id: int, location_id: int, starts_at: datetime, occupied_until: datetime, now: datetime
) -> int:
    """Expire the holds past their expiry in the way of `[starts_at, occupied_until)`; how many.

    The therapist's holds, and those in the rooms of `location_id`. A
    booking transaction calls this under the therapist's row lock before it
    places a session, so a hold the worker has not expired yet does not
    refuse it. It never waits: a hold whose entry another transaction is
    changing (an accept, say) is left to that one. What each expired hold
    frees beyond the booking is offered to the waitlist by a job, after commit.
    """
    stale = Booking.objects.filter(
        status=Booking.Status.HELD,
        hold_expires_at__lte=now,
        starts_at__lt=occupied_until,
        occupied_until__gt=starts_at,
    ).filter(Q(therapist_id=therapist_id) | Q(location_id=location_id, room__isnull=False))
    stale_ids = list(stale.values_list("pk", flat=True))
    if not stale_ids:
        return 0
    offers = {o.pk: o for o in WaitlistOffer.objects.filter(pk__in=stale_ids)}
    entries = {
        e.pk: e
        for e in WaitlistEntry.objects.filter(pk__in={o.entry_id for o in offers.values()}).select_for_update(
            skip_locked=True
        )
    }
    expired = 0
    for hold in Booking.objects.filter(pk__in=stale_ids).select_for_update(skip_locked=True, of=("self",)):
        offer = offers.get(hold.pk)
        if offer is not None:
            entry = entries.get(offer.entry_id)
            if entry is None:
                continue  # being answered right now
            offer.refresh_from_db()
            if offer.status != WaitlistOffer.Status.OPEN:
                continue
            _close(offer, hold, status=WaitlistOffer.Status.EXPIRED, now=now, reason=HOLD_EXPIRED)
            _finish(entry, WaitlistEntry.Status.EXPIRED, now)
        else:
            hold.status = Booking.Status.CANCELLED
            hold.cancelled_at = now
            hold.cancel_reason = HOLD_EXPIRED
            hold.save(update_fields=["status", "cancelled_at", "cancel_reason", "updated_at"])
        waitlist_tasks.match_later(FreedTime.of_booking(hold))
        expired += 1
    return expired
