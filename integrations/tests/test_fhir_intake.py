"""The intake over FHIR: the form as a Questionnaire, a booking's intake as a QuestionnaireResponse (audited).

A QuestionnaireResponse is read through the intake endpoint's own decision
and audit (integrations.fhir.selectors.booking_intake_read): its therapist
and admins read it, each read writes one `intake` row with the caller's
address; staff and the booking's client are refused (403) and strangers
get a 404, each refusal logged as a refused read of the intake endpoint is;
a pending intake is a 404 with no row.
"""

import pytest
from fhir.resources.R4B.bundle import Bundle
from fhir.resources.R4B.questionnaire import Questionnaire
from fhir.resources.R4B.questionnaireresponse import QuestionnaireResponse

from booking.models import Booking
from booking.tests.factories import BookingFactory
from intake.form import FIELDS, FORM_VERSION
from intake.models import IntakeAccess
from intake.tests.factories import IntakeFactory
from integrations.tests.test_fhir_api import BASE, FHIR_JSON, fhir, ids, issue

ANSWERS = {
    "pressure_preference": "firm",
    "primary_goal": "pain_relief",
    "conditions": ["lower_back_pain"],
    "pain_tolerance": "high",
    "health_screening": ["high_blood_pressure"],
    "focus_areas": ["lower_back", "neck"],
    "avoid_areas": [],
    "medications": "",
    "notes": "Sore after a move.",
    "consent": True,
}


@pytest.fixture
def booking(client_user, therapist):
    intake = IntakeFactory(client=client_user, answers=ANSWERS, flags=["high_blood_pressure"], needs_review=True)
    return BookingFactory(client=client_user, therapist=therapist, intake=intake)


def rows():
    return list(
        IntakeAccess.objects.order_by("id").values_list(
            "kind", "channel", "outcome", "accessed_by_id", "booking_id", "intake_id", "client_id", "remote_addr"
        )
    )


# --- Questionnaire --------------------------------------------------------------------------


@pytest.mark.django_db
def test_the_questionnaire_is_the_intake_form_of_the_same_version(api_as):
    questionnaire = fhir(api_as("client"), "Questionnaire/intake", Questionnaire)
    assert questionnaire.version == str(FORM_VERSION)
    assert questionnaire.url == "http://testserver/api/v1/fhir/Questionnaire/intake"
    assert questionnaire.status == "active"
    assert [item.linkId for item in questionnaire.item] == [spec.name for spec in FIELDS]
    expected_types = {"choice": ("choice", False), "choices": ("choice", True), "text": ("text", False)}
    for item, spec in zip(questionnaire.item, FIELDS, strict=True):
        assert item.text == spec.label
        assert bool(item.required) == spec.required
        assert (item.type, bool(item.repeats)) == expected_types.get(spec.kind, ("boolean", False))
        options = [(option.valueCoding.code, option.valueCoding.display) for option in item.answerOption or []]
        assert options == list(spec.choices.items())
        assert item.maxLength == spec.max_length
        if spec.help_text:
            (help_item,) = item.item
            assert (help_item.type, help_item.text) == ("display", spec.help_text)
    pain = next(item for item in questionnaire.item if item.linkId == "pain_tolerance")
    assert pain.initial[0].valueCoding.code == "medium"


@pytest.mark.django_db
def test_the_questionnaire_search_has_the_one_form(api_as):
    bundle = fhir(api_as("therapist"), "Questionnaire")
    assert (bundle.total, ids(bundle)) == (1, ["intake"])
    assert bundle.entry[0].resource.version == str(FORM_VERSION)
    assert bundle.entry[0].fullUrl == "http://testserver/api/v1/fhir/Questionnaire/intake"
    assert fhir(api_as("therapist"), "Questionnaire", _count=1, page=1).total == 1
    fhir(api_as("therapist"), "Questionnaire", expect=404, page=2)
    fhir(api_as("therapist"), "Questionnaire/intake-v2", expect=404)


# --- QuestionnaireResponse ------------------------------------------------------------------


@pytest.mark.django_db
@pytest.mark.parametrize("role", ["therapist", "admin"])
def test_its_therapist_or_an_admin_reads_the_intake_and_the_read_is_audited(api_as, booking, role, request):
    reader = api_as(role)
    reader_id = {"therapist": booking.therapist.user_id, "admin": request.getfixturevalue("admin_user").pk}[role]
    # when
    response = fhir(reader, f"QuestionnaireResponse/{booking.pk}", QuestionnaireResponse)
    # then: the answers, by question key, in the form's order; empty ones left out
    assert response.id == str(booking.pk)
    assert response.status == "completed"
    assert response.questionnaire == f"http://testserver/api/v1/fhir/Questionnaire/intake|{FORM_VERSION}"
    assert response.subject.display == booking.client.display_name
    answers = {item.linkId: item.answer for item in response.item}
    assert list(answers) == [
        "pressure_preference",
        "primary_goal",
        "conditions",
        "pain_tolerance",
        "health_screening",
        "focus_areas",
        "notes",
        "consent",
    ]
    assert [(a.valueCoding.code, a.valueCoding.display) for a in answers["pressure_preference"]] == [("firm", "Firm")]
    assert [a.valueCoding.code for a in answers["focus_areas"]] == ["lower_back", "neck"]
    assert [a.valueCoding.code for a in answers["health_screening"]] == ["high_blood_pressure"]
    assert [a.valueString for a in answers["notes"]] == ["Sore after a move."]
    assert [a.valueBoolean for a in answers["consent"]] == [True]
    # and one audit row, as the intake endpoint writes (kind intake, the reader's address), through channel fhir
    assert rows() == [
        ("intake", "fhir", "allowed", reader_id, booking.pk, booking.intake_id, booking.client_id, "127.0.0.1")
    ]


