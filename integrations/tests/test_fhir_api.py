"""The FHIR R4 read API: Appointment, Practitioner, Location, HealthcareService, Schedule; paging, search, errors.

Every answer is parsed back with the R4B model of what it claims to be
(`fhir()`), errors included (OperationOutcome), and carries
`Content-Type: application/fhir+json`. The intake (Questionnaire and
QuestionnaireResponse, audited) is test_fhir_intake.py's.
"""

import json
from datetime import UTC, datetime, timedelta
from unittest import mock

import pytest
from django.db import OperationalError
from fhir.resources.R4B.appointment import Appointment
from fhir.resources.R4B.bundle import Bundle
from fhir.resources.R4B.healthcareservice import HealthcareService
from fhir.resources.R4B.location import Location
from fhir.resources.R4B.operationoutcome import OperationOutcome
from fhir.resources.R4B.practitioner import Practitioner
from fhir.resources.R4B.schedule import Schedule
from rest_framework.throttling import SimpleRateThrottle

from booking.models import Booking
from booking.tests.factories import BookingFactory, ShiftFactory
from booking.tests.helpers import frozen, local
from clinic.models import Location as Place
from clinic.tests.factories import (
    ClientFactory,
    LocationFactory,
    RoomFactory,
    ServiceFactory,
    TherapistFactory,
)
from intake.tests.factories import IntakeFactory
from integrations.fhir.resources import APPOINTMENT_STATUS, APPOINTMENT_STATUS_CODES

BASE = "/api/v1/fhir"
FHIR_JSON = "application/fhir+json"
SECRET_NOTES = "Recovering from a shoulder injury, secret-note-7731"
HEALTH_ANSWERS = {
    "pressure_preference": "firm",
    "primary_goal": "pain_relief",
    "health_screening": ["high_blood_pressure"],
    "notes": SECRET_NOTES,
    "consent": True,
}


def fhir(api, path: str, model=Bundle, expect: int = 200, **params):
    """GET `path` under /api/v1/fhir/ as `api`; the answer's status, media type, and its body parsed as `model`.

    An error is parsed as an OperationOutcome whatever `model` is.
    """
    response = api.get(f"{BASE}/{path}", params, HTTP_ACCEPT=FHIR_JSON)
    assert response.status_code == expect, response.content[:600]
    assert response["Content-Type"] == FHIR_JSON
    model = model if expect < 400 else OperationOutcome
    resource = model.model_validate_json(response.content)
    assert resource.get_resource_type() == model.get_resource_type()
    return resource


def issue(outcome: OperationOutcome) -> tuple[str, str]:
    (only,) = outcome.issue
    assert only.severity == "error"
    return only.code, only.diagnostics


def ids(bundle: Bundle) -> list[str]:
    return [entry.resource.id for entry in bundle.entry or []]


def links(bundle: Bundle) -> dict[str, str]:
    return {link.relation: link.url for link in bundle.link or []}


# --- Appointment ----------------------------------------------------------------------------


@pytest.fixture
def booking(client_user, therapist):
    """A confirmed booking of the client with the therapist, in a room, whose intake carries health answers."""
    room = RoomFactory(name="Blue room", location__name="Midtown")
    intake = IntakeFactory(client=client_user, answers=HEALTH_ANSWERS, flags=["high_blood_pressure"], needs_review=True)
    return BookingFactory(client=client_user, therapist=therapist, location=room.location, room=room, intake=intake)


