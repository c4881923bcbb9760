"""The waitlist API against hostile or careless callers (docs/api.md, Waitlist): the wrong user, malformed
input, duplicates and races, and what each answer shows. The scene is booking/tests/test_waitlist.py's."""

import pytest

from booking.models import Booking, WaitlistEntry, WaitlistOffer
from booking.tests import test_waitlist as scene
from booking.tests.helpers import THERAPEUTIC
from booking.tests.test_races import assert_no_overlaps
from booking.tests.test_waitlist import THURSDAY, WAITLIST, accept, cancel, join, joined, offer_of, offer_url
from clinic.tests.factories import ClientFactory
from config.testing.threads import run_together
from intake.models import IntakeAccess

pytestmark = pytest.mark.django_db

# The scene's fixtures (a frozen clock, Maya's full Thursday, an offer held for `client_user`).
clock, clinic, place, service, maya, full_day, offer = (
    scene.clock,
    scene.clinic,
    scene.place,
    scene.service,
    scene.maya,
    scene.full_day,
    scene.offer,
)


def entry_url(entry_id) -> str:
    return f"{WAITLIST}{entry_id}/"


# --- The wrong user ----------------------------------------------------------------------------------------


def test_another_clients_entry_is_a_404_to_read_and_to_withdraw(offer, api_as):
    url = entry_url(offer.entry_id)
    assert api_as("other_client").get(url).status_code == 404
    assert api_as("other_client").delete(url).status_code == 404
    assert WaitlistEntry.objects.get(pk=offer.entry_id).status == "offered"
    assert api_as("therapist").get(url).status_code == 403
    assert api_as("therapist").delete(url).status_code == 403
    assert api_as("anonymous").get(url).status_code == 401
    assert api_as("staff").get(url).status_code == 200


def test_another_clients_offer_is_a_404_and_other_roles_403(offer, api_as):
    for verb in ("accept", "decline"):
        assert api_as("other_client").post(offer_url(offer.pk, verb), {}, format="json").status_code == 404
        for role in ("therapist", "staff", "admin"):
            assert api_as(role).post(offer_url(offer.pk, verb), {}, format="json").status_code == 403
    assert WaitlistOffer.objects.get(pk=offer.pk).status == "open"


def test_a_clients_list_holds_only_their_entries(offer, api_as):
    joined(ClientFactory(), offer.entry.service)
    assert api_as("other_client").get(WAITLIST).json()["results"] == []
    assert [row["id"] for row in api_as("client").get(WAITLIST).json()["results"]] == [offer.entry_id]


# --- Malformed input ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "raw", ["99999999999999999999", "-1", "0", "١٢", "1.5", "1e3", "%20", "abc", "9223372036854775808"]
)
def test_odd_ids_in_the_path_are_a_404(offer, api_as, raw):
    assert api_as("client").get(entry_url(raw)).status_code == 404
    assert api_as("client").delete(entry_url(raw)).status_code == 404
    for verb in ("accept", "decline"):
        assert api_as("client").post(offer_url(raw, verb), {}, format="json").status_code == 404


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"from": "2026-02-30"}, "from"),
        ({"to": "2026-12-32"}, "to"),
        ({"earliest_time": "25:00"}, "earliest_time"),
        ({"latest_time": "12:60"}, "latest_time"),
        ({"earliest_time": "13:00", "latest_time": "09:00"}, "latest_time"),
        ({"earliest_time": "09:00", "latest_time": "09:00"}, "latest_time"),
        ({"service": 10**20}, "service"),
        ({"service": -1}, "service"),
        ({"service": 1.5}, "service"),
        ({"service": "١"}, "service"),
        ({"service": {"id": 1}}, "service"),
        ({"service": [1]}, "service"),
        ({"location": 10**20}, "location"),
        ({"therapist": "x" * 100_000}, "therapist"),
        ({"from": "x" * 100_000}, "from"),
        ({"earliest_time": {"h": 9}}, "earliest_time"),
        ({"from": None}, "from"),
    ],
)
def test_malformed_join_fields_are_a_400_on_that_field(api_as, service, maya, fields, field):
    body = {"service": service.pk, "from": THURSDAY.isoformat(), "to": THURSDAY.isoformat(), **fields}
    response = api_as("client").post(WAITLIST, body, format="json")
    assert response.status_code == 400, response.content[:300]
    assert field in response.json()
    assert not WaitlistEntry.objects.exists()


