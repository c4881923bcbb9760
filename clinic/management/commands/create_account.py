"""`manage.py create_account`: create an account of any role from the shell (docs/api.md, Accounts)."""

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from clinic.models import Modality, Role
from clinic.services import account_create


class Command(BaseCommand):
    help = (
        "Create an account of any role. A therapist also gets a therapist profile (modalities default to therapeutic)."
    )

    def add_arguments(self, parser):
        parser.add_argument("--role", required=True, choices=Role.values, help="The account's role.")
        parser.add_argument("--email", required=True, help="Login email (stored lowercased).")
        parser.add_argument("--password", required=True, help="Must pass the password validators.")
        parser.add_argument("--first-name", default="", dest="first_name")
        parser.add_argument("--last-name", default="", dest="last_name")
        parser.add_argument(
            "--modalities",
            default=None,
            help=f"Therapists only: comma-separated, from {','.join(Modality.values)} (default therapeutic).",
        )

    def handle(self, *args, role, email, password, first_name, last_name, modalities, **options):
        if modalities is not None:
            modalities = [m.strip() for m in modalities.split(",") if m.strip()]
        try:
            user = account_create(
                email=email,
                password=password,
                role=role,
                first_name=first_name,
                last_name=last_name,
                modalities=modalities,
            )
        except ValidationError as exc:
            raise CommandError(_describe(exc)) from None

        therapist = getattr(user, "therapist", None) if role == Role.THERAPIST else None
        detail = f" (therapist profile {therapist.pk}: {', '.join(therapist.modalities)})" if therapist else ""
        self.stdout.write(self.style.SUCCESS(f"Created {role} account {user.email} with id {user.pk}{detail}."))


def _describe(exc: ValidationError) -> str:
    """One readable line per problem, e.g. `email: An account with this email already exists.`"""
    if hasattr(exc, "error_dict"):
        lines = [f"{field}: {message}" for field, messages in exc.message_dict.items() for message in messages]
    else:
        lines = exc.messages
    return "Account not created.\n" + "\n".join(f"  {line}" for line in lines)
