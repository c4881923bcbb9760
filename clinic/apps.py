from django.apps import AppConfig


class ClinicConfig(AppConfig):
    name = "clinic"

    def ready(self):
        # The token revocation's safety net (why a signal: see the module).
        from clinic import signals  # noqa: F401
