"""`GET /metrics` (SPEC §9): token, names and labels, and figures right across processes."""

import os
import re
import signal
from pathlib import Path

import pytest
import requests
from django.urls import reverse

from sync.signals import inbound_events_finished
from tests.monitoring.conftest import accepted
from tests.support import servers
from tests.webhooks.factories import ENDPOINT, deliver, envelope

TOKEN = "metrics-token-for-tests"


def scrape(client, token=TOKEN):
    headers = {"Authorization": f"Bearer {token}"} if token is not None else {}
    return client.get(reverse("metrics"), headers=headers)


def value(text: str, sample: str) -> float:
    match = re.search(rf"^{re.escape(sample)} (\S+)$", text, re.MULTILINE)
    return float(match.group(1)) if match else 0.0


@pytest.mark.django_db
def test_metrics_is_404_without_a_configured_token(client, settings):
    settings.METRICS_TOKEN = ""
    assert scrape(client).status_code == 404


@pytest.mark.django_db
@pytest.mark.parametrize("token", [None, "", "wrong", TOKEN + "x"])
def test_metrics_refuses_a_missing_or_wrong_token(client, settings, token):
    settings.METRICS_TOKEN = TOKEN
    response = scrape(client, token=token)
    assert response.status_code == 401
    assert "minside_" not in response.content.decode()


@pytest.fixture
def own_metrics_dir(tmp_path, monkeypatch, unique_id):
    """This test's figures in a folder of its own (other pytest runs may share DATA_DIR).

    A new process-tree name makes prometheus-client reopen its files, as after a fork.
    """
    monkeypatch.setenv("PROMETHEUS_MULTIPROC_DIR", str(tmp_path))
    monkeypatch.setenv("MINSIDE_METRICS_TREE", f"test-{unique_id[:8]}")
    return tmp_path


@pytest.mark.django_db
def test_metrics_serve_spec_names_and_count_requests_and_events(
    client, settings, source_a, org_a, own_metrics_dir
):
    settings.METRICS_TOKEN = TOKEN
    before = scrape(client).content.decode()
    assert deliver(client, envelope()).status_code == 202
    body = envelope()
    deliver(client, body, headers={"webhook-id": "x"})  # missing headers → rejected
    deliver(client, envelope(source="nobody"))  # unknown source
    accepted(org_a, ago=__import__("datetime").timedelta(minutes=1), status="pending")
    inbound_events_finished.send(sender=None, results=[("succeeded", 0.4), ("failed", 12.0)])

    response = scrape(client)
    assert response.status_code == 200
    assert list(own_metrics_dir.glob("counter_test-*.db"))
    assert response["Content-Type"].startswith("text/plain")
    text = response.content.decode()

    def delta(sample):
        return value(text, sample) - value(before, sample)

    assert delta('minside_webhook_requests_total{result="accepted"}') == 1
    assert delta('minside_webhook_requests_total{result="rejected"}') == 2
    assert delta('minside_webhook_rejections_total{reason="unknown_source"}') == 1
    assert delta('minside_webhook_rejections_total{reason="missing_signature_headers"}') == 1
    assert delta('minside_sync_events_total{status="succeeded"}') == 1
    assert delta('minside_sync_events_total{status="failed"}') == 1
    assert delta("minside_sync_lag_seconds_count") == 2
    assert delta('minside_sync_lag_seconds_bucket{le="0.5"}') == 1
    # One accepted (pending) event from the webhook above, one built here.
    assert value(text, 'minside_sync_queue_depth{state="pending"}') == 2
    assert value(text, "minside_sync_oldest_pending_seconds") > 0
    for name in (
        "minside_reconcile_healed_total",
        "minside_reconcile_last_success_timestamp_seconds",
    ):
        assert f"# TYPE {name.removesuffix('_total')}" in text
    # No personal data or ids in labels: only the SPEC's codes.
    labels = set(re.findall(r'(\w+)="([^"]*)"', text))
    assert {key for key, _ in labels} <= {"result", "reason", "status", "state", "le", "source"}
    assert "Kari" not in text and "hlf-alpha" not in text


def test_files_carry_the_process_tree_and_a_start_cleans_only_its_own(tmp_path, monkeypatch):
    from monitoring.metrics_dir import process_identifier, process_tree_prepare

    monkeypatch.setenv("PROMETHEUS_MULTIPROC_DIR", str(tmp_path))
    (tmp_path / "counter_web-127.0.0.1-8000-111.db").write_bytes(b"")
    (tmp_path / "counter_worker-celery@host-222.db").write_bytes(b"")
    process_tree_prepare(tree="web-127.0.0.1:8000")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["counter_worker-celery@host-222.db"]
    assert process_identifier() == f"web-127.0.0.1-8000-{os.getpid()}"


