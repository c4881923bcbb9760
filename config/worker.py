"""The worker, kept running through a database restart.

procrastinate's worker stops when one of its side tasks (the LISTEN
connection, the heartbeat, the periodic deferrer) loses the database: it
exits as if asked to, and nothing would start it again. `run_supervised`
runs it again after such a stop, waiting 1, 2, 4 ... 30 seconds between
tries, until SIGINT or SIGTERM asks it to stop; then it stops the way
procrastinate stops (running jobs finish first). The jobs are rows, so a
restart loses nothing: a job cut off mid-way is run again by the stalled-job
retry (clinic/tasks.py).

`manage.py procrastinate worker` runs the worker this way (config's
`procrastinate` command; every other subcommand is procrastinate's own).
"""

import asyncio
import logging
import signal
import time
from typing import Any

import procrastinate

logger = logging.getLogger(__name__)

FIRST_DELAY = 1.0
MAX_DELAY = 30.0
# A worker that ran this long before stopping was healthy: the next restart waits FIRST_DELAY again.
HEALTHY_RUN = 60.0


async def run_supervised(app: procrastinate.App, **worker_options: Any) -> None:
    """Run `app`'s worker until SIGINT/SIGTERM, starting it again whenever it stops on its own."""
    stopping = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stopping.set)
    worker_options["install_signal_handlers"] = False
    delay = FIRST_DELAY
    try:
        while not stopping.is_set():
            started = time.monotonic()
            run = asyncio.create_task(app.run_worker_async(**worker_options))
            stop = asyncio.create_task(stopping.wait())
            await asyncio.wait({run, stop}, return_when=asyncio.FIRST_COMPLETED)
            if stopping.is_set():
                # procrastinate's own graceful stop: cancelling the run stops fetching and waits for running jobs.
                run.cancel()
                await asyncio.gather(run, return_exceptions=True)
                break
            stop.cancel()
            error = None if run.cancelled() else run.exception()
            if time.monotonic() - started > HEALTHY_RUN:
                delay = FIRST_DELAY
            logger.error(
                "The worker stopped on its own (%s); starting it again in %.0f s.",
                repr(error) if error else "it lost the database",
                delay,
            )
            try:
                await asyncio.wait_for(stopping.wait(), timeout=delay)
            except TimeoutError:
                pass
            delay = min(delay * 2, MAX_DELAY)
    finally:
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.remove_signal_handler(sig)
