"""Fixtures of the page tests: a world to book in, a returning client, and Chromium driven by Playwright.

- `clinic_world`: the clinic (Test Clinic, USD), a New York location
  without rooms, a 90-minute session (and a 60-minute one), two therapists
  (one gives deep tissue too) working there 08:00-20:00 local for the next
  ten days, from the real clock (the browser and the live server share it).
- `waitlist_offer(world, client)`: an open waitlist offer to `client`.
- `returning_client`: a client with a booking made through
  `booking_create` whose intake asked for deep tissue; their next intake
  is prefilled from it (and the therapist's page shows what changed).
- `browser` (session-scoped, headless Debian Chromium at `CHROMIUM_PATH`,
  default /usr/bin/chromium; never a downloaded browser) and `page`, one
  fresh context per test against pytest-django's `live_server`
  (transactional: the server's thread sees the test's rows).
  Without Chromium the browser tests are skipped saying why, except in CI
  (`CI` set), where that is a failure.
- `login(page, user)`: signs `user` in through the login page.
- `axe_check(page)`: axe-core (bundled by axe-playwright-python) on the page
  as it is; any serious or critical violation fails, listed with its nodes.
"""

import os
import shutil
from dataclasses import dataclass
from datetime import datetime, time, timedelta

import pytest
from django.utils import timezone

from booking import waitlist
from booking.models import WaitlistOffer
from booking.services import booking_cancel, booking_create
from booking.tests.factories import ShiftFactory
from clinic.models import Location, Service, Therapist, User
from clinic.tests.factories import PASSWORD, ClientFactory, LocationFactory, ServiceFactory, TherapistFactory
from clinic.tests.factories import clinic_configure as configure

CHROMIUM_PATH = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")
# As the machine's own probe starts it: as root without the sandbox, and no background
# connections (the network is closed; Chromium would try Google's hosts at every start).
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
DEEP_ANSWERS = {
    "pressure_preference": "deep",
    "primary_goal": "pain_relief",
    "conditions": ["lower_back_pain"],
    "focus_areas": ["lower_back"],
    "consent": True,
}


@dataclass
class World:
    location: Location
    session_90: Service
    session_60: Service
    therapist: Therapist  # gives both modalities
    therapeutic_only: Therapist

    def first_day(self):
        """The first local day with a start still offered (today if 08:00-20:00 has room left after the notice)."""
        now = timezone.localtime(timezone.now(), self.location.tz)
        return now.date() if now.hour < 15 else now.date() + timedelta(days=1)

    def local(self, day, hour: int, minute: int = 0) -> datetime:
        return datetime.combine(day, time(hour, minute), tzinfo=self.location.tz)


def _shifts(therapist: Therapist, location: Location, days: int = 10) -> None:
    today = timezone.localtime(timezone.now(), location.tz).date()
    for offset in range(days):
        day = today + timedelta(days=offset)
        starts = datetime.combine(day, time(8), tzinfo=location.tz)
        ShiftFactory(therapist=therapist, location=location, starts_at=starts, ends_at=starts + timedelta(hours=12))


@pytest.fixture
def clinic_world(db) -> World:
    configure(name="Test Clinic", currency="USD")
    location = LocationFactory(name="Downtown", time_zone="America/New_York", address="1 Main Street")
    session_90 = ServiceFactory(name="Massage, 90 min", duration_minutes=90, buffer_minutes=15, price="135.00")
    session_60 = ServiceFactory(name="Massage, 60 min", duration_minutes=60, buffer_minutes=10, price="95.00")
    both = TherapistFactory(
        user__first_name="Maya", user__last_name="Stone", gives_deep_tissue=True, locations=[location]
    )
    therapeutic = TherapistFactory(
        user__first_name="Omar", user__last_name="Reyes", gives_deep_tissue=False, locations=[location]
    )
    for therapist in (both, therapeutic):
        _shifts(therapist, location)
    return World(location, session_90, session_60, both, therapeutic)


@pytest.fixture
def web_client_user(db) -> User:
    """A client with a known password and name (the page tests log in as them)."""
    return ClientFactory(first_name="Rosa", last_name="Diaz", email="rosa@example.com")


