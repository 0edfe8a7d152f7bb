"""The webhook health dashboard: figures, the alert rules and the page itself."""

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from monitoring.models import Alert, TrafficHour
from monitoring.selectors import health_figures, part_states, signals_read
from monitoring.services import traffic_rollup
from sync.models import InboundEvent, WorkerHeartbeat
from tests.conftest import PASSWORD
from tests.monitoring.conftest import (
    accepted,
    probed,
    rejected,
    scheduler_seen,
    worker_seen,
)

pytestmark = pytest.mark.django_db

HEALTH = "admin:monitoring_health"
webhook_health_figures = health_figures


def heartbeat(*, ago: timedelta):
    worker_seen(ago=ago)


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


def test_rejection_alert_above_ten_percent_in_the_last_hour(org_a, settings):
    settings.MONITORING_REJECTION_ALERT_MIN_PAYLOADS = 20
    accepted(org_a, ago=timedelta(minutes=5), count=18)
    rejected(ago=timedelta(minutes=5), count=2)
    assert webhook_health_figures().rejection_alert is False  # exactly 10 % of 20

    rejected(ago=timedelta(minutes=5))
    figures = webhook_health_figures()
    assert figures.rejection_alert is True  # 3 of 21 = 14 %
    assert round(figures.rejection_rate_last_hour, 3) == round(3 / 21, 3)


def test_no_rejection_alert_below_the_minimum_number_of_payloads(org_a, settings):
    settings.MONITORING_REJECTION_ALERT_MIN_PAYLOADS = 20
    accepted(org_a, ago=timedelta(minutes=5), count=9)
    rejected(ago=timedelta(minutes=5), count=10)  # 53 %, but only 19 payloads
    assert webhook_health_figures().rejection_alert is False
    rejected(ago=timedelta(minutes=5))  # the 20th
    assert webhook_health_figures().rejection_alert is True


def test_old_rejections_do_not_raise_the_alert(org_a):
    accepted(org_a, ago=timedelta(minutes=5), count=20)
    rejected(ago=timedelta(hours=2), count=20)
    assert webhook_health_figures().rejection_alert is False


def test_self_tests_are_not_counted(org_a, settings):
    settings.MONITORING_REJECTION_ALERT_MIN_PAYLOADS = 1
    accepted(org_a, ago=timedelta(minutes=5), count=2)
    accepted(org_a, ago=timedelta(minutes=5), count=3, is_self_test=True)
    rejected(ago=timedelta(minutes=5), count=4, is_self_test=True)
    figures = webhook_health_figures()
    assert (figures.accepted_24h, figures.rejected_24h) == (2, 0)
    assert figures.rejection_alert is False


def _part(name):
    return part_states(signals_read())[name]


def test_worker_outage_names_the_last_healthy_time(all_healthy):
    assert _part("worker").failing is False
    seen = timezone.now() - timedelta(minutes=3)
    WorkerHeartbeat.objects.update(last_seen_at=seen)
    state = _part("worker")
    assert state.failing is True
    assert state.last_healthy_at == seen


def test_worker_never_seen_is_an_outage(db):
    assert _part("worker").failing is True
    assert _part("worker").last_healthy_at is None


def test_scheduler_outage_names_the_last_healthy_time(all_healthy):
    from monitoring.models import SchedulerHeartbeat

    seen = timezone.now() - timedelta(minutes=5)
    SchedulerHeartbeat.objects.update(last_seen_at=seen)
    state = _part("scheduler")
    assert (state.failing, state.last_healthy_at) == (True, seen)
    # The probes stopped with beat: beat is blamed, not the endpoint.
    assert _part("endpoint").failing is False


def test_endpoint_outage_when_the_last_probe_failed(all_healthy):
    last_ok = timezone.now() - timedelta(seconds=5)
    probed(ago=timedelta(seconds=1), ok=False)
    state = _part("endpoint")
    assert state.failing is True
    assert abs((state.last_healthy_at - last_ok).total_seconds()) < 1
    probed(ago=timedelta(seconds=0), ok=True)
    assert _part("endpoint").failing is False


def test_endpoint_outage_when_probes_stopped_while_beat_runs(org_a):
    worker_seen(ago=timedelta(seconds=5))
    scheduler_seen(ago=timedelta(seconds=5))
    probed(ago=timedelta(minutes=10))
    state = _part("endpoint")
    assert state.failing is True
    assert state.params["reason"] == "probes_stopped"