@pytest.mark.parametrize("body", [[], [{"service": 1}], "null", "", "[1, 2]", '"text"', "42"])
def test_a_join_body_that_is_not_an_object_is_a_400(api_as, service, maya, body):
    client = api_as("client")
    if isinstance(body, list):
        response = client.post(WAITLIST, body, format="json")
    else:
        response = client.post(WAITLIST, body, content_type="application/json")
    assert response.status_code == 400, response.content[:300]
    assert not WaitlistEntry.objects.exists()


def test_unknown_fields_are_ignored_and_cannot_set_the_client_or_status(api_as, service, maya, other_client_user):
    response = join(api_as("client"), service, client=other_client_user.pk, status="offered", id=5, offer=1)
    assert response.status_code == 201, response.json()
    body = response.json()
    assert (body["status"], body["offer"]) == ("waiting", None)
    assert body["client"]["id"] != other_client_user.pk


@pytest.mark.parametrize("body", [[], "[1]", '"x"', "null"])
def test_an_accept_body_that_is_not_an_object_is_a_400_and_keeps_the_offer(offer, api_as, body):
    client = api_as("client")
    if isinstance(body, list):
        response = client.post(offer_url(offer.pk, "accept"), body, format="json")
    else:
        response = client.post(offer_url(offer.pk, "accept"), body, content_type="application/json")
    assert response.status_code == 400, response.content[:300]
    assert WaitlistOffer.objects.get(pk=offer.pk).status == "open"


@pytest.mark.parametrize(
    "intake",
    [None, {}, {"answers": []}, {"answers": "x" * 100_000}, {"answers": {"notes": "x" * 100_000}}, [THERAPEUTIC]],
)
def test_a_garbage_intake_is_a_400_and_keeps_the_offer(offer, api_as, intake):
    response = api_as("client").post(offer_url(offer.pk, "accept"), {"intake": intake}, format="json")
    assert response.status_code == 400, response.content[:300]
    assert "intake" in response.json()
    assert WaitlistOffer.objects.get(pk=offer.pk).status == "open"


@pytest.mark.parametrize("query", ["status=bogus", "service=abc", "service=99999999999999999999", "service=-1"])
def test_odd_list_filters_are_a_400_or_empty_never_a_500(offer, api_as, query):
    response = api_as("staff").get(f"{WAITLIST}?{query}")
    assert response.status_code in (200, 400), response.content[:300]
    if response.status_code == 200:
        assert response.json()["results"] == []


# --- Duplicates --------------------------------------------------------------------------------------------


def test_joining_twice_makes_two_entries_or_refuses_never_a_500(api_as, service, maya):
    first = join(api_as("client"), service)
    second = join(api_as("client"), service)
    assert first.status_code == 201
    assert second.status_code in (201, 400, 409), second.content[:300]


def test_decline_twice_then_accept_then_withdraw(full_day, service, api_as, client_user):
    entry = joined(client_user, service)
    cancel(full_day[1])
    held = offer_of(entry)
    client = api_as("client")

    assert client.post(offer_url(held.pk, "decline")).status_code == 200
    assert client.post(offer_url(held.pk, "decline")).status_code == 200
    response = accept(client, held)
    assert (response.status_code, response.json()["code"]) == (409, "offer_expired")
    assert client.delete(entry_url(entry.pk)).status_code == 204
    response = client.post(offer_url(held.pk, "decline"))
    assert response.status_code in (200, 409)
    assert WaitlistEntry.objects.get(pk=entry.pk).status == "withdrawn"


