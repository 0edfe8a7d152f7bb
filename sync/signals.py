"""Celery signal handlers: a worker reports for duty as soon as it is ready."""

import socket

from celery.signals import worker_ready

from sync.services import worker_heartbeat_record


@worker_ready.connect(dispatch_uid="sync_worker_ready_heartbeat")
def worker_ready_heartbeat(**kwargs) -> None:
    # Without this the health page shows an outage until beat's first heartbeat (30 s).
    worker_heartbeat_record(hostname=socket.gethostname())
