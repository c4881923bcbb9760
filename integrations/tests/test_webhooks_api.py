"""The webhooks API (front desk): subscriptions, the secret shown once, the URL rules, the delivery log; the admin."""

import re
from datetime import timedelta

import pytest
from django.conf import settings
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from standardwebhooks import Webhook

from booking.events import BOOKING_CANCELLED, BOOKING_CREATED, EVENTS
from integrations.models import WebhookDelivery, WebhookSubscription

pytestmark = pytest.mark.django_db

WEBHOOKS = "/api/v1/webhooks/"
# A public address literal: it resolves without DNS, and nothing here connects to it.
PUBLIC_URL = "https://8.8.8.8/hooks/clinic"


def create(api, url=PUBLIC_URL, events=(BOOKING_CREATED,)):
    return api.post(WEBHOOKS, {"url": url, "events": list(events)}, format="json")


@pytest.fixture
def webhook(staff_user):
    return WebhookSubscription.objects.create(
        url=PUBLIC_URL, events=[BOOKING_CREATED], secret="whsec_c2VjcmV0LW9mLXRoZS10ZXN0", created_by=staff_user
    )


@pytest.mark.parametrize("role", ["staff", "admin"])
def test_the_front_desk_subscribes_and_sees_the_secret_once(api_as, role):
    # given
    api = api_as(role)
    # when
    response = create(api, events=[BOOKING_CANCELLED, BOOKING_CREATED, BOOKING_CREATED])
    # then: the webhook, its events once each in the list's order, and a Standard Webhooks secret
    assert response.status_code == 201, response.json()
    body = response.json()
    secret = body.pop("secret")
    assert body == {
        "id": body["id"],
        "url": PUBLIC_URL,
        "events": [BOOKING_CREATED, BOOKING_CANCELLED],
        "active": True,
        "created_at": body["created_at"],
        "deactivated_at": None,
    }
    assert re.fullmatch(r"whsec_[A-Za-z0-9+/]{43}=", secret)
    Webhook(secret)  # the library takes it
    assert WebhookSubscription.objects.get(pk=body["id"]).secret == secret
    # and never again: not in the list, the webhook, a change or the delivery log
    for answer in (
        api.get(WEBHOOKS),
        api.get(f"{WEBHOOKS}{body['id']}/"),
        api.patch(f"{WEBHOOKS}{body['id']}/", {"events": [BOOKING_CREATED]}, format="json"),
        api.get(f"{WEBHOOKS}{body['id']}/deliveries/"),
    ):
        assert answer.status_code == 200
        assert secret not in answer.content.decode()
        assert "secret" not in answer.content.decode()


def test_each_webhook_gets_its_own_secret(api_as):
    api = api_as("staff")
    assert create(api).json()["secret"] != create(api).json()["secret"]


@pytest.mark.parametrize("role", ["client", "other_client", "therapist", "other_therapist"])
def test_clients_and_therapists_may_not_see_or_change_webhooks(api_as, role, webhook):
    api = api_as(role)
    assert create(api).status_code == 403
    assert api.get(WEBHOOKS).status_code == 403
    assert api.get(f"{WEBHOOKS}{webhook.pk}/").status_code == 403
    assert api.patch(f"{WEBHOOKS}{webhook.pk}/", {"active": False}, format="json").status_code == 403
    assert api.delete(f"{WEBHOOKS}{webhook.pk}/").status_code == 403
    assert api.get(f"{WEBHOOKS}{webhook.pk}/deliveries/").status_code == 403
    assert WebhookSubscription.objects.filter(active=True).count() == 1


def test_anonymous_is_asked_to_log_in(api, webhook):
    assert create(api).status_code == 401
    assert api.get(f"{WEBHOOKS}{webhook.pk}/deliveries/").status_code == 401


# --- Bad input ---------------------------------------------------------------------


REFUSED_URLS = [
    ("http://8.8.8.8/hooks", "Use an https:// URL"),
    ("ftp://8.8.8.8/hooks", "Use an https:// URL"),
    ("https://127.0.0.1/hooks", "127.0.0.1 is not a public address"),
    ("https://10.1.2.3/hooks", "10.1.2.3 is not a public address"),
    ("https://192.168.0.10/hooks", "192.168.0.10 is not a public address"),
    ("https://172.16.5.4/hooks", "172.16.5.4 is not a public address"),
    ("https://100.64.0.7/hooks", "100.64.0.7 is not a public address"),  # CGNAT
    ("https://169.254.169.254/latest/meta-data/", "169.254.169.254 is not a public address"),
    ("https://0.0.0.0/hooks", "0.0.0.0 is not a public address"),
    ("https://224.0.0.1/hooks", "224.0.0.1 is not a public address"),
    ("https://240.0.0.1/hooks", "240.0.0.1 is not a public address"),
    ("https://[::1]/hooks", "::1 is not a public address"),
    ("https://[fd00::1]/hooks", "fd00::1 is not a public address"),
    ("https://[fe80::1]/hooks", "fe80::1 is not a public address"),
    ("https://[::ffff:127.0.0.1]/hooks", "::ffff:127.0.0.1 is not a public address"),
    ("https://[::ffff:10.0.0.1]/hooks", "::ffff:10.0.0.1 is not a public address"),
    ("https://localhost/hooks", "localhost resolves to 127.0.0.1, which is not a public address"),
    ("https://hooks.invalid/clinic", "hooks.invalid does not resolve to any address"),
    ("https://user:password@8.8.8.8/hooks", "Leave the user name and password out of the URL"),
    ("not a url", "Enter a valid URL."),
]


