"""Write-side operations: catalog reconciliation, configuration changes and onboarding."""

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from django.apps import apps as global_apps
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.debug import sensitive_variables

from organizations.models import Organization, allowed_hosts_parse

if TYPE_CHECKING:
    from webhooks.models import WebhookSource
from organizations.services import organization_create
from portal_integration.catalog import Owner, catalog_features
from portal_integration.deep_links import deep_link_validate, portal_link_problem
from portal_integration.models import (
    DeepLink,
    FeatureOwnership,
    PlatformTemplate,
    PortalConfiguration,
)

RECONCILE_REASON = "Feature catalog reconciliation"
RESTORE_REASON_PREFIX = "restore:"


@dataclass(frozen=True)
class FeatureSetting:
    """One feature's configuration in a change: None leaves that half unchanged."""

    owner: str | None = None
    url_template: str | None = None


@dataclass
class ReconcileResult:
    added: list[str] = field(default_factory=list)
    retired: list[str] = field(default_factory=list)
    restored: list[str] = field(default_factory=list)
    organizations_updated: int = 0


@dataclass(frozen=True)
class OnboardingResult:
    organization: Organization
    source: "WebhookSource"
    secret: str | None  # None: joined a shared source, whose secret is neither touched nor shown
    secret_generated: bool


# --- platform template and catalog ---------------------------------------------------


def platform_template_ensure() -> PlatformTemplate:
    template, _created = PlatformTemplate.objects.get_or_create(id=PlatformTemplate.SINGLETON_ID)
    return template


def feature_catalog_reconcile(*, apps=global_apps) -> ReconcileResult:
    """Bring the database in line with the catalog in code; safe to run any number of times.

    New features are added to the template and to every organisation with the
    template's default; retired ones are flagged, never deleted; nothing an
    organisation configured is touched. `apps` is the migration state in a data
    migration and the live registry everywhere else.
    """
    Feature = apps.get_model("portal_integration", "Feature")
    Template = apps.get_model("portal_integration", "PlatformTemplate")
    TemplateSetting = apps.get_model("portal_integration", "TemplateFeature")
    Configuration = apps.get_model("portal_integration", "PortalConfiguration")
    Org = apps.get_model("organizations", "Organization")
    result = ReconcileResult()
    now = timezone.now()

    with transaction.atomic():
        template, _created = Template.objects.get_or_create(id=PlatformTemplate.SINGLETON_ID)
        known = {feature.key: feature for feature in Feature.objects.select_for_update()}
        catalog = catalog_features()
        for position, entry in enumerate(catalog):
            feature = known.get(entry.key)
            if feature is None:
                feature = Feature.objects.create(
                    key=entry.key,
                    name=str(entry.name),
                    default_owner=entry.default_owner,
                    position=position,
                )
                result.added.append(entry.key)
            else:
                if feature.is_retired:
                    result.restored.append(entry.key)
                feature.name = str(entry.name)
                feature.default_owner = entry.default_owner
                feature.position = position
                feature.is_retired = False
                feature.retired_at = None
                feature.save(
                    update_fields=["name", "default_owner", "position", "is_retired", "retired_at"]
                )
            # The template keeps what a global admin set; only a new feature gets defaults.
            TemplateSetting.objects.get_or_create(
                feature=feature,
                defaults={
                    "template": template,
                    "default_owner": entry.default_owner,
                    "default_deep_link": entry.default_deep_link,
                },
            )
        catalog_keys = {entry.key for entry in catalog}
        for key, feature in known.items():
            if key not in catalog_keys and not feature.is_retired:
                feature.is_retired = True
                feature.retired_at = now
                feature.save(update_fields=["is_retired", "retired_at"])
                result.retired.append(key)

        organization_ids = list(Org.objects.values_list("id", flat=True))
        configured = set(Configuration.objects.values_list("organization_id", flat=True))
        Configuration.objects.bulk_create(
            [
                Configuration(organization_id=org_id)
                for org_id in organization_ids
                if org_id not in configured
            ]
        )
        changed = _organization_rows_create(apps=apps, organization_ids=organization_ids)
        if result.retired or result.restored:
            changed = set(organization_ids)
        # What the app shows changed, so its cached copy (ETag) must not be reused.
        changed &= configured
        if changed:
            Configuration.objects.filter(organization_id__in=changed).update(
                version=F("version") + 1, updated_at=now
            )
        result.organizations_updated = len(changed)
    return result


