"""Running queued jobs inside a test's own transaction.

Most tests run in a transaction that is rolled back, which no worker
process can see. `run_jobs` does a worker's part there: it takes each
`todo` job of the queue table, oldest first, runs its task with a context
naming the job, and marks it `succeeded`; a job that raises stays `todo`
and its exception reaches the test. Jobs a job defers are run too. The real worker, on committed data, is exercised in
booking/tests/test_worker.py and the mail fault tests.

    booking = book(...)
    sent = run_jobs()           # the confirmation mail goes out here
"""

import inspect
import json
from dataclasses import dataclass
from types import SimpleNamespace

from django.db import connection
from procrastinate.contrib.django import app


@dataclass(frozen=True)
class RanJob:
    id: int
    task_name: str
    args: dict


def pending_jobs(task_name: str | None = None) -> list[RanJob]:
    """The `todo` jobs, oldest first (of one task, if named)."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT id, task_name, args::text FROM procrastinate_jobs WHERE status = 'todo' "
            "AND (%s::text IS NULL OR task_name = %s) ORDER BY id",
            [task_name, task_name],
        )
        # Django's connection hands jsonb over as text (its JSONField decodes it): decoded here.
        return [RanJob(id=row[0], task_name=row[1], args=json.loads(row[2])) for row in cursor.fetchall()]


def _finish(job_id: int, status: str) -> None:
    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE procrastinate_jobs SET status = %s, attempts = attempts + 1 WHERE id = %s", [status, job_id]
        )


def run_jobs(task_name: str | None = None) -> list[RanJob]:
    """Run every `todo` job (of one task, if named) until none is left; returns those run, in order."""
    ran: list[RanJob] = []
    while jobs := pending_jobs(task_name):
        for job in jobs:
            task = app.tasks[job.task_name]
            args = dict(job.args)
            if task.pass_context:
                context = SimpleNamespace(app=app, job=SimpleNamespace(id=job.id, task_name=job.task_name))
                result = task.func(context, **args)
            else:
                result = task.func(**args)
            if inspect.isawaitable(result):
                raise TypeError(f"run_jobs runs sync tasks only; {job.task_name} is async")
            _finish(job.id, "succeeded")
            ran.append(job)
    return ran
