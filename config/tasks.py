"""The task queue's shared policy (procrastinate; its app is `procrastinate.contrib.django.app`).

Each app declares its jobs in its own `tasks.py` (found at start-up) and
defers them inside the transaction of the change they follow: the job row
commits with that change, or neither exists. `python manage.py procrastinate
worker` runs them; any number of workers may run against one database.
"""

from datetime import datetime

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from procrastinate import RetryStrategy
from procrastinate.contrib.django.django_connector import DjangoConnector
from procrastinate.jobs import JobDeferrer
from procrastinate.manager import JobManager
from procrastinate.tasks import Task

# A job that raises is tried again after 2, 4, 8, ... 4096 seconds: 13 attempts over about
# 2 hours 17 minutes, long enough to ride out a mail server's or a receiver's outage of an hour.
# After the last one the job stays `failed`, listed in the admin (Procrastinate → jobs).
# Both numbers are settings (TASK_RETRY_MAX_ATTEMPTS, TASK_RETRY_EXPONENTIAL_WAIT) so the fault
# tests can run the whole policy in seconds. procrastinate's `max_attempts` counts the retries
# after the first run, hence the 1 less.
if settings.TASK_RETRY_MAX_ATTEMPTS < 2:
    # procrastinate reads max_attempts=0 as "retry for ever".
    raise ImproperlyConfigured("TASK_RETRY_MAX_ATTEMPTS must be 2 or more: a job runs once and is retried.")
RETRY = RetryStrategy(
    max_attempts=settings.TASK_RETRY_MAX_ATTEMPTS - 1, exponential_wait=settings.TASK_RETRY_EXPONENTIAL_WAIT
)

# Queues, so an operator can run a worker per kind of work (README.md, "Workers").
MAIL_QUEUE = "mail"
WEBHOOK_QUEUE = "webhooks"
DEFAULT_QUEUE = "default"

# Deferring always goes through Django's own connection, never the worker's pool: inside the
# worker a job that defers another (the reminders job its mails, a waitlist match its offer's
# mail and webhooks) must have them commit with its own transaction, as a request's do. The
# worker runs with its app's connector replaced by its own pool (`manage.py procrastinate worker`),
# which would commit each deferred job on its own, before or without the change it follows.
_in_transaction = JobManager(DjangoConnector())


def defer(task: Task, /, *, schedule_at: datetime | None = None, **task_kwargs) -> int:
    """Defer a job of `task` in the caller's transaction (Django's connection); returns the job's id.

    Use it instead of `task.defer(...)`: the same in a request, and right inside the worker too.
    """
    job = task.configure(schedule_at=schedule_at).job
    return JobDeferrer(job_manager=_in_transaction, job=job).defer(**task_kwargs)
