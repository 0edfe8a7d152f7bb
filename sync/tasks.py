"""Celery tasks of the sync: thin wrappers that call services."""

import socket

from celery import shared_task

from sync import services


@shared_task(name="sync.worker_heartbeat")
def worker_heartbeat() -> None:
    services.worker_heartbeat_record(hostname=socket.gethostname())


@shared_task(name="sync.inbox_drain", ignore_result=True)
def inbox_drain() -> int:
    """Apply every due event in batches; a wake-up, not a unit of work."""
    return services.inbox_drain().processed


@shared_task(name="sync.inbound_event_process", ignore_result=True)
def inbound_event_process(event_id: str | None = None) -> int:
    """Messages of the per-event design still queued at upgrade: each just drains."""
    return services.inbox_drain().processed


@shared_task(name="sync.inbound_events_sweep")
def inbound_events_sweep() -> int:
    return services.inbound_events_sweep()
