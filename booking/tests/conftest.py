"""Fixtures shared by the booking test modules (defined in helpers.py)."""

from booking.tests.helpers import api_as, people  # noqa: F401  (pytest fixtures)
