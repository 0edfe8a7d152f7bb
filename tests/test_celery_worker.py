"""A real Celery worker process runs a task against the configured broker and database."""

import pytest

from sync.models import WorkerHeartbeat
from sync.tasks import worker_heartbeat
from tests.support import servers

pytestmark = pytest.mark.server


def test_real_worker_runs_a_task_that_writes_to_the_database(celery_worker_process):
    # The worker reports once when ready (sync.signals); no beat runs in tests, so any
    # later change of the row is the task's doing.
    ready_row = servers.wait_until(lambda: WorkerHeartbeat.objects.first(), timeout=20)
    assert ready_row is not None, servers.log_tail(celery_worker_process.log_path)

    worker_heartbeat.delay()

    def rewritten():
        row = WorkerHeartbeat.objects.get(pk=ready_row.pk)
        return row if row.last_seen_at > ready_row.last_seen_at else None

    row = servers.wait_until(rewritten, timeout=30)
    assert row is not None, servers.log_tail(celery_worker_process.log_path)
