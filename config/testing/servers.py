"""gunicorn serving config.wsgi on a free 127.0.0.1 port: the bench's server and the fault tests' app.

Stdlib only, and nothing of the bench's data: the fault tests import it
without the bench, the bench without pytest.
"""

import http.client
import socket
import subprocess
import sys
import time
from collections.abc import Mapping, Sequence
from pathlib import Path

PROJECT_DIR = Path(__file__).resolve().parents[2]


def free_port() -> int:
    """A TCP port nothing listens on at 127.0.0.1 right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Gunicorn:
    """gunicorn serving config.wsgi on 127.0.0.1:<free port>, started and stopped by this process only.

    `env` is the server's whole environment (the settings read it); more than
    one thread per worker means gthread workers. Its output goes to `log_path`,
    or nowhere.
    """

    def __init__(
        self,
        env: Mapping[str, str],
        *,
        workers: int = 1,
        threads: int = 1,
        args: Sequence[str] = (),
        log_path: str | Path | None = None,
    ):
        self.env = dict(env)
        self.port = free_port()
        self.log_path = log_path
        self.command = [sys.executable, "-m", "gunicorn", "config.wsgi", "-w", str(workers)]
        self.command += ["-b", f"127.0.0.1:{self.port}"]
        if threads > 1:
            self.command += ["-k", "gthread", "--threads", str(threads)]
        self.command += list(args)
        self.process: subprocess.Popen | None = None

    def start(self, *, within: float = 60.0) -> "Gunicorn":
        """Start it and wait until /healthz/ gets an HTTP answer, whatever its status (the database may be down).

        Raises RuntimeError, the server stopped, if it exits or does not answer in time.
        """
        self._log = open(self.log_path, "w") if self.log_path else subprocess.DEVNULL  # closed in stop()
        self.process = subprocess.Popen(
            self.command, cwd=PROJECT_DIR, env=self.env, stdout=self._log, stderr=subprocess.STDOUT
        )
        deadline = time.monotonic() + within
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                self.stop()
                raise RuntimeError(f"gunicorn exited ({self.process.returncode}); see {self._where}")
            if self.healthz() is not None:
                return self
            time.sleep(0.2)
        self.stop()
        raise RuntimeError(f"gunicorn did not answer /healthz/ within {within:.0f} s; see {self._where}")

    @property
    def _where(self) -> str:
        return str(self.log_path) if self.log_path else "its output (pass log_path to keep it)"

    def healthz(self) -> int | None:
        """The status of GET /healthz/, or None while nothing answers."""
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=5)
        try:
            connection.request("GET", "/healthz/")
            return connection.getresponse().status
        except (OSError, http.client.HTTPException):
            return None
        finally:
            connection.close()

    def stop(self) -> None:
        """SIGTERM (gunicorn's graceful stop), then SIGKILL after 30 s."""
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        if self.log_path and self.process is not None:
            self._log.close()

    def __enter__(self) -> "Gunicorn":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()
