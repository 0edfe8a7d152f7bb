"""The sync log (read-only, scoped per organisation, with Reprocess) and worker heartbeats."""

import json

from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.contrib.admin.utils import unquote
from django.db.models import Q
from django.http import HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import formats
from django.utils.html import format_html
from django.utils.timezone import localtime
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext, pgettext_lazy

from organizations.admin_csv import CsvExportMixin
from organizations.admin_scoping import (
    GlobalAdminOnlyAdmin,
    OrganizationScopedAdmin,
    ReadOnlyAdminMixin,
    org_scoped,
    scoped_choices,
)
from organizations.formatting import duration_text
from organizations.models import Organization
from organizations.requests import AuthenticatedHttpRequest
from organizations.selectors import member_portal_ids_matching
from sync.appliers import APPLIERS
from sync.models import InboundEvent, WorkerHeartbeat
from sync.pagination import EstimatedCountPaginator
from sync.routing import inbound_events_route
from sync.services import inbound_event_reprocess

OUTCOME_PREVIEW_LENGTH = 120


def _pretty_json(value) -> str:
    return format_html(
        '<pre style="white-space: pre-wrap; max-height: 40em; overflow: auto">{}</pre>',
        json.dumps(value, indent=2, ensure_ascii=False, sort_keys=True),
    )


class EventTypeFilter(admin.SimpleListFilter):
    """The known event types, without SELECT DISTINCT over the whole inbox."""

    title = _("event type")
    parameter_name = "event_type__exact"

    def lookups(self, request, model_admin):
        # webhook.test: self-tests are not in the sync log.
        return [(name, name) for name in sorted(APPLIERS) if name != "webhook.test"]

    def queryset(self, request, queryset):
        return queryset.filter(event_type=self.value()) if self.value() else queryset


class OrganizationFilter(admin.SimpleListFilter):
    """The organisations the user may see, read from the (small) organisation table.

    RelatedOnlyFieldListFilter would find them with SELECT DISTINCT over every event.
    """

    title = _("organisation")
    parameter_name = "organization__id__exact"

    def lookups(self, request, model_admin):
        organizations = scoped_choices(Organization, request.user).order_by("name")
        return [(str(org.pk), org.name) for org in organizations]

    def queryset(self, request, queryset):
        value = self.value()
        if not value:
            return queryset
        if not value.isdigit():
            return queryset.none()
        return queryset.filter(organization_id=int(value))


