"""The sync on real processes: HTTP intake to a worker to the members API, and a killed worker."""

import json
import os
import signal
import time
import uuid

import pytest
import requests
from django.db import connection, connections
from django.test import override_settings
from django.utils import timezone
from rest_framework.authtoken.models import Token

from organizations.models import Member
from sync.models import InboundEvent
from sync.services import inbound_events_sweep
from sync.tasks import inbox_drain
from tests.factories import MemberFactory
from tests.support import servers
from tests.sync import payloads as p

pytestmark = pytest.mark.server
Status = InboundEvent.Status


def test_signed_webhook_over_http_reaches_the_members_api(
    live_http_server, celery_worker_process, org_a, global_admin
):
    from webhooks.services import webhook_source_create
    from webhooks.signing import signed_headers

    _source, secret = webhook_source_create(organization=org_a, identifier="hlf-alpha-src")
    body = json.dumps(
        {
            "type": "membership.created",
            "source": "hlf-alpha-src",
            "occurred_at": timezone.now().isoformat(),
            "data": {
                "member_id": p.MEMBER_ID,
                "first_name": "Kari",
                "last_name": "Nordmann",
                "email": "kari@example.no",
                "role": "peer_mentor",
            },
        }
    ).encode()
    headers = signed_headers(
        secret=secret, msg_id=f"msg_{uuid.uuid4().hex}", timestamp=int(time.time()), body=body
    )

    response = requests.post(
        f"{live_http_server.base_url}/webhooks/dynamics/",
        data=body,
        headers={**headers, "Content-Type": "application/json"},
        timeout=10,
    )
    assert response.status_code == 202, response.text

    token = Token.objects.create(user=global_admin)
    url = f"{live_http_server.base_url}/api/v1/organizations/{org_a.slug}/members/"

    def member_listed():
        answer = requests.get(url, headers={"Authorization": f"Token {token.key}"}, timeout=5)
        assert answer.status_code == 200, answer.text
        data = answer.json()
        rows = data["results"] if isinstance(data, dict) else data
        return next((row for row in rows if row["portal_member_id"] == p.MEMBER_ID), None)

    row = servers.wait_until(member_listed, timeout=60, interval=0.5)
    assert row is not None, servers.log_tail(celery_worker_process.log_path)
    assert (row["first_name"], row["role"]) == ("Kari", "peer_mentor")
    assert InboundEvent.objects.get(organization=org_a).status == Status.SUCCEEDED


class MemberRowLock:
    """Hold a lock on one member row from a second database connection.

    PostgreSQL: SELECT … FOR UPDATE. SQLite has no row locks; BEGIN IMMEDIATE holds
    the database's write lock, which stops the worker a step earlier (at its claim).
    """

    def __init__(self, member: Member):
        self.member = member
        self.holder = connections.create_connection("default")
        self.sqlite = connection.vendor == "sqlite"

    def __enter__(self):
        cursor = self.holder.cursor()
        cursor.execute("BEGIN IMMEDIATE" if self.sqlite else "BEGIN")
        suffix = "" if self.sqlite else " FOR UPDATE"
        query = f"SELECT id FROM organizations_member WHERE id = %s{suffix}"  # noqa: S608
        cursor.execute(query, [self.member.pk])
        self.cursor = cursor
        return self

    def release(self):
        if self.cursor is not None:
            self.cursor.execute("ROLLBACK")
            self.cursor.close()
            self.cursor = None
            self.holder.close()

    def __exit__(self, *exc):
        self.release()


def test_a_worker_killed_while_holding_an_event_loses_nothing(transactional_db, org_a, tmp_path):
    kari = MemberFactory(organization=org_a, portal_member_id=p.MEMBER_ID, role="member")
    # Stored without the after-commit wake-up, so the test decides when the worker drains.
    event = InboundEvent.objects.create(
        organization=org_a,
        source_identifier="src",
        webhook_id="msg_kill",
        event_type="role.updated",
        payload_format="envelope",
        payload={},
        normalized=p.envelope(
            "role.updated",
            {"member_id": p.MEMBER_ID, "role": "coordinator"},
            occurred_at=timezone.now(),
        ),
    )
    # Wake-ups other tests published (retry countdowns) must not reach this worker early.
    from config.celery import app

    with app.connection_for_write() as broker:
        broker.default_channel.queue_purge("celery")
    env = servers.child_env(SYNC_PROCESSING_STUCK_SECONDS="2")
    first_log, second_log = tmp_path / "worker-1.log", tmp_path / "worker-2.log"
    sqlite = connection.vendor == "sqlite"

    with servers.running_process(
        servers.celery_worker_args(), env=env, log_path=first_log
    ) as first:
        if not servers.wait_until(
            lambda: "ready" in first_log.read_text(errors="replace"), timeout=60
        ):
            pytest.fail(f"worker did not start:\n{servers.log_tail(first_log)}")
        with MemberRowLock(kari) as lock:
            inbox_drain.delay()

            def holding():
                if sqlite:  # the claim itself waits for the write lock
                    return "sync.inbox_drain" in first_log.read_text(errors="replace")
                return InboundEvent.objects.get(pk=event.pk).status == Status.PROCESSING

            assert servers.wait_until(holding, timeout=90), servers.log_tail(first_log)
            time.sleep(0.5)  # let it block on the lock
            os.killpg(first.pid, signal.SIGKILL)
            first.wait(timeout=10)
            lock.release()

    event.refresh_from_db()
    kari.refresh_from_db()
    assert kari.role == "member"  # nothing half-applied
    assert event.status == (Status.PENDING if sqlite else Status.PROCESSING)

    with servers.running_process(servers.celery_worker_args(), env=env, log_path=second_log):
        assert servers.wait_until(
            lambda: "ready" in second_log.read_text(errors="replace"), timeout=60
        )

        def finished():
            # The sweeper (here called by the test) wakes a drain; once the dead claim is
            # older than SYNC_PROCESSING_STUCK_SECONDS the drain takes it over.
            with override_settings(SYNC_PROCESSING_STUCK_SECONDS=2):
                inbound_events_sweep()
            event.refresh_from_db()
            return event.is_finished

        assert servers.wait_until(finished, timeout=60, interval=1), servers.log_tail(second_log)

    kari.refresh_from_db()
    assert event.status == Status.SUCCEEDED, event.outcome
    assert event.outcome == f"Member {p.MEMBER_ID}: role changed from Member to Coordinator"
    assert event.attempts == (1 if sqlite else 2)
    assert kari.role == "coordinator"
