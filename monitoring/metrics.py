"""Prometheus metrics of SPEC §9, right across every web and worker process.

Counters and the lag histogram live in prometheus-client's multiprocess files (see
metrics_dir); the queue gauges are computed from the database at scrape time, so they
are the same whichever process answers. Labels carry only codes and statuses, never
personal data or ids.
"""

import os
from functools import cache

from django.conf import settings

from monitoring.metrics_dir import metrics_dir, process_identifier

os.environ.setdefault("PROMETHEUS_MULTIPROC_DIR", str(metrics_dir()))

from prometheus_client import (  # noqa: E402 - after PROMETHEUS_MULTIPROC_DIR is set
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
    values,
)
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily  # noqa: E402
from prometheus_client.multiprocess import MultiProcessCollector  # noqa: E402

# Multiprocess values whatever was imported first, with the tree in the file name.
values.ValueClass = values.MultiProcessValue(process_identifier=process_identifier)

LAG_BUCKETS = (0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600, 1800, 3600)
WEBHOOK_RESULTS = ("accepted", "duplicate", "rejected")
SYNC_STATUSES = ("succeeded", "failed", "skipped")


@cache
def _metrics():
    """Created on first use, in the process that uses it (after its tree is named)."""
    metrics_dir().mkdir(parents=True, exist_ok=True)
    registry = CollectorRegistry()  # not the global one: nothing else registers here
    return {
        "requests": Counter(
            "minside_webhook_requests",
            "Webhook requests answered, by result.",
            ["result"],
            registry=registry,
        ),
        "rejections": Counter(
            "minside_webhook_rejections",
            "Webhook requests refused, by SPEC §4.3 reason code.",
            ["reason"],
            registry=registry,
        ),
        "events": Counter(
            "minside_sync_events",
            "Sync events finished, by status.",
            ["status"],
            registry=registry,
        ),
        "lag": Histogram(
            "minside_sync_lag_seconds",
            "Received → applied, per finished event.",
            buckets=LAG_BUCKETS,
            registry=registry,
        ),
    }


def webhook_request_count(*, result: str, reason: str | None) -> None:
    metrics = _metrics()
    if result in WEBHOOK_RESULTS:
        metrics["requests"].labels(result=result).inc()
    if reason:
        metrics["rejections"].labels(reason=reason).inc()


def sync_events_count(*, results) -> None:
    metrics = _metrics()
    for status, lag_seconds in results:
        if status in SYNC_STATUSES:
            metrics["events"].labels(status=status).inc()
            metrics["lag"].observe(max(float(lag_seconds), 0.0))


def _on_webhook_request(sender, *, result, reason=None, is_self_test=False, **kwargs):
    if not is_self_test:  # self-tests are not traffic
        webhook_request_count(result=result, reason=reason)


def _on_events_finished(sender, *, results, **kwargs):
    sync_events_count(results=results)


def receivers_connect() -> None:
    from sync.signals import inbound_events_finished
    from webhooks.signals import webhook_request_handled

    webhook_request_handled.connect(_on_webhook_request, dispatch_uid="monitoring_webhook")
    inbound_events_finished.connect(_on_events_finished, dispatch_uid="monitoring_sync")


class _DatabaseGauges:
    """Queue depth and age, read at scrape time (one indexed query over unfinished rows)."""

    def collect(self):
        from monitoring.selectors import failed_event_count
        from sync.selectors import inbound_event_queue_depth

        queue = inbound_event_queue_depth()
        depth = GaugeMetricFamily(
            "minside_sync_queue_depth", "Events waiting, by state.", labels=["state"]
        )
        depth.add_metric(["pending"], queue["pending"])
        depth.add_metric(["processing"], queue["processing"])
        depth.add_metric(["failed"], failed_event_count())
        yield depth
        yield GaugeMetricFamily(
            "minside_sync_oldest_pending_seconds",
            "Age of the oldest event not yet finished.",
            value=queue["oldest_age"].total_seconds() if queue["total"] else 0.0,
        )
        # Reconciliation (SPEC §5.1): read from the database, so right across processes.
        from dataverse.selectors import reconcile_metrics_figures

        healed = CounterMetricFamily(
            "minside_reconcile_healed", "Changes healed by reconciliation.", labels=["source"]
        )
        last_success = GaugeMetricFamily(
            "minside_reconcile_last_success_timestamp_seconds",
            "When reconciliation last succeeded, per source.",
            labels=["source"],
        )
        for figures in reconcile_metrics_figures():
            healed.add_metric([figures.source_identifier], figures.healed_total)
            if figures.last_success_at is not None:
                last_success.add_metric(
                    [figures.source_identifier], figures.last_success_at.timestamp()
                )
        yield healed
        yield last_success


def metrics_render() -> bytes:
    """The Prometheus text of all processes' files plus the database gauges."""
    registry = CollectorRegistry()
    MultiProcessCollector(registry, path=str(metrics_dir()))
    registry.register(_DatabaseGauges())
    return generate_latest(registry)


def metrics_token_configured() -> bool:
    return bool(settings.METRICS_TOKEN)
