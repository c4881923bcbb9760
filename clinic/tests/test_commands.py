"""`manage.py create_account` (docs/api.md, Accounts)."""

import os
import subprocess
import sys
from io import StringIO
from pathlib import Path

import pytest
from django.conf import settings
from django.core.management import CommandError, call_command
from django.db import connection

from clinic.models import Role, Therapist, User
from clinic.tests.factories import ClientFactory
from config.embedded_db import database_url

PASSWORD = "plum-orchard-velvet-42"
BASE_DIR = Path(settings.BASE_DIR)


def create_account(*args: str) -> str:
    out = StringIO()
    call_command("create_account", *args, stdout=out)
    return out.getvalue()


@pytest.mark.django_db
class TestCreateAccount:
    @pytest.mark.parametrize(
        ("role", "is_staff", "is_superuser"),
        [("client", False, False), ("therapist", False, False), ("staff", True, False), ("admin", True, True)],
    )
    def test_creates_an_account_of_each_role(self, role, is_staff, is_superuser):
        out = create_account(
            "--role",
            role,
            "--email",
            "New@Example.com",
            "--password",
            PASSWORD,
            "--first-name",
            "Nia",
            "--last-name",
            "Park",
        )
        user = User.objects.get(email="new@example.com")
        assert (user.role, user.is_staff, user.is_superuser) == (role, is_staff, is_superuser)
        assert (user.first_name, user.last_name) == ("Nia", "Park")
        assert user.check_password(PASSWORD)
        assert f"Created {role} account new@example.com" in out
        assert Therapist.objects.filter(user=user).exists() == (role == "therapist")

    def test_a_therapist_gets_the_given_modalities(self):
        out = create_account(
            "--role",
            "therapist",
            "--email",
            "t@example.com",
            "--password",
            PASSWORD,
            "--modalities",
            "therapeutic, deep_tissue",
        )
        assert Therapist.objects.get(user__email="t@example.com").modalities == ["therapeutic", "deep_tissue"]
        assert "therapeutic, deep_tissue" in out

    def test_a_therapist_without_modalities_gives_therapeutic_massage(self):
        create_account("--role", "therapist", "--email", "t@example.com", "--password", PASSWORD)
        assert Therapist.objects.get(user__email="t@example.com").modalities == ["therapeutic"]

    @pytest.mark.parametrize("email", ["taken@example.com", "TAKEN@example.com"])
    def test_a_taken_email_fails_with_a_clear_message(self, email):
        ClientFactory(email="taken@example.com")
        with pytest.raises(CommandError, match="email: An account with this email already exists."):
            create_account("--role", "staff", "--email", email, "--password", PASSWORD)
        assert User.objects.get(email="taken@example.com").role == Role.CLIENT

    def test_an_unknown_role_fails_with_a_clear_message(self):
        with pytest.raises(CommandError, match="invalid choice: 'owner'"):
            create_account("--role", "owner", "--email", "o@example.com", "--password", PASSWORD)
        assert not User.objects.exists()

    @pytest.mark.parametrize("modalities", ["hot_stone", "therapeutic,therapeutic", ""])
    def test_a_bad_modality_fails_with_a_clear_message(self, modalities):
        with pytest.raises(CommandError, match="modalities: "):
            create_account(
                "--role", "therapist", "--email", "t@example.com", "--password", PASSWORD, "--modalities", modalities
            )
        assert not User.objects.exists()

    def test_modalities_for_another_role_fail(self):
        with pytest.raises(CommandError, match="Only therapists have modalities"):
            create_account(
                "--role", "client", "--email", "c@example.com", "--password", PASSWORD, "--modalities", "therapeutic"
            )

    def test_a_weak_password_fails_with_a_clear_message(self):
        with pytest.raises(CommandError, match="password: This password is too short"):
            create_account("--role", "client", "--email", "c@example.com", "--password", "abc")
        assert not User.objects.exists()

    @pytest.mark.parametrize("missing", ["--role", "--email", "--password"])
    def test_role_email_and_password_are_required(self, missing):
        args = {"--role": "client", "--email": "c@example.com", "--password": PASSWORD}
        del args[missing]
        with pytest.raises(CommandError, match=f"required: {missing}"):
            create_account(*[part for pair in args.items() for part in pair])


def run_manage(*args: str, database_name: str) -> subprocess.CompletedProcess:
    """`python manage.py ...` in a fresh process against the test database."""
    url = database_url(connection.settings_dict, name=database_name)
    env = {**os.environ, "DATABASE_URL": url, "SECRET_KEY": "test-only", "DEBUG": "false"}
    return subprocess.run(
        [sys.executable, "manage.py", *args], cwd=BASE_DIR, env=env, capture_output=True, text=True, timeout=120
    )


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_from_the_shell_a_taken_email_or_an_unknown_role_exit_non_zero():
    # given: a committed account the subprocess can see
    ClientFactory(email="taken@example.com")
    name = connection.settings_dict["NAME"]
    # when
    taken = run_manage(
        "create_account",
        "--role",
        "client",
        "--email",
        "taken@example.com",
        "--password",
        PASSWORD,
        database_name=name,
    )
    bad_role = run_manage(
        "create_account", "--role", "owner", "--email", "o@example.com", "--password", PASSWORD, database_name=name
    )
    created = run_manage(
        "create_account", "--role", "staff", "--email", "desk@example.com", "--password", PASSWORD, database_name=name
    )
    # then
    assert taken.returncode != 0
    assert "An account with this email already exists." in taken.stderr
    assert bad_role.returncode != 0
    assert "invalid choice: 'owner'" in bad_role.stderr
    assert created.returncode == 0, created.stderr
    assert User.objects.get(email="desk@example.com").role == Role.STAFF
