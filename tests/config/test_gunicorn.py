"""The `web` process as the Procfile runs it (config/gunicorn.py), on a real gunicorn."""

import socket
import time

import pytest
import requests

from tests.webhooks.factories import TEST_SECRET, envelope, signed
from webhooks.services import webhook_source_create

pytestmark = pytest.mark.server

STALLED_CONNECTIONS = 24


def _stalled_request(port: int, path: str) -> socket.socket:
    """Headers promising a 1,000-byte body, then nothing: the client stalls."""
    sock = socket.create_connection(("127.0.0.1", port), timeout=10)
    sock.sendall(
        (
            f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n"
            "Content-Type: application/json\r\nContent-Length: 1000\r\n\r\n"
        ).encode()
    )
    return sock


def _port(server) -> int:
    return int(server.base_url.rsplit(":", 1)[1])


def test_stalled_bodies_do_not_stop_other_requests(live_http_server):
    port = _port(live_http_server)
    stalled = [
        _stalled_request(port, "/webhooks/dynamics/" if n % 2 else "/admin/login/")
        for n in range(STALLED_CONNECTIONS)
    ]
    try:
        time.sleep(1)  # every stalled request has reached a worker thread
        for _ in range(5):
            # Generous bound: without the fix this waits until the clients give up.
            answer = requests.get(f"{live_http_server.base_url}/healthz", timeout=5)
            assert answer.status_code == 200
            assert answer.json() == {"status": "ok"}
    finally:
        for sock in stalled:
            sock.close()


def test_a_stalled_body_releases_its_thread(transactional_db, monkeypatch, request):
    # Named up front: requested only through getfixturevalue below, pytest-django would
    # wrap the test in a transaction, whose SQLite write lock blocks the server's writes.
    # The server reads its settings from the environment it is started with.
    monkeypatch.setenv("WEB_BODY_TIMEOUT", "1")
    server = request.getfixturevalue("live_http_server")
    sock = _stalled_request(_port(server), "/webhooks/dynamics/")
    try:
        sock.settimeout(30)
        # The server stops waiting for the body: it answers (and/or closes) on its own.
        try:
            answer = sock.recv(65536)
        except ConnectionResetError:
            answer = b""
        assert answer == b"" or answer.startswith(b"HTTP/1.1 ")
    finally:
        sock.close()


def test_oversized_headers_reach_django(live_http_server, org_a):
    webhook_source_create(organization=org_a, identifier="hlf-alpha", secret=TEST_SECRET)
    body = envelope()
    headers = {
        "Content-Type": "application/json",
        **signed(body),
        "webhook-id": "m" * 10 * 1024,
    }
    answer = requests.post(
        f"{live_http_server.base_url}/webhooks/dynamics/", data=body, headers=headers, timeout=30
    )
    # Not gunicorn's HTML 431: the application answers in the SPEC's JSON shape.
    assert 400 <= answer.status_code < 500, answer.text[:200]
    assert answer.headers["Content-Type"].startswith("application/json")
    assert "error" in answer.json()


def test_many_headers_reach_django(live_http_server):
    headers = {"Content-Type": "application/json", **{f"x-extra-{n}": "1" for n in range(150)}}
    answer = requests.post(
        f"{live_http_server.base_url}/webhooks/dynamics/", data=b"{}", headers=headers, timeout=30
    )
    assert answer.headers["Content-Type"].startswith("application/json")
    assert "error" in answer.json()
