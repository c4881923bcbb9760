"""The environment the benchmark runs the app in, shared by the builder, the
in-process measurements and the gunicorn server it starts.

The bench database comes from `BENCH_DATABASE_URL` only, never from
`DATABASE_URL`: a developer's shell pointing DATABASE_URL at the real
database must not get that database dropped. Its name must contain "bench".
Unset, it is `clinic_bench` on the project's embedded PostgreSQL (started
if needed), like `make run` and `make test`.
"""

import os
from urllib.parse import urlsplit

DEFAULT_DATABASE_NAME = "clinic_bench"
# Each process's connections carry a name, so the database's CPU is counted per process
# (bench/metering.py): the server's, the worker's, and this driver's own (not counted).
APP_CONNECTIONS = "bench_app"
WORKER_CONNECTIONS = "bench_worker"
DRIVER_CONNECTIONS = "bench_driver"
RESULTS_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "results")
PROJECT_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def database_url() -> str:
    url = os.environ.get("BENCH_DATABASE_URL")
    if not url:
        from config import embedded_db

        url = embedded_db.database_url(embedded_db.database_settings(), name=DEFAULT_DATABASE_NAME)
    name = urlsplit(url).path.lstrip("/")
    if "bench" not in name:
        raise SystemExit(f"Refusing to use database {name!r}: the bench database's name must contain 'bench'.")
    return url


def named(url: str, application_name: str) -> str:
    """The URL with `application_name` set (django-environ passes it on to psycopg, and so to procrastinate)."""
    return f"{url}{'&' if '?' in url else '?'}application_name={application_name}"


def server_env(application_name: str = APP_CONNECTIONS) -> dict[str, str]:
    """Settings as production runs them (DEBUG off, pooled connections), with the
    throttles out of the way. The server sends no mail (the worker does)."""
    return {
        "DJANGO_SETTINGS_MODULE": "config.settings",
        "DATABASE_URL": named(database_url(), application_name),
        "DEBUG": "false",
        "SECRET_KEY": "bench",
        "ALLOWED_HOSTS": "127.0.0.1,localhost,testserver",
        "SECURE_SSL_REDIRECT": "false",
        # Per second, not per minute: DRF's throttles keep every request's
        # timestamp of the window in the cache and pickle the list on each
        # request, so a per-minute window at bench rates costs milliseconds a
        # request (see README, Findings). A one-second window keeps the
        # throttles on the path at a cost close to production's.
        "THROTTLE_AUTH": "1000000/s",
        "THROTTLE_USER": "1000000/s",
        "THROTTLE_ANON": "1000000/s",
        "CONN_MAX_AGE": "60",
        # Requests only defer mail jobs; nothing is sent from the server.
        "EMAIL_URL": "dummymail://",
        "LOG_LEVEL": "WARNING",
    }


def worker_env() -> dict[str, str]:
    """The worker's settings (`manage.py procrastinate worker`, as docker-compose.yml runs it): mails
    built in full (MIME, the .ics) by Django's locmem backend, kept in the worker's memory, sent nowhere:
    the console backend would time the terminal, SMTP a server we don't run."""
    return {**server_env(WORKER_CONNECTIONS), "EMAIL_URL": "memorymail://"}


def setup_django() -> None:
    """Configure Django in this process against the bench database."""
    os.environ.update(server_env(DRIVER_CONNECTIONS))
    import sys

    if PROJECT_DIR not in sys.path:
        sys.path.insert(0, PROJECT_DIR)
    import django

    django.setup()


def ensure_results_dir() -> str:
    os.makedirs(RESULTS_DIR, exist_ok=True)
    return RESULTS_DIR
