"""The integration's state where people are: the admin index and the sync status panel,
scoped to the organisation for its administrators."""

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from monitoring.models import Alert
from monitoring.services import alerts_evaluate
from sync.models import WorkerHeartbeat
from tests.monitoring.conftest import accepted
from tests.support.isolation import isolation_test

pytestmark = pytest.mark.django_db
INDEX = "admin:index"


def _worker_down(minutes=5):
    WorkerHeartbeat.objects.update(last_seen_at=timezone.now() - timedelta(minutes=minutes))


def test_global_admin_index_shows_healthy_then_outage(all_healthy, as_global_admin):
    html = as_global_admin.get(reverse(INDEX)).content.decode()
    assert 'class="mon-banner mon-healthy"' in html
    _worker_down()
    html = as_global_admin.get(reverse(INDEX)).content.decode()
    assert 'class="mon-banner mon-outage"' in html
    assert 'data-part="worker"' in html
    assert reverse("admin:monitoring_health") in html


def test_global_admin_index_counts_failed_events(all_healthy, as_global_admin, org_a, org_b):
    accepted(org_a, ago=timedelta(minutes=1), status="failed")
    accepted(org_b, ago=timedelta(minutes=1), status="failed")
    html = as_global_admin.get(reverse(INDEX)).content.decode()
    assert "mon-degraded" in html and "2 failed events waiting" in html


def test_org_admin_index_warning_is_scoped_to_their_organisation(
    all_healthy, as_org_admin_a, org_a, org_b
):
    accepted(org_b, ago=timedelta(minutes=1), status="failed", count=3)
    html = as_org_admin_a.get(reverse(INDEX)).content.decode()
    assert "organization-sync-warning" not in html  # org B's failures are not theirs
    assert "integration-state" not in html  # nor the platform's full picture

    accepted(org_a, ago=timedelta(minutes=1), status="failed")
    _worker_down()
    alerts_evaluate()
    html = as_org_admin_a.get(reverse(INDEX)).content.decode()
    assert "organization-sync-warning" in html
    assert "Events are not being applied since" in html
    assert "platform administrators were told" in html
    assert "1 event failed" in html
    assert "HLF Beta" not in html


def test_scheduler_and_rejection_alerts_are_not_an_organisation_warning(as_org_admin_a, org_a):
    from tests.monitoring.conftest import probed, worker_seen

    worker_seen(ago=timedelta(seconds=5))
    probed(ago=timedelta(seconds=5))  # beat itself never reported
    html = as_org_admin_a.get(reverse(INDEX)).content.decode()
    assert "organization-sync-warning" not in html


def test_sync_status_panel_carries_the_scoped_warning(all_healthy, as_org_admin_a, org_a, org_b):
    from portal_integration.models import PortalConfiguration

    configuration_a = PortalConfiguration.objects.get(organization=org_a)
    url = reverse("admin:portal_integration_portalconfiguration_change", args=[configuration_a.pk])
    html = as_org_admin_a.get(url).content.decode()
    assert "organization-sync-warning" not in html

    Alert.objects.create(part="endpoint", notified_at=timezone.now())
    from tests.monitoring.conftest import probed

    probed(ago=timedelta(0), ok=False)
    html = as_org_admin_a.get(url).content.decode()
    assert "organization-sync-warning" in html
    assert "Min Side cannot reach the integration since" in html


@isolation_test("admin:monitoring_alert_changelist", "admin:monitoring_endpointprobe_changelist")
def test_alerts_and_probes_are_hidden_from_organisation_admins(as_org_admin_a, all_healthy):
    from monitoring.models import EndpointProbe
    from tests.support.isolation import assert_admin_hidden

    alert = Alert.objects.create(part="worker", notified_at=timezone.now())
    assert_admin_hidden(as_org_admin_a, alert)
    assert_admin_hidden(as_org_admin_a, EndpointProbe.objects.first())
    index = as_org_admin_a.get(reverse(INDEX)).content.decode()
    assert "monitoring/alert" not in index and "endpointprobe" not in index
