"""Who may open which page: clients the client pages, therapists the therapist pages.

Not signed in: a redirect to the login page, back here afterwards. Signed in
with another role (or an account the clinic no longer lets in): a 403 page
that says whose pages these are and where to go instead. Whatever a signed-in
user is shown (their bookings, their answers, who read them) is sent
`Cache-Control: no-store`: no browser or proxy keeps a copy.
"""

import functools

from django.contrib.auth.views import redirect_to_login
from django.shortcuts import render
from django.urls import reverse
from django.views.decorators.cache import never_cache
from django_htmx.http import HttpResponseClientRedirect

from clinic.models import Role
from clinic.permissions import user_has_access

ROLE_PAGES = {
    Role.CLIENT: "These pages are for clients: they book sessions and fill in their intake.",
    Role.THERAPIST: "These pages are for therapists: they read their day and their clients' intakes.",
}


def role_required(role: str):
    """Decorate a page view: only signed-in, active users of `role` reach it."""

    def decorator(view):
        @never_cache
        @functools.wraps(view)
        def wrapped(request, *args, **kwargs):
            user = request.user
            if not user.is_authenticated:
                response = redirect_to_login(request.get_full_path(), login_url=reverse("web:login"))
                if getattr(request, "htmx", False):
                    # A fragment's request (the session ended meanwhile): the whole page goes to the login.
                    return HttpResponseClientRedirect(response.url)
                return response
            if user.role != role or not user_has_access(user):
                return render(request, "web/forbidden.html", {"reason": ROLE_PAGES[role]}, status=403)
            return view(request, *args, **kwargs)

        return wrapped

    return decorator


client_required = role_required(Role.CLIENT)
therapist_required = role_required(Role.THERAPIST)
