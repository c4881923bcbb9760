"""A real HTTP receiver of webhooks for the tests: a server thread on 127.0.0.1 that records what it got.

    with Receiver(answers=[500, 200]) as receiver:   # the first request gets a 500, the next ones 200
        ...
        receiver.requests[0].body

Plain HTTP, or TLS with `certificate=(cert_file, key_file)`. What it records
is what came over the wire: the path, the headers (names lower-cased), the
body's bytes and, over TLS, the SNI name the client asked for.
"""

import ssl
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: bytes
    server_name: str | None = None


@dataclass
class Receiver:
    answers: list[int] = field(default_factory=list)  # then 200 for every later request
    certificate: tuple[str, str] | None = None
    location: str = ""  # sent with a 3xx answer
    requests: list[Received] = field(default_factory=list)

    def __post_init__(self):
        self.server_names: list[str | None] = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                receiver.requests.append(
                    Received(
                        path=self.path,
                        headers={name.lower(): value for name, value in self.headers.items()},
                        body=body,
                        server_name=receiver.server_names[-1] if receiver.server_names else None,
                    )
                )
                status = receiver.answers.pop(0) if receiver.answers else 200
                self.send_response(status)
                if 300 <= status < 400:
                    self.send_header("Location", receiver.location)
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"ok")

            def log_message(self, format, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        if self.certificate is not None:
            tls = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            tls.load_cert_chain(*self.certificate)
            tls.sni_callback = lambda sock, name, context: self.server_names.append(name)
            self.server.socket = tls.wrap_socket(self.server.socket, server_side=True)
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def url(self, path: str = "/hooks/clinic", host: str = "127.0.0.1") -> str:
        scheme = "https" if self.certificate else "http"
        return f"{scheme}://{host}:{self.port}{path}"

    def __enter__(self) -> "Receiver":
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(timeout=5)
