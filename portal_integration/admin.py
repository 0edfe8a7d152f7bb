"""Admin: the portal integration config screen, preview as member, onboarding, the template."""

from django import forms
from django.conf import settings
from django.contrib import admin, messages
from django.contrib.admin.utils import unquote
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import NoReverseMatch, path, reverse
from django.utils.decorators import method_decorator
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext
from django.views.decorators.debug import sensitive_post_parameters

from organizations.admin import ORGANIZATION_LINK_CHECKS
from organizations.admin_scoping import (
    GlobalAdminOnlyAdmin,
    OrganizationScopedAdmin,
    OrganizationScopedInline,
    global_admin_only,
    org_scoped,
)
from organizations.models import Organization
from organizations.permissions import user_is_global_admin
from organizations.requests import AuthenticatedHttpRequest
from portal_integration.catalog import Owner
from portal_integration.deep_links import deep_link_validate
from portal_integration.forms import OnboardingForm, PortalConfigurationForm
from portal_integration.models import (
    Feature,
    PlatformTemplate,
    PortalConfiguration,
    TemplateFeature,
)
from portal_integration.selectors import (
    locale_normalize,
    member_list_for_preview,
    portal_config_for_member,
    portal_configuration_history,
    template_feature_states,
)
from portal_integration.serializers import PortalConfigSerializer
from portal_integration.services import (
    draft_settings,
    organization_links_check,
    organization_onboard,
    platform_template_ensure,
    portal_configuration_draft_discard,
    portal_configuration_draft_save,
    portal_configuration_publish,
    portal_configuration_restore,
    portal_configuration_update,
)
from sync.selectors import sync_status_for_organization
from webhooks.crypto import secret_decrypt, secret_encrypt
from webhooks.selectors import webhook_source_for_organization

# The organisation form refuses a base URL or host change that strands a hand-off.
ORGANIZATION_LINK_CHECKS.append(organization_links_check)

_ONBOARDING_SECRET_KEY = "portal_integration.onboarding_secret"  # noqa: S105 -- a session key name


def _reverse_or_empty(name: str, *args) -> str:
    """A link to another app's admin page, or nothing when that page is not installed."""
    try:
        return reverse(name, args=args)
    except NoReverseMatch:
        return ""


def webhook_endpoint_url(request) -> str:
    return settings.WEBHOOK_PUBLIC_URL or request.build_absolute_uri(reverse("webhook-dynamics"))