def test_withdrawing_while_offered_gives_the_held_time_to_the_next_entry(full_day, service, api_as, client_user):
    entry = joined(client_user, service)
    next_entry = joined(ClientFactory(), service)
    cancel(full_day[1])
    held = offer_of(entry)

    assert api_as("client").delete(entry_url(entry.pk)).status_code == 204

    assert Booking.objects.get(pk=held.pk).status == "cancelled"
    assert offer_of(next_entry).hold.starts_at == held.hold.starts_at
    response = accept(api_as("client"), held)
    assert (response.status_code, response.json()["code"]) == (409, "offer_expired")


# --- Privacy -----------------------------------------------------------------------------------------------


def test_no_waitlist_answer_carries_health_data(offer, api_as):
    accepted = accept(api_as("client"), offer)
    assert accepted.status_code == 201
    for role in ("client", "staff"):
        for response in (api_as(role).get(WAITLIST), api_as(role).get(entry_url(offer.entry_id))):
            text = response.content.decode()
            for word in ("answers", "relaxation", "notes", "pressure_preference", "flags"):
                assert word not in text, (role, word)


# --- Races (real threads, each its own connection) --------------------------------------------------------


def together(*calls):
    """The API calls at once on their own threads; their responses in order."""
    return run_together(list(calls))


@pytest.fixture
def two_waiting(full_day, service, client_user):
    """Thursday 10:00 held for `client_user`; another client waits behind them."""
    entry = joined(client_user, service)
    next_entry = joined(ClientFactory(), service)
    cancel(full_day[1])
    return offer_of(entry), next_entry


def assert_one_open_offer_at_most_per_time():
    open_holds = Booking.objects.filter(status=Booking.Status.HELD, waitlist_offer__status="open")
    assert open_holds.count() <= 1
    assert_no_overlaps()


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_two_declines_at_once_both_answer_200_and_the_next_entry_gets_one_offer(two_waiting, as_user, client_user):
    held, next_entry = two_waiting
    url = offer_url(held.pk, "decline")
    first, second = as_user(client_user), as_user(client_user)

    responses = together(lambda: first.post(url), lambda: second.post(url))

    assert [r.status_code for r in responses] == [200, 200], [r.content[:200] for r in responses]
    assert all(r.json()["status"] == "waiting" for r in responses)
    assert WaitlistOffer.objects.filter(entry=next_entry, status="open").count() == 1
    assert WaitlistEntry.objects.get(pk=held.entry_id).status == "waiting"
    assert_one_open_offer_at_most_per_time()


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_an_accept_racing_a_withdrawal_ends_booked_or_withdrawn_never_both(two_waiting, as_user, client_user):
    held, next_entry = two_waiting
    first, second = as_user(client_user), as_user(client_user)

    accepted, withdrawn = together(lambda: accept(first, held), lambda: second.delete(entry_url(held.entry_id)))

    entry = WaitlistEntry.objects.get(pk=held.entry_id)
    if accepted.status_code == 201:
        assert (withdrawn.status_code, withdrawn.json()["code"]) == (409, "waitlist_entry_booked")
        assert entry.status == "booked"
        assert Booking.objects.get(pk=held.pk).status == "confirmed"
        assert not WaitlistOffer.objects.filter(entry=next_entry).exists()
    else:
        assert (accepted.status_code, accepted.json()["code"]) == (409, "offer_expired")
        assert withdrawn.status_code == 204
        assert entry.status == "withdrawn"
        assert WaitlistOffer.objects.filter(entry=next_entry, status="open").count() == 1
    assert_one_open_offer_at_most_per_time()


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_an_accept_racing_a_decline_ends_one_way(two_waiting, as_user, client_user):
    held, next_entry = two_waiting
    first, second = as_user(client_user), as_user(client_user)

    accepted, declined = together(lambda: accept(first, held), lambda: second.post(offer_url(held.pk, "decline")))

    if accepted.status_code == 201:
        assert (declined.status_code, declined.json()["code"]) == (409, "offer_expired")
        assert Booking.objects.get(pk=held.pk).status == "confirmed"
    else:
        assert (accepted.status_code, accepted.json()["code"]) == (409, "offer_expired")
        assert declined.status_code == 200
        assert WaitlistOffer.objects.filter(entry=next_entry, status="open").count() == 1
    assert_one_open_offer_at_most_per_time()


