"""Writes of the intake app: create, update, review, audit, and versioning."""

import threading
from datetime import timedelta

import pytest
from django.core.exceptions import ValidationError
from django.db import DatabaseError, IntegrityError, connection, transaction
from django.utils import timezone

from intake import rules
from intake.api.serializers import IntakeSerializer
from intake.form import FORM_VERSION
from intake.models import Intake, IntakeAccess
from intake.selectors import intake_access_list, intake_assessment, intake_get
from intake.services import intake_access_log, intake_create, intake_review, intake_update_answers
from intake.tests.factories import IntakeFactory

pytestmark = pytest.mark.django_db

DEEP = {
    "pressure_preference": "deep",
    "primary_goal": "pain_relief",
    "conditions": ["chronic_pain"],
    "consent": True,
}
GENTLE = {"pressure_preference": "light", "primary_goal": "relaxation", "consent": True}


def test_create_stores_answers_assessment_and_versions(client_user):
    intake = intake_create(client=client_user, answers=DEEP)

    stored = Intake.objects.get(pk=intake.pk)
    assert stored.client == client_user
    assert stored.form_version == FORM_VERSION
    assert stored.rules_version == rules.RULES_VERSION
    assert stored.answers["pain_tolerance"] == "medium"  # normalized, defaults filled
    assert intake_assessment(stored) == rules.assess(stored.answers)
    assert stored.suggested_modality == "deep_tissue"
    assert stored.modality == "deep_tissue"
    assert stored.reviewed_modality == ""
    assert stored.reviewed_at is None


def test_create_with_invalid_answers_stores_nothing(client_user):
    with pytest.raises(ValidationError) as caught:
        intake_create(client=client_user, answers={**DEEP, "consent": False, "shoe_size": 42})

    assert set(caught.value.message_dict) == {"consent", "shoe_size"}
    assert Intake.objects.count() == 0


@pytest.mark.parametrize("notes", ["nul \x00 char", "lone \udc00 surrogate"])
def test_text_postgres_cannot_store_is_refused_before_saving(client_user, notes):
    with pytest.raises(ValidationError) as caught:
        intake_create(client=client_user, answers={**DEEP, "notes": notes})

    assert set(caught.value.message_dict) == {"notes"}
    assert Intake.objects.count() == 0


def test_unicode_answers_round_trip(client_user):
    notes = "Épaule gauche 🙂 肩こり — «tight»"

    intake = intake_create(client=client_user, answers={**DEEP, "notes": notes})

    assert Intake.objects.get(pk=intake.pk).answers["notes"] == notes


def test_update_reassesses_the_answers(client_user):
    intake = intake_create(client=client_user, answers=DEEP)

    updated = intake_update_answers(intake=intake, answers=GENTLE)

    stored = Intake.objects.get(pk=intake.pk)
    assert updated.pk == intake.pk
    assert stored.answers["pressure_preference"] == "light"
    assert intake_assessment(stored) == rules.assess(stored.answers)
    assert stored.suggested_modality == "therapeutic"
    assert stored.review_stale is False


def test_update_and_review_refresh_the_instance_passed_in(client_user, therapist):
    intake = intake_create(client=client_user, answers=DEEP)

    intake_update_answers(intake=intake, answers=GENTLE)
    assert intake.suggested_modality == "therapeutic"

    intake_review(intake=intake, reviewer=therapist.user, modality="therapeutic")
    assert intake.reviewed_by == therapist.user


@pytest.mark.django_db(transaction=True)
def test_an_edit_waits_for_a_review_holding_the_row(client_user, therapist):
    # given a transaction holding the intake's row lock (as a review in progress would)
    intake = intake_create(client=client_user, answers=DEEP)
    done = threading.Event()

    def edit():
        try:
            intake_update_answers(intake=Intake.objects.get(pk=intake.pk), answers=GENTLE)
        finally:
            connection.close()
            done.set()

    with transaction.atomic():
        Intake.objects.select_for_update().get(pk=intake.pk)
        worker = threading.Thread(target=edit)
        worker.start()
        # then the edit waits for the lock
        assert not done.wait(0.5)
        intake_review(intake=intake, reviewer=therapist.user, modality="deep_tissue")

    worker.join(10)
    # and applies after the review, so the review is stale
    stored = Intake.objects.get(pk=intake.pk)
    assert done.is_set()
    assert (stored.suggested_modality, stored.reviewed_modality, stored.review_stale) == (
        "therapeutic",
        "deep_tissue",
        True,
    )


def test_update_keeps_a_review_but_marks_it_stale(client_user, therapist):
    # given a reviewed intake
    intake = intake_create(client=client_user, answers=DEEP)
    intake = intake_review(intake=intake, reviewer=therapist.user, modality="deep_tissue", note="ok")

    # when the client changes the answers
    intake_update_answers(intake=intake, answers=GENTLE)

    # then the review stays, marked as made against the older answers
    stored = Intake.objects.get(pk=intake.pk)
    assert stored.suggested_modality == "therapeutic"
    assert stored.reviewed_modality == "deep_tissue"
    assert stored.modality == "deep_tissue"
    assert stored.reviewed_by == therapist.user
    assert stored.review_stale is True


