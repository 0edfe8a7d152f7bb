"""A worker records a heartbeat the moment it is ready (not only on beat's schedule)."""

import pytest

from sync.models import WorkerHeartbeat
from tests.support import servers

pytestmark = pytest.mark.server


def test_a_starting_worker_reports_at_once(celery_worker_process):
    # Nothing is enqueued: the row can only come from the worker_ready signal.
    row = servers.wait_until(lambda: WorkerHeartbeat.objects.first(), timeout=20)
    assert row is not None, servers.log_tail(celery_worker_process.log_path)
