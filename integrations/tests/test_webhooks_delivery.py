"""Webhook deliveries end to end: booking events through the API, the queue's jobs, a real receiver.

Each test runs the jobs in its own transaction (`run_jobs`) against a real
HTTP server thread on 127.0.0.1 (so `WEBHOOK_ALLOW_PRIVATE` is on, as for
any local receiver), and checks what came over the wire: signed as
Standard Webhooks says (`standardwebhooks.Webhook(secret).verify`), once
per event, with the booking exactly as the front desk reads it in the API
and nothing of the client's health.

NOW is Tuesday 2026-12-01 10:00 in New York (booking/tests/helpers.py).
"""

import json
import shutil
import socket
import subprocess
from datetime import timedelta
from types import SimpleNamespace

import pytest
import time_machine
from django.core import mail
from django.db import connection, transaction
from standardwebhooks import Webhook
from standardwebhooks.webhooks import WebhookVerificationError

from booking.events import BOOKING_CREATED, EVENTS, WAITLIST_OFFERED, announce
from booking.models import Booking
from booking.tests.factories import BookingFactory
from booking.tests.helpers import (
    BOOKINGS,
    NEEDS_REVIEW,
    NOW,
    book,
    booked,
    booking_at,
    frozen,
    hour_service,
    local,
    new_york,
    works,
)
from clinic.tests.factories import ClientFactory, StaffFactory, TherapistFactory
from config.tasks import RETRY, WEBHOOK_QUEUE
from config.testing.jobs import pending_jobs, run_jobs
from integrations.models import WebhookDelivery, WebhookSubscription
from integrations.tasks import deactivate_failing_webhooks
from integrations.tests.webhook_receiver import Receiver
from integrations.webhooks import delivery as http
from integrations.webhooks import services
from integrations.webhooks.urlguard import Target, vet
from records.tests.factories import TreatmentNoteFactory

pytestmark = pytest.mark.django_db

WEBHOOKS = "/api/v1/webhooks/"
DELIVER = "integrations.deliver_webhook"
# What the client answered and what their therapist wrote: none of it may leave in a webhook.
HEALTH_WORDS = ("high_blood_pressure", "relaxation", "health_screening", "pressure_preference", "Tight shoulders")


@pytest.fixture(autouse=True)
def _now():
    with frozen():
        yield


@pytest.fixture(autouse=True)
def _local_receivers(settings):
    settings.WEBHOOK_ALLOW_PRIVATE = True
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"


@pytest.fixture
def place(clinic):
    return new_york(name="Downtown")


@pytest.fixture
def service(clinic):
    return hour_service()


@pytest.fixture
def maya(place):
    therapist = TherapistFactory()
    works(therapist, place, days=[3, 4])
    return therapist


@pytest.fixture
def receiver():
    with Receiver() as server:
        yield server


def subscribe(api, url: str, events=EVENTS) -> dict:
    response = api.post(WEBHOOKS, {"url": url, "events": list(events)}, format="json")
    assert response.status_code == 201, response.json()
    return response.json()


def verified(request, secret: str) -> dict:
    """The body of a received delivery, once its Standard Webhooks signature checks out."""
    return Webhook(secret).verify(request.body, request.headers)


def staff_view(api, booking_id: int) -> dict:
    response = api.get(f"{BOOKINGS}{booking_id}/")
    assert response.status_code == 200
    return response.json()