@pytest.mark.parametrize(("url", "message"), REFUSED_URLS)
def test_a_url_a_webhook_may_not_call_is_a_400_on_url(api_as, url, message):
    response = create(api_as("staff"), url=url)
    assert response.status_code == 400, response.json()
    [error] = response.json()["url"]
    assert error.startswith(message), error
    assert not WebhookSubscription.objects.exists()


@pytest.mark.parametrize(
    ("events", "field_error"),
    [
        ([], "This list may not be empty."),
        (["booking.deleted"], '"booking.deleted" is not a valid choice.'),
        ([BOOKING_CREATED, "intake.read"], '"intake.read" is not a valid choice.'),
        ("booking.created", 'Expected a list of items but got type "str".'),
        (None, "This field may not be null."),
    ],
)
def test_events_must_be_a_list_of_known_events(api_as, events, field_error):
    response = api_as("staff").post(WEBHOOKS, {"url": PUBLIC_URL, "events": events}, format="json")
    assert response.status_code == 400
    assert field_error in str(response.json()["events"])
    assert not WebhookSubscription.objects.exists()


def test_url_and_events_are_required(api_as):
    response = api_as("staff").post(WEBHOOKS, {}, format="json")
    assert response.status_code == 400
    assert set(response.json()) == {"url", "events"}


def test_private_addresses_and_http_are_allowed_with_the_setting(api_as, settings):
    settings.WEBHOOK_ALLOW_PRIVATE = True
    api = api_as("staff")
    for url in ("http://127.0.0.1:8001/hooks", "https://localhost/hooks", "http://[::1]:9000/"):
        assert create(api, url=url).status_code == 201, url
    assert create(api, url="ftp://127.0.0.1/").status_code == 400


def test_the_setting_is_off_by_default():
    assert settings.WEBHOOK_ALLOW_PRIVATE is False


# --- Changing, deleting, the delivery log ---------------------------------------------------


def test_staff_change_the_events_and_the_url_which_is_checked_again(api_as, webhook):
    api = api_as("staff")
    changed = api.patch(
        f"{WEBHOOKS}{webhook.pk}/", {"events": list(EVENTS), "url": "https://1.1.1.1/in"}, format="json"
    )
    assert changed.status_code == 200, changed.json()
    assert changed.json()["events"] == list(EVENTS)
    refused = api.patch(f"{WEBHOOKS}{webhook.pk}/", {"url": "https://[::1]/in"}, format="json")
    assert refused.status_code == 400
    assert "url" in refused.json()
    webhook.refresh_from_db()
    assert webhook.url == "https://1.1.1.1/in"
    assert api.patch(f"{WEBHOOKS}{webhook.pk}/", {"events": []}, format="json").status_code == 400


def test_staff_switch_a_webhook_off_and_on(api_as, webhook):
    api = api_as("staff")
    off = api.patch(f"{WEBHOOKS}{webhook.pk}/", {"active": False}, format="json")
    assert off.status_code == 200
    assert off.json()["active"] is False
    assert off.json()["deactivated_at"] is not None
    on = api.patch(f"{WEBHOOKS}{webhook.pk}/", {"active": True}, format="json")
    assert (on.json()["active"], on.json()["deactivated_at"]) == (True, None)


def test_the_secret_cannot_be_set_or_changed(api_as, webhook):
    api = api_as("staff")
    api.patch(f"{WEBHOOKS}{webhook.pk}/", {"secret": "whsec_bWluZQ=="}, format="json")
    made = api.post(WEBHOOKS, {"url": PUBLIC_URL, "events": [BOOKING_CREATED], "secret": "whsec_bWluZQ=="})
    webhook.refresh_from_db()
    assert webhook.secret == "whsec_c2VjcmV0LW9mLXRoZS10ZXN0"
    assert made.json()["secret"] != "whsec_bWluZQ=="


