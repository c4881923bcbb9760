"""URLs of the therapist-facing booking API: the day sheet, the calendar feed and its token."""

urlpatterns = []
