"""The client's waitlist pages: join when a day is full, see entries and offers, accept (with the intake),
decline, withdraw. Each calls `booking.waitlist`, the services the API's waitlist endpoints call.

Accepting an offer asks for the intake as booking does (prefilled from the
last visit, an audited read); a refusal (an offer expired, the cap, an
overlap) is shown in the service's own words.
"""

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import Http404
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_http_methods, require_POST, require_safe

from booking import waitlist
from booking.models import WaitlistEntry, WaitlistOffer
from booking.selectors import waitlist_entries_for, waitlist_offers_for
from clinic.errors import DomainError
from clinic.selectors import location_list, service_list, therapist_list
from web import intake_form, times
from web.access import client_required
from web.forms import WaitlistJoinForm
from web.views import intake_page_context, latest_answers_read, pick


def _entry_rows(entries) -> list[dict]:
    rows = []
    for entry in entries:
        offers = getattr(entry, "current_offers", [])
        offer = next((o for o in offers if o.status == WaitlistOffer.Status.OPEN), None)
        booked = next((o for o in offers if o.status == WaitlistOffer.Status.ACCEPTED), None)
        rows.append(
            {
                "entry": entry,
                "offer": offer,
                "offer_when": times.when_label(offer.hold.starts_at, offer.hold.location) if offer else "",
                "offer_until": times.when_label(offer.expires_at, offer.hold.location) if offer else "",
                "booking_id": booked.pk if booked else None,
            }
        )
    return rows


@client_required
@require_safe
def waitlist_list(request):
    """The client's waitlist entries, an open offer first-class: accept or decline it before it runs out."""
    entries = list(waitlist_entries_for(request.user))
    open_rows = [row for row in _entry_rows(entries) if row["entry"].is_open]
    closed_rows = [row for row in _entry_rows(reversed(entries)) if not row["entry"].is_open]
    return render(
        request, "web/waitlist/list.html", {"open_rows": open_rows, "closed_rows": closed_rows, "nav": "waitlist"}
    )


@client_required
@require_http_methods(["GET", "POST"])
def waitlist_join(request):
    """Join the waitlist: prefilled from the page of times (a full day: from and to that day)."""
    if request.method == "POST":
        form = WaitlistJoinForm(request.POST, request=request)
        if form.is_valid():
            data = form.cleaned_data
            try:
                waitlist.waitlist_join(
                    client=request.user,
                    service_id=data["service"],
                    from_date=data["from"],
                    to_date=data["to"],
                    location_id=data.get("location"),
                    therapist_id=data.get("therapist"),
                    earliest_time=data.get("earliest_time"),
                    latest_time=data.get("latest_time"),
                )
            except ValidationError as exc:
                form.add_validation_error(exc)
            else:
                messages.success(request, "You are on the waitlist. We will email you when a time frees up.")
                return redirect("web:waitlist")
        status = 400
    else:
        initial = {name: request.GET.get(name, "") for name in ("service", "location", "therapist", "from", "to")}
        if initial["therapist"] == "any":
            initial["therapist"] = ""
        if not initial["to"]:
            initial["to"] = initial["from"]
        form = WaitlistJoinForm(initial=initial, request=request)
        status = 200
    values = form.data if form.is_bound else form.initial
    context = {
        "form": form,
        "service_name": _name_of("service", values.get("service")),
        "location_name": _name_of("location", values.get("location")),
        "therapist_name": _name_of("therapist", values.get("therapist")),
        "nav": "waitlist",
    }
    return render(request, "web/waitlist/join.html", context, status=status)


def _name_of(kind: str, raw) -> str:
    """The name of the service, location or therapist an id names (for the page's words), or ""."""
    queryset = {"service": service_list, "location": location_list, "therapist": therapist_list}[kind]()
    found = pick(raw if isinstance(raw, str) else str(raw or ""), queryset)
    return str(found.name) if found is not None else ""


@client_required
@require_POST
def waitlist_withdraw(request, pk: int):
    entry = waitlist_entries_for(request.user).filter(pk=pk).first()
    if entry is None:
        raise Http404("No such waitlist entry.")
    try:
        waitlist.waitlist_withdraw(entry_id=entry.pk, by=request.user)
    except DomainError as exc:
        messages.error(request, exc.detail)
    except WaitlistEntry.DoesNotExist as exc:
        raise Http404("No such waitlist entry.") from exc
    else:
        messages.success(request, "You have left the waitlist for that session.")
    return redirect("web:waitlist")


def _own_offer(request, pk: int) -> WaitlistOffer:
    offer = (
        waitlist_offers_for(request.user)
        .select_related("entry__service", "hold__therapist__user", "hold__location", "hold__room", "hold__service")
        .filter(pk=pk)
        .first()
    )
    if offer is None:
        raise Http404("No such offer.")
    return offer


@client_required
@require_POST
def offer_decline(request, pk: int):
    offer = _own_offer(request, pk)
    try:
        waitlist.waitlist_offer_decline(offer_id=offer.pk, client=request.user)
    except DomainError as exc:
        messages.error(request, exc.detail)
    except WaitlistOffer.DoesNotExist as exc:
        raise Http404("No such offer.") from exc
    else:
        messages.success(request, "You declined that time. You stay on the waitlist for other times.")
    return redirect("web:waitlist")


def _accepted_already(request, offer: WaitlistOffer):
    """A second Accept (a double submit) or a later visit: the booking the offer became, not a refusal."""
    messages.info(request, "You have already accepted this offer: this is your booking.")
    return redirect("web:booking", pk=offer.hold_id)


@client_required
@require_http_methods(["GET", "POST"])
def offer_accept(request, pk: int):
    """The held time, the intake form (prefilled, the suggestion live), and Accept: it becomes the booking."""
    offer = _own_offer(request, pk)
    if offer.status == WaitlistOffer.Status.ACCEPTED:
        return _accepted_already(request, offer)
    hold = offer.hold
    refusal, status, errors = None, 200, {}
    if request.method == "GET":
        answers, latest = latest_answers_read(request)
    else:
        latest = None
        answers = intake_form.posted_answers(request.POST)
        cleaned, errors = intake_form.check(answers)
        if cleaned is not None:
            try:
                booking = waitlist.waitlist_offer_accept(offer_id=offer.pk, client=request.user, answers=cleaned)
            except ValidationError as exc:
                errors = exc.message_dict
            except DomainError as exc:
                offer.refresh_from_db(fields=["status"])
                if offer.status == WaitlistOffer.Status.ACCEPTED:
                    return _accepted_already(request, offer)  # a double submit's second request, after the first
                refusal, status = exc.detail, exc.status_code
            except WaitlistOffer.DoesNotExist as exc:
                raise Http404("No such offer.") from exc
            else:
                messages.success(request, "You are booked. We have sent you a confirmation by email.")
                return redirect("web:booking", pk=booking.pk)
        if errors:
            status = 400
    still_open = offer.status == WaitlistOffer.Status.OPEN and timezone.now() < offer.expires_at
    if not still_open and refusal is None:
        refusal = waitlist.OfferExpired.default_detail
    context = {
        "offer": offer,
        "hold": hold,
        "when": times.when_label(hold.starts_at, hold.location),
        "until": times.when_label(offer.expires_at, hold.location),
        "still_open": still_open,
        "refusal": refusal,
        "latest": latest,
        "nav": "waitlist",
        **intake_page_context(answers, errors),
    }
    return render(request, "web/waitlist/accept.html", context, status=status)