# --- two gunicorn workers, one set of figures ---------------------------------------------


def _children(pid: int) -> list[int]:
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue
        if int(fields[1]) == pid:
            found.append(int(stat.parent.name))
    return found


@pytest.mark.server
def test_two_gunicorn_workers_serve_the_same_counts(transactional_db, tmp_path):
    metrics_dir = tmp_path / "metrics"
    port = servers.free_port()
    base = f"http://127.0.0.1:{port}"
    env = servers.child_env(METRICS_TOKEN=TOKEN, PROMETHEUS_MULTIPROC_DIR=str(metrics_dir))
    metrics_dir.mkdir()
    stale = metrics_dir / f"counter_web-127.0.0.1-{port}-999999.db"
    stale.write_bytes(b"left over from an earlier start")
    log = tmp_path / "gunicorn.log"
    auth = {"Authorization": f"Bearer {TOKEN}"}

    def up():
        try:
            return requests.get(f"{base}/healthz", timeout=1).status_code == 200
        except requests.RequestException:
            return False

    with servers.running_process(
        servers.gunicorn_args(port=port, workers=2), env=env, log_path=log
    ) as master:
        if not servers.wait_until(up, timeout=60):
            pytest.fail(f"gunicorn did not start:\n{servers.log_tail(log)}")
        assert not stale.exists()  # the master cleaned its tree's files once, at start
        sent = 0
        # New connections each time, until both workers have answered some.
        while sent < 400:
            for _ in range(20):
                response = requests.post(
                    base + ENDPOINT,
                    data=envelope(source="nobody"),
                    headers={"Content-Type": "application/json", "Connection": "close"},
                    timeout=10,
                )
                assert response.status_code in (400, 401)
                sent += 1
            if len({p.name.rsplit("-", 1)[1] for p in metrics_dir.glob("counter_*.db")}) >= 2:
                break
        writers = {p.name.rsplit("-", 1)[1] for p in metrics_dir.glob("counter_*.db")}
        assert len(writers) >= 2, "both gunicorn workers should have answered"

        def total():
            text = requests.get(f"{base}/metrics", headers=auth, timeout=10).text
            return value(text, 'minside_webhook_requests_total{result="rejected"}')

        # Whichever worker answers the scrape, it reports every worker's requests.
        assert {total() for _ in range(10)} == {float(sent)}

        # A worker that dies is replaced without wiping anybody's counts.
        victim = _children(master.pid)[0]
        os.kill(victim, signal.SIGKILL)
        servers.wait_until(
            lambda: victim not in _children(master.pid) and len(_children(master.pid)) == 2,
            timeout=30,
        )
        assert servers.wait_until(up, timeout=30)
        assert {total() for _ in range(10)} == {float(sent)}
        assert requests.get(f"{base}/metrics", timeout=10).status_code == 401


@pytest.mark.django_db
def test_metrics_report_healed_changes_and_the_last_successful_pass_per_source(
    client, settings, source_a, org_a, own_metrics_dir
):
    from django.utils import timezone

    from dataverse.models import ReconcilePass
    from dataverse.services import dataverse_connection_set
    from sync.models import InboundEvent

    settings.METRICS_TOKEN = TOKEN
    connection = dataverse_connection_set(
        source=source_a,
        environment_url="http://127.0.0.1:9",
        tenant_id="tenant",
        client_id="client",
        client_secret="not-shown",
    )
    finished = timezone.now()
    ReconcilePass.objects.create(
        connection=connection,
        source_identifier=source_a.identifier,
        trigger=ReconcilePass.Trigger.values[0],
        status=ReconcilePass.Status.SUCCEEDED,
        finished_at=finished,
    )
    for n, status in enumerate(["succeeded", "succeeded", "skipped"]):
        InboundEvent.objects.create(
            organization=org_a,
            source_identifier=source_a.identifier,
            webhook_id=f"reconcile-{n}",
            event_type="membership.updated",
            payload_format="dataverse",
            payload={},
            origin=InboundEvent.Origin.RECONCILIATION,
            status=status,
        )

    text = scrape(client).content.decode()

    source = source_a.identifier
    assert value(text, f'minside_reconcile_healed_total{{source="{source}"}}') == 2
    assert value(
        text, f'minside_reconcile_last_success_timestamp_seconds{{source="{source}"}}'
    ) == pytest.approx(finished.timestamp())
    assert "not-shown" not in text
