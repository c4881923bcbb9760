"""The task queue's shared policy (procrastinate; its app is `procrastinate.contrib.django.app`).

Each app declares its jobs in its own `tasks.py` (found at start-up) and
defers them inside the transaction of the change they follow: the job row
commits with that change, or neither exists. `python manage.py procrastinate
worker` runs them; any number of workers may run against one database.
"""

from procrastinate import RetryStrategy

# A job that raises is tried again after 2, 4, 8, ... 4096 seconds: 13 attempts over about
# 2 hours 17 minutes, long enough to ride out a mail server's or a receiver's outage of an hour.
# After the last one the job stays `failed`, listed in the admin (Procrastinate → jobs).
RETRY = RetryStrategy(max_attempts=13, exponential_wait=2)

# Queues, so an operator can run a worker per kind of work (README.md, "Workers").
MAIL_QUEUE = "mail"
WEBHOOK_QUEUE = "webhooks"
DEFAULT_QUEUE = "default"
