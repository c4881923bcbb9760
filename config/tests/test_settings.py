"""Settings from the environment: production values pass `check --deploy`; no SECRET_KEY, no start."""

import json
import os
import re
import secrets
import subprocess
import sys
from pathlib import Path

import pytest

BASE_DIR = Path(__file__).resolve().parents[2]


def env_example() -> dict[str, str]:
    """The variables of .env.example as the production host would set them."""
    values = {}
    for line in (BASE_DIR / ".env.example").read_text().splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            name, _, value = line.partition("=")
            values[name.strip()] = value.strip()
    return values


def settings_variables() -> set[str]:
    """Every environment variable config/settings.py reads through django-environ."""
    source = (BASE_DIR / "config" / "settings.py").read_text()
    return set(re.findall(r"env(?:\.\w+)?\(\s*\"([A-Z_]+)\"", source))


def production_env(**overrides: str) -> dict[str, str]:
    """A process environment with only the .env.example values (plus overrides) for the settings."""
    # Nor the test session's own switches (the browser tests set DJANGO_ALLOW_ASYNC_UNSAFE for Playwright).
    left_out = settings_variables() | {"DJANGO_SETTINGS_MODULE", "DJANGO_ALLOW_ASYNC_UNSAFE"}
    base = {k: v for k, v in os.environ.items() if k not in left_out}
    return {
        **base,
        **env_example(),
        "SECRET_KEY": secrets.token_urlsafe(50),
        "DATABASE_URL": "postgres://postgres@127.0.0.1:5432/clinic_h2",
        "ALLOWED_HOSTS": "clinic.example.com",
        "DJANGO_SETTINGS_MODULE": "config.settings",
        **overrides,
    }


def run(args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, *args], cwd=BASE_DIR, env=env, capture_output=True, text=True, timeout=180)


def test_env_example_lists_every_variable_the_settings_read_each_with_a_comment():
    lines = (BASE_DIR / ".env.example").read_text().splitlines()
    assert set(env_example()) == settings_variables()
    for index, line in enumerate(lines):
        if line and not line.startswith("#"):
            assert lines[index - 1].startswith("#"), f"no comment above {line!r}"


def test_env_example_holds_production_values():
    values = env_example()
    assert values["DEBUG"] == "false"
    assert values["SECURE_SSL_REDIRECT"] == "true"
    assert values["DATABASE_URL"].startswith("postgres://")
    assert values["SECRET_KEY"] == ""  # a real key is never committed; empty refuses to start


@pytest.mark.slow
def test_production_settings_pass_check_deploy():
    result = run(["manage.py", "check", "--deploy", "--fail-level", "WARNING"], production_env())
    assert result.returncode == 0, result.stdout + result.stderr
    assert "System check identified no issues" in result.stdout


@pytest.mark.slow
def test_without_secret_key_and_debug_off_the_settings_refuse_to_load():
    result = run(["-c", "import django; django.setup()"], production_env(SECRET_KEY=""))
    assert result.returncode != 0
    assert "ImproperlyConfigured" in result.stderr
    assert "SECRET_KEY is not set" in result.stderr


PRINT_SETTINGS = """
import json, django
django.setup()
from django.conf import settings as s
print(json.dumps({
    "debug": s.DEBUG,
    "rates": s.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"],
    "ssl_redirect": s.SECURE_SSL_REDIRECT,
    "hsts": s.SECURE_HSTS_SECONDS,
    "session_secure": s.SESSION_COOKIE_SECURE,
    "engine": s.DATABASES["default"]["ENGINE"],
    "proxy_header": getattr(s, "SECURE_PROXY_SSL_HEADER", None),
}))
"""


def load_settings(**env: str) -> dict:
    result = run(["-c", PRINT_SETTINGS], production_env(**env))
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


@pytest.mark.slow
def test_production_values_are_secure():
    loaded = load_settings()
    assert loaded["debug"] is False
    assert loaded["ssl_redirect"] is True
    assert loaded["session_secure"] is True
    assert loaded["hsts"] == 31536000
    assert loaded["engine"] == "django.db.backends.postgresql"
    assert loaded["proxy_header"] == ["HTTP_X_FORWARDED_PROTO", "https"]


@pytest.mark.slow
@pytest.mark.parametrize(
    ("env", "expected"),
    [
        ({}, {"auth": "10/min", "user": "120/min", "anon": "60/min"}),
        (
            {"THROTTLE_AUTH": "1000/min", "THROTTLE_USER": "5000/min", "THROTTLE_ANON": "3000/hour"},
            {"auth": "1000/min", "user": "5000/min", "anon": "3000/hour"},
        ),
    ],
)
def test_throttle_rates_come_from_the_environment(env, expected):
    process_env = production_env(**env)
    for name in ("THROTTLE_AUTH", "THROTTLE_USER", "THROTTLE_ANON"):
        if name not in env:
            process_env.pop(name)  # unset → the safe default
    result = run(["-c", PRINT_SETTINGS], process_env)
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["rates"] == expected
