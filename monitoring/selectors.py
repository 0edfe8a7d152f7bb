"""Read side of monitoring: the state of every part, the health figures, scoped warnings.

Fast at any size (issue 9): the hourly chart and the 24 h totals read `TrafficHour`
roll-ups for finished hours and count live rows only for the hours not rolled up yet
(normally just the current one), through the `received_at` indexes. Every other figure
is an indexed aggregate over a small set (unfinished or failed events, heartbeats,
probes). The number of queries is the same at 10 events and at 10 million.
"""

import os
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from django.conf import settings
from django.db.models import Count, Max
from django.db.models.functions import TruncHour
from django.utils import timezone

from monitoring.models import Alert, EndpointProbe, SchedulerHeartbeat, TrafficHour
from sync.models import InboundEvent, WorkerHeartbeat
from sync.selectors import inbound_event_queue_depth
from webhooks.models import WebhookRejection

CHART_HOURS = 24
ALERT_WINDOW = timedelta(hours=1)
Part = Alert.Part
Status = InboundEvent.Status


def stale_after() -> timedelta:
    return timedelta(seconds=settings.MONITORING_STALE_AFTER_SECONDS)


def alert_delay_seconds() -> int:
    """At most how long after a part fails its alert shows (view and docs say so)."""
    heartbeat = settings.MONITORING_HEARTBEAT_INTERVAL_SECONDS
    return settings.MONITORING_STALE_AFTER_SECONDS + heartbeat


def endpoint_probe_url() -> str:
    """The health path beside the endpoint, reached the way Min Side reaches the endpoint."""
    base = settings.WEBHOOK_PUBLIC_URL
    if not base:
        # make run: the local server (PORT/HOST as the Makefile exports them).
        host = os.environ.get("HOST", "127.0.0.1")
        base = f"http://{host}:{os.environ.get('PORT', '8000')}/webhooks/dynamics/"
    return base.rstrip("/") + "/health"


def hour_floor(moment: datetime) -> datetime:
    return moment.astimezone(UTC).replace(minute=0, second=0, microsecond=0)


# --- the parts ------------------------------------------------------------------------


@dataclass(frozen=True)
class PartState:
    part: str
    failing: bool
    last_healthy_at: datetime | None
    params: dict = field(default_factory=dict)

    @property
    def label(self) -> str:
        return str(Part(self.part).label)


@dataclass(frozen=True)
class Signals:
    """The raw signs of life the part states are derived from."""

    now: datetime
    workers_last_seen_at: datetime | None
    scheduler_last_seen_at: datetime | None
    last_probe: EndpointProbe | None
    last_ok_probe_at: datetime | None
    accepted_last_hour: int
    rejected_last_hour: int


def signals_read(*, now: datetime | None = None) -> Signals:
    now = now or timezone.now()
    since = now - ALERT_WINDOW
    return Signals(
        now=now,
        workers_last_seen_at=WorkerHeartbeat.objects.aggregate(last=Max("last_seen_at"))["last"],
        scheduler_last_seen_at=SchedulerHeartbeat.objects.aggregate(last=Max("last_seen_at"))[
            "last"
        ],
        last_probe=EndpointProbe.objects.order_by("-checked_at").first(),
        last_ok_probe_at=EndpointProbe.objects.filter(ok=True)
        .order_by("-checked_at")
        .values_list("checked_at", flat=True)
        .first(),
        accepted_last_hour=InboundEvent.objects.filter(
            received_at__gte=since, is_self_test=False
        ).count(),
        rejected_last_hour=WebhookRejection.objects.filter(
            received_at__gte=since, is_self_test=False
        ).count(),
    )


def rejection_alert_due(*, accepted: int, rejected: int) -> bool:
    """More than the alert rate rejected, and enough payloads that the rate means something."""
    total = accepted + rejected
    if total < settings.MONITORING_REJECTION_ALERT_MIN_PAYLOADS:
        return False
    return rejected / total > settings.MONITORING_REJECTION_ALERT_RATE


