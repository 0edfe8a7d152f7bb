"""App config for monitoring: health probes, heartbeats, alerts, notifications, metrics."""

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class MonitoringConfig(AppConfig):
    name = "monitoring"
    verbose_name = _("Monitoring")

    def ready(self) -> None:
        from monitoring import metrics

        # Counters follow the signals webhooks and sync send; neither imports monitoring.
        metrics.receivers_connect()
