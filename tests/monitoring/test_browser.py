"""In a real browser: the health view shows the outage alert and the chart; an organisation
admin sees the scoped warning on the admin index and in the sync status panel."""

from datetime import timedelta

import pytest
from django.db import connections
from django.utils import timezone

from monitoring.services import alerts_evaluate
from portal_integration.models import PortalConfiguration
from sync.models import WorkerHeartbeat
from tests.conftest import PASSWORD
from tests.monitoring.conftest import accepted, probed, rejected, scheduler_seen, worker_seen

pytestmark = [pytest.mark.server, pytest.mark.browser]


def _login(page, base, user):
    page.goto(f"{base}/admin/login/")
    page.fill("#id_username", user.username)
    page.fill("#id_password", PASSWORD)
    page.click("input[type=submit]")
    page.wait_for_url(f"{base}/admin/")


def test_health_alert_chart_and_the_scoped_warning(
    live_http_server, browser, global_admin, org_admin_a, org_a, org_b
):
    base = live_http_server.base_url
    scheduler_seen(ago=timedelta(seconds=5))
    probed(ago=timedelta(seconds=5))
    seen = timezone.now() - timedelta(minutes=9)
    worker_seen(ago=timedelta(minutes=9))
    accepted(org_a, ago=timedelta(hours=2), count=6)
    accepted(org_a, ago=timedelta(minutes=3), status="failed")
    accepted(org_b, ago=timedelta(minutes=3), status="failed", count=4)
    rejected(ago=timedelta(hours=1, minutes=30), count=3)
    alerts_evaluate()
    connections.close_all()
    assert WorkerHeartbeat.objects.get().last_seen_at <= seen + timedelta(seconds=1)
    connections.close_all()

    page = browser.new_page(locale="en-GB")
    _login(page, base, global_admin)
    assert "outage" in page.inner_text("#integration-state")
    page.click("#integration-state a")
    page.wait_for_selector("#alert-worker")  # the click navigates; wait for the page
    alert = page.locator("#alert-worker")
    assert alert.is_visible()
    assert "Worker outage" in alert.inner_text()
    assert "Last known healthy" in alert.inner_text()
    bars = page.locator(".wh-chart .wh-bar")
    assert bars.count() == 24
    heights = [
        bars.nth(i).locator(".acc").evaluate("el => el.getBoundingClientRect().height")
        for i in range(24)
    ]
    assert sum(1 for height in heights if height > 0) >= 1  # the accepted bar is drawn
    assert page.inner_text("#failed-events") == "5"
    page.close()

    page = browser.new_page(locale="en-GB")
    _login(page, base, org_admin_a)
    page.wait_for_selector("#organization-sync-warning")
    warning = page.locator("#organization-sync-warning")
    assert warning.is_visible()
    text = warning.inner_text()
    assert "Events are not being applied since" in text
    assert "1 event failed" in text  # org B's four are not theirs
    assert "HLF Beta" not in page.content()
    connections.close_all()
    config = PortalConfiguration.objects.get(organization=org_a)
    connections.close_all()
    page.goto(f"{base}/admin/portal_integration/portalconfiguration/{config.pk}/change/")
    page.wait_for_selector("#organization-sync-warning")
    assert page.locator("#organization-sync-warning").is_visible()
    page.close()
