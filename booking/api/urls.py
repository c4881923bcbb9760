"""URLs of the booking API, mounted under /api/v1/."""

urlpatterns = []