# --- The hold is nobody's booking yet (bookings API, FHIR, webhooks) -------------------------------------------


def test_the_hold_is_hidden_from_its_client_and_therapist_everywhere(offer, as_user, client_user, maya, api_as):
    for user in (client_user, maya.user):
        api = as_user(user)
        assert api.get(f"/api/v1/bookings/{offer.pk}/").status_code == 404
        assert api.get(f"/api/v1/bookings/{offer.pk}/intake/").status_code == 404
        assert api.get(f"/api/v1/fhir/Appointment/{offer.pk}").status_code == 404
        assert api.get(f"/api/v1/fhir/QuestionnaireResponse/{offer.pk}").status_code == 404
        search = api.get("/api/v1/fhir/Appointment", {"status": "pending"}).json()
        assert search["total"] == 0
    # the front desk sees it pending, the client asked to act
    appointment = api_as("staff").get(f"/api/v1/fhir/Appointment/{offer.pk}").json()
    assert appointment["status"] == "pending"
    assert "needs-action" in {p["status"] for p in appointment["participant"]}
    assert "supportingInformation" not in appointment
    # a hold has no intake: nothing read, nothing logged
    assert api_as("admin").get(f"/api/v1/fhir/QuestionnaireResponse/{offer.pk}").status_code == 404
    assert not IntakeAccess.objects.exists()


@pytest.mark.parametrize("key", ["", " ", "x" * 10_000, "ключ", "a\tb"])
def test_an_odd_idempotency_key_is_a_400_or_accepted_never_a_500(offer, api_as, key):
    response = accept(api_as("client"), offer, HTTP_IDEMPOTENCY_KEY=key)
    assert response.status_code in (201, 400), (key[:20], response.content[:300])
    if response.status_code == 400:
        assert WaitlistOffer.objects.get(pk=offer.pk).status == "open"


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"earliest_time": "09:00+05:00"}, "earliest_time"),
        ({"latest_time": "13:00Z"}, "latest_time"),
        ({"earliest_time": "09:00-04:00", "latest_time": "13:00-04:00"}, "earliest_time"),
        ({"earliest_time": "09:00:00.000+00:00", "latest_time": "13:00"}, "earliest_time"),
    ],
)
def test_a_time_of_day_with_a_utc_offset_is_a_400(api_as, service, maya, fields, field):
    # local times of day at the location: an offset was silently dropped (09:00+05:00 kept as 09:00 local)
    response = join(api_as("client"), service, **fields)
    assert response.status_code == 400, response.content[:300]
    assert field in response.json()
    assert not WaitlistEntry.objects.exists()


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_the_client_and_the_front_desk_withdrawing_at_once_release_the_time_once(
    two_waiting, as_user, client_user, staff_user
):
    held, next_entry = two_waiting
    mine, desk = as_user(client_user), as_user(staff_user)
    url = entry_url(held.entry_id)

    responses = together(lambda: mine.delete(url), lambda: desk.delete(url))

    assert [r.status_code for r in responses] == [204, 204]
    assert WaitlistEntry.objects.get(pk=held.entry_id).status == "withdrawn"
    assert WaitlistOffer.objects.filter(entry=next_entry, status="open").count() == 1
    assert_one_open_offer_at_most_per_time()