@pytest.mark.django_db
def test_the_answers_code_the_questionnaires_options(api_as, booking):
    questionnaire = fhir(api_as("therapist"), "Questionnaire/intake", Questionnaire)
    response = fhir(api_as("therapist"), f"QuestionnaireResponse/{booking.pk}", QuestionnaireResponse)
    options = {item.linkId: {o.valueCoding.code for o in item.answerOption or []} for item in questionnaire.item}
    for item in response.item:
        for answer in item.answer:
            if answer.valueCoding is not None:
                assert answer.valueCoding.code in options[item.linkId]


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("role", "status", "code"),
    [
        ("staff", 403, "forbidden"),
        ("client", 403, "forbidden"),
        ("other_client", 404, "not-found"),
        ("other_therapist", 404, "not-found"),
    ],
)
def test_others_are_refused_and_logged_as_the_intake_endpoint_logs_refusals(api_as, booking, role, status, code):
    # when: the FHIR read, then the same caller on the intake endpoint itself
    api = api_as(role)
    outcome = fhir(api, f"QuestionnaireResponse/{booking.pk}", expect=status)
    fhir_rows = rows()
    endpoint = api.get(f"/api/v1/bookings/{booking.pk}/intake/")
    # then: an OperationOutcome, and the refused read logged once, as the endpoint logs it (through its own channel)
    assert issue(outcome)[0] == code
    assert "high_blood_pressure" not in outcome.model_dump_json()
    assert [row[:3] for row in fhir_rows] == [("intake", "fhir", "denied")]
    if role != "client":  # the intake endpoint lets its client read it: FHIR does not (its therapist and admins)
        assert endpoint.status_code == status
        endpoint_rows = rows()[1:]
        assert [row[1] for row in endpoint_rows] == ["api"]
        assert [row[:1] + row[2:] for row in endpoint_rows] == [row[:1] + row[2:] for row in fhir_rows]


@pytest.mark.django_db
@pytest.mark.parametrize("role", ["therapist", "staff"])
def test_a_pending_intake_is_a_404_or_403_with_no_audit_row(api_as, client_user, therapist, role):
    booking = BookingFactory(
        client=client_user, therapist=therapist, intake=None, intake_status=Booking.IntakeStatus.PENDING
    )
    status = {"therapist": 404, "staff": 403}[role]
    fhir(api_as(role), f"QuestionnaireResponse/{booking.pk}", expect=status)
    assert rows() == []


@pytest.mark.django_db
@pytest.mark.parametrize("path", ["QuestionnaireResponse/999999", "QuestionnaireResponse/abc", "QuestionnaireResponse"])
def test_no_such_booking_or_no_id_is_a_404_with_no_audit_row(api_as, booking, path):
    code, says = issue(fhir(api_as("admin"), path, expect=404))
    assert code == "not-found"
    assert rows() == []
    if path == "QuestionnaireResponse":
        assert "has no search" in says


@pytest.mark.django_db
def test_not_signed_in_reads_nothing_and_writes_no_row(api, booking):
    response = api.get(f"{BASE}/QuestionnaireResponse/{booking.pk}", HTTP_ACCEPT=FHIR_JSON)
    assert response.status_code == 401
    assert response["Content-Type"] == FHIR_JSON
    assert rows() == []


@pytest.mark.django_db
def test_the_client_sees_the_fhir_read_in_their_access_log(api_as, booking):
    fhir(api_as("therapist"), f"QuestionnaireResponse/{booking.pk}", QuestionnaireResponse)
    log = api_as("client").get(f"/api/v1/bookings/{booking.pk}/intake/access-log/").json()
    assert [(row["kind"], row["channel"], row["outcome"], row["accessed_by"]["id"]) for row in log["results"]] == [
        ("intake", "fhir", "allowed", booking.therapist.user_id)
    ]


@pytest.mark.django_db
def test_every_intake_answer_validates(api_as, booking):
    for path, model in (
        ("Questionnaire", Bundle),
        ("Questionnaire/intake", Questionnaire),
        (f"QuestionnaireResponse/{booking.pk}", QuestionnaireResponse),
    ):
        for role in ("therapist", "admin"):
            resource = fhir(api_as(role), path, model)
            assert model.model_validate_json(resource.model_dump_json()) == resource
