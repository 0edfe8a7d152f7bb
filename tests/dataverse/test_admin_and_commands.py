"""The connection's admin page, Reconcile now, the health figure and the two commands."""

import io
import logging

import pytest
from django.core.management import CommandError, call_command
from django.urls import reverse

from dataverse.models import DataverseConnection, ReconcilePass
from dataverse.services import reconcile_pass_run
from dataverse.tasks import reconcile_due, reconcile_source
from sync.models import InboundEvent
from tests.dataverse.conftest import CLIENT_SECRET, contact, inbox_apply
from tests.support.isolation import assert_admin_hidden, isolation_test
from tests.webhooks.factories import WebhookSourceFactory

pytestmark = pytest.mark.usefixtures("wakeups")


def test_connect_command_stores_the_secret_encrypted_and_never_prints_it(
    source_a, fake_dataverse, caplog
):
    out = io.StringIO()
    with caplog.at_level(logging.DEBUG):
        call_command(
            "dataverse_connect",
            "--source=hlf-alpha",
            f"--url={fake_dataverse.url}",
            f"--authority={fake_dataverse.url}",
            "--tenant=fake-tenant",
            "--client-id=fake-client",
            f"--client-secret={CLIENT_SECRET}",
            stdout=out,
        )
    connection = DataverseConnection.objects.get(source=source_a)
    assert CLIENT_SECRET not in out.getvalue() + caplog.text
    assert "…9f3k" in out.getvalue()
    assert CLIENT_SECRET not in connection.client_secret_ciphertext


@pytest.mark.parametrize(
    ("url", "ok"),
    [
        ("https://hlf.crm4.dynamics.com", True),
        ("http://127.0.0.1:8899", True),
        ("http://localhost:8899", True),
        ("http://hlf.crm4.dynamics.com", False),
        ("https://user:pw@hlf.crm4.dynamics.com", False),
        ("javascript:alert(1)", False),
    ],
)
def test_environment_and_authority_must_be_https_except_on_loopback(source_a, url, ok):
    args = [
        "dataverse_connect",
        "--source=hlf-alpha",
        "--tenant=t",
        "--client-id=c",
        f"--client-secret={CLIENT_SECRET}",
    ]
    for option in ("--url", "--authority"):
        others = {"--url": "https://hlf.crm4.dynamics.com", "--authority": None}
        extra = [f"{option}={url}"]
        if option == "--authority":
            extra.append(f"--url={others['--url']}")
        if ok:
            call_command(*args, *extra, stdout=io.StringIO())
        else:
            with pytest.raises(CommandError, match="URL"):
                call_command(*args, *extra, stdout=io.StringIO())


def test_reconcile_command_prints_the_summary(connection_a, fake_dataverse):
    fake_dataverse.upsert("contacts", contact("c-1"))
    fake_dataverse.delete(
        "contacts", fake_dataverse.upsert("contacts", contact("c-2"))["contactid"]
    )
    out = io.StringIO()

    call_command("dataverse_reconcile", "--source=hlf-alpha", "--wait=0", stdout=out)

    text = out.getvalue()
    for label in (
        "rows read:",
        "events recorded:",
        "healed:",
        "deleted rows:",
        "pages:",
        "duration:",
    ):
        assert label in text
    assert "contacts: full pass, 1 rows, 1 pages, delta link saved" in text
    assert "still queued" in text  # no worker in this test

    inbox_apply()
    out = io.StringIO()
    call_command("dataverse_reconcile", "--source=hlf-alpha", "--full", "--wait=0", stdout=out)
    assert "events recorded: 0" in out.getvalue()


def test_reconcile_command_reports_a_failed_pass(connection_a, fake_dataverse):
    fake_dataverse.fail(5)
    with pytest.raises(CommandError, match="HTTP 500"):
        call_command("dataverse_reconcile", "--source=hlf-alpha", "--wait=0", stdout=io.StringIO())


def test_reconcile_command_refuses_an_unconnected_or_unknown_source(source_a):
    with pytest.raises(CommandError, match="no Dataverse connection"):
        call_command("dataverse_reconcile", "--source=hlf-alpha", stdout=io.StringIO())
    with pytest.raises(CommandError, match="No webhook source"):
        call_command("dataverse_reconcile", "--source=nope", stdout=io.StringIO())


def test_schedule_enqueues_one_pass_per_enabled_connection(
    connection_a, org_b, fake_dataverse, monkeypatch
):
    from dataverse.services import dataverse_connection_set

    paused = dataverse_connection_set(
        source=WebhookSourceFactory(organization=org_b, identifier="hlf-beta"),
        environment_url=fake_dataverse.url,
        tenant_id="t",
        client_id="c",
        client_secret=CLIENT_SECRET,
        is_enabled=False,
    )
    sent = []
    monkeypatch.setattr(reconcile_source, "delay", lambda *a, **k: sent.append((a, k)))

    assert reconcile_due() == 1
    assert sent == [((connection_a.source_id,), {"trigger": "schedule"})]
    assert paused.pk


