"""Admin for webhook sources, secrets, rejections and the health dashboard (global admins only)."""

import json
from collections.abc import Callable
from typing import ClassVar

from django import forms
from django.conf import settings
from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Prefetch
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import formats, timezone
from django.utils.html import format_html, format_html_join
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext

from organizations.admin_scoping import (
    GlobalAdminOnlyAdmin,
    OrganizationScopedInline,
    ReadOnlyAdminMixin,
    org_scoped,
)
from organizations.permissions import user_is_global_admin
from webhooks.dry_run import webhook_payload_dry_run
from webhooks.models import (
    SourceOrganization,
    WebhookDryRun,
    WebhookHealth,
    WebhookRejection,
    WebhookRejectionRollup,
    WebhookSecret,
    WebhookSource,
)
from webhooks.selectors import webhook_self_test_list
from webhooks.services import (
    SIZE_EXCEEDED_HEADER,
    webhook_secret_generate,
    webhook_secret_rotate,
    webhook_self_test_send,
    webhook_source_create,
    webhook_source_set_active,
)

SELF_TEST_MAX_SOURCES = 5


def webhook_endpoint_url(request) -> str:
    """The public endpoint URL: WEBHOOK_PUBLIC_URL, else derived from this admin request."""
    return settings.WEBHOOK_PUBLIC_URL or request.build_absolute_uri(reverse("webhook-dynamics"))


def _secret_once_response(request, admin_site, created: list[tuple[WebhookSource, str]]):
    """The only page that ever shows a secret in full, in the answer to the request that made it."""
    context = {
        **admin_site.each_context(request),
        "title": _("Copy the new secret now"),
        "created": created,
        "changelist_url": reverse("admin:webhooks_webhooksource_changelist"),
    }
    response = TemplateResponse(request, "admin/webhooks/secret_once.html", context)
    response["Cache-Control"] = "no-store"
    return response


class WebhookSecretInline(OrganizationScopedInline):
    model = WebhookSecret
    fields = ("masked_secret", "created_at", "expires_at", "state")
    readonly_fields = fields
    extra = 0
    can_delete = False
    verbose_name_plural = gettext_lazy("secrets (masked)")

    def has_add_permission(self, request, obj=None) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    @admin.display(description=gettext_lazy("secret"))
    def masked_secret(self, obj: WebhookSecret) -> str:
        return obj.masked

    @admin.display(description=gettext_lazy("state"))
    def state(self, obj: WebhookSecret) -> str:
        if obj.expires_at is None:
            return _("active")
        return _("active (overlap)") if obj.is_active else _("expired")


class SourceOrganizationInline(OrganizationScopedInline):
    """The organisations of a shared source and their routing values (SPEC §4.4)."""

    model = SourceOrganization
    fields = ("organization", "routing_value", "created_at")
    readonly_fields = ("created_at",)
    extra = 0


