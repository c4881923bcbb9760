"""The browser pages at /: clients book, therapists read their day (session login, CSRF)."""

urlpatterns: list = []
