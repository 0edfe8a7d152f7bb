"""Celery tasks of the sync: thin wrappers that load rows and call services."""

import socket

from celery import shared_task

from sync.services import worker_heartbeat_record


@shared_task(name="sync.worker_heartbeat")
def worker_heartbeat() -> None:
    worker_heartbeat_record(hostname=socket.gethostname())


@shared_task(name="sync.inbound_event_process")
def inbound_event_process(event_id: str) -> None:
    """Apply one stored event (the sync issue fills in the application)."""