def test_every_event_is_delivered_once_signed_with_the_booking_as_the_front_desk_sees_it(
    api_as, as_user, client_user, maya, service, receiver
):
    # given: a webhook on every event, and a client whose intake has health flags and notes
    staff = api_as("staff")
    webhook = subscribe(staff, receiver.url())
    payloads = {}

    def happened(event: str, booking_id: int) -> None:
        """Run the queue; the one new request must carry `event` for the booking as staff read it now."""
        before = len(receiver.requests)
        run_jobs()
        assert len(receiver.requests) == before + 1, f"{event}: not exactly one delivery"
        request = receiver.requests[-1]
        body = verified(request, webhook["secret"])
        assert body["type"] == event
        assert body["data"] == staff_view(staff, booking_id)
        for word in HEALTH_WORDS:
            assert word not in request.body.decode(), f"{event} carries {word}"
        payloads[event] = body

    # when: each event happens, through the API where it has one
    created = book(as_user(client_user), service, local(2026, 12, 3, 10), NEEDS_REVIEW, therapist=maya)
    assert created.status_code == 201, created.json()
    booking_id = created.json()["id"]
    TreatmentNoteFactory(booking=Booking.objects.get(pk=booking_id))
    happened("booking.created", booking_id)

    moved = staff.post(f"{BOOKINGS}{booking_id}/reschedule/", {"starts_at": local(2026, 12, 4, 11).isoformat()})
    assert moved.status_code == 200, moved.json()
    happened("booking.rescheduled", booking_id)

    cancelled = staff.post(f"{BOOKINGS}{booking_id}/cancel/", {"reason": "Flu"})
    assert cancelled.status_code == 200, cancelled.json()
    happened("booking.cancelled", booking_id)

    for action, event in (("complete", "booking.completed"), ("no-show", "booking.no_show")):
        started = booking_at(maya, NOW - timedelta(hours=3 if action == "complete" else 5), client=client_user)
        closed = as_user(maya.user).post(f"{BOOKINGS}{started.pk}/{action}/")
        assert closed.status_code == 200, closed.json()
        happened(event, started.pk)

    hold = BookingFactory(
        therapist=maya,
        location=maya.locations.first(),
        client=ClientFactory(),
        starts_at=local(2026, 12, 4, 14),
        status=Booking.Status.HELD,
        hold_expires_at=NOW + timedelta(minutes=30),
    )
    with transaction.atomic():
        announce(WAITLIST_OFFERED, hold)
    happened("waitlist.offered", hold.pk)

    # then: each event once, each with its own webhook-id, staff's view of the booking (flags hidden)
    assert set(payloads) == set(EVENTS)
    assert len({request.headers["webhook-id"] for request in receiver.requests}) == len(EVENTS)
    assert payloads["booking.created"]["data"]["needs_review"] is True
    assert payloads["booking.created"]["data"]["flags"] == []
    assert payloads["waitlist.offered"]["data"]["status"] == "held"
    assert all(request.path == "/hooks/clinic" for request in receiver.requests)
    # and the log says so
    log = staff.get(f"{WEBHOOKS}{webhook['id']}/deliveries/").json()
    assert log["count"] == len(EVENTS)
    assert {row["event"] for row in log["results"]} == set(EVENTS)
    assert all(row["status_code"] == 200 and row["attempts"] == 1 for row in log["results"])
    assert all(row["delivered_at"] and row["next_attempt_at"] is None for row in log["results"])


def test_the_delivery_is_made_in_the_transaction_of_the_change(client_user, maya, service, receiver):
    # given
    webhook = WebhookSubscription.objects.create(url=receiver.url(), events=[BOOKING_CREATED], secret="whsec_eA==")

    # when: a booking whose transaction rolls back
    def book_then_roll_back():
        with transaction.atomic():
            booked(client_user, service, local(2026, 12, 3, 10), therapist=maya)
            assert WebhookDelivery.objects.count() == 1
            raise RuntimeError("rolled back")

    with pytest.raises(RuntimeError, match="rolled back"):
        book_then_roll_back()
    # then: neither the delivery nor its job is left
    assert not WebhookDelivery.objects.exists()
    assert pending_jobs(DELIVER) == []
    # when: one that commits
    made = booked(client_user, service, local(2026, 12, 3, 10), therapist=maya)
    # then: both
    delivery = WebhookDelivery.objects.get()
    assert (delivery.subscription_id, delivery.event, delivery.attempts) == (webhook.pk, BOOKING_CREATED, 0)
    assert delivery.payload["data"]["id"] == made.pk
    assert delivery.webhook_id.startswith("msg_")
    with connection.cursor() as cursor:
        cursor.execute("SELECT (args->>'delivery_id')::bigint FROM procrastinate_jobs WHERE task_name = %s", [DELIVER])
        assert cursor.fetchall() == [(delivery.pk,)]


