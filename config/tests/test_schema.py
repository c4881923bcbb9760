"""The API speaks JSON only, and its OpenAPI schema is the contract (config/openapi.py).

Every operation: a resource tag, a stable operationId, a one-line summary,
the security it really needs, JSON request bodies only, and every answer it
can give with its body — its own (400 field errors, 403, 404, 409 with the
codes it can answer, 422) and those of every operation of its kind (401,
413, 415, 429, 503). What the answers really are is checked by the fuzz
(config/tests/test_fuzz.py) and by a generated client (test_generated_client.py).
"""

import json

import pytest
from django.core.management import call_command
from django.test import Client

from booking.models import Booking
from booking.tests.factories import BookingFactory
from clinic.models import User
from clinic.tests.factories import PASSWORD, StaffFactory

# Stable: a generated client's functions are named after them. Change one only with a new API version.
OPERATION_IDS = {
    ("post", "/api/v1/auth/register/"): "auth_register",
    ("post", "/api/v1/auth/token/"): "auth_token",
    ("post", "/api/v1/auth/logout/"): "auth_logout",
    ("post", "/api/v1/auth/logout-all/"): "auth_logout_all",
    ("get", "/api/v1/me/"): "me_retrieve",
    ("delete", "/api/v1/me/"): "me_destroy",
    ("get", "/api/v1/me/export/"): "me_export",
    ("get", "/api/v1/clinic/"): "clinic_retrieve",
    ("patch", "/api/v1/clinic/"): "clinic_partial_update",
    ("get", "/api/v1/locations/"): "locations_list",
    ("post", "/api/v1/locations/"): "locations_create",
    ("get", "/api/v1/locations/{id}/"): "locations_retrieve",
    ("patch", "/api/v1/locations/{id}/"): "locations_partial_update",
    ("get", "/api/v1/rooms/"): "rooms_list",
    ("post", "/api/v1/rooms/"): "rooms_create",
    ("get", "/api/v1/rooms/{id}/"): "rooms_retrieve",
    ("patch", "/api/v1/rooms/{id}/"): "rooms_partial_update",
    ("delete", "/api/v1/rooms/{id}/"): "rooms_destroy",
    ("get", "/api/v1/services/"): "services_list",
    ("post", "/api/v1/services/"): "services_create",
    ("get", "/api/v1/services/{id}/"): "services_retrieve",
    ("patch", "/api/v1/services/{id}/"): "services_partial_update",
    ("get", "/api/v1/therapists/"): "therapists_list",
    ("post", "/api/v1/therapists/"): "therapists_create",
    ("get", "/api/v1/therapists/{id}/"): "therapists_retrieve",
    ("patch", "/api/v1/therapists/{id}/"): "therapists_partial_update",
    ("get", "/api/v1/working-hours/"): "working_hours_list",
    ("post", "/api/v1/working-hours/"): "working_hours_create",
    ("get", "/api/v1/working-hours/{id}/"): "working_hours_retrieve",
    ("patch", "/api/v1/working-hours/{id}/"): "working_hours_partial_update",
    ("delete", "/api/v1/working-hours/{id}/"): "working_hours_destroy",
    ("get", "/api/v1/shifts/"): "shifts_list",
    ("post", "/api/v1/shifts/"): "shifts_create",
    ("get", "/api/v1/shifts/{id}/"): "shifts_retrieve",
    ("patch", "/api/v1/shifts/{id}/"): "shifts_partial_update",
    ("delete", "/api/v1/shifts/{id}/"): "shifts_destroy",
    ("post", "/api/v1/shifts/generate/"): "shifts_generate",
    ("get", "/api/v1/time-off/"): "time_off_list",
    ("post", "/api/v1/time-off/"): "time_off_create",
    ("get", "/api/v1/time-off/{id}/"): "time_off_retrieve",
    ("delete", "/api/v1/time-off/{id}/"): "time_off_destroy",
    ("get", "/api/v1/closures/"): "closures_list",
    ("post", "/api/v1/closures/"): "closures_create",
    ("get", "/api/v1/closures/{id}/"): "closures_retrieve",
    ("delete", "/api/v1/closures/{id}/"): "closures_destroy",
    ("get", "/api/v1/availability/"): "availability_list",
    ("get", "/api/v1/intake/form/"): "intake_form",
    ("post", "/api/v1/intake/assess/"): "intake_assess",
    ("get", "/api/v1/bookings/"): "bookings_list",
    ("post", "/api/v1/bookings/"): "bookings_create",
    ("get", "/api/v1/bookings/{id}/"): "bookings_retrieve",
    ("patch", "/api/v1/bookings/{id}/"): "bookings_partial_update",
    ("post", "/api/v1/bookings/{id}/cancel/"): "bookings_cancel",
    ("post", "/api/v1/bookings/{id}/reschedule/"): "bookings_reschedule",
    ("post", "/api/v1/bookings/{id}/complete/"): "bookings_complete",
    ("post", "/api/v1/bookings/{id}/no-show/"): "bookings_no_show",
    ("get", "/api/v1/bookings/{id}/intake/"): "bookings_intake_retrieve",
    ("put", "/api/v1/bookings/{id}/intake/"): "bookings_intake_update",
    ("post", "/api/v1/bookings/{id}/review/"): "bookings_review",
    ("get", "/api/v1/bookings/{id}/intake/access-log/"): "bookings_intake_access_log",
    ("get", "/api/v1/fhir/Appointment"): "fhir_appointment_search",
    ("get", "/api/v1/fhir/Appointment/{id}"): "fhir_appointment_read",
    ("get", "/api/v1/fhir/Practitioner"): "fhir_practitioner_search",
    ("get", "/api/v1/fhir/Practitioner/{id}"): "fhir_practitioner_read",
    ("get", "/api/v1/fhir/Location"): "fhir_location_search",
    ("get", "/api/v1/fhir/Location/{id}"): "fhir_location_read",
    ("get", "/api/v1/fhir/HealthcareService"): "fhir_healthcare_service_search",
    ("get", "/api/v1/fhir/HealthcareService/{id}"): "fhir_healthcare_service_read",
    ("get", "/api/v1/fhir/Schedule"): "fhir_schedule_search",
    ("get", "/api/v1/fhir/Schedule/{id}"): "fhir_schedule_read",
    ("get", "/api/v1/fhir/Questionnaire"): "fhir_questionnaire_search",
    ("get", "/api/v1/fhir/Questionnaire/{id}"): "fhir_questionnaire_read",
    ("get", "/api/v1/fhir/QuestionnaireResponse/{id}"): "fhir_questionnaire_response_read",
    ("get", "/api/v1/therapists/me/day/"): "therapist_day_sheet",
    ("get", "/api/v1/therapists/me/feed/"): "therapist_feed_token",
    ("post", "/api/v1/therapists/me/feed/"): "therapist_feed_token_rotate",
    ("get", "/api/v1/therapists/{id}/calendar.ics"): "therapist_calendar_feed",
    ("get", "/api/v1/waitlist/"): "waitlist_list",
    ("post", "/api/v1/waitlist/"): "waitlist_create",
    ("get", "/api/v1/waitlist/{id}/"): "waitlist_retrieve",
    ("delete", "/api/v1/waitlist/{id}/"): "waitlist_destroy",
    ("post", "/api/v1/waitlist/offers/{id}/accept/"): "waitlist_offer_accept",
    ("post", "/api/v1/waitlist/offers/{id}/decline/"): "waitlist_offer_decline",
    ("get", "/api/v1/webhooks/"): "webhooks_list",
    ("post", "/api/v1/webhooks/"): "webhooks_create",
    ("get", "/api/v1/webhooks/{id}/"): "webhooks_retrieve",
    ("patch", "/api/v1/webhooks/{id}/"): "webhooks_partial_update",
    ("delete", "/api/v1/webhooks/{id}/"): "webhooks_destroy",
    ("get", "/api/v1/webhooks/{id}/deliveries/"): "webhooks_deliveries_list",
}
# Anyone may call these: no security requirement (a token sent is still read).
PUBLIC = {
    "auth_register",
    "auth_token",
    "clinic_retrieve",
    "locations_list",
    "locations_retrieve",
    "services_list",
    "services_retrieve",
    "therapists_list",
    "therapists_retrieve",
    "availability_list",
    "intake_form",
    "intake_assess",
    "therapist_calendar_feed",
}
# The codes each refusal (409, or 422 for a reused key) can carry.
REFUSALS = {
    ("bookings_create", "409"): {
        "slot_unavailable",
        "therapist_not_qualified",
        "client_overlap",
        "too_many_bookings",
        "account_inactive",
        "idempotency_key_in_use",
    },
    ("bookings_reschedule", "409"): {
        "slot_unavailable",
        "therapist_not_qualified",
        "client_overlap",
        "late_cancellation",
        "booking_not_active",
        "account_inactive",
        "idempotency_key_in_use",
    },
    ("bookings_cancel", "409"): {"late_cancellation", "booking_not_active", "idempotency_key_in_use"},
    ("bookings_complete", "409"): {"too_early", "booking_not_active", "idempotency_key_in_use"},
    ("bookings_no_show", "409"): {"too_early", "booking_not_active", "idempotency_key_in_use"},
    ("bookings_partial_update", "409"): {"room_unavailable", "booking_not_active"},
    ("bookings_intake_update", "409"): {"intake_locked", "too_early", "booking_not_active"},
    ("bookings_review", "409"): {"therapist_not_qualified", "intake_pending"},
    ("locations_partial_update", "409"): {"has_future_bookings"},
    ("rooms_partial_update", "409"): {"has_future_bookings"},
    ("rooms_destroy", "409"): {"has_future_bookings", "room_in_use"},
    ("therapists_partial_update", "409"): {"has_future_bookings"},
    ("shifts_create", "409"): {"shift_overlap"},
    ("shifts_partial_update", "409"): {"shift_overlap", "shift_has_bookings"},
    ("shifts_destroy", "409"): {"shift_has_bookings"},
    ("shifts_generate", "409"): {"shift_overlap"},
    ("waitlist_offer_accept", "409"): {
        "offer_expired",
        "too_many_bookings",
        "client_overlap",
        "slot_unavailable",
        "account_inactive",
        "idempotency_key_in_use",
    },
    ("waitlist_offer_decline", "409"): {"offer_expired"},
    ("waitlist_destroy", "409"): {"waitlist_entry_booked"},
    ("waitlist_offer_accept", "422"): {"idempotency_key_reused"},
    ("bookings_create", "422"): {"idempotency_key_reused"},
    ("bookings_reschedule", "422"): {"idempotency_key_reused"},
    ("bookings_cancel", "422"): {"idempotency_key_reused"},
    ("bookings_complete", "422"): {"idempotency_key_reused"},
    ("bookings_no_show", "422"): {"idempotency_key_reused"},
}
ANYWHERE = {"413", "429", "503"}
# JavaScript's integers are exact up to 2**53: an example id beyond reads as 9223372036854776000.
SAFE_INTEGER = 2**53