def test_health_page_shows_figures_alerts_and_links(client, global_admin, org_a, settings):
    settings.WEBHOOK_PUBLIC_URL = "https://bridge.example/webhooks/dynamics/"
    accepted(org_a, ago=timedelta(minutes=5), count=4)
    accepted(org_a, ago=timedelta(minutes=5), status=InboundEvent.Status.PENDING)
    rejected(ago=timedelta(minutes=5), count=2)
    heartbeat(ago=timedelta(minutes=10))
    scheduler_seen(ago=timedelta(seconds=5))
    probed(ago=timedelta(seconds=5))
    settings.MONITORING_REJECTION_ALERT_MIN_PAYLOADS = 5
    client.login(username=global_admin.username, password=PASSWORD)

    html = client.get(reverse(HEALTH)).content.decode()

    assert "https://bridge.example/webhooks/dynamics/" in html
    assert 'id="received-24h">7<' in html
    assert 'id="rejected-24h">2<' in html
    assert 'id="queue-depth">1<' in html
    assert 'id="alert-rejections"' in html  # 2 of 7 = 29 %
    assert 'id="alert-worker"' in html
    assert 'id="alert-endpoint"' not in html and 'id="alert-scheduler"' not in html
    assert 'id="alert-timing"' in html
    assert 'id="failed-events">0<' in html
    assert "invalid_signature" in html
    assert "?reason__exact=invalid_signature" in html
    assert html.count('class="wh-bar"') == 24


def test_health_page_is_calm_when_all_is_well(client, global_admin, org_a):
    accepted(org_a, ago=timedelta(minutes=5), count=20)
    heartbeat(ago=timedelta(seconds=10))
    scheduler_seen(ago=timedelta(seconds=5))
    probed(ago=timedelta(seconds=5))
    client.login(username=global_admin.username, password=PASSWORD)

    response = client.get(reverse(HEALTH))

    html = response.content.decode()
    assert response.status_code == 200
    assert 'role="alert"' not in html
    assert "http://testserver/webhooks/dynamics/" in html  # derived from the request
    assert "No rejections in the last 24 hours." in html or "rejections-by-reason" not in html


def test_health_page_shows_failed_events_and_reprocesses_them_after_confirming(
    as_global_admin, org_a, org_b
):
    accepted(org_a, ago=timedelta(minutes=5), status="failed", count=2)
    accepted(org_b, ago=timedelta(minutes=5), status="failed")
    accepted(org_a, ago=timedelta(minutes=5), status="failed", is_self_test=True)
    html = as_global_admin.get(reverse(HEALTH)).content.decode()
    assert 'id="failed-events">3<' in html
    assert "?status__exact=failed" in html

    url = reverse("admin:monitoring_health_reprocess")
    confirm = as_global_admin.get(url).content.decode()
    assert "3 failed events" in confirm
    assert InboundEvent.objects.filter(status="failed").count() == 4  # nothing yet
    response = as_global_admin.post(url, {"confirmed": "yes"})
    assert response.status_code == 302
    assert InboundEvent.objects.filter(status="pending").count() == 3
    assert InboundEvent.objects.filter(status="failed", is_self_test=True).count() == 1


def test_organisation_admin_cannot_open_the_health_page_or_reprocess(as_org_admin_a, org_a):
    accepted(org_a, ago=timedelta(minutes=5), status="failed")
    assert as_org_admin_a.get(reverse(HEALTH)).status_code == 403
    url = reverse("admin:monitoring_health_reprocess")
    assert as_org_admin_a.post(url, {"confirmed": "yes"}).status_code == 403
    assert InboundEvent.objects.filter(status="failed").count() == 1


def test_chart_uses_roll_ups_and_live_counts_alike(org_a):
    accepted(org_a, ago=timedelta(hours=3), count=4)
    rejected(ago=timedelta(hours=3), count=2, reason="unknown_source")
    accepted(org_a, ago=timedelta(minutes=1), count=1)
    live = health_figures()
    assert traffic_rollup() > 0
    assert TrafficHour.objects.exists()
    rolled = health_figures()
    assert [(b.hour, b.accepted, b.rejected) for b in rolled.hourly] == [
        (b.hour, b.accepted, b.rejected) for b in live.hourly
    ]
    assert rolled.rejections_by_reason == live.rejections_by_reason
    assert (rolled.accepted_24h, rolled.rejected_24h) == (5, 2)


def _health_queries(client) -> int:
    with CaptureQueriesContext(connection) as queries:
        assert client.get(reverse(HEALTH)).status_code == 200
    return len(queries)


def test_health_view_query_count_does_not_grow_with_events(as_global_admin, org_a, org_b):
    worker_seen(ago=timedelta(seconds=5))
    scheduler_seen(ago=timedelta(seconds=5))
    probed(ago=timedelta(seconds=5))
    accepted(org_a, ago=timedelta(minutes=5))
    rejected(ago=timedelta(minutes=5))
    traffic_rollup()
    few = _health_queries(as_global_admin)
    for hours in range(1, 30, 2):
        accepted(org_a, ago=timedelta(hours=hours), count=3)
        accepted(org_b, ago=timedelta(hours=hours), status="failed")
        rejected(ago=timedelta(hours=hours), reason="unknown_source", count=2)
    accepted(org_a, ago=timedelta(minutes=1), status="pending", count=5)
    Alert.objects.create(part="worker")
    traffic_rollup()
    many = _health_queries(as_global_admin)
    assert many == few
