"""The clinic row is read once per request, and afresh in the next one."""

import pytest

from clinic.models import Clinic
from clinic.selectors import clinic_get, clinic_read_once


@pytest.mark.django_db
def test_read_once_inside_the_block(clinic, django_assert_num_queries):
    with clinic_read_once():
        with django_assert_num_queries(1):
            assert clinic_get() is clinic_get()


@pytest.mark.django_db
def test_outside_a_request_every_call_reads(clinic, django_assert_num_queries):
    with django_assert_num_queries(2):
        clinic_get()
        clinic_get()


@pytest.mark.django_db
def test_a_change_is_seen_by_the_next_request(clinic, api):
    assert api.get("/api/v1/clinic/").json()["min_notice_hours"] == 2
    Clinic.objects.filter(pk=1).update(min_notice_hours=5)
    assert api.get("/api/v1/clinic/").json()["min_notice_hours"] == 5
