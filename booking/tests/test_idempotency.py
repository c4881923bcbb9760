"""Idempotency-Key on booking writes (docs/api.md, Bookings): a retry replays the
first answer, a reused key with another body is a 422, a key still running
is a 409, and keys belong to their user."""

import json
from datetime import timedelta

import pytest

from booking import idempotency, services
from booking.models import Booking, IdempotencyRecord
from booking.tests.helpers import (
    BOOKINGS,
    DEEP_TISSUE,
    THERAPEUTIC,
    assert_conflict,
    book,
    booked,
    booking_body,
    frozen,
    hour_service,
    local,
    new_york,
    works,
)
from intake.models import Intake

pytestmark = pytest.mark.django_db

KEY = "3f1c2a7e-booking-1"


@pytest.fixture(autouse=True)
def now():
    with frozen() as traveller:
        yield traveller


@pytest.fixture
def service(clinic):
    return hour_service()


@pytest.fixture
def place(clinic, therapist):
    place = new_york()
    works(therapist, place, [4], start=9, end=13)
    return place


@pytest.fixture
def session(service, place):
    """The session a client books: `service` on Friday at 09:00 (the only therapist works from 9 to 13)."""
    return (service, local(2026, 12, 4, 9))


@pytest.fixture
def other_session(service, place):
    return (service, local(2026, 12, 4, 11))


@pytest.fixture
def client_api(as_user, client_user):
    return as_user(client_user)


def _with_key(key=KEY) -> dict:
    return {"HTTP_IDEMPOTENCY_KEY": key}


def test_a_retry_replays_the_first_answer(client_api, session):
    first = book(client_api, *session, **_with_key())
    second = book(client_api, *session, **_with_key())

    assert first.status_code == second.status_code == 201
    assert second.json() == first.json()
    assert second["Idempotent-Replayed"] == "true"
    assert Booking.objects.count() == Intake.objects.count() == 1


def test_the_same_body_in_another_key_order_is_the_same_request(client_api, session):
    first = book(client_api, *session, **_with_key())
    body = booking_body(*session)
    reordered = json.dumps(
        {"intake": {"answers": dict(reversed(list(THERAPEUTIC.items())))}, "starts_at": body["starts_at"], **body}
    )

    second = client_api.post(BOOKINGS, reordered, content_type="application/json", **_with_key())

    assert (second.status_code, second.json()) == (201, first.json())
    assert Booking.objects.count() == 1


@pytest.mark.parametrize("change", ["time", "answers"])
def test_the_same_key_with_another_body_is_a_422(client_api, session, other_session, change):
    book(client_api, *session, **_with_key())
    body = booking_body(*other_session) if change == "time" else booking_body(*session, DEEP_TISSUE)

    response = client_api.post(BOOKINGS, body, format="json", **_with_key())

    assert_conflict(response, "idempotency_key_reused", status=422)
    assert Booking.objects.count() == 1


def test_another_users_key_replays_nothing(as_user, client_api, other_client_user, session, other_session):
    mine = book(client_api, *session, **_with_key())

    theirs = book(as_user(other_client_user), *other_session, **_with_key())

    assert theirs.status_code == 201
    assert "Idempotent-Replayed" not in theirs
    assert theirs.json()["id"] != mine.json()["id"]
    assert theirs.json()["client"]["id"] == other_client_user.pk
    assert Booking.objects.count() == 2


def test_another_user_with_the_same_key_and_body_gets_their_own_answer(as_user, client_api, other_client_user, session):
    book(client_api, *session, **_with_key())

    theirs = book(as_user(other_client_user), *session, **_with_key())

    # not a replay of the first client's booking: the time is simply taken
    assert_conflict(theirs, "slot_unavailable")
    assert Booking.objects.count() == 1


def test_a_first_409_is_replayed_even_once_the_time_is_free(
    as_user, client_api, client_user, other_client_user, session
):
    # given the time is taken, and a request with a key is refused
    blocker = booked(other_client_user, *session)
    first = book(client_api, *session, **_with_key())
    assert_conflict(first, "slot_unavailable")

    # when the time frees up and the same request is retried with the same key
    services.booking_cancel(booking_id=blocker.pk, by=other_client_user)
    retry = book(client_api, *session, **_with_key())

    # then the first answer is replayed; a new key books
    assert (retry.status_code, retry.json()) == (409, first.json())
    assert not Booking.objects.filter(client=client_user).exists()
    assert book(client_api, *session, **_with_key("a-new-key")).status_code == 201


def test_a_first_400_is_replayed(client_api, session):
    bad = booking_body(*session, {"pressure_preference": "medium"})
    first = client_api.post(BOOKINGS, bad, format="json", **_with_key())

    retry = client_api.post(BOOKINGS, bad, format="json", **_with_key())

    assert first.status_code == retry.status_code == 400
    assert retry.json() == first.json()
    assert not Intake.objects.exists()


def test_a_key_still_running_is_a_409(client_api, client_user, session):
    # a first request with this key and body has claimed it and not answered yet
    book(client_api, *session, **_with_key())
    IdempotencyRecord.objects.filter(user=client_user, key=KEY).update(response_status=None, response_body=None)

    response = book(client_api, *session, **_with_key())

    assert_conflict(response, "idempotency_key_in_use")
    assert Booking.objects.count() == 1


