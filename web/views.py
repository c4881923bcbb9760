"""The client's pages: the home page, booking, my bookings (each a view that calls the API's services)."""

from django.shortcuts import render

from clinic.selectors import location_list, service_list
from web.access import client_required


def home(request):
    """The clinic, its services and prices, and where to start."""
    context = {"services": service_list(), "locations": location_list()}
    return render(request, "web/home.html", context)


@client_required
def book(request):
    return render(request, "web/home.html", {"services": service_list(), "locations": location_list(), "nav": "book"})


@client_required
def bookings(request):
    return render(
        request, "web/home.html", {"services": service_list(), "locations": location_list(), "nav": "bookings"}
    )