@pytest.fixture(scope="module")
def schema(django_db_setup, django_db_blocker):
    """The schema as the app serves it, once for the module."""
    with django_db_blocker.unblock():
        return Client().get("/api/schema/", {"format": "json"}).json()


def operations(schema: dict):
    for path, item in schema["paths"].items():
        for method, operation in item.items():
            yield method, path, operation


def resolve(schema: dict, node: dict) -> dict:
    while "$ref" in node:
        node = schema["components"]["schemas"][node["$ref"].rsplit("/", 1)[1]]
    return node


# --- JSON only ------------------------------------------------------------------------


FORM = ("application/x-www-form-urlencoded", "email=ana%40example.com&password=x&first_name=Ana&last_name=S")
MULTIPART = (
    "multipart/form-data; boundary=b",
    '--b\r\nContent-Disposition: form-data; name="email"\r\n\r\na\r\n--b--\r\n',
)


@pytest.mark.django_db
@pytest.mark.parametrize(("content_type", "body"), [FORM, MULTIPART], ids=["form", "multipart"])
def test_a_form_body_is_a_415_on_the_api(api, as_user, content_type, body):
    # given: a client, the front desk, a booking of the client's
    booking = BookingFactory()
    staff = as_user(StaffFactory())
    # when / then: a registration, a client's booking, a front-desk change: each refused unread
    answers = [
        api.generic("POST", "/api/v1/auth/register/", body, content_type=content_type),
        as_user(booking.client).generic("POST", "/api/v1/bookings/", body, content_type=content_type),
        staff.generic("PATCH", f"/api/v1/therapists/{booking.therapist_id}/", body, content_type=content_type),
        staff.generic("POST", f"/api/v1/bookings/{booking.pk}/cancel/", body, content_type=content_type),
    ]
    for response in answers:
        assert response.status_code == 415
        assert response["Content-Type"] == "application/json"
        assert set(response.json()) == {"detail"}
    assert not User.objects.filter(email="ana@example.com").exists()
    assert Booking.objects.get().status == Booking.Status.CONFIRMED


