"""The therapist's pages in Chromium: a note written and signed, a returning client's changes on the day
sheet, the review with the keyboard alone, and every page checked by axe-core (no serious or critical
violation) at 1280 and at 360 px wide.

`WRITE_SCREENSHOTS=1` also saves the pages to docs/screenshots/therapist-*.png (see docs/pages.md).
"""

import os
import re
from datetime import timedelta
from pathlib import Path

import pytest
from django.utils import timezone

from booking.models import Booking
from booking.services import booking_create
from booking.tests.factories import BookingFactory
from intake.models import IntakeAccess
from records.models import TreatmentNote
from web.tests.browser import at, tab_to

pytestmark = [pytest.mark.browser, pytest.mark.slow]

SCREENSHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"
# The returning client's second intake: lighter pressure, a new health flag, the neck to avoid.
CHANGED_ANSWERS = {
    "pressure_preference": "medium",
    "primary_goal": "pain_relief",
    "conditions": ["lower_back_pain"],
    "health_screening": ["high_blood_pressure"],
    "focus_areas": ["lower_back"],
    "avoid_areas": ["neck"],
    "notes": "Slept badly this week.",
    "consent": True,
}


def submit(page, button) -> None:
    """Click a form's button and wait for the page the server answers."""
    with page.expect_navigation():
        button.click()


def shot(page, name: str, part: str | None = None) -> None:
    """With WRITE_SCREENSHOTS set: the page (or the element `part` selects) to docs/screenshots/therapist-NAME.png."""
    if os.environ.get("WRITE_SCREENSHOTS"):
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        path = str(SCREENSHOTS / f"therapist-{name}.png")
        if part:
            page.locator(part).screenshot(path=path)
        else:
            page.screenshot(path=path, full_page=True)


def local_day(booking) -> str:
    return timezone.localtime(booking.starts_at, booking.location.tz).date().isoformat()


@pytest.fixture
def session_begun(clinic_world, web_client_user) -> Booking:
    """A session of the world's therapist with the web client that began 30 minutes ago (notes may be written)."""
    return BookingFactory(
        therapist=clinic_world.therapist,
        client=web_client_user,
        location=clinic_world.location,
        service=clinic_world.session_60,
        starts_at=timezone.now() - timedelta(minutes=30),
    )


@pytest.fixture
def returning_visit(clinic_world, returning_client) -> Booking:
    """The returning client's next booking (a day after their first) with a changed intake."""
    first = Booking.objects.filter(client=returning_client).latest("starts_at")
    return booking_create(
        client=returning_client,
        service_id=clinic_world.session_90.pk,
        starts_at=first.starts_at + timedelta(days=1),
        therapist_id=clinic_world.therapist.pk,
        location_id=clinic_world.location.pk,
        answers=CHANGED_ANSWERS,
        booked_by=returning_client,
    )


def test_a_therapist_writes_and_signs_a_note(page, login, clinic_world, session_begun):
    # given: the therapist's day, with the session that has begun
    login(page, clinic_world.therapist.user)
    page.goto(f"/therapist/?date={local_day(session_begun)}")
    page.get_by_role("link", name=re.compile("Open the session")).click()
    page.wait_for_url(at(f"/therapist/sessions/{session_begun.pk}/"))
    page.get_by_role("link", name="Treatment notes", exact=True).first.click()
    page.wait_for_url(at(f"/therapist/sessions/{session_begun.pk}/notes/"))

    # when: the SOAP note, its areas, pressure and modality; saved, then signed
    page.get_by_label("Subjective").fill("Lower back tight after a long drive.")
    page.get_by_label("Objective").fill("Hypertonic erector spinae, left more than right.")
    page.get_by_label("Assessment").fill("Muscle tension, no red flags.")
    page.get_by_label("Plan").fill("Again in two weeks; stretch daily.")
    page.get_by_label("Lower back").check()
    page.get_by_label("Hips").check()
    page.get_by_label("Firm").check()
    page.get_by_label("Deep tissue massage").check()
    submit(page, page.get_by_role("button", name="Save draft"))
    note = TreatmentNote.objects.get(booking=session_begun)
    assert note.signed_at is None
    assert page.get_by_text("Draft saved").is_visible()
    submit(page, page.get_by_role("button", name=f"Sign note {note.pk}"))

    # then: signed, final, and shown as such
    note.refresh_from_db()
    assert note.signed_at is not None
    assert (note.areas_treated, note.pressure_used, note.modality_given) == (
        ["lower_back", "hips"],
        "firm",
        "deep_tissue",
    )
    assert page.get_by_text("Note signed").is_visible()
    assert page.get_by_role("link", name=re.compile("Write an amendment")).is_visible()
    assert page.get_by_role("button", name=re.compile("Sign note")).count() == 0
    # Each read of the notes page was audited as the API audits it.
    assert IntakeAccess.objects.filter(kind="notes", booking_id=session_begun.pk, outcome="allowed").count() >= 3


