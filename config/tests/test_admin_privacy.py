"""Health answers never leave the Django admin except on an audited intake page (issue 10, finding 1).

The admin accepts lookups in a changelist's URL (`?flags__icontains=...`),
a search (`?q=`), an ordering (`?o=`) and a popup's `?_to_field=`. Each is
an oracle when it touches a health field, even when the page shows no
health value: "1 result" answers the question. So this walks every
registered admin changelist, as the front desk and as a superuser, with
lookups on every field of its model and on every path from it to a health
field, and holds that:

- no response is a server error and none shows a health value;
- a lookup touching a health field is refused for anyone (never a 200);
- the front desk gets no 200 for a lookup the admin does not list as a
  filter (no `__icontains`, `__regex`, no unlisted field);
- no query a changelist runs filters or orders on a health column;
- the front desk opens no intake page at all; a superuser's read of an
  intake page writes an audit row.
"""

import re
from dataclasses import dataclass
from datetime import timedelta

import pytest
from django.contrib import admin
from django.contrib.auth.models import Permission
from django.db import models, transaction
from django.test import Client, RequestFactory
from django.urls import reverse
from django.utils import timezone

from booking.tests.factories import BookingFactory, ClosureFactory, ShiftFactory, TimeOffFactory, WorkingHoursFactory
from clinic.tests.factories import (
    AdminFactory,
    LocationFactory,
    RoomFactory,
    StaffFactory,
    TherapistFactory,
    clinic_configure,
)
from intake.models import IntakeAccess
from intake.services import intake_access_log

pytestmark = pytest.mark.django_db

# The health fields as the issue names them (answers, flags, reasons, review
# notes; the score is computed from the answers). The admin's own list
# (`clinic.admin.HEALTH_FIELDS`) must hold at least these; the walk covers both.
SPEC_HEALTH_FIELDS = {"intake.Intake": {"answers", "score", "flags", "reasons", "review_note"}}

# Unique strings stored in the seeded intake; none may appear in any answer.
MARKERS = {
    "notes": "qzv-notes-marker-5521",
    "medications": "qzv-meds-marker-8810",
    "flag": "qzv-flag-marker-3907",
    "reason": "qzv-reason-marker-6644",
    "review": "qzv-review-marker-1178",
}
# A piece of every marker: a lookup with it matches the seeded intake and only
# it, yet echoing it back (a filter link) shows no marker.
FRAGMENT = "qzv-"

# Lookups tried on every field, each with the values tried.
FIELD_LOOKUPS = {
    "icontains": [FRAGMENT],
    "regex": ["(", FRAGMENT],
    "exact": [FRAGMENT, "\x00"],
    "isnull": ["true"],
    "": [FRAGMENT],
}
# Lookups tried on a path ending at a health field (JSON keys included).
HEALTH_LOOKUPS = {
    "icontains": [FRAGMENT],
    "regex": ["(", FRAGMENT],
    "exact": [FRAGMENT],
    "isnull": ["false"],
    "contains": ['["qzv"]'],
    "notes__icontains": [FRAGMENT],
    "notes__regex": ["(", "^qzv"],
    "0__icontains": [FRAGMENT],
}


def health_fields() -> dict[str, set[str]]:
    """The spec above, with whatever the admin lists besides (treatment notes, later)."""
    fields = {label: set(names) for label, names in SPEC_HEALTH_FIELDS.items()}
    try:
        from clinic.admin import HEALTH_FIELDS
    except ImportError:  # the code before the fix has no list
        return fields
    for label, names in HEALTH_FIELDS.items():
        fields.setdefault(label, set()).update(names)
    return fields


def health_paths(model, depth: int = 3, prefix: str = "", seen=()) -> list[str]:
    """Every lookup path from `model` to a health field, through at most `depth` relations."""
    health = health_fields()
    paths = [prefix + name for name in sorted(health.get(model._meta.label, ()))]
    if depth == 0:
        return paths
    for field in model._meta.get_fields():
        if field.is_relation and field.related_model is not None and field.related_model not in seen:
            paths += health_paths(field.related_model, depth - 1, f"{prefix}{field.name}__", (*seen, model))
    return paths