def test_only_active_subscriptions_to_the_event_get_a_delivery(as_user, client_user, maya, service, receiver):
    # given
    on = WebhookSubscription.objects.create(url=receiver.url("/on"), events=[BOOKING_CREATED], secret="whsec_eA==")
    WebhookSubscription.objects.create(url=receiver.url("/other"), events=["booking.cancelled"], secret="whsec_eA==")
    WebhookSubscription.objects.create(
        url=receiver.url("/off"), events=[BOOKING_CREATED], secret="whsec_eA==", active=False, deactivated_at=NOW
    )
    # when
    book(as_user(client_user), service, local(2026, 12, 3, 10), therapist=maya)
    run_jobs()
    # then
    assert [delivery.subscription_id for delivery in WebhookDelivery.objects.all()] == [on.pk]
    assert [request.path for request in receiver.requests] == ["/on"]


def test_the_job_runs_on_the_webhook_queue(as_user, client_user, maya, service, receiver):
    WebhookSubscription.objects.create(url=receiver.url(), events=[BOOKING_CREATED], secret="whsec_eA==")
    book(as_user(client_user), service, local(2026, 12, 3, 10), therapist=maya)
    with connection.cursor() as cursor:
        cursor.execute("SELECT DISTINCT queue_name FROM procrastinate_jobs WHERE task_name = %s", [DELIVER])
        assert cursor.fetchall() == [(WEBHOOK_QUEUE,)]


def test_a_failed_attempt_is_retried_with_backoff_and_the_same_webhook_id(api_as, as_user, client_user, maya, service):
    # given: a receiver that answers 500, then 200
    with Receiver(answers=[500]) as receiver:
        webhook = subscribe(api_as("staff"), receiver.url(), events=[BOOKING_CREATED])
        book(as_user(client_user), service, local(2026, 12, 3, 10), therapist=maya)
        # when: the first attempt fails
        with pytest.raises(services.WebhookDeliveryFailed, match="500"):
            run_jobs(DELIVER)
        # then: it is recorded, the job stays queued, the next attempt is due after the retry policy's wait
        delivery = WebhookDelivery.objects.get()
        assert (delivery.attempts, delivery.status_code, delivery.delivered_at) == (1, 500, None)
        assert delivery.next_attempt_at == NOW + timedelta(seconds=2)
        assert "500" in delivery.last_error
        assert len(pending_jobs(DELIVER)) == 1
        # when: the retry runs, a little later
        with time_machine.travel(NOW + timedelta(seconds=3), tick=False):
            run_jobs(DELIVER)
    # then: delivered on the second attempt, with the same webhook-id, each attempt signed
    first, second = receiver.requests
    assert first.headers["webhook-id"] == second.headers["webhook-id"] == delivery.webhook_id
    assert first.body == second.body
    assert int(second.headers["webhook-timestamp"]) == int(first.headers["webhook-timestamp"]) + 3
    with time_machine.travel(NOW + timedelta(seconds=3), tick=False):
        assert verified(second, webhook["secret"])["type"] == BOOKING_CREATED
    delivery.refresh_from_db()
    assert (delivery.attempts, delivery.status_code, delivery.last_error) == (2, 200, "")
    assert delivery.delivered_at == NOW + timedelta(seconds=3)
    assert delivery.next_attempt_at is None


def test_a_signature_made_with_another_secret_does_not_verify(api_as, as_user, client_user, maya, service, receiver):
    subscribe(api_as("staff"), receiver.url(), events=[BOOKING_CREATED])
    book(as_user(client_user), service, local(2026, 12, 3, 10), therapist=maya)
    run_jobs()
    with pytest.raises(WebhookVerificationError):
        verified(receiver.requests[0], services.new_secret())


