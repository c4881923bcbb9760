"""URLs of the booking API, mounted under /api/v1/."""

from django.urls import include, path
from rest_framework.routers import SimpleRouter

from booking.api import intake_views, schedule_views, views, waitlist_views

router = SimpleRouter()
router.register("working-hours", schedule_views.WorkingHoursViewSet, basename="working-hours")
router.register("shifts", schedule_views.ShiftViewSet, basename="shift")
router.register("time-off", schedule_views.TimeOffViewSet, basename="time-off")
router.register("closures", schedule_views.ClosureViewSet, basename="closure")
router.register("bookings", views.BookingViewSet, basename="booking")
router.register("waitlist/offers", waitlist_views.WaitlistOfferViewSet, basename="waitlist-offer")
router.register("waitlist", waitlist_views.WaitlistViewSet, basename="waitlist")

urlpatterns = [
    path("", include("booking.api.therapist_urls")),
    path("availability/", views.AvailabilityView.as_view(), name="availability"),
    path("bookings/<int:pk>/intake/", intake_views.BookingIntakeView.as_view(), name="booking-intake"),
    path(
        "bookings/<int:pk>/intake/access-log/",
        intake_views.BookingIntakeAccessLogView.as_view(),
        name="booking-intake-access-log",
    ),
    path("bookings/<int:pk>/review/", intake_views.BookingReviewView.as_view(), name="booking-review"),
    *router.urls,
]