def health_column_pattern() -> re.Pattern:
    """A health column as the SQL names it (`"intake_intake"."flags"`, `T4."flags"`)."""
    health = health_fields()
    columns = set()
    for label, names in health.items():
        model = _model(label)
        columns |= {model._meta.get_field(name).column for name in names}
    # An alias (T4) names no table, so a column name must be unique to health tables.
    for model in (m for m, _ in admin.site._registry.items() if m._meta.label not in health):
        assert not columns & {f.column for f in model._meta.concrete_fields if f.column}, model
    return re.compile(r'\."(' + "|".join(sorted(columns)) + r')"')


def _model(label: str):
    from django.apps import apps

    return apps.get_model(label)


@dataclass
class Probe:
    params: dict
    touches_health: bool
    listed: bool  # the admin lists this field as a filter (or as its date hierarchy)


def _listed_filter_paths(model_admin) -> set[str]:
    paths = {model_admin.date_hierarchy} if model_admin.date_hierarchy else set()
    for spec in model_admin.list_filter:
        if isinstance(spec, str):
            paths.add(spec)
        elif isinstance(spec, (tuple, list)):
            paths.add(spec[0])
    return paths


def probes(model_admin, *, health_only: bool) -> list[Probe]:
    model = model_admin.model
    health = health_fields().get(model._meta.label, set())
    listed = _listed_filter_paths(model_admin)
    found = []
    if not health_only:
        for field in model._meta.get_fields():
            for lookup, values in FIELD_LOOKUPS.items():
                key = f"{field.name}__{lookup}" if lookup else field.name
                for value in values:
                    found.append(Probe({key: value}, field.name in health, field.name in listed))
        if model_admin.date_hierarchy:
            hierarchy = model_admin.date_hierarchy
            for year, month in [("9999", None), ("9999", "12"), ("1", None), ("0", None), ("x", None), ("2030", "13")]:
                params = {f"{hierarchy}__year": year} | ({f"{hierarchy}__month": month} if month else {})
                found.append(Probe(params, False, True))
    for path in health_paths(model):
        for lookup, values in HEALTH_LOOKUPS.items():
            found += [Probe({f"{path}__{lookup}": value}, True, False) for value in values]
    for value in (FRAGMENT, "(", "\x00"):
        found.append(Probe({"q": value}, False, True))
    for index in range(len(model_admin.list_display) + 1):
        found += [Probe({"o": order}, False, True) for order in (str(index), f"-{index}", f"{index}.0")]
    for field in model._meta.concrete_fields:
        found.append(Probe({"_to_field": field.name, "_popup": "1"}, field.name in health, True))
    return found


@pytest.fixture
def seeded(db):
    """A reviewed booking in a room whose intake holds a marker in every health field, and a read of it;
    a front-desk booking pending its intake elsewhere; a row of every schedule model."""
    clinic_configure()
    location = LocationFactory(name="Downtown", uses_rooms=True)
    therapist = TherapistFactory(locations=[location])
    room = RoomFactory(location=location)
    WorkingHoursFactory(therapist=therapist, location=location)
    ShiftFactory(therapist=therapist, location=location)
    TimeOffFactory(therapist=therapist)
    ClosureFactory(location=location, room=room)
    BookingFactory(
        therapist=therapist,
        location=LocationFactory(time_zone="America/Los_Angeles"),
        intake=None,
        intake_status="pending",
        starts_at=timezone.now().replace(microsecond=0) + timedelta(days=6),
    )
    booking = BookingFactory(
        therapist=therapist,
        location=location,
        room=room,
        intake__answers={
            "pressure_preference": "medium",
            "primary_goal": "relaxation",
            "medications": MARKERS["medications"],
            "notes": MARKERS["notes"],
            "consent": True,
        },
        intake__flags=[MARKERS["flag"]],
        intake__reasons=[{"code": MARKERS["reason"], "label": MARKERS["reason"], "points": 7}],
        intake__score=7,
        intake__needs_review=True,
        intake__reviewed_modality="therapeutic",
        intake__review_note=MARKERS["review"],
        intake__reviewed_by=therapist.user,
        intake__reviewed_at=timezone.now(),
    )
    intake_access_log(intake=booking.intake, user=therapist.user, booking_id=booking.pk, channel="api")
    return booking


def browser(user) -> Client:
    web = Client(raise_request_exception=False)
    web.force_login(user)
    return web


def registered_admins():
    return sorted(admin.site._registry.items(), key=lambda item: item[0]._meta.label)