@pytest.mark.django_db
def test_the_admin_still_reads_its_forms(client, clinic):
    # given: a staff account
    staff = StaffFactory()
    # when: the admin's login form is posted, as a browser posts it
    login = client.post("/admin/login/?next=/admin/", {"username": staff.email, "password": PASSWORD})
    # then: it was read (a refused login answers the form again, 200)
    assert (login.status_code, login["Location"]) == (302, "/admin/")


def test_every_request_body_is_json_only(schema):
    for method, path, operation in operations(schema):
        if "requestBody" in operation:
            assert list(operation["requestBody"]["content"]) == ["application/json"], (method, path)


# --- The contract ---------------------------------------------------------------------------


@pytest.mark.django_db
def test_the_schema_generates_without_a_warning(tmp_path):
    # Fails on a missing operationId or summary, an unresolvable field, an enum name collision...
    call_command("spectacular", validate=True, fail_on_warn=True, file=str(tmp_path / "schema.yaml"))


def test_every_operation_has_its_stable_id_a_tag_and_a_summary(schema):
    tags = [tag["name"] for tag in schema["tags"]]
    ids = {}
    for method, path, operation in operations(schema):
        ids[method, path] = operation["operationId"]
        assert operation["tags"] in ([tag] for tag in tags), (method, path)
        summary = operation["summary"]
        assert 0 < len(summary) <= 100, (method, path)
        assert "\n" not in summary, (method, path)
    for (method, path), operation_id in OPERATION_IDS.items():
        assert ids.get((method, path)) == operation_id, f"{method} {path} must keep its operationId {operation_id}"
    assert len(set(ids.values())) == len(ids)


