"""Read-side queries: what the app shows a member, deep-link resolution, audit history.

No caching anywhere here: a saved change is used by the very next resolution (SPEC §3).
"""

from dataclasses import dataclass, replace
from datetime import datetime

from django.conf import settings
from django.db.models import OuterRef, Subquery
from django.utils import translation
from django.utils.formats import date_format
from django.utils.timezone import localtime
from django.utils.translation import gettext as _

from organizations.models import Member, Organization
from portal_integration.catalog import Owner
from portal_integration.deep_links import deep_link_fill
from portal_integration.models import (
    DeepLink,
    Feature,
    FeatureOwnership,
    PortalConfiguration,
)
from webhooks.models import WebhookSource
from webhooks.selectors import (
    webhook_source_for_organization,
    webhook_sources_in_preference_order,
)

HISTORY_LIMIT = 50


@dataclass(frozen=True)
class FeatureState:
    key: str
    name: str
    owner: str
    url_template: str
    # Where a member is sent for a portal-owned feature; None while the app owns it.
    handoff_url: str | None
    # The deep link filled in, whoever owns the feature (shown on the admin screen).
    link_url: str | None
    # Portal-owned without its own link: the Min Side base URL is used instead.
    uses_fallback: bool


@dataclass(frozen=True)
class PortalConfigView:
    organization: Organization
    version: int
    locale: str
    member: Member | None
    features: list[FeatureState]


@dataclass(frozen=True)
class AuditEntry:
    when: datetime
    user: object
    feature: str
    field: str
    before: str
    after: str
    reason: str
    # For "restore": which setting ("owner" / "url_template") and which history record.
    setting: str = ""
    history_id: int | None = None
    restorable: bool = False


def locale_normalize(locale: str | None) -> str:
    """One of the configured languages (`nb`, `en`); the default for anything else."""
    codes = [code for code, _name in settings.LANGUAGES]
    base = (locale or "").lower().replace("_", "-").split("-")[0]
    if base in {"no", "nn"}:  # Norwegian without a variant: Bokmål is what we have
        base = "nb"
    return base if base in codes else settings.LANGUAGE_CODE


def portal_configuration_stamp(*, organization: Organization) -> tuple[int, str]:
    """(version, source identifier) in one query: with the organisation row, what a
    member's portal-config body depends on, so the API's ETag changes when any does."""
    source = webhook_sources_in_preference_order(
        WebhookSource.objects.filter(organization=OuterRef("organization"))
    ).values("identifier")[:1]
    row = (
        PortalConfiguration.objects.filter(organization=organization)
        .annotate(source_identifier=Subquery(source))
        .values_list("version", "source_identifier")
        .first()
    )
    version, source_identifier = row or (None, None)
    return version or 1, source_identifier or ""


def portal_configuration_version(*, organization: Organization) -> int:
    version = (
        PortalConfiguration.objects.filter(organization=organization)
        .values_list("version", flat=True)
        .first()
    )
    return version or 1


def portal_config_for_member(
    *,
    organization: Organization,
    member: Member | None,
    locale: str,
    version: int | None = None,
    draft: dict | None = None,
) -> PortalConfigView:
    """The app's feature list for a member; the API and the admin preview both use this.

    `draft` ({feature key: FeatureSetting}) replaces the published settings it names: the
    admin's preview of unpublished edits goes through exactly the code the API uses.

    Five queries whatever the size of the catalog (four when the caller already read
    the `version`, which it must have read before this call).
    """
    source = webhook_source_for_organization(organization=organization)
    values = {
        "member_id": member.portal_member_id if member is not None else "",
        "organization": organization.slug,
        "source": source.identifier if source is not None else "",
        "locale": locale,
    }
    version = version or portal_configuration_version(organization=organization)
    with translation.override(locale):  # feature names in the member's language
        features = _feature_states(organization=organization, values=values, draft=draft)
    return PortalConfigView(
        organization=organization,
        version=version,
        locale=locale,
        member=member,
        features=features,
    )


def deep_link_resolve(
    *, organization: Organization, feature_key: str, member: Member | None, locale: str
) -> str:
    """The Min Side URL for one feature as this member would be sent to it (SPEC §3)."""
    source = webhook_source_for_organization(organization=organization)
    url_template = (
        DeepLink.objects.filter(organization=organization, feature__key=feature_key)
        .values_list("url_template", flat=True)
        .first()
    )
    if not url_template:
        return organization.portal_base_url
    return deep_link_fill(
        url_template=url_template,
        values={
            "member_id": member.portal_member_id if member is not None else "",
            "organization": organization.slug,
            "source": source.identifier if source is not None else "",
            "locale": locale,
            "feature": feature_key,
        },
    )