def part_states(signals: Signals) -> dict[str, PartState]:
    now, stale = signals.now, stale_after()

    def fresh(moment: datetime | None) -> bool:
        return moment is not None and now - moment <= stale

    scheduler_up = fresh(signals.scheduler_last_seen_at)
    probe = signals.last_probe
    if probe is None or not fresh(probe.checked_at):
        # Probes stopped. Beat runs them: with beat down the scheduler alert says so, and
        # the endpoint is unknown rather than blamed.
        endpoint_failing = scheduler_up
        endpoint_params = {"reason": "probes_stopped"}
    else:
        endpoint_failing = not probe.ok
        endpoint_params = {"reason": "probe_failed", "error": probe.error}
    total = signals.accepted_last_hour + signals.rejected_last_hour
    rate = signals.rejected_last_hour / total if total else 0.0
    return {
        Part.ENDPOINT: PartState(
            Part.ENDPOINT, endpoint_failing, signals.last_ok_probe_at, endpoint_params
        ),
        Part.WORKER: PartState(
            Part.WORKER,
            not fresh(signals.workers_last_seen_at),
            signals.workers_last_seen_at,
        ),
        Part.SCHEDULER: PartState(Part.SCHEDULER, not scheduler_up, signals.scheduler_last_seen_at),
        Part.REJECTIONS: PartState(
            Part.REJECTIONS,
            rejection_alert_due(
                accepted=signals.accepted_last_hour, rejected=signals.rejected_last_hour
            ),
            None,
            {
                "rate_pct": round(100 * rate, 1),
                "rejected": signals.rejected_last_hour,
                "accepted": signals.accepted_last_hour,
            },
        ),
    }


OUTAGE_PARTS = (Part.ENDPOINT, Part.WORKER, Part.SCHEDULER)


@dataclass(frozen=True)
class IntegrationState:
    """healthy | degraded | outage, what fails, and what people were told."""

    level: str
    failing: list[PartState]
    open_alerts: dict[str, Alert]
    failed_events: int

    @property
    def outages(self) -> list[PartState]:
        return [state for state in self.failing if state.part in OUTAGE_PARTS]

    @property
    def notified_at(self) -> datetime | None:
        times = [alert.notified_at for alert in self.open_alerts.values() if alert.notified_at]
        return min(times) if times else None


def _level(failing: list[PartState], failed_events: int) -> str:
    if any(state.part in OUTAGE_PARTS for state in failing):
        return "outage"
    if failing or failed_events:
        return "degraded"
    return "healthy"


def integration_state(
    *, signals: Signals | None = None, failed_events: int | None = None
) -> IntegrationState:
    signals = signals or signals_read()
    failing = [state for state in part_states(signals).values() if state.failing]
    if failed_events is None:
        failed_events = failed_event_count()
    return IntegrationState(
        level=_level(failing, failed_events),
        failing=failing,
        open_alerts={a.part: a for a in Alert.objects.filter(cleared_at__isnull=True)},
        failed_events=failed_events,
    )


def failed_event_count(*, organization_ids=None) -> int:
    # The (status, received_at) / (organization, status, …) indexes answer this directly.
    events = InboundEvent.objects.filter(status=Status.FAILED, is_self_test=False)
    if organization_ids is not None:
        events = events.filter(organization_id__in=organization_ids)
    return events.count()


# --- the health dashboard ---------------------------------------------------------------


@dataclass(frozen=True)
class HourlyBucket:
    hour: datetime
    accepted: int
    rejected: int


@dataclass(frozen=True)
class HealthFigures:
    now: datetime
    signals: Signals
    state: IntegrationState
    parts: dict[str, PartState]
    hourly: list[HourlyBucket]
    rejections_by_reason: list[tuple[str, str, int]]  # (code, label, count), most first
    last_accepted_at: datetime | None
    pending: int
    processing: int
    oldest_queued_at: datetime | None

    @property
    def accepted_24h(self) -> int:
        return sum(bucket.accepted for bucket in self.hourly)

    @property
    def rejected_24h(self) -> int:
        return sum(bucket.rejected for bucket in self.hourly)

    @property
    def received_24h(self) -> int:
        return self.accepted_24h + self.rejected_24h

    @property
    def accepted_last_hour(self) -> int:
        return self.signals.accepted_last_hour

    @property
    def rejected_last_hour(self) -> int:
        return self.signals.rejected_last_hour

    @property
    def rejection_rate_last_hour(self) -> float:
        total = self.accepted_last_hour + self.rejected_last_hour
        return self.rejected_last_hour / total if total else 0.0

    @property
    def rejection_alert(self) -> bool:
        return self.parts[Part.REJECTIONS].failing

    @property
    def failed_events(self) -> int:
        return self.state.failed_events

    @property
    def queue_depth(self) -> int:
        return self.pending + self.processing

    @property
    def oldest_queued_age(self) -> timedelta | None:
        return self.now - self.oldest_queued_at if self.oldest_queued_at else None


