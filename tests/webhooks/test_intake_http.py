"""The endpoint behind a real gunicorn: chunked bodies are read bounded, signed ones accepted."""

import pytest
import requests

from tests.webhooks.factories import TEST_SECRET, envelope, signed
from webhooks.models import WebhookRejection
from webhooks.services import webhook_source_create

pytestmark = pytest.mark.server

LIMIT = 2000


@pytest.fixture
def small_limit_server(transactional_db, monkeypatch, request):
    # transactional_db named up front, not through getfixturevalue: see test_gunicorn.py.
    # The server process reads its settings from the environment it is started with.
    monkeypatch.setenv("WEBHOOK_MAX_BODY_BYTES", str(LIMIT))
    return request.getfixturevalue("live_http_server")


def chunks(data: bytes, size: int):
    for start in range(0, len(data), size):
        yield data[start : start + size]


def test_chunked_bodies_over_real_http(transactional_db, small_limit_server, org_a):
    webhook_source_create(organization=org_a, identifier="hlf-alpha", secret=TEST_SECRET)
    url = f"{small_limit_server.base_url}/webhooks/dynamics/"
    json_type = {"Content-Type": "application/json"}

    body = envelope()
    headers = {**json_type, **signed(body)}
    accepted = requests.post(url, data=chunks(body, 16), headers=headers, timeout=30)
    assert accepted.status_code == 202, accepted.text

    too_big = b'{"pad": "' + b"x" * LIMIT + b'"}'
    headers = {**json_type, **signed(too_big)}
    try:
        refused = requests.post(url, data=chunks(too_big, 256), headers=headers, timeout=30)
    except requests.ConnectionError:
        refused = None  # the server may close before the client finished sending: fine
    if refused is not None:
        assert refused.status_code == 413
        assert refused.json()["error"] == "payload_too_large"
    rejection = WebhookRejection.objects.get()
    assert rejection.reason == "payload_too_large"
    assert rejection.headers.get("transfer-encoding") == "chunked"


def test_a_rotated_secret_applies_to_the_very_next_request_in_every_server_process(
    transactional_db, live_http_server, org_a
):
    """Two gunicorn workers, each with the source cached; a rotation without overlap."""
    from datetime import timedelta

    from webhooks.services import webhook_secret_rotate

    source, _secret = webhook_source_create(
        organization=org_a, identifier="hlf-alpha", secret=TEST_SECRET
    )
    url = f"{live_http_server.base_url}/webhooks/dynamics/"

    def post(secret: str) -> int:
        body = envelope()
        headers = {"Content-Type": "application/json", **signed(body, secret=secret)}
        # A new connection each time, so the requests spread over both worker processes.
        with requests.Session() as session:
            return session.post(url, data=body, headers=headers, timeout=30).status_code

    # Warm every worker's cache with the old secret.
    assert {post(TEST_SECRET) for _ in range(20)} == {202}

    new_secret = webhook_secret_rotate(source=source, overlap=timedelta(0))

    assert [post(new_secret) for _ in range(20)] == [202] * 20
    assert [post(TEST_SECRET) for _ in range(20)] == [401] * 20
