"""The FHIR R4 API against hostile or careless callers: the wrong user, odd ids and search parameters, and the
audit of every QuestionnaireResponse read (docs/api.md, FHIR R4). Every answer is a FHIR resource, never a 500."""

import pytest
from fhir.resources.R4B.appointment import Appointment
from fhir.resources.R4B.questionnaireresponse import QuestionnaireResponse

from booking.tests.factories import BookingFactory
from intake.models import IntakeAccess
from intake.tests.factories import IntakeFactory
from integrations.tests.test_fhir_api import BASE, FHIR_JSON, HEALTH_ANSWERS, SECRET_NOTES, fhir, issue

pytestmark = pytest.mark.django_db


@pytest.fixture
def booking(client_user, therapist):
    intake = IntakeFactory(client=client_user, answers=HEALTH_ANSWERS, flags=["high_blood_pressure"], needs_review=True)
    return BookingFactory(client=client_user, therapist=therapist, intake=intake)


def audit_rows():
    return list(IntakeAccess.objects.order_by("id").values_list("channel", "outcome", "accessed_by_id", "booking_id"))


# --- The wrong user -----------------------------------------------------------------------------------------


def test_staff_reading_a_questionnaire_response_is_a_403_without_the_answers_and_logged(api_as, booking, staff_user):
    outcome = fhir(api_as("staff"), f"QuestionnaireResponse/{booking.pk}", expect=403)
    assert issue(outcome)[0] == "forbidden"
    text = outcome.model_dump_json()
    assert SECRET_NOTES not in text
    assert "high_blood_pressure" not in text
    assert audit_rows() == [("fhir", "denied", staff_user.pk, booking.pk)]


@pytest.mark.parametrize("role", ["other_client", "other_therapist"])
def test_another_clients_appointment_is_a_404(api_as, booking, role):
    outcome = fhir(api_as(role), f"Appointment/{booking.pk}", expect=404)
    assert issue(outcome)[0] == "not-found"
    bundle = fhir(api_as(role), "Appointment")
    assert bundle.total == 0


def test_every_questionnaire_response_read_writes_its_row(api_as, booking, therapist):
    reader = api_as("therapist")
    for _ in range(3):
        fhir(reader, f"QuestionnaireResponse/{booking.pk}", QuestionnaireResponse)
    assert audit_rows() == [("fhir", "allowed", therapist.user_id, booking.pk)] * 3


def test_a_read_with_a_parameter_is_a_400_and_writes_no_row(api_as, booking):
    response = api_as("therapist").get(f"{BASE}/QuestionnaireResponse/{booking.pk}", {"_elements": "item"})
    assert response.status_code == 400
    assert audit_rows() == []


# --- Odd ids --------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "raw",
    ["99999999999999999999", "9223372036854775808", "-1", "0", "١٢", "1.5", "1e3", "%20", "1%00", "x" * 5000],
)
@pytest.mark.parametrize("kind", ["Appointment", "Practitioner", "Location", "HealthcareService", "Schedule"])
def test_odd_ids_are_a_404_outcome(api_as, booking, kind, raw):
    assert issue(fhir(api_as("admin"), f"{kind}/{raw}", expect=404))[0] == "not-found"


@pytest.mark.parametrize("raw", ["99999999999999999999", "-1", "0", "١٢", "1.5", f"{'9' * 18}"])
def test_odd_questionnaire_response_ids_are_a_404_with_no_row(api_as, booking, raw):
    fhir(api_as("admin"), f"QuestionnaireResponse/{raw}", expect=404)
    assert audit_rows() == []


@pytest.mark.parametrize("raw", ["1-", "-1", "1-2-3", "١-١", "99999999999999999999-1", "1--1", "-"])
def test_odd_schedule_ids_are_a_404(api_as, booking, raw):
    fhir(api_as("admin"), f"Schedule/{raw}", expect=404)


