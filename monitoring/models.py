"""What monitoring records: endpoint probes, scheduler heartbeats, alerts and hourly roll-ups."""

from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class EndpointProbe(models.Model):
    """One request of the health probe to the public webhook endpoint, and its answer."""

    checked_at = models.DateTimeField(_("checked at"), default=timezone.now, db_index=True)
    url = models.CharField(_("URL"), max_length=500)
    ok = models.BooleanField(_("answered"))
    status_code = models.PositiveSmallIntegerField(_("HTTP status"), null=True, blank=True)
    elapsed_ms = models.PositiveIntegerField(_("time (ms)"), default=0)
    # An exception class name or "HTTP 502": never a body, which may echo anything.
    error = models.CharField(_("error"), max_length=200, blank=True)

    class Meta:
        verbose_name = _("endpoint probe")
        verbose_name_plural = _("endpoint probes")
        ordering = ["-checked_at"]
        indexes = [
            models.Index(
                fields=["-checked_at"], condition=Q(ok=True), name="endpoint_probe_last_ok"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.checked_at:%Y-%m-%d %H:%M:%S} {'ok' if self.ok else self.error}"


class SchedulerHeartbeat(models.Model):
    """Last sign of life from each Celery beat process, written by beat itself."""

    hostname = models.CharField(_("scheduler"), max_length=255, unique=True)
    last_seen_at = models.DateTimeField(_("last seen"), default=timezone.now)

    class Meta:
        verbose_name = _("scheduler heartbeat")
        verbose_name_plural = _("scheduler heartbeats")

    def __str__(self) -> str:
        return self.hostname


class Alert(models.Model):
    """One episode of a failing part: started, (reminded,) cleared. At most one open per part."""

    class Part(models.TextChoices):
        ENDPOINT = "endpoint", _("Webhook endpoint")
        WORKER = "worker", _("Worker")
        SCHEDULER = "scheduler", _("Scheduler (beat)")
        REJECTIONS = "rejections", _("Rejection rate")

    part = models.CharField(_("part"), max_length=20, choices=Part.choices)
    started_at = models.DateTimeField(_("started"), default=timezone.now)
    cleared_at = models.DateTimeField(_("cleared"), null=True, blank=True)
    last_healthy_at = models.DateTimeField(_("last known healthy"), null=True, blank=True)
    # When people were last told (start or daily reminder); never more than once a day.
    notified_at = models.DateTimeField(_("last notified"), null=True, blank=True)
    # What was seen, as parameters (rendered at display time in the reader's language).
    params = models.JSONField(_("details"), default=dict, blank=True)

    class Meta:
        verbose_name = _("alert")
        verbose_name_plural = _("alerts")
        ordering = ["-started_at"]
        constraints = [
            # Two evaluators (beat and worker) racing to open the same alert: one wins.
            models.UniqueConstraint(
                fields=["part"],
                condition=Q(cleared_at__isnull=True),
                name="one_open_alert_per_part",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_part_display()} {self.started_at:%Y-%m-%d %H:%M}"

    @property
    def is_open(self) -> bool:
        return self.cleared_at is None


class TrafficHour(models.Model):
    """Webhook traffic of one finished UTC hour (self-tests excluded), rolled up once.

    The dashboard reads these instead of counting a million rows, and they outlive the
    rows retention deletes.
    """

    hour = models.DateTimeField(_("hour (UTC)"), unique=True)
    accepted = models.PositiveIntegerField(_("accepted"), default=0)
    rejected = models.PositiveIntegerField(_("rejected"), default=0)
    rejected_by_reason = models.JSONField(_("rejected by reason"), default=dict, blank=True)

    class Meta:
        verbose_name = _("traffic hour")
        verbose_name_plural = _("traffic hours")
        ordering = ["-hour"]

    def __str__(self) -> str:
        return f"{self.hour:%Y-%m-%d %H}:00"
