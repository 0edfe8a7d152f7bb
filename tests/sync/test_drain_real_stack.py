"""The inbox drain on real processes: two workers share a backlog, the embedded default keeps up."""

import base64
import json
import os
import sqlite3
import subprocess
import sys
import time
import uuid
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests
from django.db import transaction

from organizations.models import Member
from sync.models import InboundEvent
from sync.services import inbound_event_record
from tests.support import servers
from webhooks.signing import signed_headers

pytestmark = pytest.mark.server
Status = InboundEvent.Status


def _worker_ready(log_path) -> bool:
    return "ready" in log_path.read_text(errors="replace")


def test_two_workers_drain_one_backlog_and_apply_every_event_exactly_once(
    transactional_db, org_a, tmp_path
):
    count = 600
    with transaction.atomic():  # one commit, one wake-up: the workers share the backlog
        for n in range(count):
            inbound_event_record(
                organization=org_a,
                source_identifier="src",
                webhook_id=f"msg-{n}",
                payload_format="envelope",
                payload={},
                normalized=[
                    {
                        "type": "membership.created",
                        "occurred_at": "2026-11-27T09:00:00+00:00",
                        "data": {"member_id": f"member-{n}", "first_name": f"M{n}"},
                    }
                ],
            )
    logs = [tmp_path / "worker-1.log", tmp_path / "worker-2.log"]
    env = servers.child_env(SYNC_DRAIN_BATCH_SIZE="20")
    with (
        servers.running_process(servers.celery_worker_args(), env=env, log_path=logs[0]),
        servers.running_process(servers.celery_worker_args(), env=env, log_path=logs[1]),
    ):
        assert servers.wait_until(lambda: all(map(_worker_ready, logs)), timeout=60)
        from sync.services import inbound_events_sweep

        inbound_events_sweep()  # the wake-up sent at commit may have reached no worker yet

        def drained():
            return not InboundEvent.objects.exclude(status=Status.SUCCEEDED).exists()

        assert servers.wait_until(drained, timeout=180), [servers.log_tail(log) for log in logs]

    events = InboundEvent.objects.all()
    assert events.count() == count
    # Exactly once: one claim each, and each applied as a create (a second application
    # would have said "no change").
    assert set(events.values_list("attempts", flat=True)) == {1}
    assert all(": created (" in outcome for outcome in (event.outcome for event in events))
    assert Member.objects.filter(organization=org_a).count() == count
    # Both workers took part.
    assert all("sync.inbox_drain" in log.read_text(errors="replace") for log in logs)


SECRET = "whsec_" + base64.b64encode(b"embedded-burst-secret-32-bytes!!").decode()


def test_a_burst_on_the_embedded_default_is_applied_in_full(tmp_path):
    """`make run`'s stack (SQLite + the filesystem broker) under 20 connections."""
    data_dir = tmp_path / "data"
    data_dir.mkdir()
    env = {
        **os.environ,
        "DATA_DIR": str(data_dir),
        "DATABASE_URL": f"sqlite:///{data_dir / 'db.sqlite3'}",
        "CELERY_BROKER_URL": "filesystem://",
        "PYTHONUNBUFFERED": "1",
        "LOG_LEVEL": "WARNING",
        "DEBUG": "false",
    }
    python = sys.executable
    subprocess.run(
        [python, "manage.py", "migrate", "-v0"], cwd=servers.REPO_ROOT, env=env, check=True
    )
    onboard = (
        "import django; django.setup()\n"
        "from organizations.services import organization_create\n"
        "from webhooks.services import webhook_source_create\n"
        "org = organization_create(slug='burst', name='Burst')\n"
        f"webhook_source_create(organization=org, identifier='burst', secret={SECRET!r})\n"
    )
    subprocess.run([python, "-c", onboard], cwd=servers.REPO_ROOT, env=env, check=True)
    port = servers.free_port()
    url = f"http://127.0.0.1:{port}/webhooks/dynamics/"
    per_connection, connections = 30, 20

    def send(connection_number: int) -> list[int]:
        statuses = []
        with requests.Session() as session:
            for n in range(per_connection):
                body = json.dumps(
                    {
                        "type": "membership.created",
                        "source": "burst",
                        "occurred_at": "2026-11-27T09:00:00Z",
                        "data": {"member_id": f"m-{connection_number}-{n}", "first_name": "B"},
                    }
                ).encode()
                headers = signed_headers(
                    secret=SECRET, msg_id=uuid.uuid4().hex, timestamp=int(time.time()), body=body
                )
                headers["Content-Type"] = "application/json"
                statuses.append(
                    session.post(url, data=body, headers=headers, timeout=60).status_code
                )
        return statuses

    web_log, worker_log = tmp_path / "web.log", tmp_path / "worker.log"
    with (
        servers.running_process(servers.gunicorn_args(port=port), env=env, log_path=web_log),
        servers.running_process(
            servers.celery_worker_args(concurrency=2), env=env, log_path=worker_log
        ),
    ):
        assert servers.wait_until(lambda: _worker_ready(worker_log), timeout=60)
        assert servers.wait_until(
            lambda: _answers(f"http://127.0.0.1:{port}/healthz"), timeout=60
        ), servers.log_tail(web_log)
        with ThreadPoolExecutor(connections) as pool:
            statuses = [code for part in pool.map(send, range(connections)) for code in part]
        assert statuses == [202] * (per_connection * connections)

        def applied() -> bool:
            with sqlite3.connect(data_dir / "db.sqlite3") as db:
                members = db.execute("SELECT count(*) FROM organizations_member").fetchone()[0]
                open_events = db.execute(
                    "SELECT count(*) FROM sync_inboundevent WHERE status != 'succeeded'"
                ).fetchone()[0]
            return members == per_connection * connections and open_events == 0

        assert servers.wait_until(applied, timeout=180, interval=1), servers.log_tail(worker_log)


def _answers(url: str) -> bool:
    try:
        return requests.get(url, timeout=2).status_code == 200
    except requests.RequestException:
        return False