def test_an_unreachable_receiver_is_a_failed_attempt_without_a_status(api_as, as_user, client_user, maya, service):
    # given: nothing listens on the port any more
    with Receiver() as gone:
        url = gone.url()
    subscribe(api_as("staff"), url, events=[BOOKING_CREATED])
    book(as_user(client_user), service, local(2026, 12, 3, 10), therapist=maya)
    # when
    with pytest.raises(services.WebhookDeliveryFailed):
        run_jobs(DELIVER)
    # then
    delivery = WebhookDelivery.objects.get()
    assert (delivery.attempts, delivery.status_code) == (1, None)
    assert delivery.last_error == "The receiver refused the connection."


def test_redirects_are_not_followed(api_as, as_user, client_user, maya, service, receiver):
    # given: a receiver that redirects to another one
    with Receiver(answers=[302], location=receiver.url("/elsewhere")) as redirecting:
        subscribe(api_as("staff"), redirecting.url(), events=[BOOKING_CREATED])
        book(as_user(client_user), service, local(2026, 12, 3, 10), therapist=maya)
        # when
        with pytest.raises(services.WebhookDeliveryFailed, match="302"):
            run_jobs(DELIVER)
    # then: the other receiver heard nothing
    assert receiver.requests == []
    assert WebhookDelivery.objects.get().status_code == 302


def test_a_receiver_that_does_not_answer_times_out(api_as, as_user, client_user, maya, service, monkeypatch):
    # given: a server that accepts the connection and never answers (the read timeout shortened for the test)
    monkeypatch.setattr(http, "READ_TIMEOUT", 0.5)
    with socket.create_server(("127.0.0.1", 0)) as silent:
        subscribe(api_as("staff"), f"http://127.0.0.1:{silent.getsockname()[1]}/", events=[BOOKING_CREATED])
        book(as_user(client_user), service, local(2026, 12, 3, 10), therapist=maya)
        # when
        with pytest.raises(services.WebhookDeliveryFailed):
            run_jobs(DELIVER)
    # then
    delivery = WebhookDelivery.objects.get()
    assert (delivery.attempts, delivery.status_code) == (1, None)
    assert delivery.last_error == "No answer within 0.5 seconds."


def test_a_deleted_subscription_leaves_its_queued_jobs_nothing_to_do(
    api_as, as_user, client_user, maya, service, receiver
):
    staff = api_as("staff")
    webhook = subscribe(staff, receiver.url(), events=[BOOKING_CREATED])
    book(as_user(client_user), service, local(2026, 12, 3, 10), therapist=maya)
    assert staff.delete(f"{WEBHOOKS}{webhook['id']}/").status_code == 204
    run_jobs()
    assert receiver.requests == []
    assert not WebhookDelivery.objects.exists()


def test_an_inactive_subscription_is_not_called(api_as, as_user, client_user, maya, service, receiver):
    staff = api_as("staff")
    webhook = subscribe(staff, receiver.url(), events=[BOOKING_CREATED])
    book(as_user(client_user), service, local(2026, 12, 3, 10), therapist=maya)
    assert staff.patch(f"{WEBHOOKS}{webhook['id']}/", {"active": False}).status_code == 200
    run_jobs()
    assert receiver.requests == []
    delivery = WebhookDelivery.objects.get()
    assert (delivery.attempts, delivery.next_attempt_at) == (0, None)
    assert delivery.last_error == "Not sent: the subscription is inactive."


# --- The SSRF guard at delivery time -------------------------------------------------------


def test_each_delivery_checks_the_url_again(api_as, as_user, client_user, maya, service, receiver, settings):
    # given: a webhook to this machine, saved while private addresses were allowed
    subscribe(api_as("staff"), receiver.url(host="localhost"), events=[BOOKING_CREATED])
    book(as_user(client_user), service, local(2026, 12, 3, 10), therapist=maya)
    # when: they no longer are (as if its name now resolved to a private address)
    settings.WEBHOOK_ALLOW_PRIVATE = False
    with pytest.raises(services.WebhookDeliveryFailed):
        run_jobs(DELIVER)
    # then: nothing was sent, and the log says why
    assert receiver.requests == []
    delivery = WebhookDelivery.objects.get()
    assert (delivery.attempts, delivery.status_code) == (1, None)
    assert delivery.last_error.startswith("Not sent: Use an https:// URL")
    assert delivery.next_attempt_at is not None


