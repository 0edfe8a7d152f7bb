"""Retention: old payloads and headers go, old rejections go; the log, the counts and the
chart stay right."""

from datetime import timedelta

import pytest
from django.core.management import call_command
from django.urls import reverse

from monitoring.models import TrafficHour
from monitoring.selectors import health_figures
from monitoring.services import retention_run, traffic_rollup
from sync.models import InboundEvent
from tests.monitoring.conftest import accepted, rejected
from webhooks.models import WebhookRejection

pytestmark = pytest.mark.django_db


@pytest.fixture
def history(org_a, settings):
    settings.SYNC_PAYLOAD_RETENTION_DAYS = 30
    settings.WEBHOOK_REJECTION_RETENTION_DAYS = 30
    return {
        "old_done": accepted(org_a, ago=timedelta(days=31), count=3)
        + accepted(org_a, ago=timedelta(days=40), status="failed"),
        "old_pending": accepted(org_a, ago=timedelta(days=31), status="pending"),
        "recent": accepted(org_a, ago=timedelta(hours=2), count=2),
        "old_rejections": rejected(ago=timedelta(days=31), count=3),
        "recent_rejections": rejected(ago=timedelta(hours=2), count=2),
    }


def test_retention_purges_old_bodies_and_rejections_in_batches(history):
    chart_before = [(b.hour, b.accepted, b.rejected) for b in health_figures().hourly]

    report = retention_run(batch_size=2)

    assert (report.payloads_purged, report.rejections_deleted) == (4, 3)
    for event in history["old_done"]:
        event.refresh_from_db()
        assert (event.payload, event.headers, event.normalized) == ({}, {}, [])
        assert event.payload_purged_at is not None
        assert event.status in ("succeeded", "failed") and event.received_at  # the log stays
    (pending,) = history["old_pending"]
    pending.refresh_from_db()
    assert pending.payload and pending.payload_purged_at is None  # unfinished: kept
    for event in history["recent"]:
        event.refresh_from_db()
        assert event.payload and event.payload_purged_at is None
    assert set(WebhookRejection.objects.values_list("pk", flat=True)) == {
        r.pk for r in history["recent_rejections"]
    }
    assert InboundEvent.objects.count() == 7  # no event row is deleted
    chart_after = [(b.hour, b.accepted, b.rejected) for b in health_figures().hourly]
    assert chart_after == chart_before
    assert TrafficHour.objects.exists()  # rolled up before anything was deleted

    again = retention_run()
    assert (again.payloads_purged, again.rejections_deleted) == (0, 0)


def test_roll_ups_keep_counts_of_deleted_rejections(org_a, settings):
    rejected(ago=timedelta(hours=3), count=4)
    traffic_rollup()
    WebhookRejection.objects.all().delete()  # as retention would, long after
    assert health_figures().rejected_24h == 4


def test_the_admin_says_when_a_payload_was_purged(history, as_global_admin):
    retention_run()
    event = history["old_done"][0]
    html = as_global_admin.get(
        reverse("admin:sync_inboundevent_change", args=[event.pk])
    ).content.decode()
    assert "Purged on" in html
    assert "Kari" not in html


def test_retention_command_reports(history, capsys):
    call_command("retention_run")
    assert "payloads purged: 4, rejections deleted: 3" in capsys.readouterr().out
