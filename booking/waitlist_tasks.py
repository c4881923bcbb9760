"""The waitlist's jobs: an offer's expiry at its time, matching after a change of the schedule, the sweep.

Deferred in the transaction of the change they follow (booking.waitlist),
so a job exists if and only if that change committed. Each is safe to run
twice or late: an offer already answered is left alone, and matching offers
only what is still free then.
"""

import logging
from datetime import datetime

from procrastinate.contrib.django import app

from booking import waitlist
from config.tasks import DEFAULT_QUEUE, RETRY, defer

logger = logging.getLogger(__name__)


@app.task(name="booking.waitlist_expire_offer", queue=DEFAULT_QUEUE, retry=RETRY)
def expire_offer(*, offer_id: int) -> None:
    """At the offer's expiry: expire it if still open, and offer its time to the next entry."""
    if not waitlist.waitlist_offer_expire(offer_id=offer_id):
        logger.info("Waitlist offer %s: nothing to expire (answered, or not due yet: the sweep will).", offer_id)


@app.task(name="booking.waitlist_match", queue=DEFAULT_QUEUE, retry=RETRY)
def match(*, starts_at: str, ends_at: str, therapist_id: int | None = None, location_id: int | None = None) -> None:
    """Offer freed time to the waitlist in one transaction (after shift generation and other schedule changes)."""
    offers = waitlist.waitlist_offer_freed(
        starts_at=datetime.fromisoformat(starts_at),
        ends_at=datetime.fromisoformat(ends_at),
        therapist_id=therapist_id,
        location_id=location_id,
    )
    logger.info("Waitlist: %s offers made for %s to %s.", len(offers), starts_at, ends_at)


@app.periodic(cron="* * * * *")
@app.task(name="booking.waitlist_sweep", queue=DEFAULT_QUEUE, queueing_lock="booking.waitlist_sweep")
def sweep(timestamp: int) -> None:
    """Every minute: expire the offers past their expiry that their own job missed (the worker was down)."""
    expired = waitlist.waitlist_sweep()
    if expired:
        logger.info("Waitlist sweep: expired %s offers.", expired)


# Both defer through Django's connection (config.tasks.defer): the expiry job of an offer made inside
# the worker (an expiry's or a match's) commits with that offer, as in a request.


def expire_at(offer) -> None:
    """Schedule the offer's expiry job at its `expires_at`, in the current transaction."""
    defer(expire_offer, schedule_at=offer.expires_at, offer_id=offer.pk)


def match_later(freed) -> None:
    """Defer one matching job for `freed` (a booking.waitlist.FreedTime), in the current transaction."""
    defer(match, **freed.as_job_args())
