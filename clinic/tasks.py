"""The clinic's periodic jobs: expired API tokens go, and the queue keeps itself healthy.

Periodic jobs are deferred by whichever worker is running when they fall due,
once per time across all workers (procrastinate's periodic lock); each also
takes a queueing lock, so a slow run is never doubled by the next.
"""

import logging

from procrastinate.contrib.django import app

from clinic.services import tokens_purge_expired
from config.tasks import DEFAULT_QUEUE

logger = logging.getLogger(__name__)


@app.periodic(cron="17 3 * * *")
@app.task(name="clinic.purge_expired_tokens", queue=DEFAULT_QUEUE, queueing_lock="clinic.purge_expired_tokens")
def purge_expired_tokens(timestamp: int) -> None:
    """Daily: delete expired API tokens (they no longer work; this only clears them away)."""
    logger.info("Deleted %s expired API tokens.", tokens_purge_expired())


@app.periodic(cron="* * * * * */30")
@app.task(
    name="clinic.retry_stalled_jobs", queue=DEFAULT_QUEUE, queueing_lock="clinic.retry_stalled_jobs", pass_context=True
)
async def retry_stalled_jobs(context, timestamp: int) -> None:
    """Every 30 seconds: run again each job whose worker died under it (no heartbeat for 30 seconds).

    A killed worker leaves its job `doing`; this puts it back to `todo`. Mail
    jobs are keyed (`clinic.mail.deliver_once`), so the re-run sends a mail
    that was not sent and never one that was.
    """
    manager = context.app.job_manager
    for job in await manager.get_stalled_jobs():
        logger.warning("Job %s (%s) lost its worker; running it again.", job.id, job.task_name)
        await manager.retry_job(job)


@app.periodic(cron="43 3 * * *")
@app.task(name="clinic.remove_old_jobs", queue=DEFAULT_QUEUE, queueing_lock="clinic.remove_old_jobs", pass_context=True)
async def remove_old_jobs(context, timestamp: int) -> None:
    """Daily: delete succeeded jobs finished more than 14 days ago. Failed jobs stay for an operator to see."""
    await context.app.job_manager.delete_old_jobs(nb_hours=14 * 24, include_failed=False)
