"""Sending a mail once: the one way the worker's jobs hand a message to the mail server.

    deliver_once(f"booking_confirmed:{booking_id}:job-{job_id}", message)

The key's row is inserted and the message sent in one transaction. A second
job with the same key waits on that row (its `INSERT ... ON CONFLICT DO
NOTHING` waits until the first commits or rolls back) and then sends
nothing, or sends it if the first rolled back; a send that fails (a refusal, no answer
within `EMAIL_TIMEOUT`) raises and rolls the row back, so the job's retry
sends it. Only a worker killed between the server's "250 OK" and the commit
can send a mail twice: at least once, never lost.
"""

import logging

from django.core.mail import EmailMessage
from django.db import connection, transaction

from clinic.models import SentMail

# One statement: it waits for a concurrent insert of the same key to commit or roll back.
_CLAIM_SQL = f"INSERT INTO {SentMail._meta.db_table} (key, sent_at) VALUES (%s, now()) ON CONFLICT (key) DO NOTHING"

logger = logging.getLogger(__name__)


def deliver_once(key: str, message: EmailMessage) -> bool:
    """Send `message` unless a mail with `key` was sent; True when it was sent now. Raises if sending fails."""
    with transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute(_CLAIM_SQL, [key])
            claimed = cursor.rowcount == 1
        if not claimed:
            logger.info("Mail %s was sent before; not sent again.", key)
            return False
        message.send()
    return True
