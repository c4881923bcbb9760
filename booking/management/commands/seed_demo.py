"""Demo data for a local run: two locations, services, four therapists, two weeks of shifts, logins, bookings.

Idempotent: running it again adds only what is missing (new days of shifts,
accounts, locations, rooms or services that do not exist yet); it never
duplicates bookings.

The two locations are in New York and Los Angeles: two zones three hours
apart, so a session's local day and time visibly depend on where it is
(an evening in Los Angeles is the next day in New York and in UTC), while
both share the clinic's one currency and the same daylight-saving dates.
Downtown has treatment rooms; Westside has none (a single-room practice),
so both kinds of booking (with a room, without) appear.
"""

from dataclasses import dataclass
from datetime import time, timedelta
from decimal import Decimal

from django.core.management.base import BaseCommand
from django.db import transaction
from django.test.utils import override_settings
from django.utils import timezone

from booking.availability import offered_starts
from booking.models import Booking, WorkingHours
from booking.schedule import shifts_generate
from booking.services import booking_create
from clinic.models import Location, Modality, Role, Room, Service, Therapist, User
from clinic.selectors import clinic_get
from clinic.services import account_create

DEMO_PASSWORD = "massage-demo-2026"
SHIFT_DAYS = 14

# (name, time zone, address, rooms)
LOCATIONS = [
    ("Downtown", "America/New_York", "120 Hudson Street, New York, NY 10013", ["Room 1", "Room 2", "Room 3"]),
    ("Westside", "America/Los_Angeles", "2400 Main Street, Santa Monica, CA 90405", []),
]
# (name, minutes, buffer minutes, price)
SERVICES = [
    ("Massage, 30 min", 30, 5, Decimal("55.00")),
    ("Massage, 60 min", 60, 10, Decimal("95.00")),
    ("Massage, 90 min", 90, 15, Decimal("135.00")),
]
MONDAY_TO_FRIDAY = range(5)

THERAPISTS = [
    ("maya@example.com", "Maya", "Chen", [Modality.THERAPEUTIC, Modality.DEEP_TISSUE], "Sports and deep tissue work."),
    ("omar@example.com", "Omar", "Haddad", [Modality.DEEP_TISSUE], "Chronic pain and rehabilitation."),
    ("lena@example.com", "Lena", "Novak", [Modality.THERAPEUTIC], "Relaxation and stress relief."),
    ("sam@example.com", "Sam", "Rivera", [Modality.THERAPEUTIC, Modality.DEEP_TISSUE], "Neck, shoulders and back."),
]
# Where each therapist works on which weekdays (Monday 0), 09:00 to 17:00 local: Maya and Lena at one
# location each, Omar and Sam at both on different days.
WEEKLY_HOURS = {
    "maya@example.com": {"Downtown": MONDAY_TO_FRIDAY},
    "omar@example.com": {"Downtown": (0, 1, 2), "Westside": (3, 4)},
    "lena@example.com": {"Westside": MONDAY_TO_FRIDAY},
    "sam@example.com": {"Downtown": (1, 3), "Westside": (0, 2, 4)},
}
OTHER_ACCOUNTS = [
    ("client@example.com", "Alex", "Morgan", Role.CLIENT),
    ("frontdesk@example.com", "Jordan", "Lee", Role.STAFF),
    ("admin@example.com", "Riley", "Admin", Role.ADMIN),
]


@dataclass(frozen=True)
class DemoBooking:
    therapist: str
    location: str
    minutes: int
    days_ahead: int
    answers: dict | None  # None: booked by the front desk, the intake pending

    @property
    def by_front_desk(self) -> bool:
        return self.answers is None


# Mixed lengths: a therapeutic one, a deep tissue one, one needing review, one pending its intake.
DEMO_BOOKINGS = [
    DemoBooking(
        "lena@example.com",
        "Westside",
        60,
        2,
        {
            "pressure_preference": "light",
            "primary_goal": "relaxation",
            "conditions": ["stress", "insomnia"],
            "focus_areas": ["neck", "shoulders"],
            "notes": "First visit.",
            "consent": True,
        },
    ),
    DemoBooking(
        "omar@example.com",
        "Downtown",
        90,
        3,
        {
            "pressure_preference": "firm",
            "primary_goal": "pain_relief",
            "conditions": ["chronic_pain", "lower_back_pain"],
            "focus_areas": ["lower_back", "hips"],
            "avoid_areas": ["feet"],
            "consent": True,
        },
    ),
    DemoBooking(
        "maya@example.com",
        "Downtown",
        60,
        4,
        {
            "pressure_preference": "deep",
            "primary_goal": "mobility",
            "conditions": ["sports_injury"],
            "health_screening": ["high_blood_pressure"],
            "medications": "lisinopril",
            "consent": True,
        },
    ),
    DemoBooking("sam@example.com", "Westside", 30, 5, None),
]


