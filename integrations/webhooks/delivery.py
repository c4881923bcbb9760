"""One HTTP request of a webhook delivery: to the vetted address, no redirects, short timeouts.

The connection goes to an address `urlguard.vet` resolved and checked;
nothing resolves the name again. The name still goes where the receiver
needs it: in the `Host` header and, over TLS, as the SNI name the
certificate is checked against. Redirects are not followed (a 3xx is a
failed attempt, like any answer but 2xx); each step may take
`CONNECT_TIMEOUT` or `READ_TIMEOUT` seconds and the whole request at most
`TOTAL_TIMEOUT`, so a receiver that answers a byte at a time cannot hold a
worker. Only the standard library: `http.client`, `socket`, `ssl`.
"""

import http.client
import socket
import ssl
import threading

from integrations.webhooks.urlguard import IPAddress, Target

CONNECT_TIMEOUT = 5
READ_TIMEOUT = 5
TOTAL_TIMEOUT = 15
USER_AGENT = "MassageClinic-Webhooks/2.0"


class DeliveryTimeout(TimeoutError):
    """The whole request took longer than TOTAL_TIMEOUT seconds."""


class _PinnedHTTPConnection(http.client.HTTPConnection):
    """Plain HTTP to `address`, asking for `host` (only with WEBHOOK_ALLOW_PRIVATE)."""

    def __init__(self, host: str, port: int, *, address: IPAddress):
        super().__init__(host, port, timeout=READ_TIMEOUT)
        self.address = address

    def connect(self) -> None:
        self.sock = socket.create_connection((str(self.address), self.port), timeout=CONNECT_TIMEOUT)
        self.sock.settimeout(READ_TIMEOUT)


class _PinnedHTTPSConnection(http.client.HTTPSConnection):
    """TLS to `address`, with `host` as the SNI name and the name the certificate must carry."""

    def __init__(self, host: str, port: int, *, address: IPAddress):
        # The system's trust store, read for each delivery (so SSL_CERT_FILE is honoured); hostname checked.
        self.tls = ssl.create_default_context()
        super().__init__(host, port, timeout=READ_TIMEOUT, context=self.tls)
        self.address = address

    def connect(self) -> None:
        sock = socket.create_connection((str(self.address), self.port), timeout=CONNECT_TIMEOUT)
        sock.settimeout(READ_TIMEOUT)
        try:
            self.sock = self.tls.wrap_socket(sock, server_hostname=self.host)
        except BaseException:
            sock.close()
            raise


def _abort(connection: http.client.HTTPConnection, expired: threading.Event) -> None:
    expired.set()
    if connection.sock is not None:
        try:
            connection.sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass


def post(target: Target, body: bytes, headers: dict[str, str]) -> int:
    """POST `body` to `target` and return the answer's status code.

    Tries the vetted addresses in order until one accepts the connection;
    raises `OSError` (refused, unreachable, timed out, TLS) or
    `http.client.HTTPException` (not an HTTP answer) when no answer comes.
    """
    connection_class = _PinnedHTTPSConnection if target.scheme == "https" else _PinnedHTTPConnection
    headers = {"User-Agent": USER_AGENT, "Content-Type": "application/json", **headers}
    error: OSError | None = None
    for address in target.addresses:
        connection = connection_class(target.host, target.port, address=address)
        expired = threading.Event()
        watchdog = threading.Timer(TOTAL_TIMEOUT, _abort, args=(connection, expired))
        watchdog.daemon = True
        watchdog.start()
        try:
            try:
                connection.connect()
            except OSError as exc:
                error = exc
                continue
            connection.request("POST", target.path, body=body, headers=headers)
            return connection.getresponse().status
        except (OSError, http.client.HTTPException) as exc:
            if expired.is_set():
                raise DeliveryTimeout(f"No complete answer within {TOTAL_TIMEOUT} seconds.") from exc
            raise
        finally:
            watchdog.cancel()
            connection.close()
    assert error is not None
    raise error


def describe(exc: BaseException) -> str:
    """A failed attempt's reason, for the front desk (the delivery log): one sentence, no stack trace."""
    if isinstance(exc, DeliveryTimeout):
        return str(exc)
    if isinstance(exc, ssl.SSLCertVerificationError):
        return f"The receiver's TLS certificate was refused: {exc.verify_message}."
    if isinstance(exc, ssl.SSLError):
        return f"The TLS handshake failed ({exc.reason or exc})."
    if isinstance(exc, TimeoutError):
        return f"No answer within {READ_TIMEOUT} seconds."
    if isinstance(exc, ConnectionRefusedError):
        return "The receiver refused the connection."
    if isinstance(exc, ConnectionError | http.client.HTTPException):
        return "The receiver closed the connection without a valid HTTP answer."
    if isinstance(exc, OSError):
        return f"The receiver could not be reached ({exc.strerror or exc})."
    return str(exc)
