"""What changed since a client's last intake (docs/intake.md): the pure comparison, and what intakes store."""

import threading
from datetime import timedelta

import pytest
from django.db import connection
from hypothesis import given
from hypothesis import strategies as st

from clinic.tests.factories import ClientFactory
from intake import rules
from intake.changes import COMPARED_FIELDS, changes_since_last, new_flags
from intake.form import FIELDS, validate_answers
from intake.models import Intake
from intake.services import intake_create, intake_update_answers
from intake.tests.cases import CHANGE_CASES
from intake.tests.test_properties import fast, valid_answers

BASE = {"pressure_preference": "firm", "primary_goal": "mobility", "consent": True}


def flags_of(answers: dict) -> list[str]:
    return rules.assess(validate_answers(answers))["flags"]


@pytest.mark.parametrize("pair", CHANGE_CASES)
def test_every_worked_pair(pair):
    previous, current = pair["previous"], pair["current"]

    assert changes_since_last(previous, current) == pair["changes_since_last"]
    assert new_flags(flags_of(previous), flags_of(current)) == pair["new_flags"]


@pytest.mark.django_db
@pytest.mark.parametrize("pair", CHANGE_CASES)
def test_every_worked_pair_as_stored(client_user, pair):
    # given the client's previous intake, when they give the next one, then it stores what changed
    intake_create(client=client_user, answers=pair["previous"])
    current = intake_create(client=client_user, answers=pair["current"])

    stored = Intake.objects.get(pk=current.pk)
    assert (stored.changes_since_last, stored.new_flags) == (pair["changes_since_last"], pair["new_flags"])


def test_the_compared_fields_are_the_forms_answers_in_its_order_with_its_defaults():
    assert list(COMPARED_FIELDS.items()) == [(f.name, f.default) for f in FIELDS if f.kind != "consent"]


@pytest.mark.parametrize(
    ("previous", "current", "changed"),
    [
        pytest.param({"notes": "  Sore neck "}, {"notes": "Sore neck"}, [], id="text-trimmed"),
        pytest.param({"notes": "sore neck"}, {"notes": "Sore neck"}, ["notes"], id="text-case-counts"),
        pytest.param({}, {"pain_tolerance": "medium", "conditions": []}, [], id="defaults-filled"),
        pytest.param({}, {"pain_tolerance": "high"}, ["pain_tolerance"], id="default-changed"),
        pytest.param({"focus_areas": ["neck", "back"]}, {"focus_areas": ["back", "neck"]}, [], id="list-as-set"),
        pytest.param(
            {"avoid_areas": ["neck"], "medications": "x"},
            {"medications": "y", "avoid_areas": []},
            ["avoid_areas", "medications"],
            id="form-order",
        ),
    ],
)
def test_how_values_compare(previous, current, changed):
    assert changes_since_last({**BASE, **previous}, {**BASE, **current}) == changed


def test_new_flags_are_in_flag_order_and_only_the_new_ones():
    # given a review flag before, then a contraindication and another review flag (listed out of order)
    assert new_flags(["fever_or_infection"], ["high_blood_pressure", "pregnancy", "fever_or_infection"]) == [
        "pregnancy",
        "high_blood_pressure",
    ]
    assert new_flags(["pregnancy"], []) == []  # a flag gone is not new


@fast
@given(valid_answers())
def test_a_first_intake_has_no_changes_and_all_its_flags_new(answers):
    flags = flags_of(answers)

    assert changes_since_last(None, answers) is None
    assert new_flags(None, flags) == flags


@fast
@given(valid_answers(), valid_answers())
def test_the_changes_are_exactly_the_fields_whose_values_differ(previous, current):
    changed = changes_since_last(previous, current)
    full_previous, full_current = validate_answers(previous), validate_answers(current)

    assert changes_since_last(previous, previous) == []
    assert changed == [name for name in COMPARED_FIELDS if name in changed]  # form order
    for name in COMPARED_FIELDS:
        a, b = full_previous[name], full_current[name]
        same = set(a) == set(b) if isinstance(a, list) else (a.strip() == b.strip() if isinstance(a, str) else a == b)
        assert (name not in changed) is same
    assert set(new_flags(flags_of(previous), flags_of(current))) == set(flags_of(current)) - set(flags_of(previous))