def test_update_with_the_same_answers_keeps_a_review_fresh(client_user, therapist):
    intake = intake_create(client=client_user, answers=DEEP)
    intake_review(intake=intake, reviewer=therapist.user, modality="therapeutic")

    intake_update_answers(intake=intake, answers=dict(DEEP))

    assert Intake.objects.get(pk=intake.pk).review_stale is False


def test_update_with_invalid_answers_changes_nothing(client_user):
    intake = intake_create(client=client_user, answers=DEEP)

    with pytest.raises(ValidationError) as caught:
        intake_update_answers(intake=intake, answers={**DEEP, "conditions": ["stress", "stress"]})

    assert set(caught.value.message_dict) == {"conditions"}
    assert Intake.objects.get(pk=intake.pk).answers == intake.answers


def test_review_records_who_what_and_when(client_user, therapist):
    intake = intake_create(client=client_user, answers=DEEP)
    before = timezone.now()

    reviewed = intake_review(intake=intake, reviewer=therapist.user, modality="therapeutic", note="Client is tired.")

    stored = Intake.objects.get(pk=intake.pk)
    assert reviewed.reviewed_modality == stored.reviewed_modality == "therapeutic"
    assert stored.review_note == "Client is tired."
    assert stored.reviewed_by == therapist.user
    assert before <= stored.reviewed_at <= timezone.now()
    assert stored.suggested_modality == "deep_tissue"  # the suggestion stays beside the final word
    assert stored.modality == "therapeutic"


def test_a_new_review_clears_staleness(client_user, therapist):
    intake = intake_create(client=client_user, answers=DEEP)
    intake_review(intake=intake, reviewer=therapist.user, modality="deep_tissue")
    intake_update_answers(intake=intake, answers=GENTLE)

    intake_review(intake=intake, reviewer=therapist.user, modality="therapeutic")

    stored = Intake.objects.get(pk=intake.pk)
    assert stored.review_stale is False
    assert stored.reviewed_modality == "therapeutic"


@pytest.mark.parametrize("modality", ["", "swedish", None, 1, ["therapeutic"]])
def test_review_with_an_unknown_modality_is_refused(client_user, therapist, modality):
    intake = intake_create(client=client_user, answers=DEEP)

    with pytest.raises(ValidationError) as caught:
        intake_review(intake=intake, reviewer=therapist.user, modality=modality)

    assert set(caught.value.message_dict) == {"modality"}
    assert Intake.objects.get(pk=intake.pk).reviewed_at is None


@pytest.mark.parametrize("note", [None, "x" * 2001, "nul \x00 char"])
def test_review_with_a_bad_note_is_refused(client_user, therapist, note):
    intake = intake_create(client=client_user, answers=DEEP)

    with pytest.raises(ValidationError) as caught:
        intake_review(intake=intake, reviewer=therapist.user, modality="therapeutic", note=note)

    assert set(caught.value.message_dict) == {"note"}
    assert Intake.objects.get(pk=intake.pk).reviewed_at is None


def test_a_stored_assessment_keeps_its_rules_version_when_the_weights_change(client_user, monkeypatch):
    # given an intake assessed under rules v1
    old = intake_create(client=client_user, answers=DEEP)
    assert (old.rules_version, old.score, old.suggested_modality) == (1, 5, "deep_tissue")

    # when the clinic retunes the weights as rules v2
    monkeypatch.setitem(rules.POINTS, "pressure_preference", {"light": -3, "medium": 0, "firm": 0, "deep": 0})
    monkeypatch.setattr(rules, "RULES_VERSION", 2)
    new = intake_create(client=client_user, answers=DEEP)

    # then new intakes use v2 and the stored one is untouched
    assert (new.rules_version, new.score, new.suggested_modality) == (2, 2, "deep_tissue")
    stored = Intake.objects.get(pk=old.pk)
    assert (stored.rules_version, stored.score) == (1, 5)
    assert {"code": "pressure_preference:deep", "label": "Prefers deep pressure", "points": 3} in stored.reasons


def test_updating_an_old_intake_reassesses_it_under_the_current_rules(client_user, monkeypatch):
    old = intake_create(client=client_user, answers=DEEP)
    monkeypatch.setattr(rules, "RULES_VERSION", 2)

    intake_update_answers(intake=old, answers=DEEP)

    assert Intake.objects.get(pk=old.pk).rules_version == 2