def test_a_host_that_resolves_to_loopback_is_refused_at_delivery(
    as_user, client_user, maya, service, receiver, settings
):
    # given: an https webhook to a name that resolves to 127.0.0.1 (saved directly: the API refuses it)
    WebhookSubscription.objects.create(
        url=f"https://localhost:{receiver.port}/", events=[BOOKING_CREATED], secret=services.new_secret()
    )
    settings.WEBHOOK_ALLOW_PRIVATE = False
    book(as_user(client_user), service, local(2026, 12, 3, 10), therapist=maya)
    # when
    with pytest.raises(services.WebhookDeliveryFailed):
        run_jobs(DELIVER)
    # then
    assert receiver.requests == []
    assert WebhookDelivery.objects.get().last_error.startswith(
        "Not sent: localhost resolves to 127.0.0.1, which is not a public address"
    )


def test_the_request_goes_to_the_vetted_address_and_names_the_host(receiver):
    # A name is resolved once, when vetted: the connection goes to that address, whatever the name
    # resolves to by then (DNS rebinding), and the Host header still names the host.
    target = Target(
        scheme="http",
        host="hooks.example.com",
        port=receiver.port,
        path="/in?x=1",
        addresses=vet(receiver.url(), allow_private=True).addresses,
    )
    assert http.post(target, b"{}", {"webhook-id": "msg_1"}) == 200
    [request] = receiver.requests
    assert request.headers["host"] == f"hooks.example.com:{receiver.port}"
    assert request.path == "/in?x=1"
    assert request.headers["content-type"] == "application/json"


# --- TLS ---------------------------------------------------------------------------


@pytest.fixture(scope="module")
def certificates(tmp_path_factory):
    """A test CA, and a server certificate it signed for `localhost` (with openssl)."""
    if shutil.which("openssl") is None:
        pytest.skip("needs the openssl command to make a test CA")
    folder = tmp_path_factory.mktemp("tls")

    def openssl(*args):
        subprocess.run(["openssl", *args], cwd=folder, check=True, capture_output=True)

    openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", "/CN=Test CA",
            "-keyout", "ca.key", "-out", "ca.pem")  # fmt: skip
    openssl("req", "-newkey", "rsa:2048", "-nodes", "-subj", "/CN=localhost", "-keyout", "server.key",
            "-out", "server.csr")  # fmt: skip
    (folder / "san.ext").write_text("subjectAltName=DNS:localhost\n")
    openssl("x509", "-req", "-in", "server.csr", "-CA", "ca.pem", "-CAkey", "ca.key", "-CAcreateserial",
            "-days", "2", "-extfile", "san.ext", "-out", "server.pem")  # fmt: skip
    return folder


@pytest.fixture
def tls_receiver(certificates):
    with Receiver(certificate=(str(certificates / "server.pem"), str(certificates / "server.key"))) as server:
        yield server


def test_https_sends_the_host_name_for_sni_and_checks_the_certificate(
    api_as, as_user, client_user, maya, service, tls_receiver, certificates, monkeypatch
):
    # given: the receiver's CA trusted (the system trust store, pointed at it), an https webhook to it by name
    monkeypatch.setenv("SSL_CERT_FILE", str(certificates / "ca.pem"))
    webhook = subscribe(api_as("staff"), tls_receiver.url(host="localhost"), events=[BOOKING_CREATED])
    book(as_user(client_user), service, local(2026, 12, 3, 10), therapist=maya)
    # when
    run_jobs()
    # then: the TLS handshake named the host (SNI), the certificate matched it, and the delivery verifies
    [request] = tls_receiver.requests
    assert request.server_name == "localhost"
    assert request.headers["host"] == f"localhost:{tls_receiver.port}"
    assert verified(request, webhook["secret"])["type"] == BOOKING_CREATED