@given(st.lists(st.sampled_from(list(rules.HEALTH_SCREENING)), unique=True))
def test_new_flags_of_a_first_intake_are_its_flags_in_flag_order(given_flags):
    flags = [flag for flag in rules.HEALTH_SCREENING if flag in given_flags]

    assert new_flags(None, flags) == flags
    assert new_flags([], flags) == flags


@pytest.mark.django_db
class TestStored:
    def test_a_first_intake_stores_null_and_all_its_flags(self, client_user):
        intake = intake_create(
            client=client_user, answers={**BASE, "health_screening": ["pregnancy", "high_blood_pressure"]}
        )

        stored = Intake.objects.get(pk=intake.pk)
        assert stored.changes_since_last is None
        assert stored.new_flags == stored.flags == flags_of(stored.answers) != []

    def test_the_previous_intake_is_the_same_clients_latest_whatever_its_booking(self, client_user, other_client_user):
        # given two earlier intakes of the client and a later one of someone else
        intake_create(client=client_user, answers={**BASE, "notes": "first"})
        intake_create(
            client=client_user, answers={**BASE, "notes": "second", "health_screening": ["high_blood_pressure"]}
        )
        intake_create(client=other_client_user, answers={**BASE, "notes": "someone else"})

        # when the client gives the next one
        intake = intake_create(
            client=client_user, answers={**BASE, "notes": "second", "health_screening": ["high_blood_pressure"]}
        )

        # then it compares with their latest: nothing changed, no new flag
        assert (intake.changes_since_last, intake.new_flags) == ([], [])

    def test_editing_recomputes_against_the_same_previous_intake(self, client_user):
        # given a first intake and a second with a new contraindication
        first = intake_create(client=client_user, answers=BASE)
        second = intake_create(client=client_user, answers={**BASE, "health_screening": ["pregnancy"]})
        assert (second.changes_since_last, second.new_flags) == (["health_screening"], ["pregnancy"])

        # when the second is edited, and then the first
        second = intake_update_answers(intake=second, answers={**BASE, "pressure_preference": "deep"})
        first = intake_update_answers(intake=first, answers={**BASE, "notes": "edited"})

        # then the second compares with the first as it was (its stored value stays),
        # and the first stays a first intake, though a later one exists
        assert (second.changes_since_last, second.new_flags) == (["pressure_preference"], [])
        assert Intake.objects.get(pk=second.pk).changes_since_last == ["pressure_preference"]
        assert (first.changes_since_last, first.new_flags) == (None, [])

    def test_an_intake_given_at_the_same_instant_compares_by_id(self, client_user):
        first = intake_create(client=client_user, answers=BASE)
        second = intake_create(client=client_user, answers={**BASE, "notes": "x"})
        Intake.objects.filter(pk=first.pk).update(created_at=second.created_at)

        second = intake_update_answers(intake=second, answers={**BASE, "notes": "y"})

        assert second.changes_since_last == ["notes"]

    def test_an_earlier_given_intake_is_the_previous_one_whatever_its_id(self, client_user):
        given_second = intake_create(client=client_user, answers={**BASE, "notes": "given second"})
        given_first = intake_create(client=client_user, answers={**BASE, "notes": "given first"})
        Intake.objects.filter(pk=given_first.pk).update(created_at=given_second.created_at - timedelta(days=1))

        edited = intake_update_answers(intake=given_second, answers={**BASE, "notes": "given first"})

        assert edited.changes_since_last == []


@pytest.mark.django_db(transaction=True)
def test_intakes_given_at_once_are_compared_one_after_the_other():
    """Real threads on their own connections: of two first intakes given together, one compares with the other."""
    client = ClientFactory()
    barrier = threading.Barrier(4)
    stored: list[Intake] = []
    errors: list[BaseException] = []

    def give(notes: str):
        try:
            barrier.wait(timeout=10)
            stored.append(intake_create(client=client, answers={**BASE, "notes": notes}))
        except BaseException as exc:  # noqa: BLE001 - reported by the assertion below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=give, args=(f"visit {i}",)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)

    assert errors == []
    in_order = sorted(stored, key=lambda intake: (intake.created_at, intake.pk))
    assert [intake.changes_since_last for intake in in_order] == [None, ["notes"], ["notes"], ["notes"]]
