"""Write side of monitoring: probes, heartbeats, alert transitions, notifications, roll-ups,
retention."""

import logging
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import requests
from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.mail import send_mail
from django.db import IntegrityError, transaction
from django.db.models import Count, Q
from django.db.models.functions import TruncHour
from django.utils import formats, timezone, translation
from django.utils.translation import gettext as _

from monitoring.models import Alert, EndpointProbe, SchedulerHeartbeat, TrafficHour
from monitoring.selectors import (
    PartState,
    endpoint_probe_url,
    hour_floor,
    part_states,
    signals_read,
)
from organizations.permissions import GLOBAL_ADMIN_GROUP
from sync.models import FINISHED_STATUSES, InboundEvent
from webhooks.models import WebhookRejection

logger = logging.getLogger(__name__)

Part = Alert.Part
# A finished hour is rolled up this long after it ended: an event stamped 10:59:59.9
# and committed a moment later is still counted.
ROLLUP_SETTLE = timedelta(minutes=5)
ROLLUP_LOOKBACK = timedelta(hours=48)
# Probe rows older than this are trimmed by retention; the last success is kept.
PROBE_KEEP = timedelta(days=7)


# --- signs of life ----------------------------------------------------------------------


def endpoint_probe_run(*, url: str | None = None) -> EndpointProbe:
    """GET the endpoint's health path the way Min Side reaches the endpoint; record it."""
    url = url or endpoint_probe_url()
    started = time.monotonic()
    status_code, error = None, ""
    try:
        response = requests.get(url, timeout=settings.MONITORING_PROBE_TIMEOUT_SECONDS)
        status_code = response.status_code
        ok = status_code == 200
        if not ok:
            error = f"HTTP {status_code}"
    except requests.RequestException as exc:
        ok, error = False, type(exc).__name__
    elapsed_ms = round((time.monotonic() - started) * 1000)
    return EndpointProbe.objects.create(
        url=url[:500], ok=ok, status_code=status_code, elapsed_ms=elapsed_ms, error=error[:200]
    )


def scheduler_heartbeat_record(*, hostname: str) -> SchedulerHeartbeat:
    heartbeat, _created = SchedulerHeartbeat.objects.update_or_create(
        hostname=hostname, defaults={"last_seen_at": timezone.now()}
    )
    return heartbeat


# --- alerts and notifications --------------------------------------------------------------


@dataclass(frozen=True)
class Transition:
    kind: str  # started | reminder | cleared
    alert: Alert


def alerts_evaluate(*, now: datetime | None = None) -> list[Transition]:
    """Open, remind or clear one alert per part; notify once per transition.

    Beat and every worker run this; the partial unique constraint and conditional
    updates make each transition happen (and be sent) exactly once among them.
    """
    now = now or timezone.now()
    states = part_states(signals_read(now=now))
    open_alerts = {alert.part: alert for alert in Alert.objects.filter(cleared_at__isnull=True)}
    remind_before = now - timedelta(hours=settings.MONITORING_REMINDER_HOURS)
    transitions: list[Transition] = []
    for part, state in states.items():
        alert = open_alerts.get(part)
        if state.failing and alert is None:
            opened = _alert_open(state, now=now)
            if opened is not None:
                transitions.append(Transition("started", opened))
        elif (
            state.failing
            and alert is not None
            and alert.notified_at
            and alert.notified_at <= remind_before
        ):
            reminded = Alert.objects.filter(
                pk=alert.pk, cleared_at__isnull=True, notified_at=alert.notified_at
            ).update(notified_at=now)
            if reminded:
                alert.notified_at = now
                transitions.append(Transition("reminder", alert))
        elif not state.failing and alert is not None:
            cleared = Alert.objects.filter(pk=alert.pk, cleared_at__isnull=True).update(
                cleared_at=now
            )
            if cleared:
                alert.cleared_at = now
                transitions.append(Transition("cleared", alert))
    for transition in transitions:
        alert_notify(transition=transition)
    return transitions


