"""Write-side operations of the sync inbox."""

from django.db import IntegrityError, transaction
from django.utils import timezone

from sync.models import InboundEvent, WorkerHeartbeat


def worker_heartbeat_record(*, hostname: str) -> WorkerHeartbeat:
    heartbeat, _ = WorkerHeartbeat.objects.update_or_create(
        hostname=hostname, defaults={"last_seen_at": timezone.now()}
    )
    return heartbeat


def inbound_event_record(
    *,
    organization,
    source_identifier: str,
    webhook_id: str,
    payload_format: str,
    payload: dict,
    normalized: list[dict],
    occurred_at=None,
    headers: dict | None = None,
    failure: str | None = None,
) -> tuple[InboundEvent, bool]:
    """Store an authentic event; return (event, created). A known webhook-id is a duplicate.

    The row is committed before the caller answers 2xx; processing is enqueued only after
    the commit, so a worker never looks for a row that is not there yet. `failure` stores
    an authentic payload that cannot be processed (e.g. truncated by Dynamics) as failed.
    """
    from sync.tasks import inbound_event_process

    event = InboundEvent(
        organization=organization,
        source_identifier=source_identifier,
        webhook_id=webhook_id,
        event_type=normalized[0]["type"] if normalized else "unknown",
        payload_format=payload_format,
        payload=payload,
        normalized=normalized,
        headers=headers or {},
        occurred_at=occurred_at,
    )
    if failure:
        event.status = InboundEvent.Status.FAILED
        event.outcome = failure
        event.finished_at = timezone.now()
    try:
        with transaction.atomic():
            event.save(force_insert=True)
    except IntegrityError:
        existing = InboundEvent.objects.filter(
            source_identifier=source_identifier, webhook_id=webhook_id
        ).first()
        if existing is None:  # the IntegrityError was something else
            raise
        return existing, False
    if not failure:
        event_id = str(event.id)
        transaction.on_commit(lambda: inbound_event_process.delay(event_id))
    return event, True
