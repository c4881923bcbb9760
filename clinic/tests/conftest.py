"""Fixtures of the clinic app's tests."""

import pytest
from rest_framework.test import APIClient

from clinic.tests.factories import AdminFactory, ClientFactory, StaffFactory, TherapistFactory

ROLES = ["anonymous", "client", "therapist", "staff", "admin"]


@pytest.fixture
def api_as(db, as_user):
    """`api_as(role)` → an API client for a fresh user of that role ("anonymous": no credentials)."""

    def make(role: str) -> APIClient:
        if role == "anonymous":
            return APIClient()
        user = {
            "client": ClientFactory,
            "therapist": lambda: TherapistFactory().user,
            "staff": StaffFactory,
            "admin": AdminFactory,
        }[role]()
        return as_user(user)

    return make
