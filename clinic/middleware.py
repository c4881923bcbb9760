"""Read the clinic's settings row at most once per request.

Availability, booking, the day sheet, mail and filters all need the clinic's
time zone and policies; without this each asked the database again.
"""

from clinic.selectors import clinic_read_once


class ClinicPerRequestMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        with clinic_read_once():
            return self.get_response(request)