def changelist_url(model) -> str:
    return reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_changelist")


def check(response, probe: Probe, *, front_desk: bool, health_column: re.Pattern) -> list[str]:
    """What is wrong with this answer to this probe (nothing, when all is well)."""
    problems = []
    content = response.content.decode(errors="replace")
    if response.status_code >= 500:
        problems.append(f"status {response.status_code}")
    leaked = [name for name, marker in MARKERS.items() if marker in content]
    if leaked:
        problems.append(f"shows {leaked}")
    if response.status_code != 200:
        return problems
    if probe.touches_health:
        problems.append("a lookup on a health field answered 200")
    elif front_desk and not probe.listed:
        problems.append("a lookup the admin does not list answered 200")
    changelist = response.context.get("cl") if response.context else None
    if changelist is not None:
        sql = changelist.queryset.query.sql_with_params()[0]
        where_and_order = sql[sql.index(" FROM ") :]
        if health_column.search(where_and_order):
            problems.append(f"the query filters or orders on a health column: {where_and_order[:300]}")
    return problems


def walk(user, *, health_only: bool, front_desk: bool) -> list[str]:
    web = browser(user)
    health_column = health_column_pattern()
    failures = []
    for model, model_admin in registered_admins():
        url = changelist_url(model)
        for probe in probes(model_admin, health_only=health_only):
            # A query that failed in the database (a 500) aborts the test's
            # transaction: each request runs in a savepoint rolled back after it.
            savepoint = transaction.savepoint()
            try:
                response = web.get(url, probe.params)
            finally:
                transaction.savepoint_rollback(savepoint)
            failures += [
                f"{url} {probe.params!r}: {problem}"
                for problem in check(response, probe, front_desk=front_desk, health_column=health_column)
            ]
    return failures


def test_front_desk_finds_no_health_answer_through_any_changelist(seeded):
    failures = walk(StaffFactory(), health_only=False, front_desk=True)

    assert not failures, "\n".join(failures[:60]) + f"\n({len(failures)} in all)"


def test_a_superuser_cannot_filter_search_or_order_on_health_fields(seeded):
    failures = walk(AdminFactory(), health_only=True, front_desk=False)

    assert not failures, "\n".join(failures[:60]) + f"\n({len(failures)} in all)"


def test_the_reported_lookups_are_refused(seeded):
    url = changelist_url(seeded.intake.__class__)
    for user in (StaffFactory(), AdminFactory()):
        web = browser(user)
        for params in (
            {"flags__icontains": MARKERS["flag"][:-1]},
            {"answers__notes__regex": "("},
            {"answers__notes__regex": "^qzv-n"},
            {"review_note__icontains": "qzv"},
        ):
            response = web.get(url, params)
            assert response.status_code in (400, 403), (user.role, params, response.status_code)
            assert b"1 result" not in response.content
    booking_list = changelist_url(seeded.__class__)
    for params in ({"intake__flags__icontains": "qzv"}, {"intake__answers__notes__regex": "("}):
        assert browser(StaffFactory()).get(booking_list, params).status_code == 400
        assert browser(AdminFactory()).get(booking_list, params).status_code == 400


def test_the_listed_filters_still_work(seeded):
    web = browser(StaffFactory())
    therapist_id = seeded.therapist_id
    local_start = seeded.starts_at.astimezone(seeded.location.tz)
    day = {
        "starts_at__year": local_start.year,
        "starts_at__month": local_start.month,
        "starts_at__day": local_start.day,
    }
    for url, params in [
        ("admin:booking_booking_changelist", {"status__exact": "confirmed"}),
        ("admin:booking_booking_changelist", {"intake_status__exact": "complete"}),
        ("admin:booking_booking_changelist", {"intake__needs_review__exact": "1"}),
        ("admin:booking_booking_changelist", {"needs_review": "yes"}),
        ("admin:booking_booking_changelist", {"intake__suggested_modality__exact": "therapeutic"}),
        ("admin:booking_booking_changelist", {"therapist__id__exact": therapist_id}),
        ("admin:booking_booking_changelist", {"location__id__exact": seeded.location_id, **day}),
        ("admin:booking_booking_changelist", {"room__id__exact": seeded.room_id}),
        ("admin:booking_booking_changelist", {"service__id__exact": seeded.service_id}),
        ("admin:booking_booking_changelist", {"q": seeded.client.email}),
        ("admin:booking_shift_changelist", {"location__id__exact": seeded.location_id}),
        ("admin:booking_closure_changelist", {"room__id__exact": seeded.room_id}),
        ("admin:booking_workinghours_changelist", {"therapist__id__exact": therapist_id}),
        ("admin:clinic_user_changelist", {"role__exact": "client", "is_active__exact": "1"}),
    ]:
        response = web.get(reverse(url), params)
        assert response.status_code == 200, (url, params)
        assert response.context["cl"].result_count >= 1, params


