"""Admin for Dataverse connections and their passes (global admins only, SPEC §5.1, §6)."""

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.utils import unquote
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.http import HttpResponseNotAllowed, HttpResponseRedirect
from django.urls import path, reverse
from django.utils.html import format_html, format_html_join
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from dataverse.models import DataverseConnection, ReconcilePass
from dataverse.selectors import reconcile_pass_last, reconcile_pass_outcome
from dataverse.services import dataverse_connection_set
from organizations.admin_scoping import GlobalAdminOnlyAdmin, ReadOnlyAdminMixin, global_admin_only
from organizations.permissions import user_is_global_admin
from organizations.requests import AuthenticatedHttpRequest
from webhooks.admin import WebhookSourceAdmin
from webhooks.models import WebhookSource


class DataverseConnectionForm(forms.ModelForm):
    # Write-only: never rendered back, so a page never holds the secret.
    client_secret = forms.CharField(
        label=gettext_lazy("client secret"),
        required=False,
        strip=True,
        widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "new-password"}),
        help_text=gettext_lazy(
            "Stored encrypted and never shown again. Empty: keep the stored one."
        ),
    )

    class Meta:
        model = DataverseConnection
        fields = (
            "source",
            "environment_url",
            "tenant_id",
            "client_id",
            "authority_url",
            "contact_entity_set",
            "enrollment_entity_set",
            "is_enabled",
        )


def pass_summary(record: ReconcilePass | None) -> str:
    """One line about a pass for admin pages: when, status, rows read, healed, errors."""
    if record is None:
        return _("no pass yet")
    outcome = reconcile_pass_outcome(record=record)
    text = _(
        "%(when)s: %(status)s — %(rows)d rows read, %(recorded)d events recorded, "
        "%(healed)d healed, %(deleted)d deleted rows, %(pages)d pages"
    ) % {
        "when": record.started_at.strftime("%Y-%m-%d %H:%M"),
        "status": record.get_status_display(),
        "rows": record.rows_read,
        "recorded": record.events_recorded,
        "healed": outcome.healed,
        "deleted": record.deleted,
        "pages": record.pages,
    }
    if outcome.queued:
        text += " " + _("(%(count)d still queued)") % {"count": outcome.queued}
    if record.delta_resets:
        text += " · " + "; ".join(record.delta_resets)
    if record.error:
        text += " · " + _("error: %(error)s") % {"error": record.error}
    return text