def test_tags_are_resources(schema):
    tags = {tuple(operation["tags"]) for _, _, operation in operations(schema)}
    assert {("bookings",), ("availability",), ("shifts",), ("day-sheet",), ("calendar",), ("auth",)} <= tags
    assert ("v1",) not in tags


def test_security_is_what_each_operation_needs(schema):
    schemes = schema["components"]["securitySchemes"]
    assert set(schemes) == {"tokenAuth", "cookieAuth"}
    assert schemes["tokenAuth"] == {
        "type": "apiKey",
        "in": "header",
        "name": "Authorization",
        "description": 'The token from POST /api/v1/auth/token/, sent as "Token <key>".',
    }
    assert "knoxApiToken" not in json.dumps(schema)
    for method, path, operation in operations(schema):
        if operation["operationId"] in PUBLIC:
            assert "security" not in operation, (method, path)
            continue
        assert operation["security"] == [{"tokenAuth": []}, {"cookieAuth": []}], (method, path)
        assert "401" in operation["responses"], (method, path)


def test_every_answer_is_documented_with_its_body(schema):
    for method, path, operation in operations(schema):
        responses = operation["responses"]
        assert ANYWHERE <= set(responses), (method, path)
        for code in ("429", "503"):
            assert "Retry-After" in responses[code]["headers"], (method, path, code)
        if "requestBody" in operation:
            assert {"400", "415"} <= set(responses), (method, path)
        if "{id}" in path:
            assert "404" in responses, (method, path)
        for code, response in responses.items():
            if code == "204":
                assert "content" not in response
                continue
            assert response["description"], (method, path, code)
            content = response["content"]
            if operation["operationId"] == "therapist_calendar_feed" and code == "200":
                continue
            # FHIR answers in its own JSON, errors too (OperationOutcome); a 413 comes before any view.
            fhir = path.startswith("/api/v1/fhir/") and code != "413"
            media = "application/fhir+json" if fhir else "application/json"
            assert list(content) == [media], (method, path, code)
            assert resolve(schema, content[media]["schema"]), (method, path, code)


