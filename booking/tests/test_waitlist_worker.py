"""The waitlist with the real worker (`manage.py procrastinate worker`), on committed data and the wall clock.

An offer's expiry job runs at the hold's end, not before; run in the
worker, it expires the offer and offers the time to the next waiting
client, whose mail and own expiry job are deferred in that job's
transaction (config.tasks.defer) and then run by the worker too.
"""

from datetime import timedelta

import pytest
from django.db import connection
from django.utils import timezone

from booking import services, waitlist
from booking.models import Booking, WaitlistEntry, WaitlistOffer
from booking.tests.factories import ShiftFactory
from booking.tests.helpers import booked, hour_service
from clinic.tests.factories import ClientFactory, LocationFactory, TherapistFactory, clinic_configure
from config.testing.mail import SmtpServer
from config.testing.worker import Worker, app_env, clear_queue, job_events, jobs, wait_for_jobs

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]

EXPIRE = "booking.waitlist_expire_offer"


@pytest.fixture
def queue(transactional_db):
    """An empty queue before and after (the test database's flush leaves the queue's tables as they are)."""
    clear_queue()
    yield
    clear_queue()


def scheduled_at(job_id: int):
    with connection.cursor() as cursor:
        cursor.execute("SELECT scheduled_at FROM procrastinate_jobs WHERE id = %s", [job_id])
        return cursor.fetchone()[0]


def test_the_worker_expires_an_offer_at_its_end_and_mails_the_next_client(queue, tmp_path):
    # given: an hour of Maya's in three days, booked; two clients waiting for that day
    clinic_configure(waitlist_hold_minutes=5)
    start = (timezone.now() + timedelta(days=3)).replace(minute=0, second=0, microsecond=0)
    place = LocationFactory(name="Midtown")
    maya = TherapistFactory(locations=[place])
    ShiftFactory(therapist=maya, location=place, starts_at=start, ends_at=start + timedelta(hours=1))
    service = hour_service()
    taken = booked(ClientFactory(), service, start, therapist=maya)
    day = start.astimezone(place.tz).date()
    first, second = (
        waitlist.waitlist_join(client=ClientFactory(email=email), service_id=service.pk, from_date=day, to_date=day)
        for email in ("first@example.com", "second@example.com")
    )
    services.booking_cancel(booking_id=taken.pk, by=taken.client)
    offer = WaitlistOffer.objects.get(entry=first)
    (expiry,) = jobs(EXPIRE)
    assert scheduled_at(expiry.id) == offer.expires_at
    # The clinic holds offers 5 minutes at least: this one is made to end in 3 seconds, its job with it.
    ends = timezone.now() + timedelta(seconds=3)
    Booking.objects.filter(pk=offer.pk).update(hold_expires_at=ends)
    WaitlistOffer.objects.filter(pk=offer.pk).update(expires_at=ends)
    with connection.cursor() as cursor:
        cursor.execute("UPDATE procrastinate_jobs SET scheduled_at = %s WHERE id = %s", [ends, expiry.id])

    # when: the worker runs
    with SmtpServer() as server:
        with Worker(app_env(EMAIL_URL=server.url), log_path=tmp_path / "worker.log"):
            wait_for_jobs(lambda rows: rows[0].status == "succeeded", task_name=EXPIRE, within=60)
            server.wait_until(
                lambda: any(m.rcpt_tos == ("second@example.com",) for m in server.delivered),
                within=60,
                what="the second client's offer",
            )

    # then: the expiry ran once, not before the hold's end
    started = [at for kind, at in job_events(expiry.id) if kind == "started"]
    assert len(started) == 1
    assert started[0] >= ends.timestamp()
    assert WaitlistEntry.objects.get(pk=first.pk).status == WaitlistEntry.Status.EXPIRED
    assert WaitlistOffer.objects.get(pk=offer.pk).status == WaitlistOffer.Status.EXPIRED
    next_offer = WaitlistOffer.objects.get(entry=second)
    assert (next_offer.status, next_offer.hold.starts_at) == (WaitlistOffer.Status.OPEN, start)
    # its own expiry job was deferred in the worker's job, with it, at its end
    later = [row for row in jobs(EXPIRE) if row.args == {"offer_id": next_offer.pk}]
    assert [row.status for row in later] == ["todo"]
    assert scheduled_at(later[0].id) == next_offer.expires_at
    mail = next(m for m in server.delivered if m.rcpt_tos == ("second@example.com",))
    assert "Held for you until:" in mail.text
    assert mail.message["Subject"].startswith("A time held for you")
