"""The main navigation takes each role to its own pages from anywhere; lists say what zone their times are in."""

from datetime import timedelta

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone


@pytest.fixture
def browser_for():
    def for_user(user) -> Client:
        client = Client()
        client.force_login(user)
        return client

    return for_user


def test_a_therapist_finds_their_day_and_feed_from_the_home_page(clinic, therapist, browser_for):
    page = browser_for(therapist.user).get(reverse("web:home")).content.decode()

    assert f'href="{reverse("web:therapist-day")}"' in page
    assert f'href="{reverse("web:therapist-feed")}"' in page
    assert f'href="{reverse("web:book")}"' not in page


def test_a_client_finds_booking_and_not_the_therapist_pages(clinic, client_user, browser_for):
    page = browser_for(client_user).get(reverse("web:home")).content.decode()

    assert f'href="{reverse("web:book")}"' in page
    assert f'href="{reverse("web:therapist-day")}"' not in page


def test_the_therapist_pages_link_their_stylesheet_in_the_head(clinic, therapist, browser_for):
    page = browser_for(therapist.user).get(reverse("web:therapist-day")).content.decode()

    head, body = page.split("</head>")
    assert "web/therapist" in head
    assert "web/therapist" not in body


def test_my_bookings_say_which_zone_each_time_is_in(clinic, client_user, browser_for):
    # given: two sessions at locations three hours apart, listed in time order
    from booking.tests.factories import BookingFactory
    from clinic.tests.factories import LocationFactory

    new_york = LocationFactory(time_zone="America/New_York")
    los_angeles = LocationFactory(time_zone="America/Los_Angeles")
    BookingFactory(client=client_user, location=new_york)
    BookingFactory(client=client_user, location=los_angeles, starts_at=timezone.now() + timedelta(days=9))

    page = browser_for(client_user).get(reverse("web:bookings")).content.decode()

    assert "America/New_York time" in page
    assert "America/Los_Angeles time" in page


@pytest.mark.parametrize("path", ["/no-such-page/", "/bookings/not-a-number/"])
def test_djangos_own_error_pages_carry_the_page_policy(client, db, path):
    response = client.get(path)

    assert response.status_code == 404
    assert "script-src 'self'" in response["Content-Security-Policy"]


def test_a_refused_csrf_token_answers_with_the_page_policy(db):
    response = Client(enforce_csrf_checks=True).post(reverse("web:login"), {"email": "a@example.com"})

    assert response.status_code == 403
    assert "script-src 'self'" in response["Content-Security-Policy"]


def test_the_admin_keeps_djangos_own_pages(admin_user):
    web = Client()
    web.force_login(admin_user)

    assert "Content-Security-Policy" not in web.get("/admin/")
