"""Celery tasks of the sync: thin wrappers that load rows and call services."""

import socket

from celery import shared_task
from django.conf import settings

from sync import services


@shared_task(name="sync.worker_heartbeat")
def worker_heartbeat() -> None:
    services.worker_heartbeat_record(hostname=socket.gethostname())


# max_retries=None: the service counts attempts on the event row and gives up itself.
@shared_task(bind=True, name="sync.inbound_event_process", max_retries=None)
def inbound_event_process(self, event_id: str) -> str:
    """Apply one stored event; "retry later" results become a Celery retry."""
    try:
        result = services.inbound_event_apply(event_id=event_id)
    except services.TRANSIENT_ERRORS as exc:
        # The database failed before the attempt was recorded. Past the limit the event
        # stays pending/processing and the sweeper enqueues it again later.
        attempt = self.request.retries + 1
        if attempt >= settings.SYNC_MAX_ATTEMPTS:
            raise
        raise self.retry(
            exc=exc, countdown=services.retry_backoff_seconds(attempt=attempt)
        ) from exc
    if result.retry_in is not None:
        raise self.retry(countdown=result.retry_in)
    return result.status


@shared_task(name="sync.inbound_events_sweep")
def inbound_events_sweep() -> int:
    return services.inbound_events_sweep()
