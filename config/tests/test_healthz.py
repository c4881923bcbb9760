"""GET /healthz/ (docs/api.md, Operations)."""

from unittest import mock

from django.db import OperationalError


def test_healthz_answers_ok_when_the_database_does(api, db):
    response = api.get("/healthz/")
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "database": "ok"}
    assert "no-cache" in response["Cache-Control"]


def test_healthz_needs_no_credentials_and_ignores_a_bad_token(api, db):
    api.credentials(HTTP_AUTHORIZATION="Token not-a-real-token")
    assert api.get("/healthz/").status_code == 200


def test_healthz_is_503_when_the_database_does_not_answer(api, db):
    with mock.patch("config.views.connection.cursor", side_effect=OperationalError("connection refused")):
        response = api.get("/healthz/")
    assert response.status_code == 503
    assert response.json()["database"] == "unavailable"


def test_healthz_only_answers_get(api, db):
    assert api.post("/healthz/").status_code == 405
