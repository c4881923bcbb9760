"""URLs of the therapist-facing booking API: the day sheet, the calendar feed and its token."""

from django.urls import path

from booking.api.therapist_views import TherapistCalendarView, TherapistDayView, TherapistFeedView

urlpatterns = [
    path("therapists/me/day/", TherapistDayView.as_view(), name="therapist-day-sheet"),
    path("therapists/me/feed/", TherapistFeedView.as_view(), name="therapist-feed-token"),
    path("therapists/<int:pk>/calendar.ics", TherapistCalendarView.as_view(), name="therapist-calendar-feed"),
]
