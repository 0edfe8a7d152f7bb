"""The webhook health dashboard: figures, alerts and the page itself."""

import uuid
from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from sync.models import InboundEvent, WorkerHeartbeat
from tests.conftest import PASSWORD
from tests.webhooks.factories import WebhookRejectionFactory
from webhooks.selectors import webhook_health_figures

pytestmark = pytest.mark.django_db

HEALTH = "admin:webhooks_webhooksource_health"


def accepted(org, *, ago: timedelta, status=InboundEvent.Status.SUCCEEDED, count: int = 1):
    for _ in range(count):
        InboundEvent.objects.create(
            organization=org,
            source_identifier="hlf-alpha",
            webhook_id=f"msg_{uuid.uuid4().hex}",
            event_type="membership.created",
            payload_format="envelope",
            payload={},
            received_at=timezone.now() - ago,
            status=status,
        )


def rejected(*, ago: timedelta, reason="invalid_signature", count: int = 1):
    for _ in range(count):
        WebhookRejectionFactory(reason=reason, received_at=timezone.now() - ago)


def heartbeat(*, ago: timedelta):
    WorkerHeartbeat.objects.create(hostname="worker-1", last_seen_at=timezone.now() - ago)


def test_figures_count_the_last_24_hours_by_reason_and_hour(org_a):
    accepted(org_a, ago=timedelta(minutes=5), count=3)
    accepted(org_a, ago=timedelta(hours=5), count=2)
    accepted(org_a, ago=timedelta(hours=30))  # outside the window
    rejected(ago=timedelta(minutes=10), count=2)
    rejected(ago=timedelta(hours=3), reason="unknown_source")
    rejected(ago=timedelta(hours=25))  # outside the window

    figures = webhook_health_figures()

    assert (figures.accepted_24h, figures.rejected_24h, figures.received_24h) == (5, 3, 8)
    assert [(code, count) for code, _, count in figures.rejections_by_reason] == [
        ("invalid_signature", 2),
        ("unknown_source", 1),
    ]
    assert (figures.accepted_last_hour, figures.rejected_last_hour) == (3, 2)
    assert len(figures.hourly) == 24
    assert sum(b.accepted for b in figures.hourly) == 5
    assert sum(b.rejected for b in figures.hourly) == 3
    five_minutes_ago = figures.now - timedelta(minutes=5)
    (bucket,) = [
        b for b in figures.hourly if b.hour <= five_minutes_ago < b.hour + timedelta(hours=1)
    ]
    assert (bucket.accepted, bucket.rejected) in ((3, 2), (3, 0))  # rejections were 10 min ago
    assert figures.hourly[-1].hour <= figures.now  # the current hour is last


def test_queue_depth_and_oldest_age(org_a):
    accepted(org_a, ago=timedelta(minutes=7), status=InboundEvent.Status.PENDING, count=2)
    accepted(org_a, ago=timedelta(minutes=2), status=InboundEvent.Status.PROCESSING)
    accepted(org_a, ago=timedelta(minutes=30), status=InboundEvent.Status.FAILED)

    figures = webhook_health_figures()

    assert (figures.pending, figures.processing, figures.queue_depth) == (2, 1, 3)
    assert timedelta(minutes=7) <= figures.oldest_queued_age < timedelta(minutes=8)


def test_rejection_alert_above_ten_percent_in_the_last_hour(org_a):
    accepted(org_a, ago=timedelta(minutes=5), count=9)
    rejected(ago=timedelta(minutes=5))
    assert webhook_health_figures().rejection_alert is False  # exactly 10 %

    rejected(ago=timedelta(minutes=5))
    figures = webhook_health_figures()
    assert figures.rejection_alert is True
    assert round(figures.rejection_rate_last_hour, 3) == round(2 / 11, 3)


def test_old_rejections_do_not_raise_the_alert(org_a):
    accepted(org_a, ago=timedelta(minutes=5))
    rejected(ago=timedelta(hours=2), count=20)
    assert webhook_health_figures().rejection_alert is False


def test_workers_down_when_the_newest_heartbeat_is_stale(org_a):
    assert webhook_health_figures().workers_down is True  # never seen
    heartbeat(ago=timedelta(minutes=3))
    assert webhook_health_figures().workers_down is True
    WorkerHeartbeat.objects.update(last_seen_at=timezone.now() - timedelta(seconds=30))
    assert webhook_health_figures().workers_down is False


def test_endpoint_down_when_only_rejections_arrive(org_a):
    accepted(org_a, ago=timedelta(hours=3))
    rejected(ago=timedelta(minutes=5), count=4)
    assert webhook_health_figures().endpoint_down is False
    rejected(ago=timedelta(minutes=5))
    figures = webhook_health_figures()
    assert figures.endpoint_down is True
    assert figures.last_accepted_at < timezone.now() - timedelta(hours=2)


def test_health_page_shows_figures_alerts_and_links(client, global_admin, org_a, settings):
    settings.WEBHOOK_PUBLIC_URL = "https://bridge.example/webhooks/dynamics/"
    accepted(org_a, ago=timedelta(minutes=5), count=4)
    accepted(org_a, ago=timedelta(minutes=5), status=InboundEvent.Status.PENDING)
    rejected(ago=timedelta(minutes=5), count=2)
    heartbeat(ago=timedelta(minutes=10))
    client.login(username=global_admin.username, password=PASSWORD)

    html = client.get(reverse(HEALTH)).content.decode()

    assert "https://bridge.example/webhooks/dynamics/" in html
    assert 'id="received-24h">7<' in html
    assert 'id="rejected-24h">2<' in html
    assert 'id="queue-depth">1<' in html
    assert 'id="alert-rejections"' in html  # 2 of 7 = 29 %
    assert 'id="alert-workers"' in html
    assert "invalid_signature" in html
    assert "?reason__exact=invalid_signature" in html
    assert html.count('class="wh-bar"') == 24


def test_health_page_is_calm_when_all_is_well(client, global_admin, org_a):
    accepted(org_a, ago=timedelta(minutes=5), count=20)
    heartbeat(ago=timedelta(seconds=10))
    client.login(username=global_admin.username, password=PASSWORD)

    response = client.get(reverse(HEALTH))

    html = response.content.decode()
    assert response.status_code == 200
    assert "alert-" not in html
    assert "http://testserver/webhooks/dynamics/" in html  # derived from the request
    assert "No rejections in the last 24 hours." in html or "rejections-by-reason" not in html