@pytest.mark.django_db
@pytest.mark.parametrize("role", ["client", "therapist", "staff", "admin"])
def test_an_appointment_is_its_booking_without_health_data(api_as, booking, role):
    # when
    appointment = fhir(api_as(role), f"Appointment/{booking.pk}", Appointment)
    # then: who, where, what, when
    assert appointment.id == str(booking.pk)
    assert appointment.status == "booked"
    assert appointment.start == booking.starts_at
    assert appointment.end == booking.ends_at
    assert appointment.minutesDuration == 60
    assert appointment.description == booking.service.name
    actors = {participant.actor.reference: participant.actor.display for participant in appointment.participant}
    assert actors[f"Practitioner/{booking.therapist_id}"] == booking.therapist.user.display_name
    assert actors[f"Location/{booking.location_id}"] == "Midtown · Blue room"
    assert actors[f"HealthcareService/{booking.service_id}"] == booking.service.name
    assert actors[None] == booking.client.display_name
    # the modality as the front desk sees it; the intake is pointed to, not shown
    assert [concept.text for concept in appointment.serviceType] == ["Therapeutic massage"]
    assert [ref.reference for ref in appointment.supportingInformation] == [f"QuestionnaireResponse/{booking.pk}"]
    text = appointment.model_dump_json()
    for health in (SECRET_NOTES, "high_blood_pressure", "pain_relief", "firm", "needs"):
        assert health not in text


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("role", "status"),
    [("anonymous", 401), ("other_client", 404), ("other_therapist", 404)],
)
def test_an_appointment_others_may_not_see(api_as, booking, role, status):
    outcome = fhir(api_as(role), f"Appointment/{booking.pk}", expect=status)
    assert issue(outcome)[0] == {401: "login", 404: "not-found"}[status]


@pytest.mark.django_db
def test_not_signed_in_is_a_401_operation_outcome_with_its_challenge(api, booking):
    response = api.get(f"{BASE}/Appointment", HTTP_ACCEPT=FHIR_JSON)
    assert response.status_code == 401
    assert response["WWW-Authenticate"] == "Token"
    assert issue(OperationOutcome.model_validate_json(response.content))[0] == "login"


@pytest.mark.django_db
@pytest.mark.parametrize(("status", "code"), list(APPOINTMENT_STATUS.items()))
def test_booking_statuses_map_to_appointment_statuses(api_as, status, code):
    # given: a booking in that status (a held one is an offer: only the front desk sees it)
    extra = {"cancelled_at": datetime.now(UTC)} if status == Booking.Status.CANCELLED else {}
    if status == Booking.Status.HELD:
        extra["hold_expires_at"] = datetime.now(UTC) + timedelta(minutes=30)
    booking = BookingFactory(status=status, **extra)
    # when
    appointment = fhir(api_as("staff"), f"Appointment/{booking.pk}", Appointment)
    # then
    assert appointment.status == code
    assert code in APPOINTMENT_STATUS_CODES


def test_every_booking_status_has_an_appointment_status():
    assert set(APPOINTMENT_STATUS) == set(Booking.Status)
    assert {
        Booking.Status.CONFIRMED: "booked",
        Booking.Status.COMPLETED: "fulfilled",
        Booking.Status.NO_SHOW: "noshow",
        Booking.Status.CANCELLED: "cancelled",
    }.items() <= APPOINTMENT_STATUS.items()


@pytest.mark.django_db
def test_a_pending_intake_has_no_modality_nor_questionnaire_response(api_as, client_user):
    booking = BookingFactory(client=client_user, intake=None, intake_status=Booking.IntakeStatus.PENDING)
    appointment = fhir(api_as("client"), f"Appointment/{booking.pk}", Appointment)
    assert appointment.serviceType is None
    assert appointment.supportingInformation is None


@pytest.mark.django_db
def test_each_role_searches_the_appointments_it_may_see(api_as, booking, client_user, therapist, other_therapist):
    # given: the booking, another of the client's with another therapist, one of a stranger with the therapist
    with_other = BookingFactory(
        client=client_user, therapist=other_therapist, starts_at=booking.starts_at + timedelta(days=1)
    )
    strangers = BookingFactory(therapist=therapist, starts_at=booking.starts_at + timedelta(days=2))
    mine = {str(booking.pk), str(with_other.pk)}
    # then: in start order
    assert set(ids(fhir(api_as("client"), "Appointment"))) == mine
    assert ids(fhir(api_as("therapist"), "Appointment")) == [str(booking.pk), str(strangers.pk)]
    assert ids(fhir(api_as("other_client"), "Appointment")) == []
    assert ids(fhir(api_as("staff"), "Appointment")) == [str(booking.pk), str(with_other.pk), str(strangers.pk)]


@pytest.mark.django_db
def test_an_empty_search_is_a_bundle_with_total_zero(api_as):
    bundle = fhir(api_as("client"), "Appointment")
    assert (bundle.type, bundle.total, bundle.entry) == ("searchset", 0, None)
    assert set(links(bundle)) == {"self", "first", "last"}