@admin.register(PortalConfiguration)
class PortalConfigurationAdmin(OrganizationScopedAdmin):
    organization_lookup = "organization"
    org_admin_permissions = frozenset({"view", "change"})
    list_display = ("organization", "version", "updated_at", "updated_by")
    list_select_related = ("organization", "updated_by")
    search_fields = ("organization__name", "organization__slug")
    change_list_template = "admin/portal_integration/portalconfiguration/change_list.html"

    def has_add_permission(self, request) -> bool:
        return False  # configurations come with their organisation (see onboarding)

    def has_delete_permission(self, request, obj=None) -> bool:
        return False

    def get_urls(self):
        return [
            path(
                "onboard/",
                global_admin_only(self, self.onboard_view),
                name="portal_integration_onboard",
            ),
            path(
                "onboard/<int:organization_id>/checklist/",
                global_admin_only(self, self.checklist_view),
                name="portal_integration_onboard_checklist",
            ),
            path(
                "<path:object_id>/preview/",
                org_scoped(self, self.preview_view, permission="view"),
                name="portal_integration_portalconfiguration_preview",
            ),
            path(
                "<path:object_id>/publish/",
                org_scoped(self, self.publish_view, permission="change"),
                name="portal_integration_portalconfiguration_publish",
            ),
            path(
                "<path:object_id>/restore/",
                org_scoped(self, self.restore_view, permission="change"),
                name="portal_integration_portalconfiguration_restore",
            ),
            *super().get_urls(),
        ]

    def changelist_view(self, request, extra_context=None):
        extra_context = {
            **(extra_context or {}),
            "may_onboard": user_is_global_admin(request.user),
        }
        return super().changelist_view(request, extra_context)

    def _page_context(self, request, title) -> dict:
        """What every custom page needs: the admin's header, navigation and a title."""
        return {**self.admin_site.each_context(request), "title": title, "opts": self.opts}

    # --- the config screen --------------------------------------------------------------
    def _configuration_for(self, request, object_id) -> PortalConfiguration:
        # Scoped lookup: another organisation's configuration is a 404, like a missing one.
        configuration = self.get_object(request, unquote(object_id))
        if not self.has_view_permission(request, configuration):
            raise PermissionDenied
        return configuration

    def change_view(self, request, object_id, form_url="", extra_context=None):
        configuration = self._configuration_for(request, object_id)
        organization = configuration.organization
        may_change = self.has_change_permission(request, configuration)
        example_member = member_list_for_preview(organization=organization).first()
        locale = locale_normalize(request.LANGUAGE_CODE)
        draft = draft_settings(configuration)
        # With a draft, the form continues from it (and from the version it was made on).
        view = portal_config_for_member(
            organization=organization, member=example_member, locale=locale, draft=draft
        )
        start_version = configuration.draft_base_version if draft else view.version
        data = request.POST if request.method == "POST" and may_change else None
        form = PortalConfigurationForm(
            data, features=view.features, initial={"version": start_version or view.version}
        )
        if data is not None and "_discard" in data:
            portal_configuration_draft_discard(organization=organization)
            self.message_user(
                request,
                _("Draft discarded. Members still get the published settings."),
                messages.INFO,
            )
            return HttpResponseRedirect(request.path)
        if data is not None and form.is_valid():
            response = self._config_submit(request, configuration, form, view.version)
            if response is not None:
                return response
        if form.errors:
            self.message_user(
                request,
                ngettext(
                    "Nothing was saved: correct the error below.",
                    "Nothing was saved: correct the %(count)d errors below.",
                    _error_count(form),
                )
                % {"count": _error_count(form)},
                messages.ERROR,
            )
        context = {
            **self._page_context(
                request, _("Portal integration: %(organization)s") % {"organization": organization}
            ),
            "configuration": configuration,
            "organization": organization,
            "form": form,
            "rows": form.feature_rows(),
            "may_change": may_change,
            "is_global_admin": user_is_global_admin(request.user),
            "organization_url": _reverse_or_empty(
                "admin:organizations_organization_change", organization.pk
            ),
            "has_draft": bool(draft),
            "example_member": example_member,
            "history": portal_configuration_history(organization=organization),
            "sync_status": sync_status_for_organization(organization=organization),
            "sync_log_url": _sync_log_url(organization),
            "preview_url": reverse(
                "admin:portal_integration_portalconfiguration_preview", args=[configuration.pk]
            ),
            "restore_url": reverse(
                "admin:portal_integration_portalconfiguration_restore", args=[configuration.pk]
            ),
            "portal_owner": Owner.PORTAL,
        }
        return TemplateResponse(
            request, "admin/portal_integration/portalconfiguration/config.html", context
        )

    def _config_submit(self, request, configuration, form, published_version: int):
        """Preview (keep as draft) or publish the submitted form; None when refused."""
        organization = configuration.organization
        try:
            if "_preview" in request.POST:
                portal_configuration_draft_save(
                    organization=organization,
                    changes=form.feature_settings(),
                    user=request.user,
                    expected_version=form.cleaned_data["version"],
                )
                preview_url = reverse(
                    "admin:portal_integration_portalconfiguration_preview",
                    args=[configuration.pk],
                )
                return HttpResponseRedirect(f"{preview_url}?draft=1")
            updated = portal_configuration_update(
                organization=organization,
                changes=form.feature_settings(),
                user=request.user,
                expected_version=form.cleaned_data["version"],
            )
        except ValidationError as error:
            if getattr(error, "code", None) != "stale_version":
                form.add_service_errors(error)
                return None
            # Show the current settings, with the reason.
            self.message_user(request, error.messages[0], messages.ERROR)
            return HttpResponseRedirect(request.path)
        portal_configuration_draft_discard(organization=organization)
        self._published_message(request, updated.version, published_version)
        return HttpResponseRedirect(request.path)

    def _published_message(self, request, version: int, previous_version: int) -> None:
        if version != previous_version:
            self.message_user(
                request,
                _("Published. The app now gets version %(version)d of this configuration.")
                % {"version": version},
                messages.SUCCESS,
            )
        else:
            self.message_user(request, _("Nothing changed."), messages.INFO)

    def publish_view(self, request: AuthenticatedHttpRequest, configuration: PortalConfiguration):
        """Publish the saved draft (the button under the draft preview)."""
        change_url = reverse(
            "admin:portal_integration_portalconfiguration_change", args=[configuration.pk]
        )
        if request.method != "POST":
            return HttpResponseRedirect(change_url)
        try:
            updated = portal_configuration_publish(
                organization=configuration.organization, user=request.user
            )
        except ValidationError as error:
            self.message_user(request, " ".join(error.messages), messages.ERROR)
            return HttpResponseRedirect(change_url)
        self._published_message(request, updated.version, configuration.version)
        return HttpResponseRedirect(change_url)

    def restore_view(self, request: AuthenticatedHttpRequest, configuration: PortalConfiguration):
        """Put back an earlier value from the change history, as a new published change."""
        change_url = reverse(
            "admin:portal_integration_portalconfiguration_change", args=[configuration.pk]
        )
        if request.method != "POST":
            return HttpResponseRedirect(change_url)
        try:
            history_id = int(request.POST.get("history_id", ""))
        except ValueError:
            raise Http404 from None
        try:
            updated = portal_configuration_restore(
                organization=configuration.organization,
                field=request.POST.get("setting", ""),
                history_id=history_id,
                user=request.user,
            )
        except ValidationError as error:
            if getattr(error, "code", None) == "not_found":
                raise Http404 from error
            self.message_user(
                request,
                _("Not restored: %(reason)s") % {"reason": " ".join(error.messages)},
                messages.ERROR,
            )
            return HttpResponseRedirect(change_url)
        self.message_user(
            request,
            _("Restored. The app now gets version %(version)d of this configuration.")
            % {"version": updated.version},
            messages.SUCCESS,
        )
        return HttpResponseRedirect(change_url)

    # --- preview as member ------------------------------------------------------------
    def preview_view(self, request: AuthenticatedHttpRequest, configuration: PortalConfiguration):
        organization = configuration.organization
        members = list(member_list_for_preview(organization=organization))
        member = None
        chosen = request.GET.get("member")
        if chosen:
            # Only this organisation's members: anything else is a 404, like a missing one.
            member = next((m for m in members if str(m.pk) == chosen), None)
            if member is None:
                raise Http404
        elif members:
            member = members[0]
        locale = locale_normalize(request.GET.get("locale") or request.LANGUAGE_CODE)
        payload = None
        draft = draft_settings(configuration) if request.GET.get("draft") else {}
        if member is not None and member.is_active:
            view = portal_config_for_member(
                organization=organization, member=member, locale=locale, draft=draft or None
            )
            payload = PortalConfigSerializer(view).data  # exactly what the app receives
        context = {
            **self._page_context(
                request, _("Preview as member: %(organization)s") % {"organization": organization}
            ),
            "configuration": configuration,
            "organization": organization,
            "members": members,
            "member": member,
            "locale": locale,
            "languages": settings.LANGUAGES,
            "payload": payload,
            "is_draft": bool(draft),
            "has_draft": bool(configuration.draft),
            "may_change": self.has_change_permission(request, configuration),
            "publish_url": reverse(
                "admin:portal_integration_portalconfiguration_publish", args=[configuration.pk]
            ),
            "change_url": reverse(
                "admin:portal_integration_portalconfiguration_change", args=[configuration.pk]
            ),
            "portal_owner": Owner.PORTAL,
        }
        return TemplateResponse(
            request, "admin/portal_integration/portalconfiguration/preview.html", context
        )

    # --- onboarding -------------------------------------------------------------------
    @method_decorator(sensitive_post_parameters("secret"))
    def onboard_view(self, request: AuthenticatedHttpRequest):
        template = platform_template_ensure()
        form = OnboardingForm(
            request.POST or None, features=template_feature_states(), template=template
        )
        if request.method == "POST" and form.is_valid():
            try:
                result = organization_onboard(**form.onboarding_arguments(), user=request.user)
            except ValidationError as error:
                form.add_service_errors(error)
            else:
                self.message_user(
                    request,
                    _("%(organization)s is onboarded.") % {"organization": result.organization},
                    messages.SUCCESS,
                )
                # Post-redirect-get: a reload shows the checklist instead of resubmitting.
                # The secret travels to that one page encrypted in the session and is
                # removed as it is shown, so it is displayed once and never kept.
                if result.secret is not None:  # None: joined a shared source, secret untouched
                    request.session[_ONBOARDING_SECRET_KEY] = {
                        "organization": result.organization.pk,
                        "secret": secret_encrypt(result.secret),
                    }
                return HttpResponseRedirect(
                    reverse(
                        "admin:portal_integration_onboard_checklist",
                        args=[result.organization.pk],
                    )
                )
        if form.errors:
            count = _error_count(form)
            self.message_user(
                request,
                ngettext(
                    "Nothing was saved: correct the error below.",
                    "Nothing was saved: correct the %(count)d errors below.",
                    count,
                )
                % {"count": count},
                messages.ERROR,
            )
        context = {
            **self._page_context(request, _("Onboard an organisation")),
            "form": form,
        }
        return TemplateResponse(
            request, "admin/portal_integration/portalconfiguration/onboard.html", context
        )

    def checklist_view(self, request: AuthenticatedHttpRequest, organization_id: int):
        organization = get_object_or_404(Organization, pk=organization_id)
        secret = ""
        parked = request.session.get(_ONBOARDING_SECRET_KEY)
        if parked and parked.get("organization") == organization.pk:
            del request.session[_ONBOARDING_SECRET_KEY]
            secret = secret_decrypt(parked["secret"])
        response = self._checklist_response(request, organization, secret=secret)
        response["Cache-Control"] = "no-store"
        return response

    def _checklist_response(self, request, organization: Organization, *, secret: str = ""):
        configuration = PortalConfiguration.objects.filter(organization=organization).first()
        source = webhook_source_for_organization(organization=organization)
        view = portal_config_for_member(
            organization=organization,
            member=None,
            locale=locale_normalize(request.LANGUAGE_CODE),
        )
        context = {
            **self._page_context(
                request,
                _("Onboarding checklist: %(organization)s") % {"organization": organization},
            ),
            "organization": organization,
            "configuration": configuration,
            "source": source,
            "secret": secret,
            "endpoint_url": webhook_endpoint_url(request),
            "features": view.features,
            "portal_owned": [f for f in view.features if f.owner == Owner.PORTAL],
            "missing": _missing_items(organization=organization, view=view, source=source),
            "config_url": reverse(
                "admin:portal_integration_portalconfiguration_change", args=[configuration.pk]
            )
            if configuration
            else "",
            "source_url": _reverse_or_empty("admin:webhooks_webhooksource_change", source.pk)
            if source
            else "",
            "administrators_url": _reverse_or_empty(
                "admin:organizations_organizationadministrator_add"
            ),
        }
        return TemplateResponse(
            request, "admin/portal_integration/portalconfiguration/checklist.html", context
        )