def _live_hourly(queryset, *, since: datetime, by_reason: bool = False) -> list[dict]:
    # Bucketed in UTC so a daylight-saving change never merges or drops an hour.
    columns = ("hour", "reason") if by_reason else ("hour",)
    return list(
        queryset.filter(received_at__gte=since, is_self_test=False)
        .annotate(hour=TruncHour("received_at", tzinfo=UTC))
        .values(*columns)
        .annotate(count=Count("pk"))
        .order_by()
    )


def traffic_by_hour(*, now: datetime) -> tuple[list[HourlyBucket], Counter]:
    """The chart's 24 UTC hours (the current one included) and rejections by reason."""
    first_hour = hour_floor(now) - timedelta(hours=CHART_HOURS - 1)
    rolled = {
        row.hour.astimezone(UTC): row for row in TrafficHour.objects.filter(hour__gte=first_hour)
    }
    # Live counts start at the first hour of the window that has no roll-up yet.
    live_since = first_hour
    while live_since in rolled:
        live_since += timedelta(hours=1)
    accepted: Counter[datetime] = Counter()
    rejected: Counter[datetime] = Counter()
    reasons: Counter[str] = Counter()
    for row in rolled.values():
        if row.hour < live_since:
            accepted[row.hour.astimezone(UTC)] += row.accepted
            rejected[row.hour.astimezone(UTC)] += row.rejected
            reasons.update(row.rejected_by_reason)
    if live_since <= hour_floor(now):
        for live in _live_hourly(InboundEvent.objects.all(), since=live_since):
            accepted[live["hour"].astimezone(UTC)] += live["count"]
        for live in _live_hourly(WebhookRejection.objects.all(), since=live_since, by_reason=True):
            rejected[live["hour"].astimezone(UTC)] += live["count"]
            reasons[live["reason"]] += live["count"]
    hourly = [
        HourlyBucket(hour=hour, accepted=accepted[hour], rejected=rejected[hour])
        for hour in (first_hour + timedelta(hours=offset) for offset in range(CHART_HOURS))
    ]
    return hourly, reasons


def health_figures(*, now: datetime | None = None) -> HealthFigures:
    """Every figure of the health dashboard in a fixed number of queries."""
    now = now or timezone.now()
    signals = signals_read(now=now)
    parts = part_states(signals)
    hourly, reasons = traffic_by_hour(now=now)
    labels = dict(WebhookRejection.Reason.choices)
    by_reason = sorted(
        ((code, str(labels.get(code, code)), count) for code, count in reasons.items() if count),
        key=lambda item: (-item[2], item[0]),
    )
    queue = inbound_event_queue_depth()
    return HealthFigures(
        now=now,
        signals=signals,
        state=integration_state(signals=signals),
        parts=parts,
        hourly=hourly,
        rejections_by_reason=by_reason,
        # The received_at index answers MAX at once.
        last_accepted_at=InboundEvent.objects.filter(is_self_test=False).aggregate(
            last=Max("received_at")
        )["last"],
        pending=queue["pending"],
        processing=queue["processing"],
        oldest_queued_at=queue["oldest_received_at"],
    )


# --- what an organisation administrator is told --------------------------------------------


@dataclass(frozen=True)
class OrganizationWarning:
    level: str
    not_applied_since: datetime | None
    endpoint_down_since: datetime | None
    worker_down: bool
    endpoint_down: bool
    notified_at: datetime | None
    failed_events: int


def organization_warning(*, organization_ids) -> OrganizationWarning | None:
    """The platform's state as it concerns these organisations; None when all is well.

    Says nothing about other organisations: only the parts every organisation shares
    (the endpoint Min Side posts to, the workers that apply events) and the failed
    events of the given organisations. A stopped beat or another source's rejections
    do not delay their events, so they are not mentioned here.
    """
    state = integration_state(failed_events=failed_event_count(organization_ids=organization_ids))
    outages = {s.part: s for s in state.outages if s.part in (Part.WORKER, Part.ENDPOINT)}
    if not (outages or state.failed_events):
        return None

    def since(part: str) -> datetime | None:
        if part not in outages:
            return None
        alert = state.open_alerts.get(part)
        return outages[part].last_healthy_at or (alert.started_at if alert else None)

    notified = [state.open_alerts[p].notified_at for p in outages if p in state.open_alerts]
    return OrganizationWarning(
        level="outage" if outages else "degraded",
        not_applied_since=since(Part.WORKER),
        endpoint_down_since=since(Part.ENDPOINT),
        worker_down=Part.WORKER in outages,
        endpoint_down=Part.ENDPOINT in outages,
        notified_at=min((t for t in notified if t), default=None),
        failed_events=state.failed_events,
    )
