"""Signals of the sync: Celery handlers (a worker reports for duty) and Django signals sent."""

import socket

from celery.signals import worker_ready
from django.db import transaction
from django.dispatch import Signal
from django.utils import timezone

# Sent after a batch of events finished: `results` = [(status, lag_seconds), ...], where
# status is succeeded | failed | skipped and the lag is received → finished.
inbound_events_finished = Signal()

_FINISHED = frozenset({"succeeded", "failed", "skipped"})


def inbound_event_finished_send(event, status: str) -> None:
    """Send `inbound_events_finished` for one event once committed, if `status` finishes it."""
    if status in _FINISHED and event.received_at is not None:
        lag = max((timezone.now() - event.received_at).total_seconds(), 0.0)
        transaction.on_commit(
            lambda: inbound_events_finished.send(sender=None, results=[(status, lag)])
        )


@worker_ready.connect(dispatch_uid="sync_worker_ready_heartbeat")
def worker_ready_heartbeat(**kwargs) -> None:
    from sync.services import worker_heartbeat_record

    # Without this the health page shows an outage until the first heartbeat.
    worker_heartbeat_record(hostname=socket.gethostname())
