"""The therapist's pages: my day, a session (its intake, the review, closing it), its notes, my calendar feed.

Each page calls the services the API calls, so a page reads and writes
exactly what the API does, with the same audit rows:

| page | calls | audit rows (intake.models.IntakeAccess) |
|---|---|---|
| my day              | `booking.day_sheet.therapist_day`     | one per intake shown, channel `day_sheet` |
| a session           | `booking.intake_access.booking_intake_read` | kind `intake`, channel `web`, allowed or denied |
| review              | `booking.services.booking_review`     | none (a write) |
| completed / no-show | `booking.services.booking_close`      | none (a write) |
| notes               | `records.services.notes_read`         | kind `notes`, allowed or denied |
| write, change, sign | `records.services.note_create`, `note_update`, `note_sign` | none |
| my calendar feed    | `booking.ics.feed_token_rotate`       | none (no health data) |

A rule of the clinic that refuses a request (a `DomainError`: too early,
signed, not qualified...) answers 409 with the API's own sentence beside
the form; a value the form refuses answers 400 with the message beside
its field. Every change is a POST with Django's CSRF token, answered with a
redirect (post/redirect/get) when it succeeds.
"""

import datetime as dt
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from booking import intake_access
from booking import services as booking_services
from booking.day_sheet import bookings_on_local_date, day_sheet_record_access, therapist_day
from booking.ics import feed_token_rotate
from booking.models import Booking
from booking.selectors import booking_list_for
from clinic.errors import DomainError
from clinic.models import Modality, Therapist
from clinic.selectors import clinic_get
from config.security import client_ip
from intake import rules
from intake.form import FIELDS
from intake.models import IntakeAccess
from records import services as record_services
from records.models import TreatmentNote
from web.access import therapist_required
from web.therapist_forms import EARLIEST_DAY, LATEST_DAY, MAX_ID, CloseForm, DayForm, NoteForm, ReviewForm

NOT_FOUND = "No such session, or not one of yours."

# The intake's questions as the therapist reads them (the form's own labels speak to the client).
ANSWER_LABELS = {
    "pressure_preference": "Pressure preferred",
    "primary_goal": "Main goal",
    "conditions": "Conditions",
    "pain_tolerance": "Pain tolerance",
    "health_screening": "Health screening",
    "focus_areas": "Areas to focus on",
    "avoid_areas": "Areas to avoid",
    "medications": "Medications",
    "notes": "Client's notes",
    "consent": "Consent",
}


# --- What the templates show ---------------------------------------------------------------


def _answer_text(field, value) -> str:
    """One answer in words: a choice's label, a list of labels, a text, or 'None'."""
    if field.kind == "consent":
        return "Given" if value else "Not given"
    if field.kind == "choice":
        return field.choices.get(value, value) if value else "Not answered"
    if field.kind == "choices":
        labels = [field.choices.get(item, item) for item in value or []]
        return ", ".join(labels) if labels else "None"
    return value.strip() if isinstance(value, str) and value.strip() else "None given"


def _labels(table: dict, codes) -> list[str]:
    return [table.get(code, code) for code in codes or []]


def _warning_labels(booking: Booking) -> list[str]:
    return [
        Booking.WarningCode(code).label if code in Booking.WarningCode.values else code
        for code in booking.warnings or []
    ]


def intake_shown(booking: Booking) -> dict | None:
    """What a page shows of a booking's intake: the answers in words, the assessment, what changed since last time.

    None while the intake is pending (nothing to read).
    """
    intake = booking.intake
    if intake is None:
        return None
    answers = intake.answers or {}
    rows = {
        field.name: {"name": field.name, "label": ANSWER_LABELS.get(field.name, field.label)}
        | {"value": _answer_text(field, answers.get(field.name, field.default_value()))}
        for field in FIELDS
    }
    changes = intake.changes_since_last
    new_flags = set(intake.new_flags or [])
    return {
        "intake": intake,
        "answers": list(rows.values()),
        "modality": Modality(intake.modality).label if intake.modality in Modality.values else intake.modality,
        "suggested_modality": Modality(intake.suggested_modality).label
        if intake.suggested_modality in Modality.values
        else intake.suggested_modality,
        "reviewed": bool(intake.reviewed_modality),
        "flags": [
            {"label": rules.HEALTH_SCREENING.get(code, code), "new": code in new_flags} for code in intake.flags or []
        ],
        "new_flags": _labels(rules.HEALTH_SCREENING, intake.new_flags),
        "first_visit": changes is None,
        "changes": [rows[name] for name in changes or [] if name in rows],
        "focus_areas": _labels(rules.BODY_AREAS, answers.get("focus_areas")),
        "avoid_areas": _labels(rules.BODY_AREAS, answers.get("avoid_areas")),
        "client_notes": (answers.get("notes") or "").strip(),
        "reasons": [reason.get("label", "") for reason in intake.reasons or [] if isinstance(reason, dict)],
        "warnings": _warning_labels(booking),
    }