@pytest.fixture
def returning_client(clinic_world, web_client_user) -> User:
    """`web_client_user` with an earlier booking (three days on, 10:00, deep tissue answers) and its intake."""
    day = clinic_world.first_day() + timedelta(days=3)
    booking_create(
        client=web_client_user,
        service_id=clinic_world.session_60.pk,
        starts_at=clinic_world.local(day, 10),
        therapist_id=clinic_world.therapist.pk,
        location_id=clinic_world.location.pk,
        answers=DEEP_ANSWERS,
        booked_by=web_client_user,
    )
    return web_client_user


def waitlist_offer(world: World, client: User):
    """(entry, offer): `client` waits for Maya on day 4; another client's 09:00 with her is cancelled.

    The cancellation offers the freed time to the waitlist in its own
    transaction: the earliest start that fits (08:00, Maya being free from
    then), held for the clinic's `waitlist_hold_minutes`.
    """
    day = world.first_day() + timedelta(days=4)
    entry = waitlist.waitlist_join(
        client=client,
        service_id=world.session_60.pk,
        from_date=day,
        to_date=day,
        location_id=world.location.pk,
        therapist_id=world.therapist.pk,
    )
    other = ClientFactory()
    theirs = booking_create(
        client=other,
        service_id=world.session_60.pk,
        starts_at=world.local(day, 9),
        therapist_id=world.therapist.pk,
        location_id=world.location.pk,
        answers={"pressure_preference": "medium", "primary_goal": "relaxation", "consent": True},
        booked_by=other,
    )
    booking_cancel(booking_id=theirs.pk, by=other)
    return entry, WaitlistOffer.objects.get(entry=entry)


# --- The browser -------------------------------------------------------------------------


@pytest.fixture(scope="session")
def browser():
    if not (os.path.isfile(CHROMIUM_PATH) or shutil.which(CHROMIUM_PATH)):
        message = f"Chromium is not installed at {CHROMIUM_PATH} (Debian's package `chromium`; set CHROMIUM_PATH)"
        if os.environ.get("CI"):
            pytest.fail(message + ": CI must run the browser tests")
        pytest.skip(message)
    from playwright.sync_api import sync_playwright

    # Playwright's sync API keeps an event loop running in this thread; Django would take the
    # test's own database calls for calls from async code (they are not: they block as usual).
    previous = os.environ.get("DJANGO_ALLOW_ASYNC_UNSAFE")
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    try:
        with sync_playwright() as playwright:
            chromium = playwright.chromium.launch(executable_path=CHROMIUM_PATH, headless=True, args=CHROMIUM_ARGS)
            yield chromium
            chromium.close()
    finally:
        if previous is None:
            os.environ.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
        else:
            os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = previous


@pytest.fixture
def page(browser, live_server, settings):
    """A fresh browser context and page whose base URL is the live server."""
    # The live server speaks plain HTTP; the tests' settings would mark cookies Secure (DEBUG off).
    settings.SESSION_COOKIE_SECURE = False
    settings.CSRF_COOKIE_SECURE = False
    context = browser.new_context(base_url=live_server.url, viewport={"width": 1280, "height": 900})
    context.set_default_timeout(10_000)
    page = context.new_page()
    yield page
    context.close()


@pytest.fixture
def login():
    """`login(page, user, password=PASSWORD)`: sign in through the login page, as a person would."""

    def sign_in(page, user: User, password: str = PASSWORD) -> None:
        page.goto("/login/")
        page.get_by_label("Email").fill(user.email)
        page.get_by_label("Password").fill(password)
        page.get_by_role("button", name="Log in").click()
        page.wait_for_load_state()
        assert "/login/" not in page.url, page.content()

    return sign_in


BLOCKING_IMPACTS = ("serious", "critical")


@pytest.fixture
def axe_check():
    """`axe_check(page)`: no serious or critical axe-core violation on the page as it is now."""
    from axe_playwright_python.sync_playwright import Axe

    axe = Axe()

    def check(page) -> None:
        results = axe.run(page)
        blocking = [v for v in results.response["violations"] if v["impact"] in BLOCKING_IMPACTS]
        report = "\n".join(
            f"{v['impact']} {v['id']}: {v['help']} at " + "; ".join(str(node["target"]) for node in v["nodes"][:5])
            for v in blocking
        )
        assert not blocking, f"{page.url}:\n{report}"

    return check
