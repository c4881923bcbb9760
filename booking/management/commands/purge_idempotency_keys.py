"""Delete Idempotency-Key records older than 24 hours now (the worker does it hourly: booking.tasks)."""

from datetime import timedelta

from django.core.management.base import BaseCommand

from booking.idempotency import KEEP_FOR, idempotency_purge


class Command(BaseCommand):
    help = "Delete Idempotency-Key records older than --hours (default and minimum 24)."

    def add_arguments(self, parser):
        parser.add_argument("--hours", type=int, default=int(KEEP_FOR.total_seconds() // 3600))

    def handle(self, *args, hours, **options):
        # docs/api.md promises keys are kept at least 24 hours.
        deleted = idempotency_purge(older_than=max(timedelta(hours=hours), KEEP_FOR))
        self.stdout.write(f"Deleted {deleted} idempotency record(s).")