def _template_link_for(link: str, *, hosts_text: str) -> str:
    """The template's link if this organisation allows its host, else none (base URL fallback).

    The template is validated against its own hosts; an organisation may allow others, and a
    link it does not allow must never reach its members (SPEC §3). The admin flags the gap.
    """
    if not link:
        return ""
    # From the text, not Organization.allowed_hosts: migrations pass historical models.
    try:
        deep_link_validate(url_template=link, allowed_hosts=allowed_hosts_parse(hosts_text))
    except ValidationError:
        return ""
    return link


def _organization_rows_create(
    *,
    apps=global_apps,
    organization_ids: list[int],
    user=None,
) -> set[int]:
    """Create the missing ownership and deep-link rows with the template's defaults.

    Writes the history rows itself so it also works on the migration state. Returns the
    ids of the organisations that got new rows.
    """
    Feature = apps.get_model("portal_integration", "Feature")
    TemplateSetting = apps.get_model("portal_integration", "TemplateFeature")
    features = list(Feature.objects.filter(is_retired=False))
    defaults = {
        setting.feature_id: (setting.default_owner, setting.default_deep_link)
        for setting in TemplateSetting.objects.all()
    }
    OrganizationState = apps.get_model("organizations", "Organization")
    hosts_by_org = dict(
        OrganizationState.objects.filter(id__in=organization_ids).values_list(
            "id", "allowed_portal_hosts"
        )
    )
    touched: set[int] = set()
    for model_name, value_field in (("FeatureOwnership", "owner"), ("DeepLink", "url_template")):
        Model = apps.get_model("portal_integration", model_name)
        History = apps.get_model("portal_integration", f"Historical{model_name}")
        existing = set(
            Model.objects.filter(organization_id__in=organization_ids).values_list(
                "organization_id", "feature_id"
            )
        )
        rows = []
        for org_id in organization_ids:
            for feature in features:
                if (org_id, feature.id) in existing:
                    continue
                owner, link = defaults.get(feature.id, (feature.default_owner, ""))
                value = (
                    owner
                    if value_field == "owner"
                    else _template_link_for(link, hosts_text=hosts_by_org.get(org_id, ""))
                )
                rows.append(Model(organization_id=org_id, feature=feature, **{value_field: value}))
                touched.add(org_id)
        if not rows:
            continue
        Model.objects.bulk_create(rows)  # sets the ids on SQLite and PostgreSQL alike
        now = timezone.now()
        History.objects.bulk_create(
            [
                History(
                    id=row.id,
                    organization_id=row.organization_id,
                    feature_id=row.feature_id,
                    history_date=now,
                    history_type="+",
                    history_user_id=getattr(user, "pk", None),
                    history_change_reason=RECONCILE_REASON if user is None else "",
                    **{value_field: getattr(row, value_field)},
                )
                for row in rows
            ]
        )
    return touched


# --- configuration changes -----------------------------------------------------------


def portal_configuration_ensure(*, organization: Organization, user=None) -> PortalConfiguration:
    """Give an organisation its configuration rows from the template (idempotent)."""
    with transaction.atomic():
        configuration, _created = PortalConfiguration.objects.get_or_create(
            organization=organization, defaults={"updated_by": user}
        )
        _organization_rows_create(organization_ids=[organization.id], user=user)
    return configuration


