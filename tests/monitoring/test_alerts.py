"""Alert transitions: one e-mail per start and clear, a daily reminder at most, the webhook
channel, and two evaluators that never both notify."""

import json
import threading
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, HTTPServer

import pytest
from django.core import mail
from django.utils import timezone

from monitoring.models import Alert, SchedulerHeartbeat
from monitoring.services import alert_recipients, alerts_evaluate
from sync.models import WorkerHeartbeat
from tests.factories import UserFactory
from tests.monitoring.conftest import probed

pytestmark = pytest.mark.django_db


@pytest.fixture
def admins(db):
    UserFactory(username="boss", email="boss@hlf.example", is_superuser=True, is_staff=True)
    UserFactory(username="clerk", email="clerk@hlf.example", is_staff=True)  # not global
    return ["boss@hlf.example"]


def test_recipients_are_global_admins_and_configured_extras(admins, settings):
    settings.MONITORING_ALERT_EMAILS = ["ops@hlf.example"]
    assert alert_recipients() == ["boss@hlf.example", "ops@hlf.example"]


def test_worker_outage_sends_one_mail_at_start_and_one_at_clear(all_healthy, admins):
    assert alerts_evaluate() == []
    seen = timezone.now() - timedelta(minutes=4)
    WorkerHeartbeat.objects.update(last_seen_at=seen)

    (started,) = alerts_evaluate()
    assert (started.kind, started.alert.part) == ("started", "worker")
    assert started.alert.last_healthy_at == seen
    assert len(mail.outbox) == 1
    assert mail.outbox[0].to == admins
    assert "Worker" in mail.outbox[0].subject or "Arbeider" in mail.outbox[0].subject

    for _ in range(3):  # later evaluations of the same outage stay quiet
        assert alerts_evaluate() == []
    assert len(mail.outbox) == 1

    WorkerHeartbeat.objects.update(last_seen_at=timezone.now())
    (cleared,) = alerts_evaluate()
    assert cleared.kind == "cleared"
    assert len(mail.outbox) == 2
    assert alerts_evaluate() == []
    assert len(mail.outbox) == 2
    alert = Alert.objects.get()
    assert alert.cleared_at is not None and alert.last_healthy_at == seen


def test_each_outage_kind_raises_and_clears(all_healthy, admins):
    SchedulerHeartbeat.objects.update(last_seen_at=timezone.now() - timedelta(minutes=10))
    assert [t.alert.part for t in alerts_evaluate()] == ["scheduler"]
    SchedulerHeartbeat.objects.update(last_seen_at=timezone.now())
    probed(ago=timedelta(0), ok=False)
    kinds = sorted((t.kind, t.alert.part) for t in alerts_evaluate())
    assert kinds == [("cleared", "scheduler"), ("started", "endpoint")]
    endpoint = Alert.objects.get(part="endpoint")
    assert endpoint.last_healthy_at is not None  # the probe of the all_healthy fixture
    probed(ago=timedelta(0), ok=True)
    assert [(t.kind, t.alert.part) for t in alerts_evaluate()] == [("cleared", "endpoint")]
    assert len(mail.outbox) == 4


def test_a_stuck_alert_is_repeated_at_most_once_a_day(all_healthy, admins):
    WorkerHeartbeat.objects.update(last_seen_at=timezone.now() - timedelta(hours=30))
    alerts_evaluate()
    assert len(mail.outbox) == 1
    alert = Alert.objects.get()
    alert.notified_at = timezone.now() - timedelta(hours=23)
    alert.save()
    assert alerts_evaluate() == []
    Alert.objects.update(notified_at=timezone.now() - timedelta(hours=24, minutes=1))
    (reminder,) = alerts_evaluate()
    assert reminder.kind == "reminder"
    assert alerts_evaluate() == []
    assert len(mail.outbox) == 2


def test_an_open_alert_is_not_opened_twice(all_healthy, admins):
    WorkerHeartbeat.objects.update(last_seen_at=timezone.now() - timedelta(hours=1))
    Alert.objects.create(part="worker", notified_at=timezone.now())  # the other evaluator won
    assert alerts_evaluate() == []
    assert mail.outbox == []


def test_rejection_rate_alert_is_sent_and_cleared(all_healthy, admins, org_a, settings):
    from tests.monitoring.conftest import accepted, rejected

    settings.MONITORING_REJECTION_ALERT_MIN_PAYLOADS = 10
    accepted(org_a, ago=timedelta(minutes=5), count=8)
    rejected(ago=timedelta(minutes=5), count=4)
    (started,) = alerts_evaluate()
    assert started.alert.part == "rejections"
    assert "33.3" in mail.outbox[0].body


class _Hook(BaseHTTPRequestHandler):
    received: list = []

    def do_POST(self):  # noqa: N802 - http.server's name
        length = int(self.headers["Content-Length"])
        _Hook.received.append(json.loads(self.rfile.read(length)))
        self.send_response(200)
        self.end_headers()

    def log_message(self, *args):
        pass


def test_the_optional_webhook_channel_gets_each_transition(all_healthy, admins, settings):
    server = HTTPServer(("127.0.0.1", 0), _Hook)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    _Hook.received = []
    try:
        settings.MONITORING_ALERT_WEBHOOK_URL = f"http://127.0.0.1:{server.server_port}/hook"
        WorkerHeartbeat.objects.update(last_seen_at=timezone.now() - timedelta(hours=1))
        alerts_evaluate()
        alerts_evaluate()
    finally:
        server.shutdown()
    assert len(_Hook.received) == 1
    assert "text" in _Hook.received[0]


def test_an_unreachable_webhook_channel_does_not_stop_the_mail(all_healthy, admins, settings):
    settings.MONITORING_ALERT_WEBHOOK_URL = "http://127.0.0.1:9/nothing-listens"
    WorkerHeartbeat.objects.update(last_seen_at=timezone.now() - timedelta(hours=1))
    assert len(alerts_evaluate()) == 1
    assert len(mail.outbox) == 1