def _error_count(form) -> int:
    return sum(len(errors) for errors in form.errors.values())


def _sync_log_url(organization: Organization) -> str:
    url = _reverse_or_empty("admin:sync_inboundevent_changelist")
    return f"{url}?organization__id__exact={organization.pk}" if url else ""


def _missing_items(*, organization: Organization, view, source) -> list[str]:
    """What still has to happen before the organisation's integration is complete."""
    missing = []
    if not organization.portal_base_url:
        missing.append(_("A Min Side base URL (hand-off cards have nowhere to go)."))
    if not organization.allowed_hosts:
        missing.append(_("Allowed portal hosts (no deep link can be saved)."))
    missing.extend(
        _("A deep link for %(feature)s (members land on the Min Side base URL).")
        % {"feature": feature.name}
        for feature in view.features
        if feature.uses_fallback
    )
    if source is None:
        missing.append(_("A webhook source."))
    if not organization.administrators.exists():
        missing.append(
            _("An organisation administrator (assign one under Organisation administrators).")
        )
    if not organization.members.exists():
        missing.append(
            _(
                "Members: they arrive with Min Side's first membership events. Send the signed "
                "test payload from the webhook source to check the connection first."
            )
        )
    return missing


# --- platform template and features (global admins) -------------------------------------


class TemplateFeatureForm(forms.ModelForm):
    class Meta:
        model = TemplateFeature
        fields = ("default_owner", "default_deep_link")

    def clean_default_deep_link(self) -> str:
        link = self.cleaned_data["default_deep_link"].strip()
        if link:
            deep_link_validate(
                url_template=link, allowed_hosts=self.instance.template.default_allowed_hosts
            )
        return link