def test_the_pass_task_runs_a_pass_and_is_a_no_op_while_one_runs(connection_a, fake_dataverse):
    from dataverse.services import _lease_acquire

    assert reconcile_source(connection_a.source_id) == "succeeded"
    _lease_acquire(connection_a)
    assert reconcile_source(connection_a.source_id) == "busy"


def test_beat_entry_is_installed_by_migrate(db):
    from django_celery_beat.models import PeriodicTask

    entry = PeriodicTask.objects.get(task="dataverse.reconcile_due")
    assert (entry.interval.every, entry.interval.period) == (15, "minutes")


# --- admin -----------------------------------------------------------------------------------


def test_connection_page_shows_the_last_pass_and_never_the_secret(
    as_global_admin, connection_a, fake_dataverse
):
    fake_dataverse.upsert("contacts", contact("c-1"))
    reconcile_pass_run(source=connection_a.source)
    inbox_apply()

    page = as_global_admin.get(
        reverse("admin:dataverse_dataverseconnection_change", args=[connection_a.pk])
    )
    body = page.content.decode()
    assert page.status_code == 200
    assert "1 rows read, 1 events recorded, 1 healed" in body
    assert "Reconcile now" in body
    assert "…9f3k" in body
    assert CLIENT_SECRET not in body
    source_page = as_global_admin.get(
        reverse("admin:webhooks_webhooksource_change", args=[connection_a.source_id])
    ).content.decode()
    assert "1 healed" in source_page
    assert 'id="source-reconcile-now"' in source_page
    assert CLIENT_SECRET not in source_page


def test_reconcile_now_queues_a_pass(
    as_global_admin, connection_a, monkeypatch, django_capture_on_commit_callbacks
):
    sent = []
    monkeypatch.setattr(reconcile_source, "delay", lambda *a, **k: sent.append((a, k)))
    url = reverse("admin:dataverse_dataverseconnection_reconcile", args=[connection_a.pk])

    assert as_global_admin.get(url).status_code == 405
    with django_capture_on_commit_callbacks(execute=True):
        response = as_global_admin.post(url, {"full": "yes"})

    assert response.status_code == 302
    assert sent == [((connection_a.source_id,), {"full": True, "trigger": "admin"})]


def test_admin_changes_the_connection_keeping_the_secret_when_left_empty(
    as_global_admin, connection_a, fake_dataverse
):
    url = reverse("admin:dataverse_dataverseconnection_change", args=[connection_a.pk])
    response = as_global_admin.post(
        url,
        {
            "environment_url": fake_dataverse.url,
            "authority_url": fake_dataverse.url,
            "tenant_id": "fake-tenant",
            "client_id": "another-client",
            "client_secret": "",
            "contact_entity_set": "",
            "enrollment_entity_set": "",
            "is_enabled": "on",
        },
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    connection_a.refresh_from_db()
    assert connection_a.client_id == "another-client"
    assert connection_a.client_secret_last4 == "9f3k"


def test_admin_adds_a_connection_and_refuses_plain_http(as_global_admin, source_a):
    url = reverse("admin:dataverse_dataverseconnection_add")
    data = {
        "source": source_a.pk,
        "environment_url": "http://hlf.crm4.dynamics.com",
        "authority_url": "https://login.microsoftonline.com",
        "tenant_id": "t",
        "client_id": "c",
        "client_secret": CLIENT_SECRET,
        "is_enabled": "on",
    }
    refused = as_global_admin.post(url, data)
    assert refused.status_code == 200
    assert "https://" in refused.content.decode()
    assert CLIENT_SECRET not in refused.content.decode()

    data["environment_url"] = "https://hlf.crm4.dynamics.com"
    assert as_global_admin.post(url, data).status_code == 302
    assert DataverseConnection.objects.get(source=source_a).client_secret_last4 == "9f3k"


@isolation_test(
    "admin:dataverse_dataverseconnection_changelist", "admin:dataverse_reconcilepass_changelist"
)
def test_organisation_admins_never_see_connections_or_passes(as_org_admin_a, connection_a):
    record = reconcile_pass_run(source=connection_a.source)
    assert_admin_hidden(as_org_admin_a, connection_a)
    assert_admin_hidden(as_org_admin_a, record)
    url = reverse("admin:dataverse_dataverseconnection_reconcile", args=[connection_a.pk])
    assert as_org_admin_a.post(url).status_code in (403, 404)


def test_health_view_shows_healed_events_and_what_a_rise_means(
    as_global_admin, connection_a, fake_dataverse
):
    fake_dataverse.upsert("contacts", contact("c-1"))
    fake_dataverse.upsert("contacts", contact("c-2"))
    reconcile_pass_run(source=connection_a.source)
    inbox_apply()
    assert InboundEvent.objects.filter(status="succeeded").count() == 2

    body = as_global_admin.get(reverse("admin:monitoring_health")).content.decode()

    assert 'id="healed-24h">2<' in body
    assert "A rising number means webhooks are being lost" in body


def test_pass_log_lists_passes(as_global_admin, connection_a):
    record = reconcile_pass_run(source=connection_a.source)
    body = as_global_admin.get(reverse("admin:dataverse_reconcilepass_changelist")).content.decode()
    assert record.source_identifier in body
    assert ReconcilePass.objects.count() == 1
