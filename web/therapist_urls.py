"""The therapist's pages, under /therapist/ (included by web.urls: their names are in the `web` namespace)."""

from django.urls import path

from web import therapist_views as views

urlpatterns = [
    path("", views.day, name="therapist-day"),
    path("sessions/<int:pk>/", views.session, name="therapist-session"),
    path("sessions/<int:pk>/review/", views.session_review, name="therapist-review"),
    path("sessions/<int:pk>/close/", views.session_close, name="therapist-close"),
    path("sessions/<int:pk>/notes/", views.notes, name="therapist-notes"),
    path("sessions/<int:pk>/notes/<int:nid>/", views.note_edit, name="therapist-note-edit"),
    path("sessions/<int:pk>/notes/<int:nid>/sign/", views.note_sign, name="therapist-note-sign"),
    path("feed/", views.feed, name="therapist-feed"),
]
