"""The browser pages at /: clients book, therapists read their day (session login, CSRF).

Every page answers with the pages' Content-Security-Policy (web.security):
scripts and styles from this site's own static files only, nothing inline.
"""

from django.urls import include, path

from web import auth_views, views, waitlist_views
from web.security import with_page_policy

app_name = "web"

urlpatterns = [
    path("", views.home, name="home"),
    path("login/", auth_views.login_view, name="login"),
    path("logout/", auth_views.logout_view, name="logout"),
    path("register/", auth_views.register_view, name="register"),
    # A client books: what and where, when, then the intake (its suggestion live) and Book.
    path("book/", views.book, name="book"),
    path("book/times/", views.week_times, name="times"),
    path("book/details/", views.details, name="details"),
    path("intake/assess/", views.assess, name="assess"),
    # My bookings: the confirmation, cancel, reschedule, the intake, who read it.
    path("bookings/", views.bookings, name="bookings"),
    path("bookings/<int:pk>/", views.booking_detail, name="booking"),
    path("bookings/<int:pk>/cancel/", views.booking_cancel, name="cancel"),
    path("bookings/<int:pk>/reschedule/", views.booking_reschedule, name="reschedule"),
    path("bookings/<int:pk>/reschedule/confirm/", views.booking_reschedule_confirm, name="reschedule-confirm"),
    path("bookings/<int:pk>/intake/", views.booking_intake, name="booking-intake"),
    path("bookings/<int:pk>/access-log/", views.booking_access_log, name="access-log"),
    # The waitlist: join when a day is full, answer an offer (accept with the intake, or decline), leave it.
    path("waitlist/", waitlist_views.waitlist_list, name="waitlist"),
    path("waitlist/join/", waitlist_views.waitlist_join, name="waitlist-join"),
    path("waitlist/<int:pk>/withdraw/", waitlist_views.waitlist_withdraw, name="waitlist-withdraw"),
    path("waitlist/offers/<int:pk>/", waitlist_views.offer_accept, name="offer-accept"),
    path("waitlist/offers/<int:pk>/decline/", waitlist_views.offer_decline, name="offer-decline"),
    # The therapist's pages: my day, a session's intake, review and notes, my calendar feed (web.therapist_urls).
    path("therapist/", include("web.therapist_urls")),
]

# Last, so it covers every page above, the therapist's included.
urlpatterns = with_page_policy(urlpatterns)
