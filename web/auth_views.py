"""Signing in and out, and registering, with a session (CSRF-protected forms).

The login is the API's (`TokenRequestSerializer`): the same lockout
(django-axes counts every attempt by email and address), the same words
for wrong credentials and inactive accounts, and the same per-address
throttle as the admin's form (config.security.login_throttled).
"""

from django.contrib import messages
from django.contrib.auth import login as session_login
from django.contrib.auth.views import LogoutView
from django.core.exceptions import ValidationError
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_protect
from django.views.decorators.debug import sensitive_post_parameters

from clinic import services
from clinic.models import Role
from config.security import login_throttled
from web.forms import LoginForm, RegisterForm

# The backend that loads a session's user (the lockout backend only checks logins).
SESSION_BACKEND = "django.contrib.auth.backends.ModelBackend"


def _next_url(request, user=None) -> str:
    """Where to go after signing in: a `next` of this site, else a therapist's day, else the home page."""
    target = request.POST.get("next") or request.GET.get("next") or ""
    if target and url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return target
    user = user or request.user
    if user.is_authenticated and user.role == Role.THERAPIST:
        return reverse("web:therapist-day")
    return reverse("web:home")


def _sign_in(request, user) -> None:
    # login() sends user_logged_in: last_login is set and the lockout's failure count cleared.
    session_login(request, user, backend=SESSION_BACKEND)


@sensitive_post_parameters("password")
@csrf_protect
@never_cache
@login_throttled
def login_view(request):
    if request.user.is_authenticated and request.method == "GET":
        return redirect(_next_url(request))
    form = LoginForm(request.POST or None, request=request)
    status = 200
    if request.method == "POST":
        if form.is_valid():
            user = form.get_user()
            _sign_in(request, user)
            return redirect(_next_url(request, user))
        status = 400
        if form.locked:
            status = 429
            # Our page says it in the API's words; axes' middleware would answer its own page instead.
            request.axes_locked_out = False
    context = {"form": form, "next": request.POST.get("next") or request.GET.get("next", ""), "nav": "login"}
    return render(request, "web/auth/login.html", context, status=status)


@sensitive_post_parameters("password")
@csrf_protect
@never_cache
@login_throttled
def register_view(request):
    if request.user.is_authenticated and request.method == "GET":
        return redirect("web:home")
    form = RegisterForm(request.POST or None, request=request)
    status = 200
    if request.method == "POST":
        if form.is_valid():
            try:
                user = services.account_create(role=Role.CLIENT, **form.cleaned_data)
            except ValidationError as exc:
                form.add_validation_error(exc)
            else:
                _sign_in(request, user)
                messages.success(
                    request, f"Welcome, {user.first_name}. Your account is ready: book your first session."
                )
                return redirect(_next_url(request) if request.POST.get("next") else reverse("web:book"))
        status = 400
    context = {"form": form, "next": request.POST.get("next") or request.GET.get("next", ""), "nav": "register"}
    return render(request, "web/auth/register.html", context, status=status)


class PageLogoutView(LogoutView):
    """POST only (Django's LogoutView refuses GET): the session ends, back to the home page."""

    next_page = "web:home"


logout_view = PageLogoutView.as_view()
