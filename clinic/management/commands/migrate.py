"""`manage.py migrate`, connected as the schema's owner when DATABASE_OWNER_URL is set (config/db_roles.py)."""

from django.core.management.commands.migrate import Command as DjangoMigrateCommand

from config.db_roles import as_owner


class Command(DjangoMigrateCommand):
    help = DjangoMigrateCommand.help + " Runs as DATABASE_OWNER_URL's role when set, then grants the app's role."

    def handle(self, *args, **options):
        with as_owner(options["database"]):
            super().handle(*args, **options)
