"""URLs of the booking API, mounted under /api/v1/."""

from django.urls import include, path
from rest_framework.routers import SimpleRouter

from booking.api import views

router = SimpleRouter()
router.register("working-hours", views.WorkingHoursViewSet, basename="working-hours")
router.register("slots", views.SlotViewSet, basename="slot")
router.register("time-off", views.TimeOffViewSet, basename="time-off")
router.register("bookings", views.BookingViewSet, basename="booking")

urlpatterns = [
    path("", include("booking.api.therapist_urls")),
    path("availability/", views.AvailabilityView.as_view(), name="availability"),
    *router.urls,
]
