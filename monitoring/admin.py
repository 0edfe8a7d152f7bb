"""Admin for monitoring: the health dashboard (global admins) and the alert history."""

from datetime import timedelta

from django.conf import settings
from django.contrib import admin, messages
from django.http import HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import NoReverseMatch, path, reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from monitoring.models import Alert, EndpointProbe
from monitoring.selectors import alert_delay_seconds, endpoint_probe_url, health_figures
from organizations.admin_scoping import GlobalAdminOnlyAdmin, ReadOnlyAdminMixin, global_admin_only
from organizations.requests import AuthenticatedHttpRequest
from sync.models import InboundEvent
from sync.selectors import inbound_event_healed_count, inbound_event_unrouted_count
from sync.services import inbound_event_reprocess


def _failed_events_url() -> str | None:
    try:
        return reverse("admin:sync_inboundevent_changelist") + "?status__exact=failed"
    except NoReverseMatch:  # the sync log admin is not installed
        return None


def _endpoint_url(request) -> str:
    return settings.WEBHOOK_PUBLIC_URL or request.build_absolute_uri(reverse("webhook-dynamics"))


@admin.register(Alert)
class AlertAdmin(ReadOnlyAdminMixin, GlobalAdminOnlyAdmin):
    list_display = ("part", "started_at", "cleared_at", "last_healthy_at", "notified_at")
    list_filter = ("part",)
    ordering = ("-started_at",)
    readonly_fields = ("part", "started_at", "cleared_at", "last_healthy_at", "notified_at")
    fields = readonly_fields

    def get_urls(self):
        return [
            path(
                "health/",
                global_admin_only(self, self.health_view),
                name="monitoring_health",
            ),
            path(
                "health/reprocess-failed/",
                global_admin_only(self, self.reprocess_failed_view),
                name="monitoring_health_reprocess",
            ),
            *super().get_urls(),
        ]

    def health_view(self, request: AuthenticatedHttpRequest):
        figures = health_figures()
        peak = max([bucket.accepted + bucket.rejected for bucket in figures.hourly] + [1])
        chart = [
            {
                "hour": timezone.localtime(bucket.hour),
                "accepted": bucket.accepted,
                "rejected": bucket.rejected,
                "accepted_pct": round(100 * bucket.accepted / peak, 1),
                "rejected_pct": round(100 * bucket.rejected / peak, 1),
            }
            for bucket in figures.hourly
        ]
        rejections_url = reverse("admin:webhooks_webhookrejection_changelist")
        context = {
            **self.admin_site.each_context(request),
            "title": _("Webhook health"),
            "opts": self.model._meta,
            "figures": figures,
            "parts": figures.parts,
            "outages": figures.state.outages,
            "open_alerts": figures.state.open_alerts,
            "chart": chart,
            "endpoint_url": _endpoint_url(request),
            "probe_url": endpoint_probe_url(),
            "alert_delay_seconds": alert_delay_seconds(),
            "heartbeat_seconds": settings.MONITORING_HEARTBEAT_INTERVAL_SECONDS,
            "rejection_rate_pct": round(100 * figures.rejection_rate_last_hour, 1),
            "failed_events_url": _failed_events_url(),
            "reprocess_url": reverse("admin:monitoring_health_reprocess"),
            "rejections_url": rejections_url,
            "signature_rejections_url": rejections_url + "?reason__exact=invalid_signature",
            # Changes only reconciliation brought (SPEC §5.1): webhooks that never arrived.
            "healed_24h": inbound_event_healed_count(since=figures.now - timedelta(hours=24)),
            # A shared source's events that matched no organisation (SPEC §4.4).
            "unrouted_failed": inbound_event_unrouted_count(),
            "unrouted_url": reverse("admin:sync_inboundevent_changelist")
            + "?organization__isnull=True&status__exact=failed",
        }
        return TemplateResponse(request, "admin/monitoring/health.html", context)

    def reprocess_failed_view(self, request: AuthenticatedHttpRequest):
        """Every failed event back to the queue, after a confirmation page."""
        failed = InboundEvent.objects.filter(status=InboundEvent.Status.FAILED, is_self_test=False)
        if request.method != "POST" or request.POST.get("confirmed") != "yes":
            context = {
                **self.admin_site.each_context(request),
                "title": _("Reprocess all failed events?"),
                "opts": self.model._meta,
                "count": failed.count(),
                "health_url": reverse("admin:monitoring_health"),
            }
            return TemplateResponse(request, "admin/monitoring/reprocess_confirm.html", context)
        count = inbound_event_reprocess(events=failed, user=request.user)
        self.message_user(
            request,
            ngettext(
                "%(count)d failed event was queued for reprocessing.",
                "%(count)d failed events were queued for reprocessing.",
                count,
            )
            % {"count": count},
            messages.SUCCESS if count else messages.WARNING,
        )
        return HttpResponseRedirect(reverse("admin:monitoring_health"))


@admin.register(EndpointProbe)
class EndpointProbeAdmin(ReadOnlyAdminMixin, GlobalAdminOnlyAdmin):
    list_display = ("checked_at", "ok", "status_code", "elapsed_ms", "error", "url")
    list_filter = ("ok",)
    ordering = ("-checked_at",)
    show_full_result_count = False
