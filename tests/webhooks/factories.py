"""Factories and signing helpers for the webhook tests."""

import base64
import json
import time
import uuid
from pathlib import Path

import factory

from tests.factories import OrganizationFactory
from webhooks import signing
from webhooks.models import WebhookRejection, WebhookSource

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "dataverse"
# 32-byte keys; never used outside tests.
TEST_SECRET = "whsec_" + base64.b64encode(b"test-secret-for-webhook-intake!!").decode()
OTHER_SECRET = "whsec_" + base64.b64encode(b"another-secret-nobody-configured").decode()
ENDPOINT = "/webhooks/dynamics/"


class WebhookSourceFactory(factory.django.DjangoModelFactory):
    """A source without secrets; use webhook_source_create for one with a secret."""

    class Meta:
        model = WebhookSource

    organization = factory.SubFactory(OrganizationFactory)
    identifier = factory.Sequence(lambda n: f"source-{n}")


class WebhookRejectionFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = WebhookRejection

    reason = WebhookRejection.Reason.INVALID_SIGNATURE
    status_code = 401
    source_identifier = "hlf-alpha"


def dataverse_fixture(name: str) -> bytes:
    return (FIXTURES / name).read_bytes()


def envelope(source: str = "hlf-alpha", **changes) -> bytes:
    body = {
        "type": "membership.created",
        "source": source,
        "occurred_at": "2026-11-27T09:15:00Z",
        "data": {"member_id": "5b0b7c59-aaaa", "first_name": "Kari", "role": "peer_mentor"},
    }
    body.update(changes)
    return json.dumps(body).encode()


def signed(body: bytes, *, secret: str = TEST_SECRET, msg_id=None, timestamp=None) -> dict:
    """The three webhook-* headers for `body`, signed now unless told otherwise."""
    return signing.signed_headers(
        secret=secret,
        msg_id=msg_id or f"msg_{uuid.uuid4().hex}",
        timestamp=int(time.time()) if timestamp is None else timestamp,
        body=body,
    )


def deliver(client, body: bytes, *, headers=None, content_type="application/json", **extra):
    """POST raw bytes to the endpoint; headers default to a valid signature with TEST_SECRET."""
    headers = signed(body) if headers is None else headers
    return client.post(ENDPOINT, data=body, content_type=content_type, headers=headers, **extra)
