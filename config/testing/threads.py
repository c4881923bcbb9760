"""Races for the tests: calls released together on their own threads, each with its own database connection."""

import threading

from django.db import connection

BARRIER_TIMEOUT = 60  # seconds; only ever reached when a thread is stuck


def run_together(calls, *, returned: tuple[type[BaseException], ...] = ()):
    """Run each of `calls` in its own thread, released at once; their results in order.

    An exception of a type in `returned` (e.g. the domain errors a loser of
    a race gets) is that call's result; any other fails the test, in the
    test's own thread. Each thread closes its connection when it ends.
    """
    barrier = threading.Barrier(len(calls), timeout=BARRIER_TIMEOUT)
    results = [None] * len(calls)
    errors = []

    def worker(index, call):
        try:
            barrier.wait()
            results[index] = call()
        except returned as refusal:
            results[index] = refusal
        except BaseException as exc:  # noqa: BLE001 (reported below, in the test's thread)
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=worker, args=(i, call)) for i, call in enumerate(calls)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(BARRIER_TIMEOUT * 2)
    assert not any(thread.is_alive() for thread in threads), "a thread is stuck"
    assert not errors, errors
    return results