def test_field_errors_have_their_shape(schema):
    body = schema["components"]["schemas"]["ValidationError"]
    assert body["type"] == "object"
    assert body["additionalProperties"]["anyOf"][0] == {
        "type": "array",
        "items": {"type": "string"},
        "description": "The field's messages.",
    }
    create = schema["paths"]["/api/v1/bookings/"]["post"]["responses"]["400"]
    assert create["content"]["application/json"]["schema"] == {"$ref": "#/components/schemas/ValidationError"}


def test_each_refusal_lists_the_codes_its_operation_can_answer(schema):
    by_id = {operation["operationId"]: operation for _, _, operation in operations(schema)}
    for (operation_id, status), codes in REFUSALS.items():
        response = by_id[operation_id]["responses"][status]
        body = resolve(schema, response["content"]["application/json"]["schema"])
        assert set(body["required"]) >= {"code", "detail"}
        assert set(resolve(schema, body["properties"]["code"])["enum"]) == codes, operation_id
        examples = response["content"]["application/json"]["examples"]
        assert {example["value"]["code"] for example in examples.values()} == codes
        for code in codes:
            assert f"`{code}`" in response["description"]
    # Any other refusal lists its codes the same way.
    for operation_id, operation in by_id.items():
        for status in ("409", "422"):
            if status in operation["responses"]:
                content = operation["responses"][status]["content"]["application/json"]
                assert resolve(schema, resolve(schema, content["schema"])["properties"]["code"])["enum"], operation_id


def test_a_refusal_with_bookings_in_the_way_lists_them(schema):
    paths = schema["paths"]

    def body(path, method):
        return resolve(schema, paths[path][method]["responses"]["409"]["content"]["application/json"]["schema"])

    assert "conflicts" in body("/api/v1/shifts/{id}/", "delete")["required"]
    assert "conflicts" not in body("/api/v1/shifts/{id}/", "patch")["required"]
    assert "conflicts" in body("/api/v1/shifts/{id}/", "patch")["properties"]
    assert "conflicts" not in body("/api/v1/bookings/", "post")["properties"]


def test_the_calendar_is_text(schema):
    feed = schema["paths"]["/api/v1/therapists/{id}/calendar.ics"]["get"]
    calendar = feed["responses"]["200"]["content"]
    assert list(calendar) == ["text/calendar"]
    assert calendar["text/calendar"]["schema"] == {"type": "string"}
    assert "404" in feed["responses"]


def _integers(node):
    if isinstance(node, bool):
        return
    if isinstance(node, int):
        yield node
    elif isinstance(node, dict):
        for value in node.values():
            yield from _integers(value)
    elif isinstance(node, list):
        for value in node:
            yield from _integers(value)


def test_examples_are_realistic(schema):
    examples = []
    for _, _, operation in operations(schema):
        for part in [operation.get("requestBody", {}), *operation["responses"].values()]:
            for media in part.get("content", {}).values():
                examples += [example["value"] for example in media.get("examples", {}).values()]
    assert examples
    assert all(abs(number) < SAFE_INTEGER for number in _integers(examples))
    create = schema["paths"]["/api/v1/bookings/"]["post"]["requestBody"]["content"]["application/json"]
    shapes = [set(example["value"]) for example in create["examples"].values()]
    assert {"service", "starts_at", "intake"} in shapes
    assert {"client", "service", "starts_at", "therapist"} in shapes


@pytest.mark.django_db
def test_a_public_read_with_a_bad_token_is_the_documented_401(api, clinic):
    api.credentials(HTTP_AUTHORIZATION="Token not-a-token")
    response = api.get("/api/v1/clinic/")
    assert response.status_code == 401
    assert set(response.json()) == {"detail"}
