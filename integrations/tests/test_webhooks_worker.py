"""Webhook deliveries run by the real worker (`manage.py procrastinate worker`, its own process and connections).

The data is committed (`transaction=True`) so the worker sees it; the
receiver is a server thread of this process on 127.0.0.1 (so the worker
runs with WEBHOOK_ALLOW_PRIVATE on). Its retry policy is shortened to
seconds through the settings the fault tests use (config/tasks.py).
"""

import pytest
from django.db import transaction
from standardwebhooks import Webhook

from booking.events import BOOKING_CREATED, announce
from booking.tests.factories import BookingFactory
from config.tasks import WEBHOOK_QUEUE
from config.testing.worker import FAST_POLLING, Worker, app_env, clear_queue, wait_for_jobs
from integrations.models import WebhookDelivery
from integrations.tests.webhook_receiver import Receiver
from integrations.webhooks.services import webhook_create

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]

DELIVER = "integrations.deliver_webhook"


@pytest.fixture
def queue(transactional_db):
    """An empty queue before and after (the test database's flush leaves the queue's tables as they are)."""
    clear_queue()
    yield
    clear_queue()


def test_the_worker_delivers_signed_retries_a_failure_and_records_both(clinic, queue, settings, tmp_path):
    # given: a receiver that answers 500 once, then 200; a webhook on it; a booking event, committed
    settings.WEBHOOK_ALLOW_PRIVATE = True
    with Receiver(answers=[500]) as receiver:
        webhook = webhook_create(url=receiver.url(), events=[BOOKING_CREATED], created_by=None)
        booking = BookingFactory()
        with transaction.atomic():
            announce(BOOKING_CREATED, booking)
        # when: a worker of the webhooks queue runs, each retry a second after the run before
        env = app_env(WEBHOOK_ALLOW_PRIVATE="true", TASK_RETRY_EXPONENTIAL_WAIT="1")
        with Worker(env, args=(*FAST_POLLING, "--queues", WEBHOOK_QUEUE), log_path=tmp_path / "worker.log"):
            [job] = wait_for_jobs(lambda rows: [row.status for row in rows] == ["succeeded"], task_name=DELIVER)
    # then: two requests, the same delivery (webhook-id) each time, each signed with the webhook's secret
    first, second = receiver.requests
    assert first.headers["webhook-id"] == second.headers["webhook-id"]
    for request in (first, second):
        assert Webhook(webhook.secret).verify(request.body, request.headers)["data"]["id"] == booking.pk
    assert job.attempts == 2
    delivery = WebhookDelivery.objects.get()
    assert (delivery.attempts, delivery.status_code, delivery.last_error) == (2, 200, "")
    assert delivery.delivered_at is not None
    assert delivery.next_attempt_at is None
