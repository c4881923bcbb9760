"""booking.intake_access: who may read or answer a booking's intake, and the audit rows of reads.

Each relation × read and answer against the service itself (the API's,
FHIR's and the pages' tests cover their translations into 403 and 404).
"""

from datetime import timedelta

import pytest
from django.utils import timezone

from booking import intake_access
from booking.errors import IntakeLocked, TooEarly
from booking.intake_access import (
    ADMIN,
    CLIENT,
    STAFF,
    STRANGER,
    THERAPIST,
    BookingNotFound,
    IntakeAnswerForbidden,
    IntakeNotCompleted,
    IntakeReadForbidden,
)
from booking.models import Booking
from booking.tests.factories import BookingFactory
from clinic.models import Therapist
from intake.models import IntakeAccess

pytestmark = pytest.mark.django_db

ADDRESS = "203.0.113.7"
RELATIONS = {
    "client": CLIENT,
    "other_client": STRANGER,
    "therapist": THERAPIST,
    "other_therapist": STRANGER,
    "staff": STAFF,
    "admin": ADMIN,
}
ROLES = tuple(RELATIONS)


FIXTURES = {
    "client": "client_user",
    "other_client": "other_client_user",
    "therapist": "therapist",
    "other_therapist": "other_therapist",
    "staff": "staff_user",
    "admin": "admin_user",
}


@pytest.fixture
def person(request):
    """`person("staff")`: the user of that role (conftest's ROLES), relative to the `booking` fixture."""

    def user_of(role: str):
        who = request.getfixturevalue(FIXTURES[role])
        return who.user if isinstance(who, Therapist) else who

    return user_of


@pytest.fixture
def booking(clinic, client_user, therapist):
    return BookingFactory(client=client_user, therapist=therapist)


@pytest.fixture
def pending(clinic, client_user, therapist):
    return BookingFactory(
        client=client_user, therapist=therapist, intake=None, intake_status=Booking.IntakeStatus.PENDING
    )


def rows() -> list[tuple]:
    return list(
        IntakeAccess.objects.order_by("id").values_list(
            "kind", "channel", "outcome", "accessed_by_id", "booking_id", "intake_id", "client_id", "remote_addr"
        )
    )


def read(booking_id: int, user, **options) -> Booking:
    options.setdefault("channel", IntakeAccess.Channel.API)
    return intake_access.booking_intake_read(booking_id=booking_id, user=user, remote_addr=ADDRESS, **options)


# --- The relation ------------------------------------------------------------------------------


@pytest.mark.parametrize("role", ROLES)
def test_each_user_stands_to_a_booking_by_role_then_as_its_client_or_therapist(person, booking, role):
    assert intake_access.booking_relation(person(role), booking) == RELATIONS[role]


@pytest.mark.parametrize("role", ROLES)
def test_a_held_offer_is_a_strangers_to_its_client_and_therapist(person, booking, role):
    booking.status, booking.hold_expires_at = Booking.Status.HELD, timezone.now() + timedelta(minutes=30)
    booking.save()
    expected = RELATIONS[role] if role in ("staff", "admin") else STRANGER
    assert intake_access.booking_relation(person(role), booking) == expected


# --- Reading ------------------------------------------------------------------------------------


@pytest.mark.parametrize("role", ["client", "therapist", "admin"])
@pytest.mark.parametrize("channel", [IntakeAccess.Channel.API, IntakeAccess.Channel.FHIR, IntakeAccess.Channel.WEB])
def test_its_client_therapist_and_admins_read_it_and_each_read_is_one_allowed_row(person, booking, role, channel):
    reader = person(role)

    got = read(booking.pk, reader, channel=channel)

    assert (got.pk, got.intake_id) == (booking.pk, booking.intake_id)
    assert got.intake.answers == booking.intake.answers
    assert rows() == [
        ("intake", channel, "allowed", reader.pk, booking.pk, booking.intake_id, booking.client_id, ADDRESS)
    ]


@pytest.mark.parametrize(
    ("role", "refusal"),
    [
        ("staff", IntakeReadForbidden),
        ("other_client", BookingNotFound),
        ("other_therapist", BookingNotFound),
    ],
)
def test_others_are_refused_and_each_attempt_is_one_denied_row(person, booking, role, refusal):
    caller = person(role)

    with pytest.raises(refusal) as refused:
        read(booking.pk, caller, channel=IntakeAccess.Channel.WEB)

    assert not isinstance(refused.value, IntakeNotCompleted)
    assert rows() == [("intake", "web", "denied", caller.pk, booking.pk, booking.intake_id, booking.client_id, ADDRESS)]


