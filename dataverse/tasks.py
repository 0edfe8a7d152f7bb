"""Celery tasks of reconciliation: the schedule fans out one pass task per connected source."""

import logging

from celery import shared_task
from django.conf import settings

from dataverse import selectors, services
from dataverse.models import ReconcilePass
from webhooks.models import WebhookSource

logger = logging.getLogger(__name__)


@shared_task(name="dataverse.reconcile_due")
def reconcile_due() -> int:
    """Every DATAVERSE_RECONCILE_MINUTES: one pass task per connected source."""
    connections = selectors.dataverse_connections_due()
    for connection in connections:
        reconcile_source.delay(connection.source_id, trigger=ReconcilePass.Trigger.SCHEDULE)
    return len(connections)


@shared_task(
    name="dataverse.reconcile_source",
    time_limit=settings.DATAVERSE_PASS_TIME_LIMIT_SECONDS,
    soft_time_limit=settings.DATAVERSE_PASS_TIME_LIMIT_SECONDS - 30,
)
def reconcile_source(source_id: int, full: bool = False, trigger: str = "schedule") -> str:
    source = WebhookSource.objects.select_related("organization").filter(pk=source_id).first()
    if source is None:
        return "missing"
    try:
        record = services.reconcile_pass_run(source=source, full=full, trigger=trigger)
    except services.ReconcileBusy:
        # The running pass covers this tick; the next one comes soon enough.
        logger.info("reconcile %s: a pass is already running; not starting another", source)
        return "busy"
    return record.status
