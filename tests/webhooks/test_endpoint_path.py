"""The endpoint is a plain Django view, answered past the browser-facing middleware."""

from unittest import mock

import pytest
from django.contrib.sessions.middleware import SessionMiddleware
from django.middleware.locale import LocaleMiddleware

from sync.models import InboundEvent
from tests.webhooks.factories import ENDPOINT, deliver, envelope, signed

pytestmark = pytest.mark.django_db

LEAN_PATH = "webhooks.middleware.WebhookIntakeMiddleware"


def test_a_delivery_never_reaches_the_browser_middleware(client, source_a):
    refuse = mock.Mock(side_effect=AssertionError("browser middleware ran"))
    with (
        mock.patch.object(SessionMiddleware, "process_request", refuse),
        mock.patch.object(LocaleMiddleware, "process_request", refuse),
    ):
        response = deliver(client, envelope())

    assert response.status_code == 202
    assert InboundEvent.objects.count() == 1
    refuse.assert_not_called()


def test_the_lean_path_keeps_the_security_headers(client, source_a):
    response = deliver(client, envelope())

    assert response.status_code == 202
    assert "frame-ancestors 'none'" in response["Content-Security-Policy"]
    assert response["X-Frame-Options"] == "DENY"
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Content-Length"] == str(len(response.content))
    assert response["Content-Language"] == "en"
    assert "sessionid" not in response.cookies


def test_without_the_lean_path_the_urlconf_serves_the_same_answers(client, source_a, settings):
    settings.MIDDLEWARE = [name for name in settings.MIDDLEWARE if name != LEAN_PATH]
    body = envelope()
    headers = signed(body, msg_id="msg_same")
    accepted = deliver(client, body, headers=headers)
    duplicate = deliver(client, body, headers=headers)

    assert (accepted.status_code, accepted.json()["status"]) == (202, "accepted")
    assert (duplicate.status_code, duplicate.json()["status"]) == (200, "duplicate")
    assert duplicate["X-Frame-Options"] == "DENY"
    assert client.get(ENDPOINT).status_code == 405


@pytest.mark.parametrize("method", ["get", "put", "delete", "head"])
def test_other_methods_are_a_json_405_in_english(client, method, settings):
    settings.LANGUAGE_CODE = "nb"
    response = getattr(client, method)(ENDPOINT, HTTP_ACCEPT_LANGUAGE="nb")

    assert response.status_code == 405
    assert response["Allow"] == "POST, OPTIONS"
    assert response["Content-Type"] == "application/json"
    if method != "head":
        assert response.json() == {"detail": f'Method "{method.upper()}" not allowed.'}


def test_options_lists_the_methods(client):
    response = client.options(ENDPOINT)

    assert response.status_code == 200
    assert response["Allow"] == "POST, OPTIONS"


def test_neighbouring_paths_still_pass_the_whole_stack(client):
    # CommonMiddleware's slash redirect and LocaleMiddleware's Vary still apply there.
    assert (
        client.post("/webhooks/dynamics", b"{}", content_type="application/json").status_code == 301
    )
    health = client.get("/webhooks/dynamics/health")
    assert health.status_code == 200
    assert "Accept-Language" in health["Vary"]
