"""Real SMTP servers on 127.0.0.1 for the mail fault tests: one that refuses, holds or takes mail, one that hangs.

`SmtpServer` is aiosmtpd (a development dependency) with a handler the test
steers: it refuses the first `refuse` messages with 451 (a temporary
failure, as a server under load or greylisting answers), then holds the next
`hold` ones inside DATA until `release()` (the client waits for the answer,
as on a slow server), then takes every message. A client that goes away
while its message is held (a worker killed mid-job) delivers nothing:
aiosmtpd cancels the handler on a lost connection, as a real server drops a
message whose DATA it never acknowledged.

`SilentSmtpServer` accepts TCP connections and never says a word, not even
the greeting: a client waits for its timeout (`EMAIL_TIMEOUT`).

    with SmtpServer(refuse=3) as server:
        ...  # point EMAIL_URL at server.url
        server.wait_until(lambda: len(server.delivered) == 2)
"""

import asyncio
import email
import email.policy
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from email.message import EmailMessage

from aiosmtpd.controller import Controller

from config.testing.servers import free_port

REFUSAL = "451 4.3.0 Try again later"


@dataclass(frozen=True)
class Delivered:
    """One message the server took: the envelope and the parsed message."""

    mail_from: str
    rcpt_tos: tuple[str, ...]
    message: EmailMessage

    @property
    def text(self) -> str:
        """The plain-text body."""
        return self.message.get_body(preferencelist=("plain",)).get_content()


class _Handler:
    def __init__(self, server: "SmtpServer"):
        self.server = server

    async def handle_DATA(self, smtp, session, envelope) -> str:
        server = self.server
        with server.lock:
            server.arrived += 1
            number = server.arrived
        if number <= server.refuse:
            with server.lock:
                server.refused += 1
            return REFUSAL
        if number <= server.refuse + server.hold:
            with server.lock:
                server.held += 1
            # Cancelled here if the client's connection is lost: the message is then not delivered.
            while not server.released.is_set():
                await asyncio.sleep(0.05)
        message = email.message_from_bytes(envelope.original_content, policy=email.policy.default)
        with server.lock:
            server.delivered.append(Delivered(envelope.mail_from, tuple(envelope.rcpt_tos), message))
        return "250 2.0.0 OK: queued"


class SmtpServer:
    """aiosmtpd on 127.0.0.1:`port` (a free one unless given), steered by `refuse` and `hold` (see the module).

    `arrived` counts the messages whose DATA came in, `refused` and `held`
    those answered 451 or held, `delivered` lists those taken, in order.
    """

    def __init__(self, *, port: int | None = None, refuse: int = 0, hold: int = 0):
        self.port = port or free_port()
        self.refuse = refuse
        self.hold = hold
        self.lock = threading.Lock()
        self.released = threading.Event()
        self.arrived = 0
        self.refused = 0
        self.held = 0
        self.delivered: list[Delivered] = []
        self._controller = Controller(_Handler(self), hostname="127.0.0.1", port=self.port)

    @property
    def url(self) -> str:
        """EMAIL_URL for this server (plain SMTP, no login)."""
        return f"smtp://127.0.0.1:{self.port}"

    def release(self) -> None:
        """Let the held messages (and every later one) through."""
        self.released.set()

    def wait_until(self, condition: Callable[[], bool], *, within: float = 30.0, what: str = "") -> None:
        """Wait until `condition()` holds; AssertionError (saying `what` and the server's counts) after `within` s."""
        _wait_until(condition, within=within, what=f"{what} ({self})")

    def start(self) -> "SmtpServer":
        self._controller.start()
        return self

    def stop(self) -> None:
        self.release()  # a held handler ends rather than keep the loop from stopping
        self._controller.stop()

    def __enter__(self) -> "SmtpServer":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    def __repr__(self) -> str:
        return (
            f"SmtpServer(port={self.port}, arrived={self.arrived}, refused={self.refused}, "
            f"held={self.held}, delivered={len(self.delivered)})"
        )


class SilentSmtpServer:
    """Accepts connections on 127.0.0.1:`port` (a free one unless given) and never answers; `connections` counts them.

    The connections stay open until `stop()`, so a client waits for its own timeout.
    """

    def __init__(self, *, port: int | None = None):
        self.port = port or free_port()
        self.connections = 0
        self._open: list[socket.socket] = []
        self._listener = socket.socket()
        self._listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._thread = threading.Thread(target=self._accept, name=f"silent-smtp-{self.port}", daemon=True)
        self._stopped = threading.Event()

    @property
    def url(self) -> str:
        return f"smtp://127.0.0.1:{self.port}"

    def _accept(self) -> None:
        while not self._stopped.is_set():
            try:
                connection, _ = self._listener.accept()
            except OSError:
                return  # closed by stop()
            self._open.append(connection)
            self.connections += 1

    def wait_until(self, condition: Callable[[], bool], *, within: float = 30.0, what: str = "") -> None:
        _wait_until(condition, within=within, what=f"{what} (silent server, {self.connections} connections)")

    def start(self) -> "SilentSmtpServer":
        self._listener.bind(("127.0.0.1", self.port))
        self._listener.listen(64)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stopped.set()
        # shutdown() wakes the thread blocked in accept(); close() alone may not.
        try:
            self._listener.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        self._listener.close()
        self._thread.join(5)
        for connection in self._open:
            connection.close()

    def __enter__(self) -> "SilentSmtpServer":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()


def _wait_until(condition: Callable[[], bool], *, within: float, what: str) -> None:
    deadline = time.monotonic() + within
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"not within {within:.0f} s: {what}")
        time.sleep(0.1)
