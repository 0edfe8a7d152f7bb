"""Liveness and readiness probes."""

import pytest
from django.db import connection

from config import health


def test_healthz_answers_without_database(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


@pytest.mark.django_db
def test_readyz_ready_when_database_and_broker_answer(client):
    response = client.get("/readyz")
    assert response.status_code == 200, response.content
    assert response.json()["status"] == "ready"


@pytest.mark.django_db
def test_readyz_names_the_broker_when_it_is_down(client, monkeypatch):
    for key in ("broker_url", "broker_write_url"):
        monkeypatch.setitem(health.celery_app.conf, key, "redis://127.0.0.1:9/0")
    monkeypatch.setitem(health.celery_app.conf, "broker_transport_options", {})
    monkeypatch.setitem(health.celery_app.conf, "broker_transport", None)
    response = client.get("/readyz")
    assert response.status_code == 503
    assert response.json()["failing"] == ["broker"]
    assert "127.0.0.1" not in response.content.decode()  # details only in the log


@pytest.mark.django_db
def test_readyz_names_the_database_when_it_is_down(client, monkeypatch):
    def broken_cursor(*args, **kwargs):
        raise RuntimeError("database is unreachable")

    monkeypatch.setattr(connection, "cursor", broken_cursor)
    response = client.get("/readyz")
    assert response.status_code == 503
    assert "database" in response.json()["failing"]
    assert "unreachable" not in response.content.decode()
