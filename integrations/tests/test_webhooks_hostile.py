"""The webhooks API against hostile or careless callers: the wrong roles, odd ids and bodies, URLs that try to
reach the clinic's own network (docs/api.md, Webhooks: Which URLs), and what a payload carries."""

import json

import pytest

from booking.events import BOOKING_CREATED
from booking.tests.helpers import NEEDS_REVIEW, NOW, booked, frozen, hour_service, local, new_york, shift_at
from clinic.tests.factories import ClientFactory, TherapistFactory
from integrations.models import WebhookDelivery, WebhookSubscription

pytestmark = pytest.mark.django_db

WEBHOOKS = "/api/v1/webhooks/"
PUBLIC_URL = "https://8.8.8.8/hooks/clinic"


@pytest.fixture
def webhook(staff_user):
    return WebhookSubscription.objects.create(
        url=PUBLIC_URL, events=[BOOKING_CREATED], secret="whsec_c2VjcmV0LW9mLXRoZS10ZXN0", created_by=staff_user
    )


def create(api, url=PUBLIC_URL, events=(BOOKING_CREATED,)):
    return api.post(WEBHOOKS, {"url": url, "events": list(events)}, format="json")


@pytest.mark.parametrize("role", ["client", "other_client", "therapist", "other_therapist"])
def test_clients_and_therapists_get_a_403_everywhere(api_as, webhook, role):
    api = api_as(role)
    assert api.get(WEBHOOKS).status_code == 403
    assert create(api).status_code == 403
    assert api.get(f"{WEBHOOKS}{webhook.pk}/").status_code == 403
    assert api.patch(f"{WEBHOOKS}{webhook.pk}/", {"active": False}, format="json").status_code == 403
    assert api.delete(f"{WEBHOOKS}{webhook.pk}/").status_code == 403
    assert api.get(f"{WEBHOOKS}{webhook.pk}/deliveries/").status_code == 403
    assert WebhookSubscription.objects.get(pk=webhook.pk).active
    assert api_as("anonymous").get(WEBHOOKS).status_code == 401


@pytest.mark.parametrize("raw", ["99999999999999999999", "9223372036854775808", "-1", "0", "١", "1.5", "abc"])
def test_odd_ids_are_a_404(api_as, webhook, raw):
    api = api_as("staff")
    assert api.get(f"{WEBHOOKS}{raw}/").status_code == 404
    assert api.patch(f"{WEBHOOKS}{raw}/", {"active": False}, format="json").status_code == 404
    assert api.delete(f"{WEBHOOKS}{raw}/").status_code == 404
    assert api.get(f"{WEBHOOKS}{raw}/deliveries/").status_code == 404


@pytest.mark.parametrize(
    "url",
    [
        "https://user:pass@8.8.8.8/",
        "https://user@8.8.8.8/",
        "https://:pass@8.8.8.8/",
        "http://8.8.8.8/",
        "ftp://8.8.8.8/",
        "https://127.0.0.1/",
        "https://127.0.0.1:8443/",
        "https://8.8.8.8:99999/",
        "https://8.8.8.8:-1/",
        "https://[::1]/",
        "https://[::ffff:127.0.0.1]/",
        "https://[::ffff:7f00:1]/",
        "https://[::ffff:169.254.169.254]/",
        "https://[64:ff9b::a00:1]/",
        "https://[2002:7f00:1::]/",
        "https://[fd00:ec2::254]/",
        "https://[fe80::1]/",
        "https://[::]/",
        "https://0x7f.1/",
        "https://0x7f000001/",
        "https://2130706433/",
        "https://017700000001/",
        "https://127.1/",
        "https://0/",
        "https://0.0.0.0/",
        "https://169.254.169.254/latest/meta-data/",
        "https://100.64.0.1/",
        "https://10.0.0.1/",
        "https://192.168.1.1./",
        "https://localhost/",
        "https://localhost./",
        "https://LOCALHOST/",
        "https://127.0.0.1./",
        "https://xn--/",
        "https://" + "a" * 64 + ".example/",
        "https://ex\u00e4mple.invalid\u3002/",
        "https://8.8.8.8/" + "x" * 100_000,
        "https://",
        "https:///path",
        "https://[::1/",
        "https://[fe80::1%25eth0]/",
        "https://8.8.8.8%2f@127.0.0.1/",
        "https://127.0.0.1\\@8.8.8.8/",
        "https://127.0.0.1%09/",
        "https://127.0.0.1 /",
        "https://\u2024127.0.0.1/",
        "https://\uff11\uff12\uff17.0.0.1/",
        "javascript:alert(1)",
        "",
        "x" * 100_000,
    ],
)
def test_urls_the_guard_refuses_are_a_400_on_url(api_as, url):
    response = create(api_as("staff"), url=url)
    assert response.status_code == 400, (url[:80], response.content[:300])
    assert "url" in response.json()
    assert not WebhookSubscription.objects.exists()