@pytest.mark.django_db
def test_search_pages_with_count_and_links(api_as, client_user):
    # given: five bookings of the client, a day apart
    start = datetime(2026, 12, 7, 15, tzinfo=UTC)
    bookings = [BookingFactory(client=client_user, starts_at=start + timedelta(days=n)) for n in range(5)]
    api = api_as("client")
    # when: pages of two
    first = fhir(api, "Appointment", _count=2, status="booked")
    second = fhir(api, links(first)["next"].split("/fhir/", 1)[1])
    third = fhir(api, "Appointment", _count=2, status="booked", page=3)
    # then: every page knows the total, and where the others are
    assert [first.total, second.total, third.total] == [5, 5, 5]
    assert ids(first) + ids(second) + ids(third) == [str(b.pk) for b in bookings]
    assert set(links(first)) == {"self", "first", "next", "last"}
    assert set(links(second)) == {"self", "first", "previous", "next", "last"}
    assert set(links(third)) == {"self", "first", "previous", "last"}
    assert links(second)["previous"] == links(first)["first"]
    assert links(third)["previous"] == links(second)["self"]
    for url in links(second).values():
        assert url.startswith("http://testserver/api/v1/fhir/Appointment?")
        assert "_count=2" in url
        assert "status=booked" in url
    assert links(third)["last"].endswith("page=3")
    assert [entry.fullUrl for entry in first.entry] == [
        f"http://testserver/api/v1/fhir/Appointment/{b.pk}" for b in bookings[:2]
    ]
    assert {entry.search.mode for entry in first.entry} == {"match"}
    # past the last page: a 404; _count=0: the total alone
    assert issue(fhir(api, "Appointment", expect=404, _count=2, page=4))[0] == "not-found"
    only_total = fhir(api, "Appointment", _count=0)
    assert (only_total.total, only_total.entry) == (5, None)


@pytest.mark.django_db
def test_a_page_costs_the_same_queries_whatever_its_size(api_as, clinic, client_user, django_assert_num_queries):
    # given: bookings each with its own therapist, location, room, service and intake
    start = datetime(2026, 12, 7, 15, tzinfo=UTC)

    def make(n):
        for _ in range(n):
            room = RoomFactory()
            starts_at = start + timedelta(hours=2 * Booking.objects.count())
            booking = BookingFactory(client=client_user, location=room.location, room=room, starts_at=starts_at)
            booking.therapist.locations.add(room.location)

    api = api_as("client")
    make(3)
    # when / then: the token's lookup, then a short first page is one query (its length is the total)
    with django_assert_num_queries(2):
        assert len(fhir(api, "Appointment").entry) == 3
    # a full page adds the COUNT; nothing is read per row, however many rows
    make(47)
    for count in (5, 25):
        with django_assert_num_queries(3):
            assert len(fhir(api, "Appointment", _count=count, page=2).entry) == count
    # the directory: the token, the rows (a service also the clinic's currency and where it is offered)
    for path, queries in (("Practitioner", 2), ("Location", 2), ("Schedule", 2), ("HealthcareService", 4)):
        with django_assert_num_queries(queries):
            assert len(fhir(api, path, _count=500).entry) >= 40


