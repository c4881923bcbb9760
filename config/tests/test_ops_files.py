"""The deployment files at the repository root (no Docker engine here: they are parsed, not run)."""

import re
from pathlib import Path

import pytest
import yaml

BASE_DIR = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def compose() -> dict:
    return yaml.safe_load((BASE_DIR / "docker-compose.yml").read_text())


@pytest.fixture(scope="module")
def dockerfile() -> str:
    return (BASE_DIR / "Dockerfile").read_text()


def test_compose_has_postgres_with_a_named_volume_and_a_health_check(compose):
    db = compose["services"]["db"]
    assert db["image"] == "postgres:18"
    volume, _, mount = db["volumes"][0].partition(":")
    assert volume in compose["volumes"]
    assert mount == "/var/lib/postgresql"
    assert "pg_isready" in " ".join(db["healthcheck"]["test"])
    assert db["environment"]["POSTGRES_DB"] == "clinic"


def test_compose_app_is_built_here_and_configured_for_the_db(compose):
    app = compose["services"]["web"]
    assert app["build"] == "."
    env = app["environment"]
    assert env["DATABASE_URL"].startswith("postgres://clinic_app:")
    assert env["DATABASE_OWNER_URL"].startswith("postgres://clinic_owner:")
    assert env["DATABASE_URL"].endswith("@db:5432/clinic")
    assert env["DATABASE_OWNER_URL"].endswith("@db:5432/clinic")
    assert env["SECURE_SSL_REDIRECT"] == "false"
    assert env["DEBUG"] == "false"
    assert env["SECRET_KEY"]
    assert env["ALLOWED_HOSTS"]
    assert app["depends_on"]["db"] == {"condition": "service_healthy"}  # Redis too: test_shared_throttles.py


def test_compose_app_migrates_then_serves_with_gunicorn(compose):
    command = compose["services"]["web"]["command"]
    migrate = command.index("python manage.py migrate --noinput")
    gunicorn = command.index("gunicorn config.wsgi")
    assert migrate < gunicorn
    assert "&&" in command[migrate:gunicorn]
    assert "0.0.0.0:8000" in command


def test_compose_app_health_check_reaches_healthz_with_python(compose):
    app = compose["services"]["web"]
    test = app["healthcheck"]["test"]
    assert test[:3] == ["CMD", "python", "-c"]
    assert "urllib" in test[3]
    assert "http://127.0.0.1:8000/healthz/" in test[3]
    compile(test[3], "healthcheck", "exec")  # valid Python
    # The check's Host header must be allowed, or Django answers 400.
    assert "127.0.0.1" in app["environment"]["ALLOWED_HOSTS"]


def test_compose_web_reads_the_env_file_when_there_is_one(compose):
    assert compose["services"]["web"]["env_file"] == [{"path": ".env", "required": False}]


def test_compose_port_mapping(compose):
    assert "8000:8000" in compose["services"]["web"]["ports"]


def test_dockerfile_builds_a_non_root_gunicorn_image(dockerfile):
    assert re.search(r"^FROM python:3\.11-slim$", dockerfile, re.M)
    assert "pip install -r requirements.txt" in dockerfile
    assert re.search(r"SECRET_KEY=\S+ .*manage\.py collectstatic --noinput", dockerfile)
    users = re.findall(r"^USER (\S+)$", dockerfile, re.M)
    assert users
    assert users[-1] not in {"root", "0"}
    # USER comes before the command, after the build steps that need root.
    assert dockerfile.index("USER ") > dockerfile.index("collectstatic")
    cmd = re.search(r"^CMD (.+)$", dockerfile, re.M).group(1)
    assert "gunicorn" in cmd
    assert "config.wsgi" in cmd
    assert "0.0.0.0:8000" in cmd


def test_dockerignore_keeps_secrets_and_local_state_out():
    ignored = (BASE_DIR / ".dockerignore").read_text().split()
    # .pgdata: the embedded PostgreSQL's data (a developer's database) never goes into an image.
    for entry in (".env", ".venv", ".git", ".pgdata"):
        assert entry in ignored


def test_requirements_include_what_the_image_runs():
    requirements = (BASE_DIR / "requirements.txt").read_text().lower()
    for package in ("gunicorn", "psycopg", "django"):
        assert package in requirements
    assert (BASE_DIR / "config" / "wsgi.py").exists()  # the module gunicorn serves


def test_compose_database_makes_the_two_roles(compose):
    """The init script mounted into the database makes the owner and the app's login that owns nothing."""
    db = compose["services"]["db"]
    mounted = {volume.split(":")[0]: volume.split(":")[1] for volume in db["volumes"][1:]}
    assert mounted == {"./deploy/db-init.sh": "/docker-entrypoint-initdb.d/10-clinic-roles.sh"}
    script = (BASE_DIR / "deploy" / "db-init.sh").read_text()
    assert "CREATE ROLE clinic_owner LOGIN NOSUPERUSER" in script
    assert "CREATE ROLE clinic_app LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE" in script
    assert "ALTER DATABASE clinic OWNER TO clinic_owner" in script
    assert "clinic_app" not in script.split("ALTER DATABASE")[1]  # the app is granted, never made owner


def test_compose_runs_the_worker_on_the_apps_image_and_database(compose):
    worker = compose["services"]["worker"]
    web = compose["services"]["web"]
    assert worker["build"] == web["build"] == "."
    assert worker["command"] == ["python", "manage.py", "procrastinate", "worker"]
    # the application's login, the same database as the app; the app's migrate runs first
    assert worker["environment"]["DATABASE_URL"] == web["environment"]["DATABASE_URL"]
    assert "DATABASE_OWNER_URL" not in worker["environment"]
    assert worker["depends_on"]["web"] == {"condition": "service_healthy"}
    assert worker["restart"] == "unless-stopped"
    assert "healthchecks" in worker["healthcheck"]["test"]