def test_https_refuses_a_certificate_for_another_name(
    api_as, as_user, client_user, maya, service, tls_receiver, certificates, monkeypatch
):
    # given: the same receiver, called by its address: its certificate names `localhost`, not 127.0.0.1
    monkeypatch.setenv("SSL_CERT_FILE", str(certificates / "ca.pem"))
    subscribe(api_as("staff"), tls_receiver.url(host="127.0.0.1"), events=[BOOKING_CREATED])
    book(as_user(client_user), service, local(2026, 12, 3, 10), therapist=maya)
    # when
    with pytest.raises(services.WebhookDeliveryFailed):
        run_jobs(DELIVER)
    # then
    assert tls_receiver.requests == []
    delivery = WebhookDelivery.objects.get()
    assert delivery.last_error.startswith("The receiver's TLS certificate was refused")


# --- A day of failures ---------------------------------------------------------------------


def webhook_mails() -> list:
    """The mails about webhooks (the bookings' own mails go out too)."""
    return [message for message in mail.outbox if message.subject.startswith("Webhook ")]


def _failing_delivery(subscription, *, created_at, attempts=1):
    return WebhookDelivery.objects.create(
        subscription=subscription,
        event=BOOKING_CREATED,
        webhook_id=f"msg_test{created_at.timestamp():.0f}{attempts}",
        payload={"type": BOOKING_CREATED, "timestamp": "", "data": {}},
        attempts=attempts,
        status_code=500,
        last_error="The receiver answered 500; 2xx was expected.",
        created_at=created_at,
    )


def test_a_subscription_failing_for_a_day_is_switched_off_and_the_front_desk_is_told(
    as_user, staff_user, client_user, maya, service
):
    # given: a webhook whose receiver has failed since yesterday morning, and two front-desk accounts
    StaffFactory(email="desk@example.com")
    StaffFactory(email="gone@example.com", is_active=False)
    with Receiver(answers=[500, 500]) as receiver:
        webhook = subscribe(as_user(staff_user), receiver.url(), events=[BOOKING_CREATED])
        subscription = WebhookSubscription.objects.get(pk=webhook["id"])
        subscription.activated_at = NOW - timedelta(days=2)
        subscription.save()
        _failing_delivery(subscription, created_at=NOW - timedelta(hours=23))
        book(as_user(client_user), service, local(2026, 12, 3, 10), therapist=maya)
        # when: the new event fails too, under a day after the first failure: retried
        with pytest.raises(services.WebhookDeliveryFailed):
            run_jobs(DELIVER)
        assert WebhookSubscription.objects.get(pk=webhook["id"]).active
        # when: its retry fails past the day
        with time_machine.travel(NOW + timedelta(hours=1, minutes=1), tick=False):
            run_jobs()
    # then: switched off, nothing more to try, and each active front-desk account (with an email) mailed
    subscription.refresh_from_db()
    assert subscription.active is False
    assert subscription.deactivated_at == NOW + timedelta(hours=1, minutes=1)
    assert not WebhookDelivery.objects.filter(next_attempt_at__isnull=False).exists()
    assert pending_jobs() == []
    told = webhook_mails()
    assert sorted(message.to[0] for message in told) == sorted([staff_user.email, "desk@example.com"])
    assert told[0].subject == f"Webhook {webhook['id']} switched off: its receiver has failed for a day"
    assert "The receiver answered 500" in told[0].body
    assert webhook["secret"] not in told[0].body
    # and a retried mail job sends nothing twice
    services.webhook_deactivated_notify(subscription_id=webhook["id"], key=f"webhook-deactivated:{webhook['id']}:job-1")
    sent_before = len(webhook_mails())
    services.webhook_deactivated_notify(subscription_id=webhook["id"], key=f"webhook-deactivated:{webhook['id']}:job-1")
    assert len(webhook_mails()) == sent_before