def test_access_log_writes_an_audit_row(client_user, therapist):
    intake = intake_create(client=client_user, answers=DEEP)

    row = intake_access_log(intake=intake, user=therapist.user, booking_id=42, remote_addr="203.0.113.9", channel="api")

    stored = IntakeAccess.objects.get(pk=row.pk)
    assert (stored.intake, stored.accessed_by, stored.booking_id) == (intake, therapist.user, 42)
    assert (stored.remote_addr, stored.channel, stored.outcome) == ("203.0.113.9", "api", "allowed")
    assert list(intake_access_list(intake=intake, user=client_user)) == [stored]


@pytest.mark.parametrize("remote_addr", ["not an address", "", None, "1.2.3.4, 5.6.7.8"])
def test_access_log_survives_a_bad_address(client_user, remote_addr):
    intake = IntakeFactory()

    row = intake_access_log(
        intake=intake, user=client_user, remote_addr=remote_addr, channel="day_sheet", outcome="denied"
    )

    assert IntakeAccess.objects.get(pk=row.pk).remote_addr is None


def test_access_log_refuses_an_unknown_channel(client_user):
    with pytest.raises(ValueError, match="Unknown intake access channel"):
        intake_access_log(intake=IntakeFactory(), user=client_user, channel="fax")


def test_an_intake_read_is_its_clients_whatever_the_writer_says(client_user):
    # given a row written straight to the table naming another client
    intake = IntakeFactory()
    row = IntakeAccess.objects.create(intake=intake, client=client_user, channel="api")

    # then the database recorded the intake's own client
    assert IntakeAccess.objects.get(pk=row.pk).client_id == intake.client_id
    assert IntakeAccess.objects.get(pk=row.pk).kind == "intake"


def test_reads_of_notes_and_of_a_history_name_whose_data_they_were(client_user, therapist):
    notes = intake_access_log(kind="notes", client=client_user, user=therapist.user, booking_id=7, channel="api")
    history = intake_access_log(kind="history", client=client_user, user=therapist.user, channel="api")

    for row in (notes, history):
        stored = IntakeAccess.objects.get(pk=row.pk)
        assert (stored.client, stored.intake, stored.accessed_by) == (client_user, None, therapist.user)
    assert (notes.kind, notes.booking_id, history.kind) == ("notes", 7, "history")


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"kind": "intake", "client": "client"}, "names the intake"),
        ({"kind": "notes", "client": "client"}, "names the booking"),
        ({"kind": "history"}, "whose data"),
        ({"kind": "records", "client": "client"}, "Unknown access kind"),
        ({"kind": "intake", "intake": "other", "client": "client"}, "not that client's"),
    ],
)
def test_an_audit_row_names_what_was_read_and_whose(client_user, kwargs, message):
    values = {"client": client_user, "other": IntakeFactory()}
    kwargs = {key: values.get(value, value) for key, value in kwargs.items()}

    with pytest.raises(ValueError, match=message):
        intake_access_log(user=client_user, channel="api", **kwargs)
    assert not IntakeAccess.objects.exists()


def test_the_database_refuses_a_row_that_names_nothing_read(client_user):
    for kind, extra in (("intake", {}), ("notes", {})):
        with pytest.raises(IntegrityError), transaction.atomic():
            IntakeAccess.objects.create(kind=kind, client=client_user, channel="api", **extra)


def test_the_audit_log_is_append_only_in_the_database(client_user):
    row = intake_access_log(intake=IntakeFactory(), user=client_user, channel="admin")

    for write in (lambda rows: rows.update(outcome="denied"), lambda rows: rows.delete()):
        with pytest.raises(DatabaseError), transaction.atomic():
            write(IntakeAccess.objects.filter(pk=row.pk))


def test_intake_get_renders_in_one_query(client_user, therapist, django_assert_num_queries):
    intake = intake_create(client=client_user, answers=DEEP)
    intake_review(intake=intake, reviewer=therapist.user, modality="therapeutic", note="Gentle today.")

    with django_assert_num_queries(1):
        data = IntakeSerializer(intake_get(intake_id=intake.pk)).data

    assert data["form_version"] == 1
    assert data["answers"] == intake.answers
    assert data["assessment"] == {**rules.assess(intake.answers)}
    assert data["review"]["modality"] == "therapeutic"
    assert data["review"]["note"] == "Gentle today."
    assert data["review"]["reviewed_by"] == therapist.user.display_name
    assert data["review"]["stale"] is False
    assert data["review"]["reviewed_at"].endswith("Z") or "+" in data["review"]["reviewed_at"]


def test_an_unreviewed_intake_renders_review_as_null(client_user):
    intake = intake_create(client=client_user, answers=GENTLE)

    data = IntakeSerializer(intake).data

    assert set(data) == {"form_version", "answers", "assessment", "changes_since_last", "new_flags", "review"}
    assert set(data["assessment"]) == {"modality", "score", "needs_review", "flags", "reasons", "rules_version"}
    assert data["review"] is None


def test_the_factory_still_builds_a_stored_intake():
    intake = IntakeFactory()

    assert intake.suggested_modality == "therapeutic"
    assert intake.created_at > timezone.now() - timedelta(minutes=1)