def test_a_refusal_to_staff_says_their_role_may_not_a_strangers_says_nothing(person, booking):
    with pytest.raises(IntakeReadForbidden) as forbidden:
        read(booking.pk, person("staff"))
    with pytest.raises(BookingNotFound) as not_found:
        read(booking.pk, person("other_client"))

    assert forbidden.value.detail == "Your role may not do this with this booking's intake."
    assert not_found.value.detail is None  # each caller says its own "not found", never whose it is


@pytest.mark.parametrize(("role", "refusal"), [("client", IntakeReadForbidden), ("staff", IntakeReadForbidden)])
def test_a_caller_narrows_the_readers_and_the_others_are_refused_as_denied(person, booking, role, refusal):
    # FHIR lets the therapist and admins read it: its client reads it at the intake endpoint
    caller = person(role)

    with pytest.raises(refusal):
        read(booking.pk, caller, readers={THERAPIST, ADMIN}, channel=IntakeAccess.Channel.FHIR)
    therapist_read = read(booking.pk, person("therapist"), readers={THERAPIST, ADMIN}, channel="fhir")

    assert therapist_read.pk == booking.pk
    assert [row[1:4] for row in rows()] == [("fhir", "denied", caller.pk), ("fhir", "allowed", person("therapist").pk)]


def test_no_such_booking_is_not_found_and_writes_nothing(clinic, admin_user, booking):
    with pytest.raises(BookingNotFound):
        read(booking.pk + 1000, admin_user)
    assert rows() == []


@pytest.mark.parametrize("role", ["client", "therapist", "admin"])
def test_a_pending_intake_has_nothing_to_read_and_writes_no_row(person, pending, role):
    with pytest.raises(IntakeNotCompleted) as refused:
        read(pending.pk, person(role))

    assert refused.value.detail == "The client has not completed the intake for this booking yet."
    assert rows() == []


@pytest.mark.parametrize(
    ("role", "refusal"),
    [("staff", IntakeReadForbidden), ("other_client", BookingNotFound), ("other_therapist", BookingNotFound)],
)
def test_a_pending_intake_is_refused_to_others_as_before_without_a_row(person, pending, role, refusal):
    with pytest.raises(refusal) as refused:
        read(pending.pk, person(role))

    assert not isinstance(refused.value, IntakeNotCompleted)  # a stranger learns nothing of its intake
    assert rows() == []


def test_a_page_may_take_the_booking_of_a_pending_intake_still_without_a_row(person, pending):
    got = read(pending.pk, person("therapist"), readers={THERAPIST}, allow_pending=True, channel="web")

    assert (got.pk, got.intake) == (pending.pk, None)
    assert rows() == []


@pytest.mark.parametrize("role", ["client", "therapist"])
def test_a_held_offer_is_not_found_by_its_client_or_therapist_and_the_attempt_is_denied(person, booking, role):
    booking.status, booking.hold_expires_at = Booking.Status.HELD, timezone.now() + timedelta(minutes=30)
    booking.save()

    with pytest.raises(BookingNotFound):
        read(booking.pk, person(role))

    assert [row[1:4] for row in rows()] == [("api", "denied", person(role).pk)]


def test_the_front_desk_still_refused_a_held_offers_intake_and_admins_read_it(person, booking):
    booking.status, booking.hold_expires_at = Booking.Status.HELD, timezone.now() + timedelta(minutes=30)
    booking.save()

    with pytest.raises(IntakeReadForbidden):
        read(booking.pk, person("staff"))
    assert read(booking.pk, person("admin")).pk == booking.pk

    assert [row[2:4] for row in rows()] == [("denied", person("staff").pk), ("allowed", person("admin").pk)]


# --- Answering: who, then when ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("role", "outcome"),
    [
        ("client", CLIENT),
        ("therapist", "Only the client changes the answers of a completed intake."),
        ("admin", "Only the client changes the answers of a completed intake."),
        ("staff", "Your role may not do this with this booking's intake."),
        ("other_client", BookingNotFound),
        ("other_therapist", BookingNotFound),
    ],
)
def test_only_its_client_answers_a_completed_intake(person, booking, role, outcome):
    if outcome is BookingNotFound:
        with pytest.raises(BookingNotFound):
            intake_access.booking_intake_answerer(booking_id=booking.pk, user=person(role))
    elif outcome == CLIENT:
        got, relation = intake_access.booking_intake_answerer(booking_id=booking.pk, user=person(role))
        assert (got.pk, relation) == (booking.pk, CLIENT)
    else:
        with pytest.raises(IntakeAnswerForbidden) as refused:
            intake_access.booking_intake_answerer(booking_id=booking.pk, user=person(role))
        assert refused.value.detail == outcome
    assert rows() == []  # answering reads nothing: no audit row


