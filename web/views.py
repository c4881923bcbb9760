"""The client's pages: choose a service and a place, a week of times, the intake, book; my bookings.

Each view translates HTTP and calls what the API calls: availability from
`booking.availability`, bookings from `booking.services`, the intake form
and its rules from `intake`, the audit log from `intake.services`. A rule
of the clinic that refuses a request (the API's 409) is shown in the
exception's own words, with what to do next; invalid answers are shown
beside their questions in `validate_answers`' words.

Every page that shows intake answers writes the audit row the API writes
for the same read, with channel `web`: a booking's intake is read and
answered through `booking.intake_access`, as the API's endpoint does (who,
when, the row); a returning client's last answers through `intake.services.intake_latest_read`.
"""

from datetime import timedelta

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import urlencode
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods, require_POST, require_safe

from booking import intake_access
from booking import services as booking_services
from booking.errors import BookingNotActive, IntakeLocked, SlotUnavailable, TherapistNotQualified
from booking.models import Booking
from booking.selectors import booking_list_for
from clinic.errors import DomainError
from clinic.models import Location, Modality, Therapist
from clinic.selectors import clinic_get, location_list, service_list, therapist_list
from config.security import client_ip
from intake.models import IntakeAccess
from intake.selectors import intake_access_list
from intake.services import intake_latest_read
from web import intake_form, times
from web.access import client_required
from web.forms import CancelForm

ANY = "any"


@require_safe
def home(request):
    """The clinic, its services and prices, and where to start."""
    context = {"services": service_list(), "locations": location_list()}
    return render(request, "web/home.html", context)


# --- Choosing what, where and when ------------------------------------------------------


def pick(raw: str | None, queryset):
    """The active object whose id the query string names, or None (malformed, unknown or inactive)."""
    if not raw or not raw.isascii() or not raw.isdigit() or len(raw) > 18:
        return None
    return queryset.filter(pk=int(raw)).first()


def _therapist_choice(raw: str | None, location: Location) -> Therapist | None:
    """The therapist asked for, among those working at `location`; None for "any therapist" (or nonsense)."""
    return pick(raw, therapist_list(location=location)) if raw and raw != ANY else None


@client_required
@require_safe
def book(request):
    """Step 1: the service and the location (a plain GET form to the week of times)."""
    services, locations = list(service_list()), list(location_list())
    errors = {}
    if "service" in request.GET or "location" in request.GET:
        service = pick(request.GET.get("service"), service_list())
        location = pick(request.GET.get("location"), location_list())
        if service is None:
            errors["service"] = "Choose one of the sessions listed."
        if location is None:
            errors["location"] = "Choose one of the locations listed."
        if not errors:
            return redirect(f"{reverse('web:times')}?{urlencode({'service': service.pk, 'location': location.pk})}")
    context = {
        "services": services,
        "locations": locations,
        "errors": errors,
        "chosen_service": request.GET.get("service", ""),
        "chosen_location": request.GET.get("location", "") or (str(locations[0].pk) if len(locations) == 1 else ""),
        "nav": "book",
    }
    return render(request, "web/book/choose.html", context, status=400 if errors else 200)


def _week_context(request, *, service, location, therapist, base_url: str, extra_query: dict, modality=None) -> dict:
    """The week of times the query string asks for, with the links that page through it."""
    first_day = times.parse_day(request.GET.get("week"), location)
    today = times.local_today(location)
    days = times.offered(
        service=service,
        location=location,
        first_day=first_day,
        therapist_id=therapist.pk if therapist else None,
        modality=modality,
    )
    query = {**extra_query, "therapist": therapist.pk if therapist else ANY}

    def week_url(day):
        return f"{base_url}?{urlencode({**query, 'week': day.isoformat()})}"

    horizon = today + timedelta(days=clinic_get().booking_horizon_days)
    previous_day = max(first_day - timedelta(days=times.DAYS_SHOWN), today)
    next_day = first_day + timedelta(days=times.DAYS_SHOWN)
    return {
        "days": days,
        "any_time": any(day["times"] for day in days),
        "week_label": f"{times.day_label(days[0]['date'])} to {times.day_label(days[-1]['date'])}",
        "previous_url": week_url(previous_day) if first_day > today else None,
        "next_url": week_url(next_day) if next_day <= horizon else None,
        "therapists": list(therapist_list(location=location, modality=modality)),
        "therapist": therapist,
        "week": first_day.isoformat(),
    }