def portal_configuration_update(
    *,
    organization: Organization,
    changes: dict[str, FeatureSetting],
    user,
    expected_version: int | None = None,
    reason: str = "",
) -> PortalConfiguration:
    """Apply ownership / deep-link changes and raise the version once if anything changed.

    Raises ValidationError keyed by `<feature key>` with the messages for that feature,
    or a general one when `expected_version` (the version the editor started from) is
    no longer current: someone else saved in between, and their change must not be
    overwritten unseen.
    """
    _settings_validate(organization=organization, changes=changes)
    with transaction.atomic():
        configuration = portal_configuration_ensure(organization=organization, user=user)
        # Row lock: two admins saving at once get two distinct versions.
        configuration = PortalConfiguration.objects.select_for_update().get(pk=configuration.pk)
        if expected_version is not None and configuration.version != expected_version:
            raise ValidationError(
                _(
                    "Someone else saved this configuration (now version %(version)d) while "
                    "you were editing. Your changes were not saved; check the current "
                    "settings and save again."
                )
                % {"version": configuration.version},
                code="stale_version",
            )
        if _settings_apply(organization=organization, changes=changes, user=user, reason=reason):
            configuration.version = F("version") + 1
            configuration.updated_by = user
            configuration.save(update_fields=["version", "updated_by", "updated_at"])
            configuration.refresh_from_db(fields=["version"])
    return configuration


def _settings_apply(
    *, organization: Organization, changes: dict[str, FeatureSetting], user, reason: str = ""
) -> bool:
    """Write the changed values (with history); True when anything changed."""
    rows = {
        (model, row.feature.key): row
        for model in (FeatureOwnership, DeepLink)
        for row in model.objects.filter(organization=organization).select_related("feature")
    }
    changed = False
    for key, setting in changes.items():
        changed |= _apply(rows.get((FeatureOwnership, key)), "owner", setting.owner, user, reason)
        changed |= _apply(
            rows.get((DeepLink, key)), "url_template", setting.url_template, user, reason
        )
    return changed


def _apply(row, field_name: str, value: str | None, user, reason: str = "") -> bool:
    if row is None or value is None or getattr(row, field_name) == value:
        return False
    setattr(row, field_name, value)
    row._history_user = user  # who, for the audit history (also outside a request)
    if reason:
        row._change_reason = reason
    row.save(update_fields=[field_name])
    return True


def _settings_validate(*, organization: Organization, changes: dict[str, FeatureSetting]) -> None:
    """Every error of a change at once, keyed by feature: syntax, hosts and dead ends.

    A feature Min Side owns must send every member to a working https link, its deep link
    or else the organisation's base URL (SPEC §3); a change that leaves one without is
    refused, saying what to add.
    """
    from portal_integration.models import Feature

    features = {feature.key: feature for feature in Feature.objects.filter(is_retired=False)}
    current = _current_settings(organization=organization)
    errors: dict[str, list] = {}
    for key, setting in changes.items():
        if key not in features:
            errors[key] = [_("%(key)s is not a feature of the catalog.") % {"key": key}]
            continue
        if setting.owner is not None and setting.owner not in Owner.values:
            errors[key] = [_("Choose the app or Min Side.")]
            continue
        owner = setting.owner if setting.owner is not None else current.get(key, ("", ""))[0]
        link = (
            setting.url_template
            if setting.url_template is not None
            else current.get(key, ("", ""))[1]
        )
        if link:
            try:
                deep_link_validate(url_template=link, allowed_hosts=organization.allowed_hosts)
            except ValidationError as error:
                errors.setdefault(key, []).extend(error.messages)
                continue
        if owner == Owner.PORTAL:
            problem = portal_link_problem(
                url_template=link,
                base_url=organization.portal_base_url,
                allowed_hosts=organization.allowed_hosts,
            )
            if problem:
                errors.setdefault(key, []).append(
                    _("%(feature)s is handed to Min Side, but: %(problem)s")
                    % {"feature": features[key].display_name, "problem": problem}
                )
    if errors:
        raise ValidationError(errors)


def _current_settings(*, organization: Organization) -> dict[str, tuple[str, str]]:
    """{feature key: (owner, deep link)} as members get them now."""
    owners = dict(
        FeatureOwnership.objects.filter(organization=organization).values_list(
            "feature__key", "owner"
        )
    )
    links = dict(
        DeepLink.objects.filter(organization=organization).values_list(
            "feature__key", "url_template"
        )
    )
    return {key: (owner, links.get(key, "")) for key, owner in owners.items()}