def _note_shown(note: TreatmentNote) -> dict:
    return {
        "note": note,
        "areas": _labels(rules.BODY_AREAS, note.areas_treated),
        "pressure": rules.PRESSURE_PREFERENCES.get(note.pressure_used, note.pressure_used),
        "modality": Modality(note.modality_given).label
        if note.modality_given in Modality.values
        else note.modality_given,
        "amended_by": sorted(amendment.pk for amendment in note.amendments.all()),
    }


def _therapist(request: HttpRequest) -> Therapist:
    """The signed-in therapist's profile (a therapist account staff have not given one yet has no pages)."""
    therapist = getattr(request.user, "therapist", None)
    if therapist is None:
        raise PermissionDenied("This therapist account has no therapist profile yet: ask the front desk.")
    return therapist


def _my_session(request: HttpRequest, pk: int) -> Booking:
    """A booking of the signed-in therapist (not a held offer), its relations joined; 404 otherwise."""
    booking = booking_list_for(request.user).filter(pk=pk).first() if pk <= MAX_ID else None
    if booking is None:
        raise Http404(NOT_FOUND)
    return booking


def _session_intake_read(request: HttpRequest, pk: int) -> Booking:
    """The session page's booking, its intake read through `booking.intake_access` as the API's endpoint reads it.

    Its therapist reads it (audit row allowed, channel `web`); another
    therapist's attempt on a booking with an intake is written as denied,
    then a 404, never revealing whose it is. A pending intake has nothing to
    read: no row, and the page shows the session without it.
    """
    if pk > MAX_ID:
        raise Http404(NOT_FOUND)
    try:
        return intake_access.booking_intake_read(
            booking_id=pk,
            user=request.user,
            remote_addr=client_ip(request),
            channel=IntakeAccess.Channel.WEB,
            readers={intake_access.THERAPIST},
            allow_pending=True,
        )
    except intake_access.IntakeAccessRefused as refusal:
        raise Http404(NOT_FOUND) from refusal


def _nav(context: dict, nav: str) -> dict:
    return {"nav": nav, **context}


# --- My day --------------------------------------------------------------------------------


def _today() -> dt.date:
    """Today in the clinic's time zone (the day the page opens on)."""
    return timezone.localdate(timezone=ZoneInfo(clinic_get().time_zone))


@require_GET
@never_cache
@therapist_required
def day(request: HttpRequest) -> HttpResponse:
    """The therapist's sessions of a day, with what to prepare; each intake shown is audited (day sheet)."""
    therapist = _therapist(request)
    today = _today()
    form = DayForm(request.GET or None)
    if form.is_bound and not form.is_valid():
        context = {"form": form, "day": None, "today": today, "sessions": []}
        return render(request, "web/therapist/day.html", _nav(context, "therapist-day"), status=400)
    date = (form.cleaned_data.get("date") if form.is_bound else None) or today
    if not form.is_bound:
        form = DayForm(initial={"date": date})
    bookings = therapist_day(therapist=therapist, date=date)
    # Audit first, as the API does: if the log cannot be written, nothing is shown.
    day_sheet_record_access(bookings=bookings, accessed_by=request.user, remote_addr=client_ip(request))
    context = {
        "form": form,
        "day": date,
        "today": today,
        "previous_day": date - dt.timedelta(days=1) if date > EARLIEST_DAY else None,
        "next_day": date + dt.timedelta(days=1) if date < LATEST_DAY else None,
        "sessions": [{"booking": booking, "intake": intake_shown(booking)} for booking in bookings],
        "closed": _closed_sessions(therapist, date),
    }
    return render(request, "web/therapist/day.html", _nav(context, "therapist-day"))


def _closed_sessions(therapist: Therapist, date: dt.date) -> list[Booking]:
    """The day's sessions already marked completed or no-show: times and names only (no health data, no read)."""
    closed = Booking.objects.filter(
        therapist=therapist, status__in=(Booking.Status.COMPLETED, Booking.Status.NO_SHOW)
    ).select_related("client", "service", "location", "room")
    return list(bookings_on_local_date(closed, date).order_by("starts_at", "pk"))


# --- A session: its intake, the review, completed or no-show --------------------------------


