"""Delete expired API tokens (run it daily, e.g. from cron)."""

from django.core.management.base import BaseCommand
from django.utils import timezone
from knox.models import AuthToken


class Command(BaseCommand):
    help = "Delete expired API tokens."

    def handle(self, *args, **options):
        deleted, _ = AuthToken.objects.filter(expiry__lt=timezone.now()).delete()
        self.stdout.write(f"Deleted {deleted} expired token(s).")