def test_deleting_a_webhook_deletes_its_log(api_as, webhook):
    WebhookDelivery.objects.create(subscription=webhook, event=BOOKING_CREATED, webhook_id="msg_1", payload={})
    api = api_as("staff")
    assert api.delete(f"{WEBHOOKS}{webhook.pk}/").status_code == 204
    assert api.get(f"{WEBHOOKS}{webhook.pk}/").status_code == 404
    assert api.get(f"{WEBHOOKS}{webhook.pk}/deliveries/").status_code == 404
    assert not WebhookDelivery.objects.exists()


def test_the_delivery_log_lists_the_webhooks_deliveries_newest_first(api_as, webhook, staff_user):
    # given: two deliveries of this webhook, one of another
    other = WebhookSubscription.objects.create(url=PUBLIC_URL, events=[BOOKING_CREATED], secret="whsec_eA==")
    now = timezone.now()
    older = WebhookDelivery.objects.create(
        subscription=webhook,
        event=BOOKING_CREATED,
        webhook_id="msg_older",
        payload={},
        attempts=3,
        status_code=503,
        last_error="The receiver answered 503; 2xx was expected.",
        next_attempt_at=now + timedelta(seconds=16),
        created_at=now - timedelta(minutes=5),
    )
    newer = WebhookDelivery.objects.create(
        subscription=webhook,
        event=BOOKING_CANCELLED,
        webhook_id="msg_newer",
        payload={},
        attempts=1,
        status_code=204,
        delivered_at=now,
        created_at=now,
    )
    WebhookDelivery.objects.create(subscription=other, event=BOOKING_CREATED, webhook_id="msg_other", payload={})
    # when
    response = api_as("staff").get(f"{WEBHOOKS}{webhook.pk}/deliveries/")
    # then
    assert response.status_code == 200
    body = response.json()
    assert body["count"] == 2
    assert [row["id"] for row in body["results"]] == [newer.pk, older.pk]
    assert set(body["results"][1]) == {
        "id",
        "event",
        "webhook_id",
        "status_code",
        "attempts",
        "delivered_at",
        "next_attempt_at",
        "last_error",
        "created_at",
    }
    assert body["results"][1]["attempts"] == 3
    assert body["results"][1]["status_code"] == 503
    assert body["results"][1]["delivered_at"] is None
    assert body["results"][1]["next_attempt_at"] is not None
    assert body["results"][0]["next_attempt_at"] is None
    assert "payload" not in body["results"][0]


def test_an_unknown_webhook_is_a_404(api_as):
    api = api_as("staff")
    assert api.get(f"{WEBHOOKS}999999/").status_code == 404
    assert api.patch(f"{WEBHOOKS}999999/", {"active": False}, format="json").status_code == 404
    assert api.delete(f"{WEBHOOKS}999999/").status_code == 404
    assert api.get(f"{WEBHOOKS}999999/deliveries/").status_code == 404


# --- The admin ---------------------------------------------------------------------


def test_the_admin_shows_webhooks_to_the_front_desk_without_their_secret(staff_user, webhook):
    WebhookDelivery.objects.create(subscription=webhook, event=BOOKING_CREATED, webhook_id="msg_1", payload={})
    browser = Client()
    browser.force_login(staff_user)
    pages = [
        reverse("admin:integrations_webhooksubscription_changelist"),
        reverse("admin:integrations_webhooksubscription_change", args=[webhook.pk]),
        reverse("admin:integrations_webhookdelivery_changelist"),
        reverse("admin:integrations_webhookdelivery_change", args=[WebhookDelivery.objects.get().pk]),
        reverse("admin:integrations_webhooksubscription_changelist") + "?q=secret",
    ]
    for page in pages:
        response = browser.get(page)
        assert response.status_code == 200, page
        assert webhook.secret not in response.content.decode(), page
    assert browser.get(reverse("admin:integrations_webhooksubscription_add")).status_code == 403
    # searching by the secret finds nothing
    found = browser.get(reverse("admin:integrations_webhooksubscription_changelist"), {"q": webhook.secret})
    assert found.context["cl"].result_count == 0


def test_the_front_desk_switches_a_webhook_off_in_the_admin(staff_user, webhook):
    browser = Client()
    browser.force_login(staff_user)
    response = browser.post(
        reverse("admin:integrations_webhooksubscription_changelist"),
        {"action": "deactivate", "_selected_action": [webhook.pk]},
    )
    assert response.status_code == 302
    webhook.refresh_from_db()
    assert webhook.active is False
    assert webhook.deactivated_at is not None


def test_clients_have_no_webhook_admin(client_user, webhook):
    browser = Client()
    browser.force_login(client_user)
    response = browser.get(reverse("admin:integrations_webhooksubscription_changelist"))
    assert response.status_code == 302  # to the admin's login: not staff
