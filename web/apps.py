from django.apps import AppConfig


class WebConfig(AppConfig):
    """The browser pages for clients and therapists, server-rendered (DESIGN.md)."""

    name = "web"
