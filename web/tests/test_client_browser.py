"""The client's pages in Chromium: booking with the keyboard alone, the returning client's prefilled form,
and every page checked by axe-core (no serious or critical violation) at 360 px wide.

`WRITE_SCREENSHOTS=1` also saves the pages walked to docs/screenshots/ (see docs/pages.md).
"""

import os
import re
from datetime import timedelta
from pathlib import Path

import pytest

from booking.models import Booking
from intake.models import IntakeAccess
from web.tests.browser import at, tab_to
from web.tests.conftest import PASSWORD, waitlist_offer

pytestmark = [pytest.mark.browser, pytest.mark.slow]

SCREENSHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"
# The main pages, also written at 1280 px wide (every page walked is written at 360 px).
WIDE_SCREENSHOTS = {
    "home",
    "book-times",
    "book-intake",
    "book-intake-errors",
    "booking-confirmation",
    "my-bookings",
    "waitlist-offer",
    "access-log",
}


def arrow_to(page, selector: str, limit: int = 20) -> None:
    """In a radio group (focus on one of its radios), press Space, then ArrowDown until `selector` is checked."""
    if not page.evaluate("() => document.activeElement.checked"):
        page.keyboard.press("Space")
    for _ in range(limit):
        if page.is_checked(selector):
            return
        page.keyboard.press("ArrowDown")
    raise AssertionError(f"{selector} never got checked")


def test_a_client_books_a_90_minute_session_with_the_keyboard_alone(page, clinic_world, web_client_user):
    world = clinic_world
    # given: the home page, signed out
    page.goto("/")
    # when: Book a session → the login page (back here after), all by keyboard
    tab_to(page, "main a[href='/book/']")
    assert page.evaluate("() => getComputedStyle(document.activeElement).outlineStyle") != "none"
    page.keyboard.press("Enter")
    page.wait_for_url(at("/login/"))
    tab_to(page, "#id_email")
    page.keyboard.type(web_client_user.email)
    page.keyboard.press("Tab")
    page.keyboard.type(PASSWORD)
    page.keyboard.press("Enter")
    page.wait_for_url(at("/book/"))

    # the session and the place
    tab_to(page, "input[name=service]")
    arrow_to(page, f"#service-{world.session_90.pk}")
    tab_to(page, "input[name=location]")
    arrow_to(page, f"#location-{world.location.pk}")
    tab_to(page, "button[type=submit]")
    page.keyboard.press("Enter")
    page.wait_for_url(at("/book/times/"))

    # the first time offered
    tab_to(page, ".times a")
    page.keyboard.press("Enter")
    page.wait_for_url(at("/book/details/"))

    # the intake: deep pressure for pain relief; the suggestion follows the answers
    tab_to(page, "input[name=pressure_preference]")
    arrow_to(page, "#q-pressure_preference-deep")
    tab_to(page, "input[name=primary_goal]")
    arrow_to(page, "#q-primary_goal-pain_relief")
    page.locator("#suggestion").get_by_text("Deep tissue massage").wait_for()
    tab_to(page, "#q-consent")
    page.keyboard.press("Space")
    tab_to(page, "form button[type=submit]")
    assert page.evaluate("() => getComputedStyle(document.activeElement).outlineStyle") != "none"
    page.keyboard.press("Enter")

    # then: the confirmation
    page.wait_for_url(at(r"/bookings/\d+/"))
    assert page.get_by_role("heading", level=1).inner_text() == "Your booking"
    assert "You are booked" in page.inner_text("main")
    assert "Massage, 90 min" in page.inner_text("main")
    assert "135.00 USD" in page.inner_text("main")
    booking = Booking.objects.get(client=web_client_user)
    assert booking.service == world.session_90
    assert booking.intake.suggested_modality == "deep_tissue"
    assert booking.therapist == world.therapist  # the one trained in deep tissue


def test_a_returning_client_sees_the_form_prefilled_from_the_last_visit(page, login, clinic_world, returning_client):
    world = clinic_world
    previous = returning_client.intakes.get()
    login(page, returning_client)
    page.goto(f"/book/times/?service={world.session_90.pk}&location={world.location.pk}")
    page.locator(".times a").first.click()
    page.wait_for_url(at("/book/details/"))

    # the last answers are there, consent is asked afresh, and the suggestion is shown from the start
    assert "We filled this in from your last visit" in page.inner_text("main")
    assert page.is_checked("#q-pressure_preference-deep")
    assert page.is_checked("#q-primary_goal-pain_relief")
    assert page.is_checked("#q-conditions-lower_back_pain")
    assert page.is_checked("#q-focus_areas-lower_back")
    assert not page.is_checked("#q-consent")
    assert "Deep tissue massage" in page.inner_text("#suggestion")
    # reading the last intake to prefill is a read of health data: audited as me/intake/latest/ is
    assert IntakeAccess.objects.filter(intake=previous, accessed_by=returning_client, booking_id=None).exists()

    # something changed since: lighter pressure and high blood pressure; the suggestion follows live
    page.check("#q-pressure_preference-light")
    page.check("#q-health_screening-high_blood_pressure")
    suggestion = page.locator("#suggestion")
    suggestion.get_by_text("Therapeutic massage").wait_for()
    suggestion.get_by_text("High blood pressure", exact=False).wait_for()
    page.check("#q-consent")
    page.get_by_role("button", name=re.compile("^Book")).click()
    page.wait_for_url(at(r"/bookings/\d+/"))

    booking = Booking.objects.filter(client=returning_client).latest("created_at")
    assert set(booking.intake.changes_since_last) >= {"pressure_preference", "health_screening"}
    assert booking.intake.new_flags == ["high_blood_pressure"]


