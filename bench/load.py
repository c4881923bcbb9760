"""The load engine: HTTP clients on threads and latency statistics (the server's CPU and memory: metering.py).

Stdlib only (http.client, threading): each worker thread owns one
HTTPConnection, kept alive when the server allows it (gunicorn's sync
workers close after every answer, and http.client reconnects by itself;
its gthread workers keep a connection 2 s, so one idle longer is closed
here and opened anew rather than written to after the server closed it).
"""

import http.client
import itertools
import json
import math
import threading
import time
from collections import Counter
from dataclasses import dataclass, field

# Below gunicorn's --keep-alive (2 s): a connection idle longer may have been closed by the server.
KEEP_ALIVE_S = 1.5


class Client:
    """One connection to the server, as one user (a token) or anonymous."""

    def __init__(self, port: int, token: str | None = None, timeout: float = 30.0):
        self.port = port
        self.timeout = timeout
        self.last_used = 0.0
        self.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
        self.headers = {"Accept": "application/json"}
        if token:
            self.headers["Authorization"] = f"Token {token}"

    def request(self, method: str, path: str, body=None) -> tuple[int, float, bytes]:
        """(status, seconds, body); status 0 when the connection failed."""
        headers = self.headers
        data = None
        if body is not None:
            data = json.dumps(body).encode()
            headers = {**headers, "Content-Type": "application/json"}
        started = time.perf_counter()
        if started - self.last_used > KEEP_ALIVE_S:
            self.conn.close()  # http.client connects again
        try:
            self.conn.request(method, path, body=data, headers=headers)
            response = self.conn.getresponse()
            payload = response.read()
            status = response.status
        except (http.client.HTTPException, OSError) as exc:
            self.conn.close()
            status, payload = 0, repr(exc).encode()
        self.last_used = time.perf_counter()
        return status, self.last_used - started, payload

    def close(self) -> None:
        self.conn.close()


def percentile(sorted_values: list[float], q: float) -> float:
    """Nearest-rank percentile of an already sorted list (q in 0..100)."""
    if not sorted_values:
        return float("nan")
    rank = max(1, min(len(sorted_values), math.ceil(q / 100 * len(sorted_values))))
    return sorted_values[rank - 1]


@dataclass
class Result:
    name: str
    concurrency: int
    requests: int = 0
    seconds: float = 0.0
    latencies: list[float] = field(default_factory=list)
    statuses: Counter = field(default_factory=Counter)
    errors: int = 0
    error_samples: list[str] = field(default_factory=list)
    started_at: float = 0.0
    ended_at: float = 0.0
    app_cpu_s: float = 0.0  # gunicorn master + workers
    db_cpu_s: float = 0.0  # the server's PostgreSQL backends
    worker_cpu_s: float = 0.0  # the procrastinate worker meanwhile (the jobs requests deferred, its polling)
    worker_db_cpu_s: float = 0.0  # the worker's PostgreSQL backends
    client_cpu_s: float = 0.0  # the load driver itself

    @property
    def rps(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0

    def p(self, q: float) -> float:
        return percentile(sorted(self.latencies), q) * 1000

    def summary(self) -> dict:
        return {
            "name": self.name,
            "concurrency": self.concurrency,
            "requests": self.requests,
            "seconds": round(self.seconds, 3),
            "rps": round(self.rps, 1),
            "p50_ms": round(self.p(50), 2),
            "p95_ms": round(self.p(95), 2),
            "p99_ms": round(self.p(99), 2),
            "errors": self.errors,
            "app_cpu_ms": round(self.app_cpu_s * 1000 / self.requests, 2) if self.requests else 0,
            "db_cpu_ms": round(self.db_cpu_s * 1000 / self.requests, 2) if self.requests else 0,
            "worker_cpu_ms": round(self.worker_cpu_s * 1000 / self.requests, 2) if self.requests else 0,
            "worker_db_cpu_ms": round(self.worker_db_cpu_s * 1000 / self.requests, 2) if self.requests else 0,
            "client_cpu_ms": round(self.client_cpu_s * 1000 / self.requests, 2) if self.requests else 0,
            "statuses": dict(self.statuses),
            "error_samples": self.error_samples,
        }


def drive(
    name: str,
    *,
    clients: list[Client],
    next_request,
    ok_statuses: set[int],
    max_requests: int,
    max_seconds: float,
) -> Result:
    """Run len(clients) workers until `max_requests` are sent or `max_seconds` pass.

    `next_request(worker, n)` gives the worker's n-th request `(method, path,
    body)`, or None when that worker has nothing left to send. An answer
    whose status is not in `ok_statuses` counts as an error.
    """
    result = Result(name=name, concurrency=len(clients))
    counter = itertools.count()
    lock = threading.Lock()
    start = threading.Barrier(len(clients) + 1)
    deadline = [0.0]

    def work(worker: int) -> None:
        client = clients[worker]
        latencies, statuses, samples, errors = [], Counter(), [], 0
        start.wait()
        n = 0
        while time.perf_counter() < deadline[0] and next(counter) < max_requests:
            req = next_request(worker, n)
            if req is None:
                break
            n += 1
            status, seconds, payload = client.request(*req)
            latencies.append(seconds)
            statuses[status] += 1
            if status not in ok_statuses:
                errors += 1
                if len(samples) < 3:
                    samples.append(f"{status} {req[0]} {req[1]}: {payload[:300]!r}")
        with lock:
            result.latencies.extend(latencies)
            result.statuses.update(statuses)
            result.errors += errors
            result.error_samples.extend(samples[: max(0, 5 - len(result.error_samples))])

    threads = [threading.Thread(target=work, args=(w,), daemon=True) for w in range(len(clients))]
    for t in threads:
        t.start()
    result.started_at = time.perf_counter()
    deadline[0] = result.started_at + max_seconds
    start.wait()
    for t in threads:
        t.join()
    result.ended_at = time.perf_counter()
    result.seconds = result.ended_at - result.started_at
    result.requests = len(result.latencies)
    return result