@admin.register(WebhookSource)
class WebhookSourceAdmin(GlobalAdminOnlyAdmin):
    list_display = (
        "identifier",
        "organization",
        "shared",
        "is_active",
        "tolerance_seconds",
        "secrets_masked",
        "updated_at",
    )
    list_filter = ("is_active", "organization")
    search_fields = ("identifier", "organization__name", "organization__slug")
    list_select_related = ("organization",)
    fields: ClassVar[tuple[str, ...]] = (
        "organization",
        "identifier",
        "is_active",
        "shared",
        "tolerance_seconds",
        "dataverse_mapping",
        "secrets_masked",
        "self_tests",
        "created_at",
        "updated_at",
    )
    readonly_fields: ClassVar[tuple[str, ...]] = (
        "secrets_masked",
        "self_tests",
        "created_at",
        "updated_at",
    )
    inlines = (WebhookSecretInline,)

    def get_inlines(self, request, obj):
        # Routing values belong to shared sources only; other pages stay as they were.
        if obj is not None and obj.shared:
            return (SourceOrganizationInline, *self.inlines)
        return self.inlines

    actions = (
        "send_test_payload",
        "generate_secret",
        "rotate_secret",
        "disable_sources",
        "enable_sources",
    )

    def get_scoped_queryset(self, request):
        return (
            super()
            .get_scoped_queryset(request)
            .prefetch_related(
                Prefetch("secrets", queryset=WebhookSecret.objects.order_by("-created_at", "-id"))
            )
        )

    @admin.display(description=gettext_lazy("active secrets"))
    def secrets_masked(self, obj: WebhookSource) -> str:
        now = timezone.now()
        active = [secret for secret in obj.secrets.all() if secret.is_active_at(now)]
        if not active:
            return _("none — generate one")
        return ", ".join(secret.masked for secret in active)

    @admin.display(description=gettext_lazy("signed self-tests (latest)"))
    def self_tests(self, obj: WebhookSource) -> str:
        if obj.pk is None:
            return "—"
        records = webhook_self_test_list(source=obj)
        if not records:
            return _("none yet — use the action “Send signed test payload”")
        return format_html(
            '<table id="self-tests"><tr><th>{}</th><th>{}</th><th>{}</th></tr>{}</table>',
            _("sent"),
            _("result"),
            _("detail"),
            format_html_join(
                "",
                "<tr><td>{}</td><td>{}</td><td>{}</td></tr>",
                (
                    (
                        formats.date_format(timezone.localtime(r.received_at), "DATETIME_FORMAT"),
                        (_("accepted (%(status)s)") if r.accepted else _("refused: %(status)s"))
                        % {"status": r.result_label or r.result},
                        r.detail[:200],
                    )
                    for r in records
                ),
            ),
        )

    # --- adding: the service creates the source and its first secret -----------------
    def save_model(self, request, obj, form, change):
        if not user_is_global_admin(request.user):
            raise PermissionDenied
        if change:
            obj.save()
            return
        source, plaintext = webhook_source_create(
            organization=obj.organization,
            identifier=obj.identifier,
            tolerance_seconds=obj.tolerance_seconds,
            is_active=obj.is_active,
            dataverse_mapping=obj.dataverse_mapping,
        )
        obj.pk, obj.created_at, obj.updated_at = source.pk, source.created_at, source.updated_at
        obj._state.adding, obj._state.db = False, source._state.db
        request._webhook_new_secrets = [(source, plaintext)]

    def response_add(self, request, obj, post_url_continue=None):
        created = getattr(request, "_webhook_new_secrets", None)
        if created:
            return _secret_once_response(request, self.admin_site, created)
        return super().response_add(request, obj, post_url_continue)

    # --- actions ------------------------------------------------------------------
    def _confirm(self, request, queryset, *, action: str, question: str):
        """Confirmation page first; returns None once the admin has confirmed."""
        if request.method == "POST" and request.POST.get("confirmed") == "yes":
            return None
        context = {
            # From a source's own page, "no" leads back there; from the list, to the list.
            "cancel_url": getattr(request, "_webhook_source_page", None),
            **self.admin_site.each_context(request),
            "title": _("Are you sure?"),
            "question": question,
            "objects": list(queryset),
            "action": action,
            "action_checkbox_name": helpers.ACTION_CHECKBOX_NAME,
            "opts": self.model._meta,
        }
        return TemplateResponse(request, "admin/webhooks/confirm_action.html", context)

    def _new_secrets(
        self, request, queryset, *, create, action: str, question: str, done: Callable[[int], str]
    ):
        confirmation = self._confirm(request, queryset, action=action, question=question)
        if confirmation is not None:
            return confirmation
        created = []
        for source in queryset:
            try:
                created.append((source, create(source=source)))
            except ValidationError as exc:
                self.message_user(request, " ".join(exc.messages), messages.WARNING)
        if not created:
            return None
        self.message_user(request, done(len(created)), messages.SUCCESS)
        return _secret_once_response(request, self.admin_site, created)

    @admin.action(description=gettext_lazy("Generate a first secret"))
    def generate_secret(self, request, queryset):
        return self._new_secrets(
            request,
            queryset,
            create=webhook_secret_generate,
            action="generate_secret",
            question=_("Generate a secret for the selected sources?"),
            done=lambda count: (
                ngettext(
                    "Generated a secret for %(count)d source.",
                    "Generated secrets for %(count)d sources.",
                    count,
                )
                % {"count": count}
            ),
        )

    @admin.action(description=gettext_lazy("Rotate secret (old one keeps working for a while)"))
    def rotate_secret(self, request, queryset):
        hours = settings.WEBHOOK_SECRET_OVERLAP_HOURS
        return self._new_secrets(
            request,
            queryset,
            create=webhook_secret_rotate,
            action="rotate_secret",
            question=ngettext(
                "Rotate the secret of the selected sources? The current secret keeps "
                "verifying for %(hours)d more hour, then stops.",
                "Rotate the secret of the selected sources? The current secret keeps "
                "verifying for %(hours)d more hours, then stops.",
                hours,
            )
            % {"hours": hours},
            done=lambda count: (
                ngettext(
                    "Rotated the secret of %(count)d source.",
                    "Rotated the secrets of %(count)d sources.",
                    count,
                )
                % {"count": count}
            ),
        )

    def _set_active(self, request, queryset, *, is_active: bool, action: str, question: str):
        confirmation = self._confirm(request, queryset, action=action, question=question)
        if confirmation is not None:
            return confirmation
        sources = list(queryset)
        for source in sources:
            webhook_source_set_active(source=source, is_active=is_active)
        template = (
            ngettext("Enabled %(count)d source.", "Enabled %(count)d sources.", len(sources))
            if is_active
            else ngettext("Disabled %(count)d source.", "Disabled %(count)d sources.", len(sources))
        )
        self.message_user(request, template % {"count": len(sources)}, messages.SUCCESS)
        return None

    @admin.action(description=gettext_lazy("Disable (refuse their webhooks)"))
    def disable_sources(self, request, queryset):
        return self._set_active(
            request,
            queryset,
            is_active=False,
            action="disable_sources",
            question=_("Disable the selected sources? Their webhooks will be refused with 401."),
        )

    @admin.action(description=gettext_lazy("Enable"))
    def enable_sources(self, request, queryset):
        return self._set_active(
            request,
            queryset,
            is_active=True,
            action="enable_sources",
            question=_("Enable the selected sources?"),
        )

    @admin.action(description=gettext_lazy("Send signed test payload"))
    def send_test_payload(self, request, queryset):
        if getattr(request, "_webhook_source_page", None):
            confirmation = self._confirm(
                request,
                queryset,
                action="send_test_payload",
                question=_(
                    "Send a signed test payload to the public endpoint? It is recorded like "
                    "a real delivery from this source."
                ),
            )
            if confirmation is not None:
                return confirmation
        endpoint_url = webhook_endpoint_url(request)
        sources = list(queryset[: SELF_TEST_MAX_SOURCES + 1])
        if len(sources) > SELF_TEST_MAX_SOURCES:
            self.message_user(
                request,
                _("Select at most %(max)d sources for a test.") % {"max": SELF_TEST_MAX_SOURCES},
                messages.WARNING,
            )
            return
        for source in sources:
            result = webhook_self_test_send(source=source, endpoint_url=endpoint_url)
            values = {
                "source": source.identifier,
                "detail": result.detail,
                "status": result.status_code or "—",
                "ms": result.elapsed_ms,
                "url": endpoint_url,
            }
            self.message_user(
                request,
                _("%(source)s: %(detail)s — HTTP %(status)s in %(ms)d ms (%(url)s)") % values,
                messages.SUCCESS if result.ok else messages.ERROR,
            )

    # --- the source page's buttons -------------------------------------------------
    def get_urls(self):
        urls = super().get_urls()
        return [
            path(
                "<path:object_id>/run/<str:action>/",
                org_scoped(self, self.source_action_view, permission="change"),
                name="webhooks_webhooksource_run",
            ),
            *urls,
        ]

    # The buttons of a source's own page run the list's actions on that one source,
    # through the same services and the same confirmation page.
    SOURCE_PAGE_ACTIONS = (
        "send_test_payload",
        "generate_secret",
        "rotate_secret",
        "disable_sources",
        "enable_sources",
    )

    def source_action_view(self, request, source: WebhookSource, action: str):
        from django.http import Http404, HttpResponseRedirect

        if action not in self.SOURCE_PAGE_ACTIONS:
            raise Http404
        change_url = reverse("admin:webhooks_webhooksource_change", args=[source.pk])
        request._webhook_source_page = change_url
        queryset = self.get_queryset(request).filter(pk=source.pk)
        response = getattr(self, action)(request, queryset)
        return response if response is not None else HttpResponseRedirect(change_url)

    def change_view(self, request, object_id, form_url="", extra_context=None):
        extra_context = {**(extra_context or {}), "source_actions": True}
        return super().change_view(request, object_id, form_url, extra_context)