class TemplateFeatureInline(OrganizationScopedInline):
    model = TemplateFeature
    form = TemplateFeatureForm
    fields = ("feature", "default_owner", "default_deep_link")
    readonly_fields = ("feature",)
    extra = 0
    can_delete = False

    def has_add_permission(self, request, obj=None) -> bool:
        return False  # the catalog in code decides which features exist


@admin.register(PlatformTemplate)
class PlatformTemplateAdmin(GlobalAdminOnlyAdmin):
    inlines = (TemplateFeatureInline,)
    fields = (
        "default_portal_base_url",
        "default_allowed_portal_hosts",
        "default_tolerance_seconds",
    )

    def has_add_permission(self, request) -> bool:
        return False  # a singleton, created by the catalog reconciliation

    def has_delete_permission(self, request, obj=None) -> bool:
        return False

    def changelist_view(self, request, extra_context=None):
        if not self.has_view_or_change_permission(request):
            raise PermissionDenied
        template = platform_template_ensure()
        return HttpResponseRedirect(
            reverse("admin:portal_integration_platformtemplate_change", args=[template.pk])
        )


@admin.register(Feature)
class FeatureAdmin(GlobalAdminOnlyAdmin):
    list_display = ("key", "display_name", "default_owner", "is_retired", "retired_at")
    list_filter = ("is_retired",)
    search_fields = ("key", "name")
    readonly_fields = ("key", "name", "default_owner", "position", "is_retired", "retired_at")

    @admin.display(description=gettext_lazy("name"))
    def display_name(self, obj) -> str:
        return str(obj.display_name)

    def has_add_permission(self, request) -> bool:
        return False  # features come from the catalog in code

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False
