"""Read side of reconciliation: connections, passes and what they healed (SPEC §5.1, §9)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from django.db.models import Count, Max, Q

from dataverse.models import DataverseConnection, ReconcilePass
from sync.models import InboundEvent
from sync.selectors import inbound_event_healed_by_source

Status = InboundEvent.Status


def dataverse_connection_for_source(*, source) -> DataverseConnection | None:
    return DataverseConnection.objects.filter(source=source).select_related("source").first()


def dataverse_connections_due() -> list[DataverseConnection]:
    """Connections the schedule reconciles: enabled, of an active source and organisation."""
    return list(
        DataverseConnection.objects.filter(
            is_enabled=True, source__is_active=True, source__organization__is_active=True
        ).select_related("source")
    )


def reconcile_pass_last(*, connection: DataverseConnection) -> ReconcilePass | None:
    return connection.passes.order_by("-started_at", "-id").first()


def reconcile_passes_recent(*, connection: DataverseConnection, limit: int = 10):
    return list(connection.passes.order_by("-started_at", "-id")[:limit])


@dataclass(frozen=True)
class PassOutcome:
    """What became of the events one pass recorded, as far as the sync has got."""

    healed: int
    skipped: int
    failed: int
    queued: int


def reconcile_pass_outcome(*, record: ReconcilePass) -> PassOutcome:
    # One pass per source at a time, so the pass's events are exactly the source's
    # reconciliation events received while it ran.
    events = InboundEvent.objects.filter(
        origin=InboundEvent.Origin.RECONCILIATION,
        source_identifier=record.source_identifier,
        received_at__gte=record.started_at,
    )
    if record.finished_at is not None:
        events = events.filter(received_at__lte=record.finished_at)
    figures = events.aggregate(
        healed=Count("id", filter=Q(status=Status.SUCCEEDED)),
        skipped=Count("id", filter=Q(status=Status.SKIPPED)),
        failed=Count("id", filter=Q(status=Status.FAILED)),
        queued=Count("id", filter=Q(status__in=[Status.PENDING, Status.PROCESSING])),
    )
    return PassOutcome(**figures)


@dataclass(frozen=True)
class SourceReconcileFigures:
    """Per source, for /metrics (SPEC §9) — right across processes, read from the database."""

    source_identifier: str
    healed_total: int
    last_success_at: datetime | None


def reconcile_metrics_figures() -> list[SourceReconcileFigures]:
    """`minside_reconcile_healed_total{source}` and `…_last_success_timestamp_seconds{source}`."""
    healed = inbound_event_healed_by_source()
    last_success = dict(
        ReconcilePass.objects.filter(status=ReconcilePass.Status.SUCCEEDED)
        .values("source_identifier")
        .annotate(last=Max("finished_at"))
        .order_by()
        .values_list("source_identifier", "last")
    )
    identifiers = sorted(
        set(healed)
        | set(last_success)
        | set(DataverseConnection.objects.values_list("source__identifier", flat=True))
    )
    return [
        SourceReconcileFigures(
            source_identifier=identifier,
            healed_total=healed.get(identifier, 0),
            last_success_at=last_success.get(identifier),
        )
        for identifier in identifiers
    ]
