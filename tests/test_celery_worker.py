"""A real Celery worker process runs a task against the configured broker and database."""

import pytest

from sync.models import WorkerHeartbeat
from sync.tasks import worker_heartbeat
from tests.support import servers

pytestmark = pytest.mark.server


def test_real_worker_runs_a_task_that_writes_to_the_database(celery_worker_process):
    assert not WorkerHeartbeat.objects.exists()
    worker_heartbeat.delay()
    row = servers.wait_until(lambda: WorkerHeartbeat.objects.first(), timeout=30)
    assert row is not None, servers.log_tail(celery_worker_process.log_path)
    assert row.hostname