def _active_features() -> list[Feature]:
    return list(
        Feature.objects.filter(is_retired=False)
        .select_related("template_setting")
        .order_by("position", "key")
    )


def _template_defaults(feature: Feature) -> tuple[str, str]:
    """(owner, deep link) the template gives this feature."""
    template = getattr(feature, "template_setting", None)
    if template is None:
        return feature.default_owner, ""
    return template.default_owner, template.default_deep_link


def _feature_states(
    *, organization: Organization | None, values: dict[str, str], draft: dict | None = None
) -> list[FeatureState]:
    """Every active feature's state; with no organisation, the template's defaults."""
    features = _active_features()
    owners, links, base_url = {}, {}, ""
    if organization is not None:
        owners = dict(
            FeatureOwnership.objects.filter(organization=organization).values_list(
                "feature_id", "owner"
            )
        )
        links = dict(
            DeepLink.objects.filter(organization=organization).values_list(
                "feature_id", "url_template"
            )
        )
        base_url = organization.portal_base_url
    states = []
    for feature in features:
        default_owner, default_link = _template_defaults(feature)
        # No row yet (a feature added since the organisation was set up): the template applies.
        owner = owners.get(feature.id) or default_owner
        url_template = links.get(feature.id)
        if url_template is None:
            url_template = default_link
        override = (draft or {}).get(feature.key)
        if override is not None:
            owner = override.owner if override.owner is not None else owner
            if override.url_template is not None:
                url_template = override.url_template
        link_url = (
            deep_link_fill(url_template=url_template, values={**values, "feature": feature.key})
            if url_template
            else None
        )
        handoff_url = (link_url or base_url) if owner == Owner.PORTAL else None
        states.append(
            FeatureState(
                key=feature.key,
                name=str(feature.display_name),
                owner=owner,
                url_template=url_template,
                handoff_url=handoff_url,
                link_url=link_url,
                uses_fallback=owner == Owner.PORTAL and not url_template,
            )
        )
    return states


def template_feature_states() -> list[FeatureState]:
    """The platform template's defaults, as the starting point of a new organisation."""
    return _feature_states(organization=None, values={})


def portal_configuration_history(
    *, organization: Organization, limit: int = HISTORY_LIMIT
) -> list[AuditEntry]:
    """Who changed which feature's owner or deep link, when, before → after; newest first."""
    from portal_integration.services import RECONCILE_REASON, RESTORE_REASON_PREFIX

    entries: list[AuditEntry] = []
    owner_labels = dict(Owner.choices)
    restored_dates: dict[tuple[str, int], datetime] = {}
    for model, value_field, label, show in (
        (FeatureOwnership, "owner", _("Owner"), lambda v: str(owner_labels.get(v, v))),
        (DeepLink, "url_template", _("Deep link"), lambda v: v or "—"),
    ):
        records = list(
            model.history.filter(organization=organization)
            .select_related("history_user", "feature")
            .order_by("id", "history_date", "history_id")
        )
        restored_dates.update(
            {(value_field, record.history_id): record.history_date for record in records}
        )
        previous: dict[int, str] = {}
        for record in records:
            value = getattr(record, value_field)
            before = previous.get(record.id)
            previous[record.id] = value
            # A created row is the starting point, not a change; it only supplies "before".
            if record.history_type == "+" or (record.history_type == "~" and before == value):
                continue
            entries.append(
                AuditEntry(
                    when=record.history_date,
                    user=record.history_user,
                    feature=str(record.feature.display_name) if record.feature else "",
                    field=str(label),
                    before=show(before) if before is not None else "—",
                    after=show(value) if record.history_type != "-" else "—",
                    reason=record.history_change_reason or "",
                    setting=value_field,
                    history_id=record.history_id,
                    restorable=record.history_type == "~" and before is not None,
                )
            )
    rendered = []
    for entry in entries:
        reason = entry.reason
        if reason.startswith(RESTORE_REASON_PREFIX):
            restored_id = reason.removeprefix(RESTORE_REASON_PREFIX)
            when = restored_dates.get((entry.setting, int(restored_id or 0)))
            reason = (
                _("Restored the value from before the change of %(when)s")
                % {"when": date_format(localtime(when), "SHORT_DATETIME_FORMAT")}
                if when
                else _("Restored an earlier value")
            )
        elif reason == RECONCILE_REASON:
            reason = _("Feature catalog update")
        rendered.append(replace(entry, reason=reason))
    entries = rendered
    entries.sort(key=lambda entry: entry.when, reverse=True)
    return entries[:limit]


def member_list_for_preview(*, organization: Organization):
    """The members an admin may preview as: that organisation's only, active ones first."""
    return Member.objects.filter(organization=organization).order_by(
        "-is_active", "last_name", "first_name", "id"
    )
