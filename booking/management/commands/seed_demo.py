"""Demo data for a local run: a clinic, four therapists, two weeks of slots, demo logins and bookings.

Idempotent: running it again adds only what is missing (new days of slots,
accounts that do not exist yet); it never duplicates bookings.
"""

from datetime import time, timedelta

from django.core.management.base import BaseCommand
from django.db import transaction
from django.test.utils import override_settings
from django.utils import timezone

from booking.models import Booking, Slot, WorkingHours
from booking.schedule import slots_generate
from booking.services import booking_create
from clinic.models import Modality, Role, Therapist, User
from clinic.selectors import clinic_get
from clinic.services import account_create

DEMO_PASSWORD = "massage-demo-2026"

THERAPISTS = [
    ("maya@example.com", "Maya", "Chen", [Modality.THERAPEUTIC, Modality.DEEP_TISSUE], "Sports and deep tissue work."),
    ("omar@example.com", "Omar", "Haddad", [Modality.DEEP_TISSUE], "Chronic pain and rehabilitation."),
    ("lena@example.com", "Lena", "Novak", [Modality.THERAPEUTIC], "Relaxation and stress relief."),
    ("sam@example.com", "Sam", "Rivera", [Modality.THERAPEUTIC, Modality.DEEP_TISSUE], "Neck, shoulders and back."),
]
OTHER_ACCOUNTS = [
    ("client@example.com", "Alex", "Morgan", Role.CLIENT),
    ("frontdesk@example.com", "Jordan", "Lee", Role.STAFF),
    ("admin@example.com", "Riley", "Admin", Role.ADMIN),
]

# (therapist email, days ahead, answers): one therapeutic, one deep tissue, one needing review.
DEMO_BOOKINGS = [
    (
        "lena@example.com",
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
    (
        "omar@example.com",
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
    (
        "maya@example.com",
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
]


class Command(BaseCommand):
    help = "Load demo data (idempotent): clinic, therapists, working hours, 14 days of slots, logins, bookings."

    def handle(self, *args, **options):
        clinic = clinic_get()
        with transaction.atomic():
            for email, first, last, modalities, bio in THERAPISTS:
                user = self._account(email, first, last, Role.THERAPIST, modalities=modalities)
                Therapist.objects.filter(user=user).update(bio=bio)
                therapist = user.therapist
                for weekday in range(5):
                    WorkingHours.objects.get_or_create(
                        therapist=therapist,
                        weekday=weekday,
                        defaults={"start_time": time(9), "end_time": time(17), "slot_minutes": 60, "buffer_minutes": 0},
                    )
            for email, first, last, role in OTHER_ACCOUNTS:
                self._account(email, first, last, role)

        today = timezone.localdate(timezone=clinic.tz)
        result = slots_generate(start=today, end=today + timedelta(days=13))
        # The demo bookings' confirmation mails would bury the logins below.
        with override_settings(EMAIL_BACKEND="django.core.mail.backends.dummy.EmailBackend"):
            booked = self._bookings(clinic)

        self.stdout.write(self.style.SUCCESS(f"Demo clinic: {clinic.name} ({clinic.time_zone})"))
        self.stdout.write(f"Slots: {result.created} created, {result.skipped} already there")
        self.stdout.write(f"Demo bookings created: {booked}")
        self.stdout.write(f"Demo logins (password for all: {DEMO_PASSWORD}):")
        for email, *_ in OTHER_ACCOUNTS:
            self.stdout.write(f"  {User.objects.get(email=email).role:<10} {email}")
        for email, *_ in THERAPISTS:
            self.stdout.write(f"  {'therapist':<10} {email}")

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

    def _bookings(self, clinic) -> int:
        client = User.objects.get(email="client@example.com")
        if Booking.objects.filter(client=client).exists():
            return 0
        created, taken_starts = 0, []
        now = timezone.now()
        for therapist_email, days_ahead, answers in DEMO_BOOKINGS:
            day = timezone.localdate(timezone=clinic.tz) + timedelta(days=days_ahead)
            slot = (
                Slot.objects.filter(
                    therapist__user__email=therapist_email,
                    status=Slot.Status.OPEN,
                    starts_at__date__gte=day,
                    starts_at__gt=now + timedelta(days=1),
                )
                .exclude(bookings__status=Booking.Status.CONFIRMED)
                .exclude(starts_at__in=taken_starts)  # demo slots are all on the hour: same start, same time
                .order_by("starts_at")
                .first()
            )
            if slot is not None:
                booking_create(client=client, slot_id=slot.pk, answers=answers)
                taken_starts.append(slot.starts_at)
                created += 1
        return created