@admin.register(WebhookHealth)
class WebhookHealthAdmin(ReadOnlyAdminMixin, GlobalAdminOnlyAdmin):
    """Only an admin index entry: its list page is the health dashboard."""

    def changelist_view(self, request, extra_context=None):
        if not user_is_global_admin(request.user):
            raise PermissionDenied
        # The page itself belongs to monitoring (an app webhooks does not import).
        return redirect("admin:monitoring_health")


@admin.register(WebhookRejection)
class WebhookRejectionAdmin(ReadOnlyAdminMixin, GlobalAdminOnlyAdmin):
    list_display = (
        "received_at",
        "reason",
        "status_code",
        "source_identifier",
        "organization",
        "client_address",
        "body_size",
    )
    list_filter = ("reason", "status_code", "organization")
    date_hierarchy = "received_at"
    search_fields = ("source_identifier", "client_address", "body_sha256", "detail_params")
    list_select_related = ("organization", "source")
    fields = (
        "received_at",
        "reason",
        "status_code",
        "detail_display",
        "source_identifier",
        "source",
        "organization",
        "client_address",
        "headers_table",
        "body_size",
        "body_sha256",
    )
    readonly_fields = fields

    @admin.display(description=gettext_lazy("detail"))
    def detail_display(self, obj: WebhookRejection) -> str:
        # Stored as a code: rendered in the reader's language (webhooks/messages.py).
        return obj.detail or "—"

    @admin.display(description=gettext_lazy("headers (redacted)"))
    def headers_table(self, obj: WebhookRejection) -> str:
        if not obj.headers:
            return "—"
        return format_html(
            "<table>{}</table>",
            format_html_join(
                "",
                "<tr><th>{}</th><td>{}</td></tr>",
                (
                    (name, value if isinstance(value, str) else json.dumps(value))
                    for name, value in sorted(obj.headers.items())
                ),
            ),
        )