def test_a_claim_abandoned_for_5_minutes_is_taken_over(now, client_api, client_user, session):
    # given a claim whose request died before answering, and no booking left behind
    book(client_api, *session, **_with_key())
    IdempotencyRecord.objects.filter(user=client_user, key=KEY).update(response_status=None, response_body=None)
    Booking.objects.all().delete()

    now.shift(timedelta(minutes=4, seconds=59))
    assert_conflict(book(client_api, *session, **_with_key()), "idempotency_key_in_use")

    # when retried more than 5 minutes after the claim
    now.shift(timedelta(seconds=2))
    response = book(client_api, *session, **_with_key())

    # then it runs again, and its answer is the one kept
    assert response.status_code == 201
    assert Booking.objects.filter(client=client_user).count() == 1
    assert book(client_api, *session, **_with_key()).json() == response.json()


def test_a_server_error_releases_the_key(client_api, session, monkeypatch):
    def broken(**kwargs):
        raise RuntimeError("the database went away")

    monkeypatch.setattr(services, "booking_create", broken)
    with pytest.raises(RuntimeError):
        book(client_api, *session, **_with_key())
    assert not IdempotencyRecord.objects.exists()
    monkeypatch.undo()

    assert book(client_api, *session, **_with_key()).status_code == 201


def test_without_a_key_a_repeat_is_a_new_request(client_api, session):
    assert book(client_api, *session).status_code == 201

    assert_conflict(book(client_api, *session), "client_overlap")  # the same client, booked already
    assert Booking.objects.count() == 1
    assert not IdempotencyRecord.objects.exists()


@pytest.mark.parametrize("key", ["", "k" * 256])
def test_a_key_must_be_1_to_255_characters(client_api, session, key):
    response = book(client_api, *session, **_with_key(key))

    assert response.status_code == 400
    assert "Idempotency-Key" in response.json()
    assert not Booking.objects.exists()
    assert not IdempotencyRecord.objects.exists()


def test_the_same_key_on_another_endpoint_is_a_422(client_api, session):
    created = book(client_api, *session, **_with_key()).json()

    response = client_api.post(f"{BOOKINGS}{created['id']}/cancel/", {}, format="json", **_with_key())

    assert_conflict(response, "idempotency_key_reused", status=422)
    assert Booking.objects.get().status == Booking.Status.CONFIRMED


def test_a_retried_cancel_replays_instead_of_failing(client_api, session):
    booking = book(client_api, *session).json()
    url = f"{BOOKINGS}{booking['id']}/cancel/"

    first = client_api.post(url, {"reason": "ill"}, format="json", **_with_key("cancel-1"))
    retry = client_api.post(url, {"reason": "ill"}, format="json", **_with_key("cancel-1"))
    without_key = client_api.post(url, {"reason": "ill"}, format="json")

    assert (first.status_code, retry.status_code) == (200, 200)
    assert retry.json() == first.json()
    assert_conflict(without_key, "booking_not_active")


def test_a_retried_reschedule_replays_instead_of_moving_again(client_api, session, other_session):
    booking = book(client_api, *session).json()
    url = f"{BOOKINGS}{booking['id']}/reschedule/"

    body = {"starts_at": other_session[1].isoformat()}
    first = client_api.post(url, body, format="json", **_with_key("move-1"))
    retry = client_api.post(url, body, format="json", **_with_key("move-1"))

    assert (first.status_code, retry.status_code) == (200, 200)
    assert retry.json() == first.json()
    assert Booking.objects.get().sequence == 1


def test_keys_are_kept_24_hours(now, client_api, session, other_session):
    book(client_api, *session, **_with_key())

    now.shift(timedelta(hours=23, minutes=59))
    assert idempotency.idempotency_purge() == 0
    assert book(client_api, *session, **_with_key()).status_code == 201  # still a replay
    assert Booking.objects.count() == 1

    now.shift(timedelta(minutes=2))
    assert idempotency.idempotency_purge() == 1
    assert not IdempotencyRecord.objects.exists()


def test_a_key_released_while_we_looked_is_claimed_again(client_api, session, monkeypatch):
    """A first request that failed with a server error releases its key; a
    duplicate that saw the claim a moment before must run, not crash."""
    claim = idempotency._claim
    calls = []

    def held_by_a_request_that_then_failed(user, key, fingerprint):
        calls.append(key)
        return None if len(calls) == 1 else claim(user, key, fingerprint)

    monkeypatch.setattr(idempotency, "_claim", held_by_a_request_that_then_failed)

    response = book(client_api, *session, **_with_key())

    assert response.status_code == 201
    assert IdempotencyRecord.objects.get().response_status == 201
    assert book(client_api, *session, **_with_key()).json() == response.json()


def test_a_retried_front_desk_booking_replays_and_the_key_is_the_desks(as_user, staff_user, client_user, session):
    desk = as_user(staff_user)

    first = book(desk, *session, None, client=client_user, **_with_key())
    retry = book(desk, *session, None, client=client_user, **_with_key())
    # the client's own key of the same name is another record
    theirs = book(as_user(client_user), *session, **_with_key())

    assert (first.status_code, retry.status_code) == (201, 201)
    assert retry.json() == first.json()
    assert_conflict(theirs, "client_overlap")
    assert Booking.objects.count() == 1


@pytest.mark.parametrize(("action", "status"), [("complete", "completed"), ("no-show", "no_show")])
def test_a_retried_close_replays_instead_of_failing(now, as_user, therapist, client_user, session, action, status):
    booking = booked(client_user, *session, therapist=therapist)
    now.move_to(booking.starts_at + timedelta(minutes=70))
    api = as_user(therapist.user)
    url = f"{BOOKINGS}{booking.pk}/{action}/"

    first = api.post(url, format="json", **_with_key("close-1"))
    retry = api.post(url, format="json", **_with_key("close-1"))

    assert (first.status_code, retry.status_code) == (200, 200)
    assert retry.json() == first.json()
    assert first.json()["status"] == status
    assert_conflict(api.post(url, format="json"), "booking_not_active")