def organization_links_check(
    *, organization: Organization, portal_base_url: str, allowed_hosts: list[str]
) -> list[str]:
    """What would break for members if the organisation's base URL / hosts changed so.

    Used by the organisation form: clearing the base URL or dropping a host must not
    leave a portal-owned feature without a working link.
    """
    from portal_integration.models import Feature

    names = {feature.key: feature.display_name for feature in Feature.objects.all()}
    problems = []
    for key, (owner, link) in sorted(_current_settings(organization=organization).items()):
        if owner != Owner.PORTAL:
            continue
        problem = portal_link_problem(
            url_template=link, base_url=portal_base_url, allowed_hosts=allowed_hosts
        )
        if problem:
            problems.append(
                _("%(feature)s is handed to Min Side, but: %(problem)s")
                % {"feature": names.get(key, key), "problem": problem}
            )
    return problems


# --- drafts, publishing and restoring ---------------------------------------------------


def portal_configuration_draft_save(
    *,
    organization: Organization,
    changes: dict[str, FeatureSetting],
    user,
    expected_version: int,
) -> PortalConfiguration:
    """Keep edits as an unpublished draft (members still get the published version).

    Validated exactly like publishing, so a draft that previews can also be published.
    Only settings that differ from the published ones are kept.
    """
    _settings_validate(organization=organization, changes=changes)
    current = _current_settings(organization=organization)
    draft = {}
    for key, setting in changes.items():
        owner, link = current.get(key, (None, None))
        if (setting.owner, setting.url_template) != (owner, link):
            draft[key] = {"owner": setting.owner, "url_template": setting.url_template}
    with transaction.atomic():
        configuration = portal_configuration_ensure(organization=organization, user=user)
        configuration = PortalConfiguration.objects.select_for_update().get(pk=configuration.pk)
        configuration.draft = draft
        configuration.draft_base_version = expected_version if draft else None
        configuration.draft_updated_at = timezone.now() if draft else None
        configuration.draft_updated_by = user if draft else None
        configuration.save(
            update_fields=["draft", "draft_base_version", "draft_updated_at", "draft_updated_by"]
        )
    return configuration


def portal_configuration_draft_discard(*, organization: Organization) -> None:
    PortalConfiguration.objects.filter(organization=organization).update(
        draft={}, draft_base_version=None, draft_updated_at=None, draft_updated_by=None
    )


def draft_settings(configuration: PortalConfiguration) -> dict[str, FeatureSetting]:
    return {
        key: FeatureSetting(owner=value.get("owner"), url_template=value.get("url_template"))
        for key, value in (configuration.draft or {}).items()
    }


def portal_configuration_publish(
    *, organization: Organization, user, expected_version: int | None = None
) -> PortalConfiguration:
    """Make the draft what members get: one new configuration version, draft cleared.

    Refused (code `stale_version`) when someone else published after the draft was made,
    and (keyed by feature) when the draft no longer passes validation.
    """
    configuration = portal_configuration_ensure(organization=organization, user=user)
    changes = draft_settings(configuration)
    with transaction.atomic():
        updated = portal_configuration_update(
            organization=organization,
            changes=changes,
            user=user,
            expected_version=expected_version or configuration.draft_base_version,
        )
        portal_configuration_draft_discard(organization=organization)
    return updated


def portal_configuration_restore(
    *, organization: Organization, field: str, history_id: int, user
) -> PortalConfiguration:
    """Put back the value a setting had before one recorded change, as a new change.

    `field` is "owner" or "url_template"; the history record must be this
    organisation's (anything else is refused as not found). Validated like any save, so
    restoring cannot publish a dead end; the history records it with its reason.
    """
    # django-simple-history adds `history` to each model at runtime, out of the stubs' sight.
    models: dict[str, Any] = {"owner": FeatureOwnership, "url_template": DeepLink}
    model = models.get(field)
    if model is None:
        raise ValidationError(_("Unknown setting."), code="not_found")
    record = (
        model.history.filter(organization=organization, history_id=history_id)
        .select_related("feature")
        .first()
    )
    if record is None:
        raise ValidationError(_("That change does not exist."), code="not_found")
    earlier = (
        model.history.filter(id=record.id, history_id__lt=record.history_id)
        .order_by("-history_id")
        .first()
    )
    if earlier is None:
        raise ValidationError(_("There is no earlier value to restore."), code="not_found")
    value = getattr(earlier, field)
    key = record.feature.key
    setting = (
        FeatureSetting(owner=value) if field == "owner" else FeatureSetting(url_template=value)
    )
    # Stored as a marker, rendered in the reader's language by the history selector.
    reason = f"{RESTORE_REASON_PREFIX}{record.history_id}"
    return portal_configuration_update(
        organization=organization, changes={key: setting}, user=user, reason=reason
    )


