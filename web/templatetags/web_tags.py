"""Template tags of the pages: the clinic's settings row, and form fields with their labels and errors."""

from django import template

from clinic.selectors import clinic_get

register = template.Library()


@register.simple_tag
def clinic_settings():
    """The clinic's row (name, currency, policies), read once per request (clinic.middleware)."""
    return clinic_get()