@admin.register(InboundEvent)
class InboundEventAdmin(CsvExportMixin, ReadOnlyAdminMixin, OrganizationScopedAdmin):
    organization_lookup = "organization"
    # Organisation admins read their own events and may reprocess the failed ones.
    org_admin_permissions = frozenset({"view", "reprocess"})
    # Compact at 1280 px: the outcome is visible, long values are cut with the full
    # text on hover (and on the event's page).
    list_display = (
        "received_at",
        "event_type",
        "status",
        "organization",
        "outcome_preview",
        "lag_display",
        "subject_preview",
    )
    # Fast at a million events (issue 9): no date_hierarchy (its year/month links need
    # SELECT DISTINCT over every row; the received_at filter below asks nothing), filters
    # whose choices come from code or the organisation table, an estimated page count
    # and no full count; newest-first pages come straight from the received_at index.
    list_filter = ("status", EventTypeFilter, OrganizationFilter, "received_at")
    paginator = EstimatedCountPaginator
    show_full_result_count = False
    # Rendering a row (ten cells, an action checkbox rendered through a template) is
    # most of a page's time once the queries are cheap: 50 rows keep it well under 300 ms.
    list_per_page = 50
    search_fields = ("=webhook_id", "subject_ids")
    search_help_text = _(
        "Search by member name or e-mail, webhook id or Min Side member / enrollment id."
    )
    csv_filename = "sync-log"
    csv_columns = (
        (_("received at"), lambda event: event.received_at.isoformat()),
        (_("organisation"), lambda event: event.organization),
        (_("event type"), lambda event: event.event_type),
        (_("status"), lambda event: event.get_status_display()),
        (_("member / enrollment ids"), lambda event: event.subject_ids),
        (_("attempts"), lambda event: event.attempts),
        (_("outcome"), lambda event: event.outcome),
        (
            _("lag (seconds)"),
            lambda event: f"{event.lag.total_seconds():.1f}" if event.lag is not None else "",
        ),
        (_("webhook id"), lambda event: event.webhook_id),
    )
    list_select_related = ("organization",)
    ordering = ("-received_at",)
    actions = ("reprocess_failed",)
    fieldsets = (
        (
            _("Event"),
            {
                "fields": (
                    "organization",
                    "event_type",
                    "raw_event_type",
                    "subject_ids",
                    "source_identifier",
                    "webhook_id",
                    "payload_format",
                    "occurred_at",
                    "received_at",
                )
            },
        ),
        (
            # Not "Processing" (the status): the heading of the processing details.
            pgettext_lazy("sync event fieldset", "Processing"),
            {
                "fields": (
                    "status",
                    "outcome_display",
                    "attempts",
                    "started_at",
                    "finished_at",
                    "lag_display",
                    "next_attempt_at",
                    "reprocessed_at",
                    "reprocessed_by",
                )
            },
        ),
        (
            _("Payload (personal data)"),
            {
                "fields": (
                    "payload_purged_at",
                    "normalized_pretty",
                    "payload_pretty",
                    "headers_pretty",
                )
            },
        ),
    )
    readonly_fields = (
        "outcome_display",
        "raw_event_type",
        "lag_display",
        "normalized_pretty",
        "payload_pretty",
        "headers_pretty",
    )

    def get_scoped_queryset(self, request):
        # Self-tests are listed on their source's page, not in anyone's sync log.
        return super().get_scoped_queryset(request).filter(is_self_test=False)

    def get_search_results(self, request, queryset, search_term):
        """Also find the events of members named by the search (name or e-mail).

        The log knows members by Min Side id only, so their ids are looked up first,
        among the members of the admin's own organisations.
        """
        found, may_have_duplicates = super().get_search_results(request, queryset, search_term)
        member_ids = member_portal_ids_matching(user=request.user, term=search_term)
        if not member_ids:
            return found, may_have_duplicates
        by_member = Q()
        for member_id in member_ids:
            by_member |= Q(subject_ids__contains=member_id)
        return found | queryset.filter(by_member), may_have_duplicates

    def has_reprocess_permission(self, request, obj=None) -> bool:
        return self._org_admin_may(request, "reprocess", obj)

    # --- columns --------------------------------------------------------------------------------
    @admin.display(description=_("outcome"))
    def outcome_preview(self, obj: InboundEvent) -> str:
        if not obj.outcome:
            return "—"
        short = obj.outcome
        if len(short) > OUTCOME_PREVIEW_LENGTH:
            short = short[:OUTCOME_PREVIEW_LENGTH] + "…"
        return format_html(
            '<span class="cell-truncate cell-wide" title="{}">{}</span>', obj.outcome, short
        )

    @admin.display(description=_("outcome"))
    def outcome_display(self, obj: InboundEvent) -> str:
        # Stored as a code: rendered here, in the reader's language (sync/messages.py).
        return obj.outcome or "—"

    @admin.display(description=_("Min Side ids"))
    def subject_preview(self, obj: InboundEvent) -> str:
        if not obj.subject_ids:
            return "—"
        return format_html(
            '<span class="cell-truncate cell-id" title="{}">{}</span>',
            obj.subject_ids,
            obj.subject_ids,
        )

    @admin.display(description=_("lag"))
    def lag_display(self, obj: InboundEvent) -> str:
        lag = obj.lag
        return duration_text(lag)

    @admin.display(description=_("raw event type"))
    def raw_event_type(self, obj: InboundEvent) -> str:
        """The type as the sender named it: the envelope type or Dataverse entity + message."""
        payload = obj.payload if isinstance(obj.payload, dict) else {}
        if obj.payload_format == InboundEvent.PayloadFormat.DATAVERSE:
            return f"{payload.get('PrimaryEntityName', '?')} {payload.get('MessageName', '?')}"
        return str(payload.get("type", obj.event_type))

    def _purged_or(self, obj: InboundEvent, value) -> str:
        if obj.payload_purged_at is not None:
            return format_html(
                "<em>{}</em>",
                _("Purged on %(date)s under the retention rule; status and outcome are kept.")
                % {"date": formats.date_format(localtime(obj.payload_purged_at), "DATE_FORMAT")},
            )
        return _pretty_json(value)

    @admin.display(description=_("normalised events"))
    def normalized_pretty(self, obj: InboundEvent) -> str:
        return self._purged_or(obj, obj.normalized)

    @admin.display(description=_("original payload"))
    def payload_pretty(self, obj: InboundEvent) -> str:
        return self._purged_or(obj, obj.payload)

    @admin.display(description=_("headers (redacted)"))
    def headers_pretty(self, obj: InboundEvent) -> str:
        return self._purged_or(obj, obj.headers)

    # --- reprocessing ---------------------------------------------------------------------------
    def _reprocess_confirmation(self, request, events, *, single: InboundEvent | None = None):
        # Events whose failure can only fail again until someone corrects the source:
        # offered only with that said, and what must be done first.
        hopeless = [event for event in events if event.outcome_retryable is False]
        context = {
            **self.admin_site.each_context(request),
            "title": _("Reprocess failed events?"),
            "opts": self.model._meta,
            "events": events,
            "hopeless": hopeless,
            "single": single,
            "action_name": "reprocess_failed",
            "action_checkbox_name": helpers.ACTION_CHECKBOX_NAME,
        }
        return TemplateResponse(
            request, "admin/sync/inboundevent/reprocess_confirmation.html", context
        )

    def _reprocess(self, request, events) -> None:
        # Unrouted events (a shared source's, SPEC §4.4) are routed again first; only a
        # global admin sees them, and those still matching no organisation stay failed.
        _routed, still = inbound_events_route(events=events)
        if still:
            self.message_user(
                request,
                ngettext(
                    "%(count)d event still matches no organisation of its source; onboard "
                    "the organisation (or add its routing value) first.",
                    "%(count)d events still match no organisation of their source; onboard "
                    "the organisations (or add their routing values) first.",
                    still,
                )
                % {"count": still},
                messages.WARNING,
            )
        count = inbound_event_reprocess(
            events=events.filter(organization__isnull=False), user=request.user
        )
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

    @admin.action(description=_("Reprocess selected failed events"), permissions=["reprocess"])
    def reprocess_failed(self, request, queryset):
        failed = queryset.filter(status=InboundEvent.Status.FAILED)
        if not failed.exists():
            self.message_user(
                request,
                _("None of the selected events has failed; only failed events are reprocessed."),
                messages.WARNING,
            )
            return None
        if request.POST.get("post") == "yes":
            self._reprocess(request, failed)
            return None
        return self._reprocess_confirmation(request, list(failed.select_related("organization")))

    def get_urls(self):
        return [
            path(
                "<path:object_id>/reprocess/",
                org_scoped(self, self.reprocess_view, permission="reprocess"),
                name="sync_inboundevent_reprocess",
            ),
            *super().get_urls(),
        ]

    def reprocess_view(self, request: AuthenticatedHttpRequest, event: InboundEvent):
        change_url = reverse("admin:sync_inboundevent_change", args=[event.pk])
        if event.status != InboundEvent.Status.FAILED:
            self.message_user(
                request, _("Only failed events can be reprocessed."), messages.WARNING
            )
            return HttpResponseRedirect(change_url)
        if request.method == "POST":
            self._reprocess(request, self.get_queryset(request).filter(pk=event.pk))
            return HttpResponseRedirect(change_url)
        return self._reprocess_confirmation(request, [event], single=event)

    def change_view(self, request, object_id, form_url="", extra_context=None):
        event = self.get_object(request, unquote(object_id))
        failed = event is not None and event.status == InboundEvent.Status.FAILED
        extra_context = {
            **(extra_context or {}),
            "show_reprocess": failed and self.has_reprocess_permission(request, event),
            # The failure, highlighted at the top of the page: what happened, what helps.
            "failure": {
                "outcome": event.outcome,
                "advice": event.outcome_advice,
                "retryable": event.outcome_retryable,
            }
            if failed
            else None,
        }
        return super().change_view(request, object_id, form_url, extra_context)


@admin.register(WorkerHeartbeat)
class WorkerHeartbeatAdmin(ReadOnlyAdminMixin, GlobalAdminOnlyAdmin):
    list_display = ("hostname", "last_seen_at")
    ordering = ("-last_seen_at",)
    readonly_fields = ("hostname", "last_seen_at")