# --- onboarding ------------------------------------------------------------------------


@sensitive_variables()
def organization_onboard(
    *,
    slug: str,
    name: str,
    source_identifier: str,
    parent: Organization | None = None,
    portal_base_url: str | None = None,
    allowed_hosts: list[str] | None = None,
    secret: str | None = None,
    tolerance_seconds: int | None = None,
    features: dict[str, FeatureSetting] | None = None,
    routing_value: str | None = None,
    user=None,
) -> OnboardingResult:
    """Create an organisation and its whole integration from the template, in one step.

    With a `routing_value` the organisation joins the shared source `source_identifier`
    (created as a shared source if it does not exist), SPEC §4.4.

    Unset values come from the platform default template. Raises ValidationError
    (keyed by field: slug, source_identifier, secret, <feature key>, …) and leaves
    nothing behind when any part is refused.
    """
    template = platform_template_ensure()
    if Organization.objects.filter(slug=slug).exists():
        raise ValidationError(
            {"slug": _("An organisation with the slug %(slug)s already exists.") % {"slug": slug}}
        )
    with transaction.atomic():
        organization = organization_create(
            slug=slug,
            name=name,
            parent=parent,
            portal_base_url=(
                template.default_portal_base_url if portal_base_url is None else portal_base_url
            ),
            allowed_portal_hosts=(
                template.default_allowed_hosts if allowed_hosts is None else allowed_hosts
            ),
        )
        return organization_integration_setup(
            organization=organization,
            source_identifier=source_identifier,
            secret=secret,
            tolerance_seconds=tolerance_seconds,
            features=features,
            routing_value=routing_value,
            user=user,
        )


@sensitive_variables()
def organization_integration_setup(
    *,
    organization: Organization,
    source_identifier: str,
    secret: str | None = None,
    tolerance_seconds: int | None = None,
    features: dict[str, FeatureSetting] | None = None,
    routing_value: str | None = None,
    user=None,
) -> OnboardingResult:
    """Configuration rows and the webhook source for an existing organisation."""
    from webhooks.services import webhook_source_create, webhook_source_join

    template = platform_template_ensure()
    _settings_validate(organization=organization, changes=features or {})
    with transaction.atomic():
        portal_configuration_ensure(organization=organization, user=user)
        # The starting point, not a change: the version stays 1.
        _settings_apply(organization=organization, changes=features or {}, user=user)
        try:
            if routing_value:
                source, plaintext = webhook_source_join(
                    organization=organization,
                    identifier=source_identifier,
                    routing_value=routing_value,
                    secret=secret or None,
                    tolerance_seconds=tolerance_seconds or template.default_tolerance_seconds,
                )
            else:
                source, plaintext = webhook_source_create(
                    organization=organization,
                    identifier=source_identifier,
                    secret=secret or None,
                    tolerance_seconds=tolerance_seconds or template.default_tolerance_seconds,
                )
        except ValidationError as error:
            raise _as_field_error(error) from error
    return OnboardingResult(
        organization=organization,
        source=source,
        secret=plaintext,
        secret_generated=plaintext is not None and not secret,
    )


def _as_field_error(error: ValidationError) -> ValidationError:
    """Attach the webhook source's messages to the onboarding form fields."""
    if hasattr(error, "error_dict"):
        renamed = {
            {"identifier": "source_identifier"}.get(name, name): errors
            for name, errors in error.error_dict.items()
        }
        return ValidationError(renamed)
    text = " ".join(error.messages)
    name = "secret" if "whsec" in text.lower() or "secret" in text.lower() else "source_identifier"
    return ValidationError({name: error.messages})