def _alert_open(state: PartState, *, now: datetime) -> Alert | None:
    try:
        with transaction.atomic():
            return Alert.objects.create(
                part=state.part,
                started_at=now,
                last_healthy_at=state.last_healthy_at,
                notified_at=now,
                params=state.params,
            )
    except IntegrityError:  # another evaluator opened it a moment ago
        return None


def alert_recipients() -> list[str]:
    users = get_user_model().objects.filter(is_active=True).exclude(email="")
    admins = users.filter(Q(is_superuser=True) | Q(groups__name=GLOBAL_ADMIN_GROUP)).distinct()
    addresses = sorted({user.email for user in admins} | set(settings.MONITORING_ALERT_EMAILS))
    return addresses


def _when(moment: datetime | None) -> str:
    if moment is None:
        return _("never")
    return formats.date_format(timezone.localtime(moment), "DATETIME_FORMAT")


def alert_message(*, transition: Transition) -> tuple[str, str]:
    """Subject and body of a notification, in the site language."""
    alert = transition.alert
    part = alert.get_part_display()
    values = {
        "part": part,
        "healthy": _when(alert.last_healthy_at),
        "since": _when(alert.started_at),
    }
    if transition.kind == "cleared":
        subject = _("[minside-bridge] Resolved: %(part)s") % values
        body = _("%(part)s is healthy again (alert since %(since)s).") % values
    else:
        prefix = _("Still failing") if transition.kind == "reminder" else _("Outage")
        if alert.part == Part.REJECTIONS:
            prefix = _("Still high") if transition.kind == "reminder" else _("Warning")
        subject = f"[minside-bridge] {prefix}: {part}"
        if alert.part == Part.REJECTIONS:
            body = _("%(rate)s %% of the payloads in the last hour were rejected.") % {
                "rate": alert.params.get("rate_pct", "?")
            }
        else:
            body = (
                _("%(part)s is failing since %(since)s. Last known healthy: %(healthy)s.") % values
            )
        body += "\n\n" + _("Details on the webhook health page of the admin.")
    return subject, body


def alert_notify(*, transition: Transition) -> None:
    """One e-mail to the global administrators, plus the optional webhook channel."""
    with translation.override(settings.LANGUAGE_CODE):
        subject, body = alert_message(transition=transition)
    recipients = alert_recipients()
    if recipients:
        try:
            send_mail(subject, body, settings.DEFAULT_FROM_EMAIL, recipients)
        except Exception:  # noqa: BLE001 - a mail failure must not stop the evaluation
            logger.exception("alert e-mail could not be sent")
    if settings.MONITORING_ALERT_WEBHOOK_URL:
        try:
            requests.post(
                settings.MONITORING_ALERT_WEBHOOK_URL,
                json={"text": f"{subject}\n{body}"},
                timeout=settings.MONITORING_PROBE_TIMEOUT_SECONDS,
            )
        except requests.RequestException as exc:
            logger.warning("alert webhook could not be reached: %s", type(exc).__name__)
    logger.info("alert %s: %s", transition.kind, transition.alert.part)


# --- hourly roll-ups -------------------------------------------------------------------------