@client_required
@require_safe
def week_times(request):
    """Step 2: a week of offered times at the location, for any therapist or one."""
    service = pick(request.GET.get("service"), service_list())
    location = pick(request.GET.get("location"), location_list())
    if service is None or location is None:
        messages.error(request, "Choose a session and a location first.")
        return redirect("web:book")
    therapist = _therapist_choice(request.GET.get("therapist"), location)
    base = {"service": service.pk, "location": location.pk}
    context = {
        "service": service,
        "location": location,
        **_week_context(
            request,
            service=service,
            location=location,
            therapist=therapist,
            base_url=reverse("web:times"),
            extra_query=base,
        ),
        "filter_url": reverse("web:times"),
        "filter_hidden": base,
        "nav": "book",
    }
    for day in context["days"]:
        day["waitlist_url"] = waitlist_url(service, location, therapist, day["date"])
        for time in day["times"]:
            time.url = _details_url(service, location, time.value, time.therapist_id)
    template = "web/includes/week.html" if request.htmx else "web/book/times.html"
    return render(request, template, context)


def waitlist_url(service, location, therapist, day) -> str:
    """The waitlist's join page for `day` (a full one), with the session, place and therapist chosen."""
    query = {"service": service.pk, "location": location.pk, "from": day.isoformat(), "to": day.isoformat()}
    if therapist is not None:
        query["therapist"] = therapist.pk
    return f"{reverse('web:waitlist-join')}?{urlencode(query)}"


def _details_url(service, location, starts_at: str, therapist_id) -> str:
    query = {"service": service.pk, "location": location.pk, "starts_at": starts_at}
    if therapist_id:
        query["therapist"] = therapist_id
    return f"{reverse('web:details')}?{urlencode(query)}"


# --- The intake, the suggestion and booking ------------------------------------------------


def latest_answers_read(request) -> tuple[dict, object]:
    """A returning client's last answers to prefill from (an audited read, as `me/intake/latest/`)."""
    latest = intake_latest_read(client=request.user, remote_addr=client_ip(request), channel=IntakeAccess.Channel.WEB)
    if latest is None:
        return {}, None
    return intake_form.prefill(latest.answers), latest


def intake_page_context(answers: dict, errors: dict[str, list[str]]) -> dict:
    questions = intake_form.questions(answers, errors)
    known = {q.name for q in questions}
    return {
        "questions": questions,
        "answer_errors": bool(errors),
        "other_answer_errors": [m for name, msgs in errors.items() if name not in known for m in msgs],
        "suggestion": intake_form.suggestion(answers),
        "missing": intake_form.missing_for_suggestion(answers),
    }


def _place_from(data, *, fallback_therapist=None):
    """(service, location, start, therapist) the request names; Http404 when they are not a place we offer."""
    service = pick(data.get("service"), service_list())
    location = pick(data.get("location"), location_list())
    if service is None or location is None:
        raise Http404("No such session or location.")
    therapist = _therapist_choice(data.get("therapist"), location)
    return service, location, times.parse_start(data.get("starts_at")), therapist


def not_offered(starts_at, *, service, location, therapist, modality=None) -> list[times.Time] | None:
    """None when `starts_at` is offered now (with `therapist`, or any); else the times its day offers now."""
    day_times = times.fresh_times(
        service=service,
        location=location,
        near=starts_at,
        therapist_id=therapist.pk if therapist else None,
        modality=modality,
    )
    return None if any(time.starts_at == starts_at for time in day_times) else day_times