# --- Search parameters ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "query",
    [
        "_count=-1",
        "_count=1.5",
        "_count=abc",
        "_count=١",
        "_count=1&_count=2",
        "page=0",
        "page=-1",
        "page=1&page=2",
        "page=١",
        "page=9999999999",
        "date=ge2026-13-01",
        "date=2026-02-30",
        "date=2026-12-01T25:00Z",
        "date=2026-12-01T09:60Z",
        "date=2026-12-01T09:00",
        "date=2026-12-01T09:00+24:00",
        "date=2026-12-01T09:00+99:99",
        "date=9999-12-31T23:00-05:00",
        "date=0001-01-01T00:30%2B05:00",
        "date=0000-01-01",
        "date=0000-01-01T00:00Z",
        "date=9999",
        "date=ap2026-12-01",
        "date=xx2026",
        "date=",
        "date=,",
        "date=2026,",
        "date=٢٠٢٦",
        "practitioner=Practitioner/-1",
        "practitioner=Practitioner/99999999999999999999",
        "practitioner=١",
        "practitioner=Patient/1",
        "status=bogus",
        "status=",
        "status:not=booked",
        "date:missing=true",
        "_sort=date",
        "_include=Appointment:patient",
        "name=x",
        "_format=xml",
    ],
)
def test_bad_search_parameters_are_a_4xx_outcome(api_as, booking, query):
    response = api_as("admin").get(f"{BASE}/Appointment?{query}", HTTP_ACCEPT=FHIR_JSON)
    assert response.status_code in (400, 404, 406), (query, response.status_code, response.content[:300])
    assert response["Content-Type"] == FHIR_JSON
    assert response.json()["resourceType"] == "OperationOutcome"


@pytest.mark.parametrize(
    "query",
    [
        "date=ge2026-01-01&date=lt2028-01-01",
        "date=ge2026&date=ge2026",
        "status=booked,fulfilled,booked",
        "status=booked&status=booked",
        "practitioner=999999999999999999",
        "_count=0",
        "_count=999999999",
        f"date={'2026,' * 200}2026",
        "date=2026-12-01T09:00:00.123456Z",
        "date=2026-12-01T09:00-12:00",
    ],
)
def test_odd_but_valid_searches_answer_a_bundle(api_as, booking, query):
    response = api_as("admin").get(f"{BASE}/Appointment?{query}", HTTP_ACCEPT=FHIR_JSON)
    assert response.status_code == 200, (query, response.content[:300])
    assert response.json()["resourceType"] == "Bundle"


def test_a_search_value_of_100k_characters_is_a_400(api_as, booking):
    response = api_as("admin").get(f"{BASE}/Appointment", {"date": "2" * 100_000}, HTTP_ACCEPT=FHIR_JSON)
    assert response.status_code == 400
    assert len(response.content) < 2000


# --- Privacy --------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("role", ["client", "therapist", "staff", "admin"])
def test_no_appointment_search_carries_health_data(api_as, booking, role):
    response = api_as(role).get(f"{BASE}/Appointment", HTTP_ACCEPT=FHIR_JSON)
    assert response.status_code == 200
    text = response.content.decode()
    for health in (SECRET_NOTES, "high_blood_pressure", "pain_relief", "firm"):
        assert health not in text
    assert audit_rows() == []
    Appointment.model_validate(response.json()["entry"][0]["resource"])


# --- Methods and media types ------------------------------------------------------------------------------------


@pytest.mark.parametrize("method", ["post", "put", "patch", "delete"])
@pytest.mark.parametrize("path", ["Appointment", "Appointment/{pk}", "QuestionnaireResponse/{pk}"])
def test_writes_are_a_405_outcome_and_change_nothing(api_as, booking, method, path):
    response = getattr(api_as("admin"), method)(
        f"{BASE}/{path.format(pk=booking.pk)}", {"resourceType": "Appointment"}, format="json"
    )
    assert response.status_code == 405, response.content[:300]
    assert response.json()["resourceType"] == "OperationOutcome"
    assert audit_rows() == []
    booking.refresh_from_db()
    assert booking.status == "confirmed"


@pytest.mark.parametrize(
    ("accept", "status"),
    [
        ("application/fhir+json; fhirVersion=4.0", 200),
        ("application/fhir+json; fhirVersion=4.3", 200),
        ("application/json", 200),
        ("*/*", 200),
        ("application/*", 200),
        ("application/fhir+xml", 406),
        ("text/html", 406),
        ("application/fhir+json; fhirVersion=5.0", 406),
        ("\u00e9\u00e9/\u00e9\u00e9", 406),
    ],
)
def test_media_types(api_as, booking, accept, status):
    response = api_as("therapist").get(f"{BASE}/Appointment/{booking.pk}", HTTP_ACCEPT=accept)
    assert response.status_code == status, response.content[:300]
    assert response["Content-Type"] == FHIR_JSON


@pytest.mark.parametrize("query", ["_format=xml", "_format=json&_format=json", "_format=", "_count=1"])
def test_a_questionnaire_response_read_refused_for_its_parameters_writes_no_row(api_as, booking, query):
    response = api_as("therapist").get(f"{BASE}/QuestionnaireResponse/{booking.pk}?{query}")
    assert response.status_code in (400, 406), response.content[:300]
    assert audit_rows() == []
