"""URLs of the clinic API, mounted under /api/v1/.

Therapist ids use the `int` converter so that `therapists/me/...` and
`therapists/<id>/calendar.ics` (the booking app's) are never captured here.
`me/` is routed by records.api.account_urls (its export and DELETE reach
bookings and notes), with `clinic.api.views.MeView` answering its GET.
"""

from django.urls import path

from clinic.api import views

urlpatterns = [
    path("auth/register/", views.RegisterView.as_view(), name="auth-register"),
    path("auth/token/", views.TokenView.as_view(), name="auth-token"),
    path("auth/logout/", views.LogoutView.as_view(), name="auth-logout"),
    path("auth/logout-all/", views.LogoutAllView.as_view(), name="auth-logout-all"),
    path("clinic/", views.ClinicView.as_view(), name="clinic"),
    path("locations/", views.LocationListView.as_view(), name="location-list"),
    path("locations/<int:pk>/", views.LocationDetailView.as_view(), name="location-detail"),
    path("rooms/", views.RoomListView.as_view(), name="room-list"),
    path("rooms/<int:pk>/", views.RoomDetailView.as_view(), name="room-detail"),
    path("services/", views.ServiceListView.as_view(), name="service-list"),
    path("services/<int:pk>/", views.ServiceDetailView.as_view(), name="service-detail"),
    path("therapists/", views.TherapistListView.as_view(), name="therapist-list"),
    path("therapists/<int:pk>/", views.TherapistDetailView.as_view(), name="therapist-detail"),
]