@client_required
@require_http_methods(["GET", "POST"])
def details(request):
    """Step 3: the intake form (prefilled for a returning client), the live suggestion, and Book.

    A time taken meanwhile (or one the answers' modality rules out with this
    therapist) is refused in the API's words, with the day's times as they
    are now to choose from; the answers stay as given.
    """
    data = request.POST if request.method == "POST" else request.GET
    service, location, starts_at, therapist = _place_from(data)
    refusal = None
    fresh = None
    status = 200
    if request.method == "GET":
        answers, latest = latest_answers_read(request)
        errors = {}
        if starts_at is None:
            refusal = "Choose a time from the list: that link did not name one."
            status = 400
        else:
            # A link to a time not offered now (past, beyond the horizon, taken since): the day's times instead.
            fresh = not_offered(starts_at, service=service, location=location, therapist=therapist)
            if fresh is not None:
                refusal, status, starts_at = SlotUnavailable.default_detail, SlotUnavailable.status_code, None
    else:
        answers, latest = intake_form.posted_answers(request.POST), None
        cleaned, errors = intake_form.check(answers)
        if starts_at is None:
            refusal = "Choose one of the times listed below."
            status = 400
        elif cleaned is not None:
            try:
                booking = booking_services.booking_create(
                    client=request.user,
                    service_id=service.pk,
                    starts_at=starts_at,
                    therapist_id=therapist.pk if therapist else None,
                    location_id=location.pk,
                    answers=cleaned,
                    booked_by=request.user,
                )
            except ValidationError as exc:
                errors = exc.message_dict
            except DomainError as exc:
                refusal, status = exc.detail, exc.status_code
                if isinstance(exc, (SlotUnavailable, TherapistNotQualified)):
                    if isinstance(exc, TherapistNotQualified):
                        therapist = None  # any therapist trained for what the answers ask
                    fresh = times.fresh_times(
                        service=service,
                        location=location,
                        near=starts_at,
                        therapist_id=therapist.pk if therapist else None,
                        modality=intake_form.suggestion(cleaned)["modality"],
                    )
                    starts_at = None
            else:
                messages.success(request, "You are booked. We have sent you a confirmation by email.")
                return redirect("web:booking", pk=booking.pk)
        if errors:
            status = 400
    if starts_at is None and fresh is None:
        fresh = times.fresh_times(
            service=service,
            location=location,
            near=timezone.now(),
            therapist_id=therapist.pk if therapist else None,
        )
    near = starts_at or (fresh[0].starts_at if fresh else timezone.now())
    context = {
        "service": service,
        "location": location,
        "therapist": therapist,
        "waitlist_url": waitlist_url(service, location, therapist, near.astimezone(location.tz).date()),
        "starts_at": starts_at,
        "when": times.when_label(starts_at, location) if starts_at else "",
        "refusal": refusal,
        "fresh": fresh,
        "latest": latest,
        "times_url": f"{reverse('web:times')}?{urlencode({'service': service.pk, 'location': location.pk})}",
        "nav": "book",
        **intake_page_context(answers, errors),
    }
    return render(request, "web/book/details.html", context, status=status)


@require_POST
@never_cache
def assess(request):
    """The suggestion fragment for the answers posted so far (htmx, as answers change): stores nothing."""
    answers = intake_form.posted_answers(request.POST)
    context = {
        "suggestion": intake_form.suggestion(answers),
        "missing": intake_form.missing_for_suggestion(answers),
    }
    return render(request, "web/includes/suggestion.html", context)


# --- My bookings ------------------------------------------------------------------------------


def _own_booking(request, pk: int) -> Booking:
    """The signed-in client's booking, or a 404 (another client's is not found, as in the API)."""
    booking = booking_list_for(request.user).filter(pk=pk).first()
    if booking is None:
        raise Http404("No such booking.")
    return booking


def _describe(booking: Booking) -> dict:
    """What a booking's page says about it, in the location's time."""
    intake = booking.intake
    modality = None
    if intake is not None:
        modality = intake.reviewed_modality if intake.reviewed_modality else intake.suggested_modality
    return {
        "booking": booking,
        "when": times.when_label(booking.starts_at, booking.location),
        "ends": times.local_words(booking.ends_at, booking.location)[1],
        "modality_label": Modality(modality).label if modality else "",
        "reviewed": bool(intake and intake.reviewed_modality and not intake.review_stale),
        "upcoming": booking.is_active and booking.starts_at > timezone.now(),
    }


