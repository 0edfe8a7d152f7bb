"""Fixtures of the reconciliation tests: a fake Dataverse on loopback and a connected source."""

import pytest

from dataverse.client import token_cache_clear
from dataverse.fake_server import FakeDataverse
from dataverse.services import dataverse_connection_set
from tests.sync.conftest import wakeups  # noqa: F401 - shared fixture
from tests.webhooks.factories import WebhookSourceFactory

CLIENT_SECRET = "fake-secret-value-for-tests-9f3k"


@pytest.fixture
def fake_dataverse():
    token_cache_clear()
    fake = FakeDataverse(client_secret=CLIENT_SECRET).start()
    yield fake
    fake.stop()
    token_cache_clear()


@pytest.fixture
def source_a(org_a):
    return WebhookSourceFactory(organization=org_a, identifier="hlf-alpha")


@pytest.fixture
def connection_a(source_a, fake_dataverse):
    return dataverse_connection_set(
        source=source_a,
        environment_url=fake_dataverse.url,
        authority_url=fake_dataverse.url,
        tenant_id=fake_dataverse.tenant,
        client_id=fake_dataverse.client_id,
        client_secret=CLIENT_SECRET,
    )


@pytest.fixture
def no_sleep(monkeypatch) -> list[float]:
    """Waits asked for by Retry-After, recorded instead of slept."""
    waits: list[float] = []
    monkeypatch.setattr("dataverse.client.time.sleep", waits.append)
    return waits


def contact(contact_id: str, **columns) -> dict:
    row = {
        "contactid": contact_id,
        "firstname": "Kari",
        "lastname": "Nordmann",
        "emailaddress1": "kari@example.no",
        "mobilephone": None,
        "hlf_approle": 100000001,
        "hlf_joinedon": "2024-03-01",
        "statecode": 0,
    }
    row.update(columns)
    return row


def inbox_apply() -> list[str]:
    """Apply every pending event in the order received, as the workers would; their statuses."""
    from sync.models import InboundEvent
    from sync.services import inbound_event_apply

    statuses = []
    for event_id in (
        InboundEvent.objects.filter(status=InboundEvent.Status.PENDING)
        .order_by("received_at")
        .values_list("id", flat=True)
    ):
        statuses.append(inbound_event_apply(event_id=event_id).status)
    return statuses