@admin.register(WebhookRejectionRollup)
class WebhookRejectionRollupAdmin(ReadOnlyAdminMixin, GlobalAdminOnlyAdmin):
    """Rejections past the flood rate, counted per address, reason and minute."""

    list_display = ("minute", "client_address", "reason", "count", "last_seen_at")
    list_filter = ("reason",)
    date_hierarchy = "minute"
    search_fields = ("client_address",)


class DryRunForm(forms.Form):
    source = forms.ModelChoiceField(
        label=gettext_lazy("source"), queryset=WebhookSource.objects.order_by("identifier")
    )
    body = forms.CharField(
        label=gettext_lazy("body (JSON)"),
        widget=forms.Textarea(attrs={"rows": 18, "cols": 100, "spellcheck": "false"}),
        strip=False,
    )
    size_exceeded = forms.BooleanField(
        label=gettext_lazy("with the header x-ms-dynamics-msg-size-exceeded"), required=False
    )


@admin.register(WebhookDryRun)
class WebhookDryRunAdmin(ReadOnlyAdminMixin, GlobalAdminOnlyAdmin):
    """Try a payload (SPEC §6): its list page is the form; nothing is ever written."""

    def changelist_view(self, request, extra_context=None):
        if not user_is_global_admin(request.user):
            raise PermissionDenied
        form = DryRunForm(request.POST or None)
        result = None
        if request.method == "POST" and form.is_valid():
            headers = {SIZE_EXCEEDED_HEADER: "true"} if form.cleaned_data["size_exceeded"] else {}
            result = webhook_payload_dry_run(
                source=form.cleaned_data["source"],
                body=form.cleaned_data["body"].encode(),
                headers=headers,
            )
        context = {
            **self.admin_site.each_context(request),
            "title": _("Try a payload"),
            "opts": self.model._meta,
            "form": form,
            "result": result,
            "result_json": json.dumps(result.to_json(), indent=2, ensure_ascii=False, default=str)
            if result
            else "",
        }
        return TemplateResponse(request, "admin/webhooks/dry_run.html", context)