@pytest.mark.django_db
def test_date_searches_local_dates_at_each_location_and_times_with_offsets(api_as, client_user):
    # given: at 23:30 on December 1 in Los Angeles (December 2, 07:30 UTC), and 09:00 December 2 in New York
    los_angeles = LocationFactory(time_zone="America/Los_Angeles")
    new_york = LocationFactory(time_zone="America/New_York")
    late = BookingFactory(client=client_user, location=los_angeles, starts_at=datetime(2026, 12, 2, 7, 30, tzinfo=UTC))
    morning = BookingFactory(client=client_user, location=new_york, starts_at=local(2026, 12, 2, 9))
    january = BookingFactory(client=client_user, location=new_york, starts_at=local(2027, 1, 4, 9))
    api = api_as("client")

    def found(*dates):
        return set(ids(fhir(api, "Appointment", date=list(dates))))

    late_id, morning_id, january_id = str(late.pk), str(morning.pk), str(january.pk)
    # then: a date is the local date at the booking's location
    assert found("2026-12-01") == {late_id}
    assert found("eq2026-12-02") == {morning_id}
    assert found("2026-12") == {late_id, morning_id}
    assert found("2026") == {late_id, morning_id}
    assert found("2027") == {january_id}
    assert found("ne2026-12-01") == {morning_id, january_id}
    assert found("gt2026-12-01") == {morning_id, january_id}
    assert found("sa2026-12") == {january_id}
    assert found("lt2026-12-02") == {late_id}
    assert found("eb2026-12-02") == {late_id}
    assert found("ge2026-12-02") == {morning_id, january_id}
    assert found("le2026-12-02") == {late_id, morning_id}
    # a time carries its offset, to the minute or the second
    assert found("2026-12-02T07:30Z") == {late_id}
    assert found("2026-12-02T09:00:00-05:00") == {morning_id}
    assert found("lt2026-12-02T09:00:00-05:00") == {late_id}
    assert found("ge2026-12-02T07:30:00+00:00") == {late_id, morning_id, january_id}
    # repeated: both; comma: either
    assert found("ge2026-12-01", "lt2027-01-01") == {late_id, morning_id}
    assert found("2026-12-01,2027-01-04") == {late_id, january_id}


@pytest.mark.django_db
def test_practitioner_and_status_searches(api_as, therapist, other_therapist):
    # given
    booked = BookingFactory(therapist=therapist)
    cancelled = BookingFactory(
        therapist=therapist, status=Booking.Status.CANCELLED, cancelled_at=datetime.now(UTC), starts_at=booked.starts_at
    )
    done = BookingFactory(therapist=other_therapist, status=Booking.Status.COMPLETED)
    staff = api_as("staff")

    def found(**params):
        return set(ids(fhir(staff, "Appointment", **params)))

    # then
    assert found(practitioner=f"Practitioner/{therapist.pk}") == {str(booked.pk), str(cancelled.pk)}
    assert found(practitioner=str(other_therapist.pk)) == {str(done.pk)}
    assert found(practitioner="999999") == set()
    assert found(status="booked") == {str(booked.pk)}
    assert found(status="cancelled,fulfilled") == {str(cancelled.pk), str(done.pk)}
    assert found(status="arrived") == set()  # a FHIR status the clinic never uses: nothing, not a 400
    assert found(status="booked", practitioner=str(other_therapist.pk)) == set()


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("params", "code", "says"),
    [
        ({"name": "Ana"}, "invalid", "Unknown parameter `name`"),
        ({"date": "2026-13-01"}, "invalid", "not a date"),
        ({"date": "2026-12-01T09:00"}, "invalid", "UTC offset"),
        ({"date": "2026-12-01T25:00Z"}, "invalid", "not a valid time"),
        ({"date": "yesterday"}, "invalid", "not a FHIR date"),
        ({"date": "2026-12-01T09:00:00 05:00"}, "invalid", "%2B"),
        ({"date": "1066"}, "invalid", "out of range"),
        ({"date": "ap2026-12-01"}, "not-supported", "`ap`"),
        ({"date": ""}, "invalid", "needs a value"),
        ({"status": "confirmed"}, "invalid", "not an appointment status"),
        ({"status": "booked,nope"}, "invalid", "not an appointment status"),
        ({"status:not": "booked"}, "not-supported", "modifier `:not`"),
        ({"practitioner": "Patient/3"}, "invalid", "Practitioner/{id}"),
        ({"_count": "ten"}, "invalid", "`_count`"),
        ({"_count": "-1"}, "invalid", "`_count`"),
        ({"_count": "²"}, "invalid", "`_count`"),
        ({"practitioner": "١٢"}, "invalid", "Practitioner/{id}"),
        ({"date": "２０２６"}, "invalid", "not a FHIR date"),
        ({"page": "0"}, "invalid", "`page`"),
        ({"_count": ["2", "3"]}, "invalid", "may be given once"),
        ({"_sort": "date"}, "invalid", "Unknown parameter `_sort`"),
    ],
)
def test_bad_search_parameters_are_a_400_operation_outcome(api_as, params, code, says):
    outcome = fhir(api_as("client"), "Appointment", expect=400, **params)
    assert issue(outcome)[0] == code
    assert says in issue(outcome)[1]