def _render_session(request, booking, *, review_form=None, close_error=None, status=200) -> HttpResponse:
    intake = booking.intake
    if review_form is None and intake is not None:
        initial = {"modality": intake.modality, "note": intake.review_note}
        review_form = ReviewForm(initial=initial)
    context = {
        "booking": booking,
        "intake": intake_shown(booking),
        "review_form": review_form,
        "close_error": close_error,
        "can_close": booking.status == Booking.Status.CONFIRMED,
        "started": timezone.now() >= booking.starts_at,
        "zone": booking.location.time_zone,
    }
    return render(request, "web/therapist/session.html", _nav(context, "therapist-day"), status=status)


@require_GET
@never_cache
@therapist_required
def session(request: HttpRequest, pk: int) -> HttpResponse:
    """One session with the client's full intake (an audited read), the review form and the close buttons."""
    _therapist(request)
    booking = _session_intake_read(request, pk)
    return _render_session(request, booking)


@require_POST
@never_cache
@therapist_required
def session_review(request: HttpRequest, pk: int) -> HttpResponse:
    """Confirm or change the suggested modality (`booking_review`); a modality not given: 409 by the field."""
    _therapist(request)
    booking = _my_session(request, pk)
    form = ReviewForm(request.POST)
    if form.is_valid():
        try:
            booking_services.booking_review(
                booking_id=booking.pk,
                reviewer=request.user,
                modality=form.cleaned_data["modality"],
                note=form.cleaned_data["note"],
            )
        except DomainError as refusal:
            form.add_error("modality" if refusal.code == "therapist_not_qualified" else None, refusal.detail)
            return _render_session(request, _session_intake_read(request, pk), review_form=form, status=409)
        except ValidationError as error:
            _form_errors(form, error)
        else:
            messages.success(request, "Review saved: the session's modality is set.")
            return redirect(reverse("web:therapist-session", args=[booking.pk]) + "#review")
    return _render_session(request, _session_intake_read(request, pk), review_form=form, status=400)


@require_POST
@never_cache
@therapist_required
def session_close(request: HttpRequest, pk: int) -> HttpResponse:
    """Mark the session completed or a no-show (`booking_close`); before its start: 409 `too_early`."""
    _therapist(request)
    booking = _my_session(request, pk)
    form = CloseForm(request.POST)
    if not form.is_valid():
        error = "Choose completed or no-show."
        return _render_session(request, _session_intake_read(request, pk), close_error=error, status=400)
    outcome = form.cleaned_data["outcome"]
    try:
        booking_services.booking_close(booking_id=booking.pk, status=outcome)
    except DomainError as refusal:
        return _render_session(request, _session_intake_read(request, pk), close_error=refusal.detail, status=409)
    done = "completed" if outcome == Booking.Status.COMPLETED else "marked as a no-show"
    messages.success(request, f"The session is {done}.")
    return redirect(reverse("web:therapist-session", args=[booking.pk]) + "#close")


def _form_errors(form, error: ValidationError) -> None:
    """A service's ValidationError (`{field: [messages]}`) shown beside the form's fields."""
    if hasattr(error, "error_dict"):
        for name, errors in error.message_dict.items():
            form.add_error(name if name in form.fields else None, errors)
    else:
        form.add_error(None, error.messages)


# --- Treatment notes -------------------------------------------------------------------------


def _amends_param(request) -> int | None:
    raw = request.GET.get("amends", "")
    return int(raw) if raw.isascii() and raw.isdigit() and 0 < int(raw) <= MAX_ID else None


def _render_notes(request, pk, *, new_form=None, draft_forms=None, sign_errors=None, status=200) -> HttpResponse:
    """The notes page: every version (an audited read, `notes_read`), the drafts' forms, a new note's form."""
    if pk > MAX_ID:
        raise Http404(NOT_FOUND)
    notes = list(record_services.notes_read(booking_id=pk, user=request.user, address=client_ip(request)))
    booking = _my_session(request, pk)
    draft_forms = dict(draft_forms or {})
    for note in notes:
        if not note.is_signed and note.author_id == request.user.pk and note.pk not in draft_forms:
            draft_forms[note.pk] = NoteForm(prefix=f"draft-{note.pk}", initial=NoteForm.initial_from(note))
    amends = None
    if new_form is None:
        amends_id = _amends_param(request)
        amends = next((n for n in notes if n.pk == amends_id and n.is_signed), None)
        initial = {**NoteForm.initial_from(amends), "amends": amends.pk} if amends else {}
        new_form = NoteForm(prefix="new", initial=initial)
    else:
        amends_id = new_form.data.get("new-amends") if new_form.is_bound else None
        amends = next((n for n in notes if str(n.pk) == str(amends_id) and n.is_signed), None)
    has_draft = any(not n.is_signed and n.author_id == request.user.pk for n in notes)
    context = {
        "booking": booking,
        "zone": booking.location.time_zone,
        "notes": [
            {
                **_note_shown(note),
                "form": draft_forms.get(note.pk),
                "sign_error": (sign_errors or {}).get(note.pk),
                "errors_id": f"note-{note.pk}-errors",
            }
            for note in notes
        ],
        "new_form": new_form if (amends is not None or not has_draft or new_form.is_bound) else None,
        "amends": amends,
        "has_draft": has_draft,
        "started": timezone.now() >= booking.starts_at,
        "cancelled": booking.status == Booking.Status.CANCELLED,
    }
    return render(request, "web/therapist/notes.html", _nav(context, "therapist-day"), status=status)


