"""`manage.py send_reminders`: claim each booking starting soon and queue its reminder mail, once; and, once,
each pending intake's reminder 48 hours before its session (at once for one nearer).

The worker does the same every minute (`booking.tasks.send_reminders`); this runs it by hand, e.g. with other
windows. The worker sends the mails. Safe to run beside the worker, or on several hosts at once (see
`booking.reminders`).
"""

from datetime import timedelta

from django.core.management.base import BaseCommand, CommandError

from booking.reminders import INTAKE_REMINDER_WINDOW, intake_reminders_send, reminders_send


class Command(BaseCommand):
    help = (
        "Queue one reminder mail per confirmed booking starting within the window (default 24 hours), and one "
        "per booking whose intake is still pending within the intake window (default 48 hours). "
        "The worker sends them."
    )

    def add_arguments(self, parser):
        parser.add_argument("--hours", type=int, default=24, help="How far ahead to remind, in hours (default 24).")
        parser.add_argument(
            "--intake-hours",
            type=int,
            default=int(INTAKE_REMINDER_WINDOW.total_seconds() // 3600),
            help="How far ahead to remind of a pending intake, in hours (default 48).",
        )
        parser.add_argument("--batch-size", type=int, default=100, help="Bookings claimed per transaction.")

    def handle(self, *args, hours, intake_hours, batch_size, **options):
        if hours < 1 or intake_hours < 1:
            raise CommandError("--hours and --intake-hours must be at least 1.")
        if batch_size < 1:
            raise CommandError("--batch-size must be at least 1.")
        count = reminders_send(window=timedelta(hours=hours), batch_size=batch_size)
        intake_count = intake_reminders_send(window=timedelta(hours=intake_hours), batch_size=batch_size)
        self.stdout.write(
            self.style.SUCCESS(
                f"Reminders queued: {count}. Intake reminders queued: {intake_count}. The worker sends them."
            )
        )