def _visit(page, axe_check, path_or_none, name: str) -> None:
    """Check the page now shown (after going to `path_or_none`): axe, no sideways scrolling at 360 px, a screenshot."""
    if path_or_none:
        page.goto(path_or_none)
    page.wait_for_load_state()
    axe_check(page)
    overflow = page.evaluate("() => document.documentElement.scrollWidth - document.documentElement.clientWidth")
    assert overflow <= 0, f"{page.url} scrolls sideways by {overflow}px at 360 px wide"
    if os.environ.get("WRITE_SCREENSHOTS"):
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(SCREENSHOTS / f"{name}-360.png"), full_page=True)
        if name in WIDE_SCREENSHOTS:
            page.set_viewport_size({"width": 1280, "height": 900})
            page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)
            page.set_viewport_size({"width": 360, "height": 780})


def test_every_client_page_passes_axe_at_360_px(page, login, axe_check, clinic_world, returning_client):
    world = clinic_world
    page.set_viewport_size({"width": 360, "height": 780})
    # signed out
    _visit(page, axe_check, "/", "home")
    _visit(page, axe_check, "/register/", "register")
    page.get_by_role("button", name="Create account").click()
    _visit(page, axe_check, None, "register-errors")
    _visit(page, axe_check, "/login/", "login")
    page.get_by_label("Email").fill(returning_client.email)
    page.get_by_label("Password").fill("not the password")
    page.get_by_role("button", name="Log in").click()
    _visit(page, axe_check, None, "login-errors")

    login(page, returning_client)
    _visit(page, axe_check, "/book/", "book-choose")
    _visit(page, axe_check, f"/book/times/?service={world.session_90.pk}&location={world.location.pk}", "book-times")
    page.locator(".times a").first.click()
    _visit(page, axe_check, None, "book-intake")
    # errors beside their fields: consent not given
    page.get_by_role("button", name=re.compile("^Book")).click()
    assert page.get_attribute("#q-consent", "aria-invalid") == "true"
    assert "You must consent" in page.inner_text("#q-consent-error")
    _visit(page, axe_check, None, "book-intake-errors")
    page.check("#q-consent")
    page.get_by_role("button", name=re.compile("^Book")).click()
    page.wait_for_url(at(r"/bookings/\d+/"))
    _visit(page, axe_check, None, "booking-confirmation")
    booking = Booking.objects.filter(client=returning_client).latest("created_at")
    base = f"/bookings/{booking.pk}/"
    _visit(page, axe_check, "/bookings/", "my-bookings")
    _visit(page, axe_check, base + "intake/", "booking-intake-edit")
    _visit(page, axe_check, base + "reschedule/", "reschedule")
    page.locator(".times a").first.click()
    _visit(page, axe_check, None, "reschedule-confirm")
    _visit(page, axe_check, base + "cancel/", "cancel")
    _visit(page, axe_check, base + "access-log/", "access-log")
    # the waitlist: a full day's join page, an offer, accepting it
    _, offer = waitlist_offer(world, returning_client)
    day = world.first_day() + timedelta(days=2)
    join = f"/waitlist/join/?service={world.session_90.pk}&location={world.location.pk}&from={day}"
    _visit(page, axe_check, join, "waitlist-join")
    _visit(page, axe_check, "/waitlist/", "waitlist-offer")
    _visit(page, axe_check, f"/waitlist/offers/{offer.pk}/", "waitlist-accept")
    _visit(page, axe_check, "/bookings/999999/", "not-found")
    assert page.get_by_role("heading", level=1).inner_text() == "Page not found"

    # another role's account: a page that says so
    page.get_by_role("button", name="Log out").click()
    page.wait_for_url(at("/"))
    login(page, world.therapist.user)
    _visit(page, axe_check, "/book/", "not-for-this-account")
    assert "These pages are for clients" in page.inner_text("main")
