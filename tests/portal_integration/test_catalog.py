"""The catalog in code and the database stay in line across releases (SPEC §2)."""

import pytest
from django.core.management import call_command

from portal_integration import catalog
from portal_integration.catalog import CatalogFeature, Owner
from portal_integration.models import (
    DeepLink,
    Feature,
    FeatureOwnership,
    PortalConfiguration,
    TemplateFeature,
)
from portal_integration.selectors import portal_config_for_member
from portal_integration.services import (
    FeatureSetting,
    feature_catalog_reconcile,
    portal_configuration_update,
)

pytestmark = pytest.mark.django_db


def test_catalog_holds_the_eight_features_of_the_spec():
    assert [feature.key for feature in catalog.FEATURE_CATALOG] == [
        "membership_profile",
        "membership_status",
        "course_enrollment",
        "course_certificates",
        "activity_registration",
        "expense_claims",
        "event_calendar",
        "contact_list",
    ]
    assert Feature.objects.filter(is_retired=False).count() == 8


def test_new_organisation_gets_every_feature_from_the_template(org_a):
    assert FeatureOwnership.objects.filter(organization=org_a).count() == 8
    assert DeepLink.objects.filter(organization=org_a).count() == 8
    assert PortalConfiguration.objects.get(organization=org_a).version == 1


def test_release_adding_a_feature_keeps_every_existing_choice(monkeypatch, org_a, org_b):
    template_setting = TemplateFeature.objects.get(feature__key="expense_claims")
    template_setting.default_owner = Owner.PORTAL
    template_setting.save()
    portal_configuration_update(
        organization=org_a,
        changes={
            "course_enrollment": FeatureSetting(
                owner="portal", url_template="https://minside.hlf.no/kurs"
            ),
            "membership_profile": FeatureSetting(owner="app"),
        },
        user=None,
    )
    before = {
        org.slug: (_choices(org), PortalConfiguration.objects.get(organization=org).version)
        for org in (org_a, org_b)
    }

    release = (
        *[entry for entry in catalog.FEATURE_CATALOG if entry.key != "contact_list"],
        CatalogFeature("peer_support_log", "Peer support log", default_owner=Owner.PORTAL),
    )
    monkeypatch.setattr(catalog, "FEATURE_CATALOG", release)
    result = feature_catalog_reconcile()
    call_command("migrate", verbosity=0)  # runs the reconciliation again via post_migrate
    feature_catalog_reconcile()

    assert result.added == ["peer_support_log"]
    assert result.retired == ["contact_list"]
    for org in (org_a, org_b):
        choices = _choices(org)
        old_choices, old_version = before[org.slug]
        # Everything configured before is untouched, including the retired feature's row.
        assert {key: choices[key] for key in old_choices} == old_choices
        assert choices["peer_support_log"] == ("portal", "")
        # The feature list changed, so cached copies in the app must be refreshed once.
        assert PortalConfiguration.objects.get(organization=org).version == old_version + 1
    retired = Feature.objects.get(key="contact_list")
    assert retired.is_retired and retired.retired_at is not None
    assert FeatureOwnership.history.filter(feature=retired).exists()  # history kept
    view = portal_config_for_member(organization=org_a, member=None, locale="nb")
    keys = [feature.key for feature in view.features]
    assert "contact_list" not in keys
    assert keys[-1] == "peer_support_log"
    # The template's existing settings are kept as a global admin left them.
    assert TemplateFeature.objects.get(feature__key="expense_claims").default_owner == "portal"


def test_reconcile_without_changes_changes_nothing(org_a):
    version = PortalConfiguration.objects.get(organization=org_a).version
    result = feature_catalog_reconcile()
    assert (result.added, result.retired, result.organizations_updated) == ([], [], 0)
    assert PortalConfiguration.objects.get(organization=org_a).version == version


def test_feature_back_in_the_catalog_is_restored_with_its_configuration(monkeypatch, org_a):
    portal_configuration_update(
        organization=org_a, changes={"contact_list": FeatureSetting(owner="portal")}, user=None
    )
    full = catalog.FEATURE_CATALOG
    monkeypatch.setattr(catalog, "FEATURE_CATALOG", full[:-1])
    feature_catalog_reconcile()
    monkeypatch.setattr(catalog, "FEATURE_CATALOG", full)
    result = feature_catalog_reconcile()
    assert result.restored == ["contact_list"]
    assert _choices(org_a)["contact_list"][0] == "portal"


def _choices(organization) -> dict[str, tuple[str, str]]:
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
    return {key: (owner, links[key]) for key, owner in owners.items()}
