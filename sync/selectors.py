"""Read-side queries over the inbox: sync status per organisation."""

from datetime import timedelta

from django.db.models import Count, Max, Min, Q
from django.utils import timezone

from organizations.models import Organization
from sync.models import InboundEvent

RECENT_EVENT_COUNT = 20


def sync_status_for_organization(*, organization: Organization) -> dict:
    """Figures for the sync status panel and the sync-status API (SPEC §5, §7)."""
    events = InboundEvent.objects.filter(organization=organization)
    figures = events.aggregate(
        last_succeeded_at=Max("finished_at", filter=Q(status=InboundEvent.Status.SUCCEEDED)),
        pending=Count("id", filter=Q(status=InboundEvent.Status.PENDING)),
        processing=Count("id", filter=Q(status=InboundEvent.Status.PROCESSING)),
        failed=Count("id", filter=Q(status=InboundEvent.Status.FAILED)),
        oldest_pending_at=Min("received_at", filter=Q(status=InboundEvent.Status.PENDING)),
    )
    now = timezone.now()
    oldest = figures.pop("oldest_pending_at")
    figures["oldest_pending_age"] = (now - oldest) if oldest else timedelta(0)
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
            "outcome",
        )[:RECENT_EVENT_COUNT]
    )
    return figures