def test_the_therapist_sees_what_changed_since_a_returning_clients_last_visit(
    page, login, clinic_world, returning_visit
):
    login(page, clinic_world.therapist.user)
    page.goto(f"/therapist/?date={local_day(returning_visit)}")
    card = page.locator(".session-card", has_text="Rosa Diaz")
    assert card.get_by_role("heading", name="What changed since the last visit").is_visible()
    changes = card.locator(".changes")
    assert "Pressure preferred now: Medium" in changes.inner_text()
    assert "Areas to avoid now: Neck" in changes.inner_text()
    assert "New health flags: High blood pressure" in changes.inner_text()
    assert "Slept badly this week." in card.inner_text()
    # The day sheet's read is audited as the API's day sheet audits it.
    assert IntakeAccess.objects.filter(booking_id=returning_visit.pk, channel="day_sheet").count() == 1


def test_the_review_with_the_keyboard_alone(page, login, clinic_world, returning_visit):
    login(page, clinic_world.therapist.user)
    page.goto(f"/therapist/sessions/{returning_visit.pk}/")
    # The answers suggest deep tissue, with a new health flag to review: the therapist chooses therapeutic.
    assert page.is_checked("input[name=modality][value=deep_tissue]")
    tab_to(page, "input[name=modality]:checked")
    page.keyboard.press("ArrowUp")
    assert page.is_checked("input[name=modality][value=therapeutic]")
    tab_to(page, "#id_note")
    page.keyboard.type("High blood pressure: medium pressure at most.")
    tab_to(page, "#review button[type=submit]")
    with page.expect_navigation():
        page.keyboard.press("Enter")
    returning_visit.intake.refresh_from_db()
    assert returning_visit.intake.reviewed_modality == "therapeutic"
    assert page.get_by_text("Review saved").is_visible()


def test_a_409_is_shown_beside_its_form(page, login, clinic_world, returning_visit):
    login(page, clinic_world.therapist.user)
    page.goto(f"/therapist/sessions/{returning_visit.pk}/")
    submit(page, page.get_by_role("button", name="Mark completed"))
    refusal = page.locator("#close-error")
    assert "has not started yet" in refusal.inner_text()
    assert page.get_by_role("button", name="Mark completed").get_attribute("aria-describedby") == "close-error"


@pytest.mark.parametrize("width", [1280, 360])
def test_every_therapist_page_passes_axe(page, login, axe_check, clinic_world, session_begun, returning_visit, width):
    page.set_viewport_size({"width": width, "height": 900})
    login(page, clinic_world.therapist.user)
    # A draft and a signed note, so the notes page shows both kinds with their forms.
    signed = TreatmentNote.objects.create(
        booking=session_begun,
        author=clinic_world.therapist.user,
        subjective="Neck stiff.",
        areas_treated=["neck"],
        pressure_used="medium",
        modality_given="therapeutic",
    )
    TreatmentNote.objects.filter(pk=signed.pk).update(signed_at=timezone.now())
    TreatmentNote.objects.create(
        booking=session_begun,
        author=clinic_world.therapist.user,
        amends=signed,
        subjective="Neck and shoulders stiff.",
        areas_treated=["neck", "shoulders"],
        pressure_used="medium",
        modality_given="therapeutic",
    )
    pages = {
        "day": f"/therapist/?date={local_day(returning_visit)}",
        "session": f"/therapist/sessions/{returning_visit.pk}/",
        "notes": f"/therapist/sessions/{session_begun.pk}/notes/",
        "feed": "/therapist/feed/",
    }
    for name, url in pages.items():
        page.goto(url)
        assert page.title().endswith("· Test Clinic"), page.title()
        # Nothing wider than the window: no sideways scrolling at 360 px.
        assert page.evaluate("() => document.documentElement.scrollWidth <= window.innerWidth"), url
        axe_check(page)
        if width == 1280:
            shot(page, name)
    # A refusal beside its form, and a value refused beside its field.
    page.goto(pages["session"])
    submit(page, page.get_by_role("button", name="Mark completed"))
    axe_check(page)
    if width == 1280:
        shot(page, "refusal", part="#close")
    page.goto(pages["notes"])
    draft = page.locator("details.edit-draft")
    draft.locator("summary").click()
    draft.get_by_label("Neck").uncheck()
    draft.get_by_label("Shoulders").uncheck()
    submit(page, draft.get_by_role("button", name="Save draft"))
    assert page.locator("details.edit-draft fieldset[aria-describedby] [aria-invalid=true]").count() > 0
    axe_check(page)
    if width == 360:
        page.goto(pages["day"])
        shot(page, "day-360")
