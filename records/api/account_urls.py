"""URLs of the signed-in person's own data, mounted under /api/v1/ before the clinic's.

`me/` is served here, not by clinic.api.urls: its GET is the clinic's MeView,
its DELETE reaches bookings, intakes and treatment notes, which the clinic
app must not import.
"""

from django.urls import path

from records.api.account_views import AccountExportView, AccountView

urlpatterns = [
    path("me/", AccountView.as_view(), name="me"),
    path("me/export/", AccountExportView.as_view(), name="me-export"),
]