def traffic_rollup(*, now: datetime | None = None) -> int:
    """Roll up every finished hour of the last two days that has no roll-up; return how many.

    Three grouped queries however many hours are missing; a finished hour never changes
    again, so each is written once.
    """
    now = now or timezone.now()
    last_hour = hour_floor(now - ROLLUP_SETTLE) - timedelta(hours=1)
    first_hour = hour_floor(now - ROLLUP_LOOKBACK)
    done = set(
        h.astimezone(UTC)
        for h in TrafficHour.objects.filter(hour__gte=first_hour).values_list("hour", flat=True)
    )
    missing = [
        first_hour + timedelta(hours=n)
        for n in range(int((last_hour - first_hour).total_seconds() // 3600) + 1)
    ]
    missing = [hour for hour in missing if hour not in done]
    if not missing:
        return 0
    since, until = missing[0], missing[-1] + timedelta(hours=1)

    def grouped(queryset, *columns):
        return (
            queryset.filter(received_at__gte=since, received_at__lt=until, is_self_test=False)
            .annotate(hour=TruncHour("received_at", tzinfo=UTC))
            .values("hour", *columns)
            .annotate(count=Count("pk"))
            .order_by()
        )

    rows = {hour: TrafficHour(hour=hour, rejected_by_reason={}) for hour in missing}
    for row in grouped(InboundEvent.objects.all()):
        hour = row["hour"].astimezone(UTC)
        if hour in rows:
            rows[hour].accepted += row["count"]
    for row in grouped(WebhookRejection.objects.all(), "reason"):
        hour = row["hour"].astimezone(UTC)
        if hour in rows:
            rows[hour].rejected += row["count"]
            rows[hour].rejected_by_reason[row["reason"]] = row["count"]
    TrafficHour.objects.bulk_create(rows.values(), ignore_conflicts=True)
    return len(rows)


# --- retention of personal data ------------------------------------------------------------


@dataclass(frozen=True)
class RetentionReport:
    payloads_purged: int
    rejections_deleted: int
    probes_deleted: int

    def __str__(self) -> str:
        return (
            f"payloads purged: {self.payloads_purged}, rejections deleted: "
            f"{self.rejections_deleted}, probe results deleted: {self.probes_deleted}"
        )


def _in_batches(select, apply, *, batch_size: int) -> int:
    total = 0
    while True:
        # Each batch is its own short transaction: no lock held over a million rows.
        with transaction.atomic():
            ids = list(select()[:batch_size])
            if not ids:
                return total
            total += apply(ids)


def retention_run(*, now: datetime | None = None, batch_size: int | None = None) -> RetentionReport:
    """Strip old finished events' payloads, delete old rejections, in batches; report it.

    Statuses, outcomes, ids, times and the hourly roll-ups stay, so the log, the counts
    and the chart remain right. Roll-ups are brought up to date first.
    """
    now = now or timezone.now()
    batch_size = batch_size or settings.RETENTION_BATCH_SIZE
    traffic_rollup(now=now)
    # At least one day: the dashboard's live counts never lose a row they still show.
    payload_cutoff = now - timedelta(days=max(settings.SYNC_PAYLOAD_RETENTION_DAYS, 1))
    rejection_cutoff = now - timedelta(days=max(settings.WEBHOOK_REJECTION_RETENTION_DAYS, 1))

    def events_due():
        # The partial index on unpurged rows finds these without walking purged ones.
        return (
            InboundEvent.objects.filter(
                payload_purged_at__isnull=True,
                received_at__lt=payload_cutoff,
                status__in=FINISHED_STATUSES,
            )
            .order_by("received_at")
            .values_list("id", flat=True)
        )

    def purge(ids) -> int:
        return InboundEvent.objects.filter(id__in=ids, payload_purged_at__isnull=True).update(
            payload={}, headers={}, normalized=[], payload_purged_at=now
        )

    def rejections_due():
        return (
            WebhookRejection.objects.filter(received_at__lt=rejection_cutoff)
            .order_by("received_at")
            .values_list("id", flat=True)
        )

    def delete(ids) -> int:
        deleted, _detail = WebhookRejection.objects.filter(id__in=ids).delete()
        return deleted

    payloads = _in_batches(events_due, purge, batch_size=batch_size)
    rejections = _in_batches(rejections_due, delete, batch_size=batch_size)
    last_ok = EndpointProbe.objects.filter(ok=True).order_by("-checked_at").first()
    probes = EndpointProbe.objects.filter(checked_at__lt=now - PROBE_KEEP)
    if last_ok is not None:
        probes = probes.exclude(pk=last_ok.pk)
    probes_deleted, _detail = probes.delete()
    report = RetentionReport(payloads, rejections, probes_deleted)
    logger.info("retention: %s", report)
    return report
