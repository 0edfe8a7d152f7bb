"""Two identical deliveries at the same moment store one event (PostgreSQL only)."""

import threading

import pytest
from django.db import connection, connections
from django.test import Client

from sync.models import InboundEvent
from tests.support import servers
from tests.webhooks.factories import TEST_SECRET, deliver, envelope, signed
from webhooks.services import webhook_source_create

pytestmark = pytest.mark.server


@pytest.mark.django_db(transaction=True)
def test_concurrent_identical_deliveries_store_one_event(org_a):
    if connection.vendor != "postgresql":
        servers.unavailable("concurrent inserts need PostgreSQL (set DATABASE_URL)")
    webhook_source_create(organization=org_a, identifier="hlf-alpha", secret=TEST_SECRET)
    body = envelope()
    headers = signed(body, msg_id="msg_concurrent")
    barrier = threading.Barrier(2)
    statuses: list[int] = []

    def send():
        try:
            barrier.wait(timeout=10)
            statuses.append(deliver(Client(), body, headers=headers).status_code)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=send) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)

    assert sorted(statuses) == [200, 202]
    assert InboundEvent.objects.filter(webhook_id="msg_concurrent").count() == 1