@client_required
@require_safe
def bookings(request):
    """The client's bookings: upcoming first, then the rest, newest first."""
    now = timezone.now()
    rows = [_describe(b) for b in booking_list_for(request.user)]
    upcoming = [row for row in rows if row["booking"].is_active and row["booking"].ends_at > now]
    others = [row for row in reversed(rows) if row not in upcoming]
    return render(request, "web/bookings/list.html", {"upcoming": upcoming, "others": others, "nav": "bookings"})


@client_required
@require_safe
def booking_detail(request, pk: int):
    """One booking (the confirmation after booking): when, where, with whom, price, and what can be done."""
    booking = _own_booking(request, pk)
    return render(request, "web/bookings/detail.html", {**_describe(booking), "nav": "bookings"})


@client_required
@require_http_methods(["GET", "POST"])
def booking_cancel(request, pk: int):
    """Ask, then cancel: refused inside the cancellation window in the API's words."""
    booking = _own_booking(request, pk)
    form = CancelForm(request.POST or None, request=request)
    refusal, status = None, 200
    if request.method == "POST":
        if form.is_valid():
            try:
                booking_services.booking_cancel(
                    booking_id=booking.pk, by=request.user, reason=form.cleaned_data["reason"]
                )
            except DomainError as exc:
                refusal, status = exc.detail, exc.status_code
            else:
                messages.success(request, "Your booking is cancelled.")
                return redirect("web:booking", pk=booking.pk)
        else:
            status = 400
    context = {**_describe(booking), "form": form, "refusal": refusal, "nav": "bookings"}
    return render(request, "web/bookings/cancel.html", context, status=status)


def _reschedule_modality(booking: Booking) -> str | None:
    return booking_services.requested_modality(booking.intake)


@client_required
@require_safe
def booking_reschedule(request, pk: int):
    """A week of times to move the booking to (same session and location; any therapist trained for it)."""
    booking = _own_booking(request, pk)
    location = booking.location
    therapist = _therapist_choice(request.GET.get("therapist"), location)
    base_url = reverse("web:reschedule", args=[booking.pk])
    context = {
        **_describe(booking),
        **_week_context(
            request,
            service=booking.service,
            location=location,
            therapist=therapist,
            base_url=base_url,
            extra_query={},
            modality=_reschedule_modality(booking),
        ),
        "service": booking.service,
        "location": location,
        "filter_url": base_url,
        "filter_hidden": {},
        "nav": "bookings",
    }
    confirm_url = reverse("web:reschedule-confirm", args=[booking.pk])
    for day in context["days"]:
        for time in day["times"]:
            query = {"starts_at": time.value}
            if time.therapist_id:
                query["therapist"] = time.therapist_id
            time.url = f"{confirm_url}?{urlencode(query)}"
    template = "web/includes/week.html" if request.htmx else "web/bookings/reschedule.html"
    return render(request, template, context)


@client_required
@require_http_methods(["GET", "POST"])
def booking_reschedule_confirm(request, pk: int):
    """Confirm the new time, then move: a time taken meanwhile shows the API's words and the day's times now."""
    booking = _own_booking(request, pk)
    data = request.POST if request.method == "POST" else request.GET
    starts_at = times.parse_start(data.get("starts_at"))
    therapist = _therapist_choice(data.get("therapist"), booking.location)
    refusal, status, fresh = None, 200, None
    fresh_near = booking.starts_at
    if starts_at is None:
        refusal, status = "Choose one of the times listed below.", 400
    elif request.method == "POST":
        try:
            booking_services.booking_reschedule(
                booking_id=booking.pk,
                by=request.user,
                starts_at=starts_at,
                therapist_id=therapist.pk if therapist else None,
            )
        except DomainError as exc:
            refusal, status = exc.detail, exc.status_code
            if isinstance(exc, (SlotUnavailable, TherapistNotQualified)):
                fresh_near, starts_at = starts_at, None
                if isinstance(exc, TherapistNotQualified):
                    therapist = None
        else:
            messages.success(request, "Your booking has moved. We have sent you the new time by email.")
            return redirect("web:booking", pk=booking.pk)
    elif (
        not_offered(
            starts_at,
            service=booking.service,
            location=booking.location,
            therapist=therapist,
            modality=_reschedule_modality(booking),
        )
        is not None
    ):
        # A link to a time not offered now (past, beyond the horizon, taken since): the day's times instead.
        refusal, status = SlotUnavailable.default_detail, SlotUnavailable.status_code
        fresh_near, starts_at = starts_at, None
    if starts_at is None:
        fresh = times.fresh_times(
            service=booking.service,
            location=booking.location,
            near=fresh_near,
            therapist_id=therapist.pk if therapist else None,
            modality=_reschedule_modality(booking),
        )
    context = {
        **_describe(booking),
        "starts_at": starts_at,
        "new_when": times.when_label(starts_at, booking.location) if starts_at else "",
        "therapist": therapist,
        "refusal": refusal,
        "fresh": fresh,
        "nav": "bookings",
    }
    return render(request, "web/bookings/reschedule_confirm.html", context, status=status)