@admin.register(DataverseConnection)
class DataverseConnectionAdmin(GlobalAdminOnlyAdmin):
    form = DataverseConnectionForm
    list_display = ("source", "environment_url", "is_enabled", "client_secret_masked", "last_pass")
    list_select_related = ("source",)
    search_fields = ("source__identifier", "environment_url")
    readonly_fields = ("client_secret_masked", "last_pass", "recent_passes", "delta_state")
    change_form_template = "admin/dataverse/dataverseconnection/change_form.html"

    def get_fields(self, request, obj=None):
        fields = [
            "source",
            "environment_url",
            "authority_url",
            "tenant_id",
            "client_id",
            "client_secret",
            "client_secret_masked",
            "contact_entity_set",
            "enrollment_entity_set",
            "is_enabled",
        ]
        if obj is not None:
            fields += ["last_pass", "recent_passes", "delta_state"]
        return fields

    def get_readonly_fields(self, request, obj=None):
        readonly = list(super().get_readonly_fields(request, obj))
        return [*readonly, "source"] if obj is not None else readonly

    @admin.display(description=gettext_lazy("client secret (masked)"))
    def client_secret_masked(self, obj: DataverseConnection) -> str:
        return obj.client_secret_masked or ("—" if obj.pk is None else _("stored"))

    @admin.display(description=gettext_lazy("last pass"))
    def last_pass(self, obj: DataverseConnection) -> str:
        return pass_summary(reconcile_pass_last(connection=obj)) if obj.pk else "—"

    @admin.display(description=gettext_lazy("recent passes"))
    def recent_passes(self, obj: DataverseConnection) -> str:
        records = list(obj.passes.order_by("-started_at", "-id")[:10])
        if not records:
            return "—"
        return format_html(
            "<ul>{}</ul>",
            format_html_join("", "<li>{}</li>", ((pass_summary(r),) for r in records)),
        )

    @admin.display(description=gettext_lazy("delta links"))
    def delta_state(self, obj: DataverseConnection) -> str:
        links = list(obj.delta_links.order_by("entity_set"))
        if not links:
            return _("none: the next pass reads every row")
        return ", ".join(
            _("%(table)s saved %(when)s")
            % {"table": link.entity_set, "when": link.saved_at.strftime("%Y-%m-%d %H:%M")}
            for link in links
        )

    def save_model(self, request, obj, form, change):
        if not user_is_global_admin(request.user):
            raise PermissionDenied
        data = form.cleaned_data
        try:
            saved = dataverse_connection_set(
                source=obj.source,
                environment_url=data["environment_url"],
                tenant_id=data["tenant_id"],
                client_id=data["client_id"],
                client_secret=data.get("client_secret") or None,
                authority_url=data["authority_url"],
                contact_entity_set=data["contact_entity_set"],
                enrollment_entity_set=data["enrollment_entity_set"],
                is_enabled=data["is_enabled"],
            )
        except ValidationError as exc:
            # The form validated the same fields; only a concurrent change gets here.
            self.message_user(request, " ".join(exc.messages), messages.ERROR)
            return
        obj.pk, obj._state.adding, obj._state.db = saved.pk, False, saved._state.db

    def get_form(self, request, obj=None, change=False, **kwargs):
        form_class: Any = super().get_form(request, obj, change, **kwargs)
        adding = obj is None

        class Checked(form_class):
            def clean(self):
                cleaned = super().clean()
                if adding and not cleaned.get("client_secret"):
                    self.add_error("client_secret", _("Enter the client secret."))
                return cleaned

        return Checked

    # --- Reconcile now ----------------------------------------------------------------
    def get_urls(self):
        return [
            path(
                "<path:object_id>/reconcile/",
                global_admin_only(self, self.reconcile_view),
                name="dataverse_dataverseconnection_reconcile",
            ),
            *super().get_urls(),
        ]

    def reconcile_view(self, request: AuthenticatedHttpRequest, object_id):
        if request.method != "POST":
            return HttpResponseNotAllowed(["POST"])
        connection = self.get_object(request, unquote(object_id))
        from dataverse.tasks import reconcile_source

        full = request.POST.get("full") == "yes"
        source_id = connection.source_id
        transaction.on_commit(
            lambda: reconcile_source.delay(
                source_id, full=full, trigger=ReconcilePass.Trigger.ADMIN
            )
        )
        template = (
            _("A full pass of %(source)s was queued; reload this page to see it.")
            if full
            else _("A pass of %(source)s was queued; reload this page to see it.")
        )
        self.message_user(
            request, template % {"source": connection.source.identifier}, messages.SUCCESS
        )
        return HttpResponseRedirect(
            reverse("admin:dataverse_dataverseconnection_change", args=[connection.pk])
        )


@admin.register(ReconcilePass)
class ReconcilePassAdmin(ReadOnlyAdminMixin, GlobalAdminOnlyAdmin):
    list_display = (
        "started_at",
        "source_identifier",
        "status",
        "trigger",
        "rows_read",
        "events_recorded",
        "healed",
        "deleted",
        "pages",
        "requests",
        "error",
    )
    list_filter = ("status", "trigger", "source_identifier")
    date_hierarchy = "started_at"
    search_fields = ("source_identifier",)

    @admin.display(description=gettext_lazy("healed"))
    def healed(self, obj: ReconcilePass) -> int:
        return reconcile_pass_outcome(record=obj).healed


admin.site.unregister(WebhookSource)


@admin.register(WebhookSource)
class WebhookSourceWithReconciliationAdmin(WebhookSourceAdmin):
    """The source page, plus its Dataverse connection's last pass (dataverse extends webhooks)."""

    fields = (*WebhookSourceAdmin.fields, "reconciliation")
    readonly_fields = (*WebhookSourceAdmin.readonly_fields, "reconciliation")
    change_form_template = "admin/dataverse/source_change_form.html"

    def change_view(self, request, object_id, form_url="", extra_context=None):
        key = unquote(object_id)
        connection = (
            DataverseConnection.objects.filter(source_id=int(key)).first()
            if key.isdigit()
            else None
        )
        extra_context = {
            **(extra_context or {}),
            "reconcile_url": reverse(
                "admin:dataverse_dataverseconnection_reconcile", args=[connection.pk]
            )
            if connection is not None and user_is_global_admin(request.user)
            else None,
        }
        return super().change_view(request, object_id, form_url, extra_context)

    @admin.display(description=gettext_lazy("reconciliation"))
    def reconciliation(self, obj: WebhookSource) -> str:
        if obj.pk is None:
            return "—"
        connection = DataverseConnection.objects.filter(source=obj).first()
        if connection is None:
            url = reverse("admin:dataverse_dataverseconnection_add") + f"?source={obj.pk}"
            return format_html('<a href="{}">{}</a>', url, _("Connect to the Dataverse Web API"))
        url = reverse("admin:dataverse_dataverseconnection_change", args=[connection.pk])
        return format_html(
            '{} · <a href="{}">{}</a>',
            pass_summary(reconcile_pass_last(connection=connection)),
            url,
            _("connection and Reconcile now"),
        )
