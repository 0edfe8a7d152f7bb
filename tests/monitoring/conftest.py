"""Builders for monitoring tests: traffic, heartbeats and probes at a given age."""

import uuid
from datetime import timedelta

import pytest
from django.utils import timezone

from monitoring.models import EndpointProbe, SchedulerHeartbeat
from sync.models import InboundEvent, WorkerHeartbeat
from tests.webhooks.factories import WebhookRejectionFactory


def accepted(org, *, ago: timedelta, status=InboundEvent.Status.SUCCEEDED, count: int = 1, **kw):
    events = []
    for _ in range(count):
        events.append(
            InboundEvent.objects.create(
                organization=org,
                source_identifier=org.slug,
                webhook_id=f"msg_{uuid.uuid4().hex}",
                event_type="membership.created",
                payload_format="envelope",
                payload={"data": {"first_name": "Kari"}},
                normalized=[{"type": "membership.created", "data": {"first_name": "Kari"}}],
                headers={"user-agent": "test"},
                received_at=timezone.now() - ago,
                finished_at=timezone.now() - ago
                if status in ("succeeded", "failed", "skipped")
                else None,
                status=status,
                **kw,
            )
        )
    return events


def rejected(*, ago: timedelta, reason="invalid_signature", count: int = 1, **kw):
    return [
        WebhookRejectionFactory(reason=reason, received_at=timezone.now() - ago, **kw)
        for _ in range(count)
    ]


def worker_seen(*, ago: timedelta, hostname="worker-1"):
    WorkerHeartbeat.objects.update_or_create(
        hostname=hostname, defaults={"last_seen_at": timezone.now() - ago}
    )


def scheduler_seen(*, ago: timedelta, hostname="beat-1"):
    SchedulerHeartbeat.objects.update_or_create(
        hostname=hostname, defaults={"last_seen_at": timezone.now() - ago}
    )


def probed(*, ago: timedelta, ok: bool = True):
    return EndpointProbe.objects.create(
        checked_at=timezone.now() - ago,
        url="https://bridge.example/webhooks/dynamics/health",
        ok=ok,
        status_code=200 if ok else None,
        error="" if ok else "ConnectionError",
    )


@pytest.fixture
def all_healthy(db):
    """Every part has just reported; tests then break one."""
    worker_seen(ago=timedelta(seconds=5))
    scheduler_seen(ago=timedelta(seconds=5))
    probed(ago=timedelta(seconds=5))


@pytest.fixture
def source_a(org_a):
    from tests.webhooks.factories import TEST_SECRET
    from webhooks.services import webhook_source_create

    source, _ = webhook_source_create(
        organization=org_a, identifier="hlf-alpha", secret=TEST_SECRET
    )
    return source
