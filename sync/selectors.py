"""Read-side queries over the inbox: sync status per organisation and the queue depth."""

import statistics
from datetime import timedelta

from django.db.models import Count, Min, Q, QuerySet
from django.utils import timezone

from organizations.models import Organization
from sync.models import UNFINISHED_STATUSES, InboundEvent

RECENT_EVENT_COUNT = 20
Status = InboundEvent.Status


def _age(now, since) -> timedelta:
    return (now - since) if since else timedelta(0)


def sync_status_for_organization(*, organization: Organization) -> dict:
    """Figures for the sync status panel and the sync-status API (SPEC §5, §7).

    Keys: last_succeeded_at, pending, processing, failed, oldest_pending_age,
    recent_events (newest first; each has `.lag`), and the lag (received → finished)
    of the finished ones among them: lag_median, lag_max (None when there are none).
    """
    # Self-tests are not the organisation's traffic. Each figure is its own indexed
    # query ((organization, status, finished_at) and (organization, received_at)), so
    # the panel costs the same at a million events: no aggregate scans the org's rows.
    events = InboundEvent.objects.filter(organization=organization, is_self_test=False)
    counts = dict(
        events.filter(status__in_literally=UNFINISHED_STATUSES)
        .values_list("status")
        .annotate(count=Count("id"))
        .order_by()
    )
    figures = {
        "last_succeeded_at": events.filter(status=Status.SUCCEEDED, finished_at__isnull=False)
        .order_by("-finished_at")
        .values_list("finished_at", flat=True)
        .first(),
        "pending": counts.get(Status.PENDING, 0),
        "processing": counts.get(Status.PROCESSING, 0),
        # Its own query, so the partial index of failed events answers it.
        "failed": events.filter(status=Status.FAILED).count(),
    }
    oldest_pending_at = (
        events.filter(status=Status.PENDING).aggregate(oldest=Min("received_at"))["oldest"]
        if figures["pending"]
        else None
    )
    now = timezone.now()
    figures["oldest_pending_age"] = _age(now, oldest_pending_at)
    figures["recent_events"] = list(
        events.order_by("-received_at").only(
            "id",
            "event_type",
            "status",
            "received_at",
            "occurred_at",
            "started_at",
            "finished_at",
            "attempts",
            "outcome_code",
            "outcome_params",
            "subject_ids",
        )[:RECENT_EVENT_COUNT]
    )
    lags = [event.lag for event in figures["recent_events"] if event.lag is not None]
    figures["lag_median"] = statistics.median(lags) if lags else None
    figures["lag_max"] = max(lags) if lags else None
    return figures


def inbound_event_queue_depth() -> dict:
    """Platform-wide backlog for the health page: pending and processing counts and ages."""
    # Only unfinished rows: inbound_unfinished_received keeps this cheap on a big inbox.
    unfinished = InboundEvent.objects.filter(status__in_literally=UNFINISHED_STATUSES)
    figures = unfinished.aggregate(
        pending=Count("id", filter=Q(status=Status.PENDING)),
        processing=Count("id", filter=Q(status=Status.PROCESSING)),
        oldest_pending_at=Min("received_at", filter=Q(status=Status.PENDING)),
        oldest_processing_at=Min("received_at", filter=Q(status=Status.PROCESSING)),
    )
    now = timezone.now()
    oldest_pending = figures.pop("oldest_pending_at")
    oldest_processing = figures.pop("oldest_processing_at")
    oldest = min((t for t in (oldest_pending, oldest_processing) if t), default=None)
    figures["oldest_pending_age"] = _age(now, oldest_pending)
    figures["oldest_processing_age"] = _age(now, oldest_processing)
    # Age of the oldest event not yet finished (pending or processing), received → now.
    figures["oldest_age"] = _age(now, oldest)
    figures["oldest_received_at"] = oldest
    figures["total"] = figures["pending"] + figures["processing"]
    return figures


def _healed() -> QuerySet[InboundEvent]:
    # A reconciliation event is recorded only for a row the local state did not reflect;
    # once it succeeded, the change it carried is one no webhook brought (SPEC §5.1).
    return InboundEvent.objects.filter(
        origin=InboundEvent.Origin.RECONCILIATION, status=Status.SUCCEEDED
    )


def inbound_event_healed_count(*, since=None, source_identifier: str | None = None) -> int:
    """Changes applied by reconciliation (finished since `since`, of one source if given)."""
    events = _healed()
    if since is not None:
        events = events.filter(finished_at__gte=since)
    if source_identifier is not None:
        events = events.filter(source_identifier=source_identifier)
    return events.count()


def inbound_event_healed_by_source() -> dict[str, int]:
    """Healed changes per source identifier since the beginning (a monotonic counter)."""
    rows = _healed().values("source_identifier").annotate(count=Count("id")).order_by()
    return {row["source_identifier"]: row["count"] for row in rows}


def inbound_event_known_webhook_ids(*, source_identifier: str, webhook_ids: list[str]) -> set[str]:
    """Which of these webhook ids a source already delivered (one query for a whole batch)."""
    return set(
        InboundEvent.objects.filter(
            source_identifier=source_identifier, webhook_id__in=webhook_ids
        ).values_list("webhook_id", flat=True)
    )


def inbound_event_unrouted_count() -> int:
    """Failed events of shared sources that matched no organisation (global admins only)."""
    return InboundEvent.objects.filter(organization__isnull=True, status=Status.FAILED).count()
