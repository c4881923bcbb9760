"""URLs of the clinic API, mounted under /api/v1/."""

urlpatterns = []