@pytest.mark.parametrize(
    "url", ["https://8.8.8.8:8443/hooks", "https://[2001:4860:4860::8888]/hooks", "HTTPS://8.8.8.8/"]
)
def test_public_addresses_with_ports_or_in_ipv6_are_allowed(api_as, url):
    assert create(api_as("staff"), url=url).status_code == 201


def test_a_patch_to_a_private_url_is_a_400_and_keeps_the_url(api_as, webhook):
    response = api_as("staff").patch(f"{WEBHOOKS}{webhook.pk}/", {"url": "https://[::ffff:10.0.0.1]/"}, format="json")
    assert response.status_code == 400
    assert "url" in response.json()
    assert WebhookSubscription.objects.get(pk=webhook.pk).url == PUBLIC_URL


@pytest.mark.parametrize(
    "body",
    [
        {"events": []},
        {"events": ["booking.exploded"]},
        {"events": "booking.created"},
        {"events": [["booking.created"]]},
        {"events": [{"x": 1}]},
        {"events": ["booking.created"] * 1000},
        {"active": "maybe"},
        {"active": None},
        {"url": None},
        {"url": 5},
    ],
)
def test_malformed_patches_are_a_400_and_change_nothing(api_as, webhook, body):
    response = api_as("staff").patch(f"{WEBHOOKS}{webhook.pk}/", body, format="json")
    assert response.status_code == 400, (body, response.content[:300])
    after = WebhookSubscription.objects.get(pk=webhook.pk)
    assert (after.url, after.events, after.active) == (PUBLIC_URL, [BOOKING_CREATED], True)


@pytest.mark.parametrize("body", ["[]", '[{"url": "https://8.8.8.8/"}]', "null", '"x"', "1", "{"])
def test_a_body_that_is_not_an_object_is_a_400(api_as, webhook, body):
    api = api_as("staff")
    assert api.post(WEBHOOKS, body, content_type="application/json").status_code == 400
    assert api.patch(f"{WEBHOOKS}{webhook.pk}/", body, content_type="application/json").status_code == 400
    assert WebhookSubscription.objects.count() == 1


def test_the_secret_cannot_be_set_or_read_back(api_as, webhook):
    api = api_as("staff")
    response = api.patch(f"{WEBHOOKS}{webhook.pk}/", {"secret": "whsec_mine", "id": 999}, format="json")
    assert response.status_code == 200
    assert "secret" not in response.json()
    assert WebhookSubscription.objects.get(pk=webhook.pk).secret == webhook.secret
    made = api.post(WEBHOOKS, {"url": PUBLIC_URL, "events": [BOOKING_CREATED], "secret": "whsec_mine"}, format="json")
    assert made.status_code == 201
    assert made.json()["secret"] != "whsec_mine"
    for body in (api.get(WEBHOOKS).content, api.get(f"{WEBHOOKS}{webhook.pk}/").content):
        assert b"whsec_" not in body


def test_a_payload_carries_no_answers_or_flags(webhook):
    with frozen(NOW):
        place = new_york(name="Midtown")
        maya = TherapistFactory()
        start = local(2026, 12, 3, 9)
        shift_at(maya, start, hours=2, location=place)
        booking = booked(ClientFactory(), hour_service(), start, NEEDS_REVIEW, therapist=maya)
    assert booking.intake.flags  # the intake raised a flag the front desk may not see
    delivery = WebhookDelivery.objects.get(subscription=webhook)
    data = delivery.payload["data"]
    assert (data["flags"], data["needs_review"]) == ([], True)
    assert not {"answers", "intake", "notes"} & set(data)
    text = json.dumps(delivery.payload)
    for value in ("high_blood_pressure", "relaxation", "pressure_preference", "medium"):
        assert value not in text, value
