"""Health signals on real processes: a worker busy with a backlog keeps its heartbeat, and
beat records its own heartbeat and probes the endpoint, then alerts when it stops answering.
"""

import sys
import threading
import time
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from django.utils import timezone

from config.celery import app
from monitoring.models import Alert, EndpointProbe, SchedulerHeartbeat
from sync.models import WorkerHeartbeat
from tests.support import servers

pytestmark = pytest.mark.server
FAST = {"MONITORING_HEARTBEAT_INTERVAL_SECONDS": "1", "MONITORING_STALE_AFTER_SECONDS": "3"}


# A queue of its own: the backlog left at the end is purged, never met by later tests.
BACKLOG_QUEUE = "monitoring-backlog-test"


def _queue_length() -> int:
    from amqp.exceptions import ChannelError

    with app.connection_for_write() as connection:
        try:
            declared = connection.default_channel.queue_declare(BACKLOG_QUEUE, passive=True)
        except ChannelError:  # Redis drops an emptied queue: nothing is left
            return 0
        return declared.message_count


def _queue_purge() -> None:
    with app.connection_for_write() as connection:
        connection.default_channel.queue_purge(BACKLOG_QUEUE)


def test_a_worker_busy_with_a_backlog_keeps_reporting(transactional_db, tmp_path):
    log = tmp_path / "worker.log"
    # A backlog the single pool process needs a while for: heartbeats sent as tasks would
    # wait behind every one of these.
    # The sweep is one indexed count (a few ms), so it takes thousands to keep the one
    # pool process busy for the half minute the test watches.
    with app.producer_or_acquire() as producer:
        for _ in range(10000):
            app.send_task("sync.inbound_events_sweep", queue=BACKLOG_QUEUE, producer=producer)
    env = servers.child_env(**FAST)
    args = servers.celery_worker_args(queues=BACKLOG_QUEUE)
    try:
        with servers.running_process(args, env=env, log_path=log) as worker:
            first = servers.wait_until(lambda: WorkerHeartbeat.objects.first(), timeout=60)
            assert first is not None, servers.log_tail(log)
            seen = set()
            deadline = time.monotonic() + 6
            while time.monotonic() < deadline:
                seen.update(WorkerHeartbeat.objects.values_list("last_seen_at", flat=True))
                time.sleep(0.3)
            remaining = _queue_length()
            newest_age = (timezone.now() - max(seen)).total_seconds()
            assert worker.poll() is None
    finally:
        _queue_purge()
    assert len(seen) >= 3, servers.log_tail(log)
    assert remaining > 0, "the backlog should still have been there while we watched"
    assert newest_age < 10


class _Health(BaseHTTPRequestHandler):
    def do_GET(self):  # noqa: N802 - http.server's name
        ok = self.path == "/webhooks/dynamics/health"
        self.send_response(200 if ok else 404)
        self.send_header("Content-Type", "application/json")
        self.end_headers()
        self.wfile.write(b'{"status": "ok"}')

    def log_message(self, *args):
        pass


def test_beat_reports_itself_probes_the_endpoint_and_alerts_when_it_fails(
    transactional_db, tmp_path
):
    from django_celery_beat.models import PeriodicTask

    from tests.factories import UserFactory

    UserFactory(username="ops", email="ops@hlf.example", is_superuser=True, is_staff=True)
    # Beat's own health loop is under test; its scheduled tasks would only be messages
    # left for later tests' workers.
    PeriodicTask.objects.update(enabled=False)
    WorkerHeartbeat.objects.create(hostname="somewhere", last_seen_at=timezone.now())
    endpoint = ThreadingHTTPServer(("127.0.0.1", 0), _Health)
    threading.Thread(target=endpoint.serve_forever, daemon=True).start()
    port = endpoint.server_port
    env = servers.child_env(
        **FAST,
        # Alerts about the (absent) worker are not what this test watches.
        MONITORING_PROBE_TIMEOUT_SECONDS="1",
        WEBHOOK_PUBLIC_URL=f"http://127.0.0.1:{port}/webhooks/dynamics/",
    )
    log = tmp_path / "beat.log"
    args = [
        sys.executable,
        "-m",
        "celery",
        "-A",
        "config",
        "beat",
        "--loglevel",
        "INFO",
        "--schedule",
        str(tmp_path / "beat-schedule"),
    ]
    try:
        with servers.running_process(args, env=env, log_path=log):
            ok = servers.wait_until(
                lambda: (
                    EndpointProbe.objects.filter(ok=True).exists()
                    and SchedulerHeartbeat.objects.exists()
                ),
                timeout=60,
            )
            assert ok, servers.log_tail(log)
            healthy_probe = EndpointProbe.objects.filter(ok=True).latest("checked_at")
            assert healthy_probe.url == f"http://127.0.0.1:{port}/webhooks/dynamics/health"
            endpoint.shutdown()
            endpoint.server_close()
            alert = servers.wait_until(
                lambda: Alert.objects.filter(part="endpoint", cleared_at__isnull=True).first(),
                timeout=30,
            )
            assert alert is not None, servers.log_tail(log)
            last_ok = EndpointProbe.objects.filter(ok=True).latest("checked_at").checked_at
            assert alert.last_healthy_at == last_ok
            assert servers.wait_until(lambda: "ops@hlf.example" in log.read_text(), timeout=10)
    finally:
        endpoint.server_close()
    # Beat has stopped: its heartbeat goes stale and the scheduler alert follows.
    stopped_at = SchedulerHeartbeat.objects.get().last_seen_at
    from monitoring.selectors import part_states, signals_read

    time.sleep(0.1)
    states = part_states(signals_read(now=stopped_at + timedelta(minutes=5)))
    assert states["scheduler"].failing and states["scheduler"].last_healthy_at == stopped_at