def test_front_desk_has_no_intake_pages(seeded):
    # given front desk staff, even one granted the intake permissions by hand
    staff = StaffFactory()
    staff.user_permissions.add(*Permission.objects.filter(content_type__app_label="intake"))
    web = browser(staff)
    intake = seeded.intake

    # then no intake page opens, and the admin's index does not offer them
    for name, args in [
        ("changelist", []),
        ("change", [intake.pk]),
        ("history", [intake.pk]),
        ("delete", [intake.pk]),
        ("rules", []),
    ]:
        response = web.get(reverse(f"admin:intake_intake_{name}", args=args))
        assert response.status_code in (403, 404), (name, response.status_code)
    index = web.get(reverse("admin:index")).content.decode()
    assert "/admin/intake/" not in index
    assert not IntakeAccess.objects.filter(accessed_by=staff).exists()


def test_front_desk_pages_around_a_booking_show_no_health_value(seeded):
    web = browser(StaffFactory())
    pages = [
        reverse("admin:booking_booking_change", args=[seeded.pk]),
        reverse("admin:booking_booking_history", args=[seeded.pk]),
        reverse("admin:clinic_user_change", args=[seeded.client_id]),
        reverse("admin:booking_booking_changelist"),
        reverse("admin:booking_booking_changelist") + "?intake__needs_review__exact=1",
    ]
    for page in pages:
        response = web.get(page)
        assert response.status_code == 200, page
        content = response.content.decode()
        assert not [marker for marker in MARKERS.values() if marker in content], page


def test_a_superuser_reading_an_intake_page_writes_an_audit_row(seeded):
    superuser = AdminFactory()
    web = browser(superuser)

    page = web.get(reverse("admin:intake_intake_change", args=[seeded.intake.pk]), REMOTE_ADDR="198.51.100.4")

    assert page.status_code == 200
    assert MARKERS["notes"] in page.content.decode()
    row = IntakeAccess.objects.get(accessed_by=superuser)
    assert (row.intake_id, row.channel, row.outcome, row.remote_addr) == (
        seeded.intake.pk,
        IntakeAccess.Channel.ADMIN,
        IntakeAccess.Outcome.ALLOWED,
        "198.51.100.4",
    )

    # when the page is opened again, that is a read too
    again = web.get(reverse("admin:intake_intake_change", args=[seeded.intake.pk]))
    assert again.status_code == 200
    assert MARKERS["flag"] in again.content.decode()
    assert IntakeAccess.objects.filter(accessed_by=superuser, channel="admin").count() == 2


def test_every_registered_admin_is_guarded():
    from clinic.admin import HEALTH_FIELDS, HealthGuardedAdmin

    for label, names in SPEC_HEALTH_FIELDS.items():
        assert names <= set(HEALTH_FIELDS[label])
    for model, model_admin in registered_admins():
        assert isinstance(model_admin, HealthGuardedAdmin), model._meta.label
        assert model_admin.check() == [], model._meta.label


def test_an_admin_listing_a_health_field_fails_its_checks():
    from clinic.admin import HealthGuardedAdmin
    from intake.models import Intake

    class CarelessIntakeAdmin(HealthGuardedAdmin, admin.ModelAdmin):
        list_display = ("id", "flags")
        list_filter = ("reasons",)
        search_fields = ("answers__notes", "client__intakes__review_note")
        ordering = ("score",)

    errors = CarelessIntakeAdmin(Intake, admin.AdminSite()).check()

    assert {error.id for error in errors} == {"clinic.E101"}
    assert len(errors) == 5
    assert isinstance(Intake._meta.get_field("flags"), models.JSONField)