class Command(BaseCommand):
    help = (
        "Load demo data (idempotent): two locations with rooms or without, services, therapists, working "
        f"hours, {SHIFT_DAYS} days of shifts, logins, bookings."
    )

    def handle(self, *args, **options):
        with transaction.atomic():
            # Before the clinic row: made first, it would add a location of its own (clinic_get).
            locations = {name: self._location(name, tz, address, rooms) for name, tz, address, rooms in LOCATIONS}
            clinic = clinic_get()
            for name, minutes, buffer, price in SERVICES:
                Service.objects.get_or_create(
                    name=name, defaults={"duration_minutes": minutes, "buffer_minutes": buffer, "price": price}
                )
            for email, first, last, modalities, bio in THERAPISTS:
                user = self._account(email, first, last, Role.THERAPIST, modalities=modalities)
                Therapist.objects.filter(user=user).update(bio=bio)
                self._hours(user.therapist, {locations[name]: days for name, days in WEEKLY_HOURS[email].items()})
            for email, first, last, role in OTHER_ACCOUNTS:
                self._account(email, first, last, role)

        # The earliest local date of any location: each location's shifts start on its own date.
        today = min(timezone.localdate(timezone=location.tz) for location in locations.values())
        result = shifts_generate(start=today, end=today + timedelta(days=SHIFT_DAYS - 1))
        # The demo bookings' mails would bury the logins below.
        with override_settings(EMAIL_BACKEND="django.core.mail.backends.dummy.EmailBackend"):
            booked = self._bookings(locations)

        self.stdout.write(self.style.SUCCESS(f"Demo clinic: {clinic.name} (prices in {clinic.currency})"))
        for location in locations.values():
            rooms = ", ".join(location.rooms.values_list("name", flat=True)) or "no rooms"
            self.stdout.write(f"Location: {location.name} ({location.time_zone}; {rooms})")
        self.stdout.write(f"Shifts: {result.created} created, {result.skipped} already there")
        self.stdout.write(f"Demo bookings created: {booked}")
        self.stdout.write(f"Demo logins (password for all: {DEMO_PASSWORD}):")
        for email, *_ in OTHER_ACCOUNTS:
            self.stdout.write(f"  {User.objects.get(email=email).role:<10} {email}")
        for email, *_ in THERAPISTS:
            self.stdout.write(f"  {'therapist':<10} {email}")

    def _location(self, name: str, time_zone: str, address: str, rooms: list[str]) -> Location:
        location, _ = Location.objects.get_or_create(
            name=name, defaults={"time_zone": time_zone, "address": address, "uses_rooms": bool(rooms)}
        )
        for room in rooms:
            Room.objects.get_or_create(location=location, name=room)
        return location

    def _account(self, email, first, last, role, modalities=None) -> User:
        user = User.objects.filter(email=email).first()
        if user is None:
            user = account_create(
                email=email,
                password=DEMO_PASSWORD,
                role=role,
                first_name=first,
                last_name=last,
                modalities=modalities,
            )
        return user

    def _hours(self, therapist: Therapist, weekdays_at: dict[Location, tuple[int, ...]]) -> None:
        therapist.locations.add(*weekdays_at)
        for location, weekdays in weekdays_at.items():
            for weekday in weekdays:
                WorkingHours.objects.get_or_create(
                    therapist=therapist,
                    location=location,
                    weekday=weekday,
                    defaults={"start_time": time(9), "end_time": time(17)},
                )

    def _bookings(self, locations: dict[str, Location]) -> int:
        client = User.objects.get(email="client@example.com")
        if Booking.objects.filter(client=client).exists():
            return 0
        front_desk = User.objects.get(email="frontdesk@example.com")
        services = {service.duration_minutes: service for service in Service.objects.filter(active=True)}
        created, taken = 0, []
        now = timezone.now()
        for demo in DEMO_BOOKINGS:
            location = locations[demo.location]
            therapist = Therapist.objects.get(user__email=demo.therapist)
            service = services[demo.minutes]
            day = timezone.localdate(now, timezone=location.tz) + timedelta(days=demo.days_ahead)
            _, offers = offered_starts(
                service=service,
                from_date=day,
                to_date=day + timedelta(days=SHIFT_DAYS),
                location_id=location.pk,
                therapist_id=therapist.pk,
                for_staff=demo.by_front_desk,
                now=now,
                limit=200,
            )
            # The client's own sessions never overlap: the first offer clear of those already made.
            offer = next((o for o in offers if all(o.ends_at <= s or e <= o.starts_at for s, e in taken)), None)
            if offer is None:
                self.stderr.write(f"No free time for the demo booking with {demo.therapist} at {demo.location}.")
                continue
            booking_create(
                client=client,
                service_id=service.pk,
                starts_at=offer.starts_at,
                therapist_id=therapist.pk,
                location_id=location.pk,
                answers=demo.answers,
                booked_by=front_desk if demo.by_front_desk else client,
                now=now,
            )
            taken.append((offer.starts_at, offer.ends_at))
            created += 1
        return created