@pytest.mark.django_db
def test_searches_without_parameters_refuse_any_and_reads_take_only_format(api_as, booking):
    api = api_as("staff")
    assert "Unknown parameter `date`" in issue(fhir(api, "Practitioner", expect=400, date="2026"))[1]
    assert (
        "Unknown parameter `_summary`" in issue(fhir(api, f"Appointment/{booking.pk}", expect=400, _summary="true"))[1]
    )
    fhir(api, f"Appointment/{booking.pk}", Appointment, _format="json")


# --- Practitioner, Location, HealthcareService, Schedule -------------------------------------


@pytest.fixture
def directory():
    """An active and an inactive therapist, location and service; the active therapist works at both locations."""
    active_place = LocationFactory(name="Downtown", address="120 Hudson Street", time_zone="America/New_York")
    closed_place = LocationFactory(name="Old shop", address="", active=False)
    therapist = TherapistFactory(user__first_name="Maya", user__last_name="Chen", gives_deep_tissue=False)
    therapist.locations.add(active_place, closed_place)
    gone = TherapistFactory(active=False)
    gone.locations.add(active_place)
    return {
        "therapist": therapist,
        "gone": gone,
        "place": active_place,
        "closed": closed_place,
        "service": ServiceFactory(duration_minutes=60, buffer_minutes=10, price="95.00"),
        "retired": ServiceFactory(duration_minutes=90, active=False, description=""),
    }


@pytest.mark.django_db
def test_practitioners_are_therapists_with_their_qualifications(api_as, directory):
    therapist, gone = directory["therapist"], directory["gone"]
    practitioner = fhir(api_as("client"), f"Practitioner/{therapist.pk}", Practitioner)
    assert practitioner.active is True
    (name,) = practitioner.name
    assert (name.text, name.family, name.given) == ("Maya Chen", "Chen", ["Maya"])
    assert [q.code.text for q in practitioner.qualification] == ["Therapeutic massage"]
    # the inactive one: to the front desk only
    assert str(gone.pk) not in ids(fhir(api_as("client"), "Practitioner"))
    fhir(api_as("therapist"), f"Practitioner/{gone.pk}", expect=404)
    assert fhir(api_as("staff"), f"Practitioner/{gone.pk}", Practitioner).active is False
    assert str(gone.pk) in ids(fhir(api_as("staff"), "Practitioner"))


@pytest.mark.django_db
def test_locations_carry_address_and_time_zone(api_as, directory):
    place, closed = directory["place"], directory["closed"]
    location = fhir(api_as("client"), f"Location/{place.pk}", Location)
    assert (location.name, location.status, location.mode) == ("Downtown", "active", "instance")
    assert location.address.text == "120 Hudson Street"
    (zone,) = location.extension
    assert (zone.url, zone.valueCode) == ("http://hl7.org/fhir/StructureDefinition/timezone", "America/New_York")
    fhir(api_as("client"), f"Location/{closed.pk}", expect=404)
    staff_view = fhir(api_as("staff"), f"Location/{closed.pk}", Location)
    assert (staff_view.status, staff_view.address) == ("inactive", None)
    assert ids(fhir(api_as("client"), "Location")) == [str(place.pk)]


@pytest.mark.django_db
def test_healthcare_services_are_the_services_with_length_buffer_and_price(api_as, clinic, directory):
    service, retired, place = directory["service"], directory["retired"], directory["place"]
    healthcare = fhir(api_as("therapist"), f"HealthcareService/{service.pk}", HealthcareService)
    assert (healthcare.name, healthcare.active, healthcare.appointmentRequired) == (service.name, True, True)
    assert healthcare.extraDetails == f"60 minutes, then 10 minutes before the next session. 95.00 {clinic.currency}."
    active_places = Place.objects.filter(active=True).order_by("pk")
    assert place in active_places
    assert [ref.reference for ref in healthcare.location] == [f"Location/{p.pk}" for p in active_places]
    fhir(api_as("client"), f"HealthcareService/{retired.pk}", expect=404)
    assert fhir(api_as("admin"), f"HealthcareService/{retired.pk}", HealthcareService).active is False
    assert str(retired.pk) not in ids(fhir(api_as("client"), "HealthcareService"))


