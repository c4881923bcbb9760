"""URLs of the clinical record, mounted under /api/v1/."""

from django.urls import path

from records.api import views

urlpatterns = [
    path("bookings/<int:pk>/notes/", views.BookingNotesView.as_view(), name="booking-notes"),
    path("bookings/<int:pk>/notes/<int:nid>/", views.BookingNoteView.as_view(), name="booking-note"),
    path("bookings/<int:pk>/notes/<int:nid>/sign/", views.BookingNoteSignView.as_view(), name="booking-note-sign"),
    path("clients/<int:pk>/history/", views.ClientHistoryView.as_view(), name="client-history"),
]
