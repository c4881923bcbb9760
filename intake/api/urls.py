"""URLs of the intake API, mounted under /api/v1/."""

urlpatterns = []