@pytest.mark.django_db
def test_schedules_are_a_therapist_at_a_location_with_the_horizon_of_their_shifts(api_as, directory):
    therapist, place, closed = directory["therapist"], directory["place"], directory["closed"]
    with frozen():
        now = datetime.now(UTC)
        ShiftFactory(therapist=therapist, location=place, starts_at=now - timedelta(days=2))  # over: not counted
        first = ShiftFactory(therapist=therapist, location=place, starts_at=now + timedelta(days=1))
        last = ShiftFactory(therapist=therapist, location=place, starts_at=now + timedelta(days=9))
        schedule = fhir(api_as("client"), f"Schedule/{therapist.pk}-{place.pk}", Schedule)
        no_shifts = fhir(api_as("staff"), f"Schedule/{therapist.pk}-{closed.pk}", Schedule)
        client_search = ids(fhir(api_as("client"), "Schedule"))
        staff_search = ids(fhir(api_as("staff"), "Schedule"))
    assert [ref.reference for ref in schedule.actor] == [f"Practitioner/{therapist.pk}", f"Location/{place.pk}"]
    assert (schedule.planningHorizon.start, schedule.planningHorizon.end) == (first.starts_at, last.ends_at)
    assert schedule.active is True
    assert [concept.text for concept in schedule.serviceType] == ["Therapeutic massage"]
    assert (no_shifts.planningHorizon, no_shifts.active) == (None, False)
    # a client sees the active therapist at the active location; the front desk every pair
    assert client_search == [f"{therapist.pk}-{place.pk}"]
    gone = directory["gone"]
    assert staff_search == [f"{therapist.pk}-{place.pk}", f"{therapist.pk}-{closed.pk}", f"{gone.pk}-{place.pk}"]
    fhir(api_as("client"), f"Schedule/{therapist.pk}-{closed.pk}", expect=404)
    fhir(api_as("client"), f"Schedule/{therapist.pk}", expect=404)
    fhir(api_as("client"), "Schedule/x-y", expect=404)


@pytest.mark.django_db
@pytest.mark.parametrize(
    "path",
    ["Appointment/99999", "Practitioner/abc", "Location/0", "HealthcareService/1.5", "Appointment/²", "Schedule/١-١"],
)
def test_an_unknown_id_is_a_404_operation_outcome(api_as, path):
    code, says = issue(fhir(api_as("admin"), path, expect=404))
    assert code == "not-found"
    assert "No " in says


@pytest.mark.django_db
@pytest.mark.parametrize("path", ["Patient", "Patient/1", "appointment", "Appointment/", "Appointment/1/_history", ""])
def test_an_unknown_type_or_path_is_a_404_operation_outcome(api_as, path):
    code, says = issue(fhir(api_as("client"), path, expect=404))
    assert code == "not-found"


@pytest.mark.django_db
def test_an_unknown_type_names_the_known_ones(api_as):
    says = issue(fhir(api_as("client"), "Patient", expect=404))[1]
    assert "Unknown resource type 'Patient'" in says
    assert "Appointment, Practitioner" in says


# --- Media types and other errors -----------------------------------------------------------


@pytest.mark.django_db
@pytest.mark.parametrize(
    "accept",
    [
        FHIR_JSON,
        "application/json",
        "*/*",
        "application/*",
        "",
        "application/fhir+json; fhirVersion=4.0",
        "application/fhir+json;fhirVersion=4.3",
        "text/html, application/json;q=0.9",
    ],
)
def test_json_accepts_are_answered_in_fhir_json(api_as, accept):
    response = api_as("client").get(f"{BASE}/Practitioner", HTTP_ACCEPT=accept)
    assert response.status_code == 200
    assert response["Content-Type"] == FHIR_JSON
    Bundle.model_validate_json(response.content)