def test_failures_before_the_last_success_or_a_reactivation_do_not_count(api_as):
    # given: a failure of two days ago, then a delivery that got through yesterday
    staff = api_as("staff")
    subscription = WebhookSubscription.objects.create(
        url="https://8.8.8.8/", events=[BOOKING_CREATED], secret="whsec_eA==", activated_at=NOW - timedelta(days=3)
    )
    _failing_delivery(subscription, created_at=NOW - timedelta(days=2))
    ok = _failing_delivery(subscription, created_at=NOW - timedelta(days=1))
    WebhookDelivery.objects.filter(pk=ok.pk).update(delivered_at=NOW - timedelta(days=1), status_code=200)
    # then: not failing
    assert services.failing_since(subscription) is None
    assert services.webhooks_deactivate_failing() == 0
    # given: a failure after it, over a day old: failing since then
    since = NOW - timedelta(hours=25)
    WebhookDelivery.objects.filter(pk=ok.pk).update(delivered_at=NOW - timedelta(hours=26))
    _failing_delivery(subscription, created_at=since)
    assert services.failing_since(subscription) == since
    # when: staff switch it off and on again, its old failures no longer count
    assert staff.patch(f"{WEBHOOKS}{subscription.pk}/", {"active": False}, format="json").status_code == 200
    assert staff.patch(f"{WEBHOOKS}{subscription.pk}/", {"active": True}, format="json").status_code == 200
    subscription.refresh_from_db()
    assert subscription.activated_at == NOW
    assert services.failing_since(subscription) is None
    assert services.webhooks_deactivate_failing() == 0


def test_the_hourly_check_switches_off_a_webhook_whose_retries_ran_out():
    # given: a delivery that failed 25 hours ago and gave up; nothing since
    subscription = WebhookSubscription.objects.create(
        url="https://8.8.8.8/", events=[BOOKING_CREATED], secret="whsec_eA==", activated_at=NOW - timedelta(days=2)
    )
    StaffFactory(email="desk@example.com")
    _failing_delivery(subscription, created_at=NOW - timedelta(hours=25), attempts=13)
    # when
    deactivate_failing_webhooks(timestamp=int(NOW.timestamp()))
    run_jobs()
    # then
    subscription.refresh_from_db()
    assert subscription.active is False
    assert [message.to for message in webhook_mails()] == [["desk@example.com"]]


def test_the_payload_is_fixed_when_the_event_happens(as_user, client_user, maya, service, receiver, api_as):
    # A retry sends what happened then, not what the booking has become since.
    webhook = subscribe(api_as("staff"), receiver.url(), events=[BOOKING_CREATED])
    made = book(as_user(client_user), service, local(2026, 12, 3, 10), therapist=maya).json()
    Booking.objects.filter(pk=made["id"]).update(status=Booking.Status.CANCELLED, cancelled_at=NOW)
    run_jobs()
    body = json.loads(receiver.requests[0].body)
    assert body["data"]["status"] == "confirmed"
    assert verified(receiver.requests[0], webhook["secret"])["data"] == made | {"flags": []}


def test_after_the_last_attempt_nothing_more_is_due(api_as, as_user, client_user, maya, service):
    # given: a delivery that has failed all but its last attempt (13 in all, config/tasks.py)
    with Receiver(answers=[503]) as receiver:
        subscribe(api_as("staff"), receiver.url(), events=[BOOKING_CREATED])
        book(as_user(client_user), service, local(2026, 12, 3, 10), therapist=maya)
        delivery = WebhookDelivery.objects.get()
        WebhookDelivery.objects.filter(pk=delivery.pk).update(attempts=12)
        # when: the last one fails too
        with pytest.raises(services.WebhookDeliveryFailed):
            services.webhook_deliver(delivery_id=delivery.pk)
    # then: the queue gives up (the job ends failed), and the log says no attempt is due
    delivery.refresh_from_db()
    assert (delivery.attempts, delivery.status_code, delivery.next_attempt_at) == (13, 503, None)
    assert RETRY.get_retry_decision(exception=Exception(), job=SimpleNamespace(attempts=12)) is None
