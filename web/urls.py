"""The browser pages at /: clients book, therapists read their day (session login, CSRF).

Every page answers with the pages' Content-Security-Policy (web.security):
scripts and styles from this site's own static files only, nothing inline.
"""

from django.urls import path

from web import auth_views, views
from web.security import with_page_policy

app_name = "web"

urlpatterns = [
    path("", views.home, name="home"),
    path("login/", auth_views.login_view, name="login"),
    path("logout/", auth_views.logout_view, name="logout"),
    path("register/", auth_views.register_view, name="register"),
    path("book/", views.book, name="book"),
    path("bookings/", views.bookings, name="bookings"),
]

# Last, so it covers every page above, the therapist's included.
urlpatterns = with_page_policy(urlpatterns)
