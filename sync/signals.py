"""Signals of the sync: Celery's worker_ready, and the Django signal other apps subscribe to."""

import socket

import django.dispatch
from celery.signals import task_prerun, worker_ready
from django.db import close_old_connections

from config.forking import database_use_outside_forks

# Sent after each drained batch commits. `results`: a list of (status, lag_seconds) for
# every event that finished (succeeded, failed or skipped); lag is received → finished.
inbound_events_finished = django.dispatch.Signal()


@worker_ready.connect(dispatch_uid="sync_worker_ready_heartbeat")
def worker_ready_heartbeat(**kwargs) -> None:
    from sync.services import worker_heartbeat_record

    # Without this the health page shows an outage until beat's first heartbeat (30 s).
    # In the worker's main process, which forks pool processes (config/forking.py).
    with database_use_outside_forks():
        worker_heartbeat_record(hostname=socket.gethostname())


@task_prerun.connect(dispatch_uid="sync_task_prerun_connections")
def task_connections_refresh(**kwargs) -> None:
    # Celery runs no request cycle, so Django never drops a connection a database restart
    # broke; without this every task after a PostgreSQL outage would fail on it.
    close_old_connections()
