"""End-to-end flows through the API: book, cancel, the intake endpoints and their audit trail."""

from datetime import timedelta

import pytest
from django.utils import timezone

from booking.models import Booking
from booking.tests.factories import BookingFactory, SlotFactory
from clinic.tests.factories import AdminFactory

ANSWERS = {"pressure_preference": "medium", "primary_goal": "relaxation", "consent": True}


@pytest.mark.django_db
def test_book_and_cancel(clinic, client_user, as_user, therapist):
    slot = SlotFactory(therapist=therapist)
    api = as_user(client_user)
    r = api.post("/api/v1/bookings/", {"slot": slot.pk, "intake": {"answers": ANSWERS}}, format="json")
    assert r.status_code == 201, r.json()
    body = r.json()
    assert body["modality"] == "therapeutic"
    r2 = api.post("/api/v1/bookings/", {"slot": slot.pk, "intake": {"answers": ANSWERS}}, format="json")
    assert r2.status_code == 409, r2.json()
    assert r2.json()["code"] == "slot_unavailable"
    r3 = api.post(f"/api/v1/bookings/{body['id']}/cancel/", {}, format="json")
    assert r3.status_code == 200, r3.json()
    assert r3.json()["status"] == "cancelled"
    r4 = api.get(
        "/api/v1/availability/",
        {"from": timezone.localdate().isoformat(), "to": (timezone.localdate() + timedelta(days=10)).isoformat()},
    )
    assert r4.status_code == 200, r4.json()
    assert r4.json()["count"] == 1
    bad = api.post("/api/v1/bookings/", {"slot": slot.pk, "intake": {"answers": {"consent": False}}}, format="json")
    assert bad.status_code == 400, bad.json()
    print(bad.json())
    assert Booking.objects.count() == 1


@pytest.mark.django_db
def test_intake_read_review_and_log(clinic, client_user, as_user, therapist, staff_user, other_client_user):
    slot = SlotFactory(therapist=therapist)
    r = as_user(client_user).post("/api/v1/bookings/", {"slot": slot.pk, "intake": {"answers": ANSWERS}}, format="json")
    pk = r.json()["id"]
    assert as_user(client_user).get(f"/api/v1/bookings/{pk}/intake/").status_code == 200
    assert as_user(staff_user).get(f"/api/v1/bookings/{pk}/intake/").status_code == 403
    assert as_user(other_client_user).get(f"/api/v1/bookings/{pk}/intake/").status_code == 404
    rv = as_user(therapist.user).post(
        f"/api/v1/bookings/{pk}/review/", {"modality": "deep_tissue", "note": "ok"}, format="json"
    )
    assert rv.status_code == 200, rv.json()
    assert rv.json()["modality"] == "deep_tissue"
    log = as_user(client_user).get(f"/api/v1/bookings/{pk}/intake/access-log/")
    assert log.status_code == 200, log.json()
    # The refused attempts (staff, another client) are for admins: the client sees the reads.
    assert [row["outcome"] for row in log.json()["results"]] == ["allowed"]
    admin_log = as_user(AdminFactory()).get(f"/api/v1/bookings/{pk}/intake/access-log/")
    assert [row["outcome"] for row in admin_log.json()["results"]] == ["denied", "denied", "allowed"]
    put = as_user(client_user).put(
        f"/api/v1/bookings/{pk}/intake/", {**ANSWERS, "pressure_preference": "deep"}, format="json"
    )
    assert put.status_code == 200, put.json()
    assert put.json()["review"]["stale"] is True


@pytest.mark.django_db
def test_short_lists_skip_the_count_query(clinic, django_assert_num_queries, api):
    SlotFactory()
    day = timezone.localdate()
    params = {"from": day.isoformat(), "to": (day + timedelta(days=10)).isoformat()}
    with django_assert_num_queries(2):  # the clinic row and one page, no COUNT(*)
        body = api.get("/api/v1/availability/", params).json()
    assert body["count"] == 1
    SlotFactory(starts_at=timezone.now() + timedelta(days=5))
    with django_assert_num_queries(3):  # the clinic row, one page (fetched once), the count
        full = api.get("/api/v1/availability/", {**params, "page_size": 1}).json()
    assert full["count"] == 2
    assert full["next"] is not None
    assert api.get("/api/v1/availability/", {**params, "page_size": 1, "page": 2}).json()["count"] == 2


@pytest.mark.django_db
def test_audit_rows_record_the_client_address_behind_a_proxy(clinic, client_user, as_user, therapist, settings):
    settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, "NUM_PROXIES": 1}
    booking = BookingFactory(client=client_user, slot=SlotFactory(therapist=therapist))
    response = as_user(client_user).get(
        f"/api/v1/bookings/{booking.pk}/intake/", HTTP_X_FORWARDED_FOR="203.0.113.9", REMOTE_ADDR="10.0.0.2"
    )
    assert response.status_code == 200
    assert booking.intake.accesses.get().remote_addr == "203.0.113.9"