def test_an_inline_of_intakes_fails_the_checks_and_is_never_shown(seeded):
    from clinic.admin import UserAdmin
    from clinic.models import User
    from intake.models import Intake

    class IntakeInline(admin.TabularInline):
        model = Intake
        fk_name = "client"
        fields = ("answers", "flags")

    class CarelessUserAdmin(UserAdmin):
        inlines = [IntakeInline]

    careless = CarelessUserAdmin(User, admin.AdminSite())
    request = RequestFactory().get("/")
    request.user = AdminFactory()

    assert [error.id for error in careless.check()] == ["clinic.E101"]
    assert careless.get_inline_instances(request, seeded.client) == []


def test_no_change_page_shows_a_health_value_but_the_intakes_own(seeded):
    # given every object the admin lists, as the front desk and as a superuser
    pages = [
        reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_{view}", args=[obj.pk])
        for model, _ in registered_admins()
        for obj in model._default_manager.all()
        for view in ("change", "history")
    ]
    intake_page = reverse("admin:intake_intake_change", args=[seeded.intake.pk])
    for user, front_desk in ((StaffFactory(), True), (AdminFactory(), False)):
        web = browser(user)
        for page in pages:
            response = web.get(page)

            # then none is a server error, and only a superuser's intake page shows the answers
            assert response.status_code < 500, page
            content = response.content.decode()
            if front_desk or page != intake_page:
                assert not [name for name, marker in MARKERS.items() if marker in content], (user.role, page)
            else:
                assert MARKERS["notes"] in content  # the walk does reach the answers where they belong


def test_the_front_desk_sees_a_locations_day_by_room_in_its_own_time(db):
    """A day's bookings per location and room at a glance: the location's local day, its local times."""
    # given: Los Angeles bookings in two rooms; one at 22:00 local is already the next day in UTC
    from datetime import datetime
    from zoneinfo import ZoneInfo

    clinic_configure()
    los_angeles = ZoneInfo("America/Los_Angeles")
    westside = LocationFactory(name="Westside", time_zone="America/Los_Angeles", uses_rooms=True)
    room_a, room_b = RoomFactory(location=westside, name="A"), RoomFactory(location=westside, name="B")
    therapists = [TherapistFactory(locations=[westside]) for _ in range(3)]
    late = BookingFactory(
        therapist=therapists[0], location=westside, room=room_b, starts_at=datetime(2026, 6, 10, 22, tzinfo=los_angeles)
    )
    early_b = BookingFactory(
        therapist=therapists[1], location=westside, room=room_b, starts_at=datetime(2026, 6, 10, 9, tzinfo=los_angeles)
    )
    early_a = BookingFactory(
        therapist=therapists[2], location=westside, room=room_a, starts_at=datetime(2026, 6, 10, 11, tzinfo=los_angeles)
    )
    BookingFactory(therapist=therapists[2], location=westside, starts_at=datetime(2026, 6, 11, 9, tzinfo=los_angeles))
    web = browser(StaffFactory())
    day = {"starts_at__year": 2026, "starts_at__month": 6, "starts_at__day": 10}

    # when the front desk opens Westside's 10 June
    response = web.get(reverse("admin:booking_booking_changelist"), {"location__id__exact": westside.pk, **day})

    # then it lists that local day, room by room, each in time order, in Los Angeles time
    assert response.status_code == 200
    assert [b.pk for b in response.context["cl"].result_list] == [early_a.pk, early_b.pk, late.pk]
    content = response.content.decode()
    assert "2026-06-10 22:00 PDT" in content
    assert "2026-06-10 09:00 PDT" in content


@pytest.mark.parametrize(
    "params",
    [
        {"location__id__exact": "²"},
        {"location__id__exact": "99999999999999999999999"},
        {"location__id__exact": "-1"},
        {"location__id__exact": "{id}", "starts_at__year": "1"},
        {"location__id__exact": "{id}", "starts_at__year": "9998", "starts_at__month": "12", "starts_at__day": "31"},
    ],
)
@pytest.mark.parametrize("changelist", ["admin:booking_booking_changelist", "admin:booking_shift_changelist"])
def test_odd_location_filters_are_no_server_error(db, params, changelist):
    clinic_configure()
    far_east = LocationFactory(time_zone="Pacific/Kiritimati")
    params = {key: value.format(id=far_east.pk) for key, value in params.items()}
    response = browser(StaffFactory()).get(reverse(changelist), params)
    assert response.status_code < 500