@require_http_methods(["GET", "POST"])
@never_cache
@therapist_required
def notes(request: HttpRequest, pk: int) -> HttpResponse:
    """GET: a session's notes, every version, oldest first. POST: write a draft (or an amendment of a signed note)."""
    _therapist(request)
    if request.method == "GET":
        return _render_notes(request, pk)
    if pk > MAX_ID:
        raise Http404(NOT_FOUND)
    record_services.note_write_check(booking_id=pk, user=request.user)
    form = NoteForm(request.POST, prefix="new")
    if not form.is_valid():
        return _render_notes(request, pk, new_form=form, status=400)
    try:
        note = record_services.note_create(
            booking_id=pk, author=request.user, amends=form.cleaned_data["amends"], **form.values()
        )
    except DomainError as refusal:
        form.add_error(None, refusal.detail)
        return _render_notes(request, pk, new_form=form, status=409)
    except ValidationError as error:
        _form_errors(form, error)
        return _render_notes(request, pk, new_form=form, status=400)
    messages.success(request, "Draft saved. Check it, then sign it: a signed note is final.")
    return redirect(reverse("web:therapist-notes", args=[pk]) + f"#note-{note.pk}")


@require_POST
@never_cache
@therapist_required
def note_edit(request: HttpRequest, pk: int, nid: int) -> HttpResponse:
    """Change a draft (its author); a signed note: 409 `note_signed` beside the form."""
    _therapist(request)
    if pk > MAX_ID or nid > MAX_ID:
        raise Http404(NOT_FOUND)
    record_services.note_write_check(booking_id=pk, note_id=nid, user=request.user)
    form = NoteForm(request.POST, prefix=f"draft-{nid}")
    status = 400
    if form.is_valid():
        try:
            record_services.note_update(booking_id=pk, note_id=nid, author=request.user, **form.values())
        except DomainError as refusal:
            form.add_error(None, refusal.detail)
            status = 409
        else:
            messages.success(request, "Draft saved.")
            return redirect(reverse("web:therapist-notes", args=[pk]) + f"#note-{nid}")
    return _render_notes(request, pk, draft_forms={nid: form}, status=status)


@require_POST
@never_cache
@therapist_required
def note_sign(request: HttpRequest, pk: int, nid: int) -> HttpResponse:
    """Sign a draft (its author): final from then on; an already signed one: 409 `note_signed` beside the button."""
    _therapist(request)
    if pk > MAX_ID or nid > MAX_ID:
        raise Http404(NOT_FOUND)
    record_services.note_write_check(booking_id=pk, note_id=nid, user=request.user)
    try:
        record_services.note_sign(booking_id=pk, note_id=nid, author=request.user)
    except DomainError as refusal:
        return _render_notes(request, pk, sign_errors={nid: refusal.detail}, status=409)
    messages.success(request, "Note signed. It is final now: to correct it, write an amendment.")
    return redirect(reverse("web:therapist-notes", args=[pk]) + f"#note-{nid}")


# --- My calendar feed ------------------------------------------------------------------------


def feed_address(request: HttpRequest, therapist: Therapist) -> str:
    """The feed's address with its token, as `GET /api/v1/therapists/me/feed/` gives it."""
    path = reverse("therapist-calendar-feed", kwargs={"pk": therapist.pk})
    return request.build_absolute_uri(path) + "?" + urlencode({"token": therapist.feed_token})


@require_http_methods(["GET", "POST"])
@never_cache
@therapist_required
def feed(request: HttpRequest) -> HttpResponse:
    """GET: my calendar feed's address, to subscribe to. POST: replace it (the old address stops at once)."""
    therapist = _therapist(request)
    if request.method == "POST":
        feed_token_rotate(therapist=therapist)
        messages.success(request, "Your calendar feed has a new address; the old one no longer works.")
        return redirect("web:therapist-feed")
    url = feed_address(request, therapist)
    context = {"url": url, "webcal_url": "webcal://" + url.split("://", 1)[1]}
    return render(request, "web/therapist/feed.html", _nav(context, "therapist-feed"))