def _booking_intake_read(request, booking_id: int):
    """The client's booking's intake, read as the API's endpoint reads it; None while pending.

    The same service and the same audit rows as the API (channel `web`): an
    allowed row for their own, a denied row, and a 404, for anyone else's.
    """
    try:
        read = intake_access.booking_intake_read(
            booking_id=booking_id,
            user=request.user,
            remote_addr=client_ip(request),
            channel=IntakeAccess.Channel.WEB,
            readers={intake_access.CLIENT},
            allow_pending=True,
        )
    except intake_access.IntakeAccessRefused as refusal:
        raise Http404("No such booking.") from refusal
    return read.intake


@client_required
@require_http_methods(["GET", "POST"])
def booking_intake(request, pk: int):
    """Read and change the booking's answers until the session starts (an audited read, as the API's)."""
    # Read first: another client's booking is refused, and that refusal logged, as the API logs it.
    intake = _booking_intake_read(request, pk) if request.method == "GET" else None
    booking = _own_booking(request, pk)
    started = timezone.now() >= booking.starts_at
    refusal, status, errors = None, 200, {}
    if request.method == "GET":
        if intake is not None:
            answers = intake_form.prefill(intake.answers)
            answers["consent"] = intake.answers.get("consent") is True
        else:
            answers, _ = latest_answers_read(request)
    else:
        answers = intake_form.posted_answers(request.POST)
        cleaned, errors = intake_form.check(answers)
        if cleaned is not None:
            try:
                relation = intake_access.booking_relation(request.user, booking)
                intake_access.booking_intake_answer_when(booking=booking, relation=relation)
                booking_services.booking_intake_update(booking_id=booking.pk, answers=cleaned)
            except DomainError as exc:
                refusal, status = exc.detail, exc.status_code
            else:
                messages.success(request, "Your answers are saved. Your therapist will see them.")
                return redirect("web:booking", pk=booking.pk)
        else:
            status = 400
    editable = booking.is_active and not started
    if not editable and refusal is None:
        refusal = IntakeLocked.default_detail if booking.is_active else BookingNotActive.default_detail
    context = {
        **_describe(booking),
        "refusal": refusal,
        "editable": editable,
        "nav": "bookings",
        **intake_page_context(answers, errors),
    }
    return render(request, "web/bookings/intake.html", context, status=status)


@client_required
@require_safe
def booking_access_log(request, pk: int):
    """Who read this booking's intake or its treatment notes, when and from where (the client's view)."""
    booking = _own_booking(request, pk)
    rows = intake_access_list(intake=booking.intake, booking_id=booking.pk, user=request.user)
    entries = [
        {
            "when": times.when_label(row.accessed_at, booking.location),
            "who": _reader(row, request.user),
            "what": row.get_kind_display(),
            "how": row.get_channel_display(),
            "address": row.remote_addr or "",
        }
        for row in rows
    ]
    context = {**_describe(booking), "entries": entries, "nav": "bookings"}
    return render(request, "web/bookings/access_log.html", context)


def _reader(row: IntakeAccess, user) -> str:
    if row.accessed_by_id == user.pk:
        return "You"
    return row.accessed_by.display_name if row.accessed_by else "An account since deleted"