@pytest.mark.parametrize(
    ("role", "outcome"),
    [
        ("client", CLIENT),
        ("therapist", THERAPIST),
        ("admin", ADMIN),
        ("staff", IntakeAnswerForbidden),
        ("other_client", BookingNotFound),
        ("other_therapist", BookingNotFound),
    ],
)
def test_its_client_therapist_or_an_admin_may_complete_a_pending_intake(person, pending, role, outcome):
    if isinstance(outcome, str):
        got, relation = intake_access.booking_intake_answerer(booking_id=pending.pk, user=person(role))
        assert (got.pk, relation) == (pending.pk, outcome)
    else:
        with pytest.raises(outcome):
            intake_access.booking_intake_answerer(booking_id=pending.pk, user=person(role))
    assert rows() == []


def test_a_held_offer_is_not_its_clients_or_therapists_to_answer(person, pending):
    pending.status, pending.hold_expires_at = Booking.Status.HELD, timezone.now() + timedelta(minutes=30)
    pending.save()

    for role in ("client", "therapist"):
        with pytest.raises(BookingNotFound):
            intake_access.booking_intake_answerer(booking_id=pending.pk, user=person(role))
    assert intake_access.booking_intake_answerer(booking_id=pending.pk, user=person("admin"))[1] == ADMIN


@pytest.mark.parametrize(
    ("relation", "minutes_from_start", "status", "refusal"),
    [
        (CLIENT, -1, Booking.Status.CONFIRMED, None),  # until the start
        (CLIENT, 0, Booking.Status.CONFIRMED, IntakeLocked),  # from the start
        (CLIENT, 30, Booking.Status.CONFIRMED, IntakeLocked),
        (CLIENT, 30, Booking.Status.CANCELLED, None),  # not active: booking_intake_update says so
        (THERAPIST, -1, Booking.Status.CONFIRMED, TooEarly),
        (THERAPIST, 0, Booking.Status.CONFIRMED, None),
        (ADMIN, -60, Booking.Status.CONFIRMED, TooEarly),
        (ADMIN, 30, Booking.Status.CONFIRMED, None),
    ],
)
def test_the_client_answers_until_the_start_a_clinician_from_it(pending, relation, minutes_from_start, status, refusal):
    pending.status = status
    now = pending.starts_at + timedelta(minutes=minutes_from_start)

    if refusal is None:
        intake_access.booking_intake_answer_when(booking=pending, relation=relation, now=now)
    else:
        with pytest.raises(refusal) as refused:
            intake_access.booking_intake_answer_when(booking=pending, relation=relation, now=now)
        assert refused.value.code == refusal.code


def test_too_early_tells_the_clinician_the_client_completes_it_until_the_start(pending):
    with pytest.raises(TooEarly) as refused:
        intake_access.booking_intake_answer_when(booking=pending, relation=THERAPIST, now=timezone.now())

    assert refused.value.detail == (
        "Until the session starts the client completes the intake (they were asked by mail); "
        "from its start, its therapist may complete it with them."
    )


# --- Authorizing without a read ---------------------------------------------------------------------


@pytest.mark.parametrize("role", ROLES)
def test_authorize_lets_the_allowed_through_404s_strangers_403s_the_rest_and_writes_nothing(person, booking, role):
    allowed = {CLIENT, ADMIN}  # the access log's
    relation = RELATIONS[role]

    if relation == STRANGER:
        with pytest.raises(BookingNotFound):
            intake_access.booking_authorize(booking_id=booking.pk, user=person(role), allowed=allowed)
    elif relation in allowed:
        got, got_relation = intake_access.booking_authorize(booking_id=booking.pk, user=person(role), allowed=allowed)
        assert (got.pk, got_relation) == (booking.pk, relation)
    else:
        with pytest.raises(intake_access.IntakeForbidden):
            intake_access.booking_authorize(booking_id=booking.pk, user=person(role), allowed=allowed)
    assert rows() == []