@pytest.mark.django_db
@pytest.mark.parametrize(
    "accept",
    [
        "text/html",
        "application/xml",
        "application/fhir+xml",
        "application/fhir+json; fhirVersion=3.0",
        "application/json;q=0",
    ],
)
def test_other_accepts_are_a_406_operation_outcome(api_as, accept):
    response = api_as("client").get(f"{BASE}/Practitioner", HTTP_ACCEPT=accept)
    assert response.status_code == 406
    assert response["Content-Type"] == FHIR_JSON
    assert issue(OperationOutcome.model_validate_json(response.content))[0] == "not-supported"


@pytest.mark.django_db
def test_format_other_than_json_is_a_406(api_as):
    assert issue(fhir(api_as("client"), "Practitioner", expect=406, _format="xml"))[0] == "not-supported"
    fhir(api_as("client"), "Practitioner", _format="application/fhir+json")


@pytest.mark.django_db
@pytest.mark.parametrize("method", ["post", "put", "patch", "delete", "options"])
def test_any_method_but_get_is_a_405_operation_outcome(api_as, booking, method):
    api = api_as("admin")
    response = getattr(api, method)(f"{BASE}/Appointment/{booking.pk}", {"resourceType": "Appointment"}, format="json")
    assert response.status_code == 405
    assert response["Content-Type"] == FHIR_JSON
    assert issue(OperationOutcome.model_validate_json(response.content))[0] == "not-supported"
    assert Booking.objects.filter(pk=booking.pk).exists()


@pytest.mark.django_db
def test_throttled_is_a_429_operation_outcome_with_retry_after(api_as):
    api = api_as("client")
    rates = {**SimpleRateThrottle.THROTTLE_RATES, "user": "1/min"}
    with mock.patch.object(SimpleRateThrottle, "THROTTLE_RATES", rates):
        fhir(api, "Location")
        response = api.get(f"{BASE}/Location")
    assert response.status_code == 429
    assert int(response["Retry-After"]) > 0
    assert issue(OperationOutcome.model_validate_json(response.content))[0] == "throttled"


@pytest.mark.django_db
def test_a_database_outage_is_a_503_operation_outcome_with_retry_after(api_as):
    # Fault injection: the scope's query raises what a lost connection raises.
    api = api_as("client")
    with mock.patch("integrations.fhir.selectors.booking_list_for", side_effect=OperationalError("gone")):
        response = api.get(f"{BASE}/Appointment")
    assert response.status_code == 503
    assert response["Retry-After"]
    code, says = issue(OperationOutcome.model_validate_json(response.content))
    assert code == "transient"
    assert "gone" not in says


@pytest.mark.django_db
def test_answers_are_never_cached(api_as, booking):
    response = api_as("client").get(f"{BASE}/Appointment/{booking.pk}")
    assert response["Cache-Control"] == "no-store"


@pytest.mark.django_db
def test_every_search_and_read_validates_for_every_role(api_as, booking, directory, therapist):
    # The whole surface, as each signed-in role: each answer parses as its R4B model.
    therapist.locations.add(directory["place"])
    paths = {
        "Appointment": Bundle,
        f"Appointment/{booking.pk}": Appointment,
        "Practitioner": Bundle,
        f"Practitioner/{therapist.pk}": Practitioner,
        "Location": Bundle,
        f"Location/{directory['place'].pk}": Location,
        "HealthcareService": Bundle,
        f"HealthcareService/{directory['service'].pk}": HealthcareService,
        "Schedule": Bundle,
        f"Schedule/{therapist.pk}-{directory['place'].pk}": Schedule,
    }
    for role in ("client", "therapist", "staff", "admin"):
        api = api_as(role)
        for path, model in paths.items():
            resource = fhir(api, path, model)
            if model is Bundle:
                assert resource.type == "searchset"
                assert resource.total == len(resource.entry or [])
                body = json.loads(resource.model_dump_json())
                assert all(entry["resource"]["resourceType"] == path for entry in body.get("entry", []))


@pytest.mark.django_db
def test_a_search_by_a_practitioner_never_reaches_another_clients_bookings(api_as, client_user):
    theirs = BookingFactory(client=ClientFactory())
    assert ids(fhir(api_as("client"), "Appointment", practitioner=str(theirs.therapist_id))) == []
    assert ids(fhir(api_as("staff"), "Appointment", practitioner=str(theirs.therapist_id))) == [str(theirs.pk)]
