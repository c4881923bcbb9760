"""Delete expired API tokens now (the worker does it daily: clinic.tasks.purge_expired_tokens)."""

from django.core.management.base import BaseCommand

from clinic.services import tokens_purge_expired


class Command(BaseCommand):
    help = "Delete expired API tokens (the worker also does it daily)."

    def handle(self, *args, **options):
        self.stdout.write(f"Deleted {tokens_purge_expired()} expired token(s).")
