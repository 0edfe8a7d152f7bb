"""Onboarding: one service behind the admin view and the `onboard_org` command (SPEC §6, §8)."""

from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.urls import reverse

from organizations.models import Organization
from portal_integration.models import (
    DeepLink,
    FeatureOwnership,
    PlatformTemplate,
    PortalConfiguration,
    TemplateFeature,
)
from portal_integration.services import FeatureSetting, organization_onboard
from webhooks.models import WebhookSource
from webhooks.signing import secret_generate

ONBOARD_URL = "admin:portal_integration_onboard"
SECRET = "whsec_ZGVtby1zZWNyZXQtZm9yLWhsZi1vc2xvLTMyYnl0ZXM="

pytestmark = pytest.mark.django_db


def _counts() -> tuple[int, ...]:
    return (
        Organization.objects.count(),
        WebhookSource.objects.count(),
        PortalConfiguration.objects.count(),
        FeatureOwnership.objects.count(),
    )


# --- the service ------------------------------------------------------------------------


def test_onboarding_creates_everything_from_the_template():
    setting = TemplateFeature.objects.get(feature__key="event_calendar")
    setting.default_owner = "portal"
    setting.default_deep_link = "https://minside.hlf.no/kalender/{organization}"
    setting.save()
    result = organization_onboard(
        slug="hlf-tromso",
        name="HLF Tromsø",
        source_identifier="hlf-tromso",
        features={"course_enrollment": FeatureSetting(owner="portal")},
    )
    organization = result.organization
    assert organization.portal_base_url == "https://minside.hlf.no/"
    assert organization.allowed_hosts == ["minside.hlf.no"]
    assert PortalConfiguration.objects.get(organization=organization).version == 1
    owners = dict(
        FeatureOwnership.objects.filter(organization=organization).values_list(
            "feature__key", "owner"
        )
    )
    assert len(owners) == 8
    assert owners["event_calendar"] == owners["course_enrollment"] == "portal"
    assert owners["membership_profile"] == "app"
    assert DeepLink.objects.get(
        organization=organization, feature__key="event_calendar"
    ).url_template == ("https://minside.hlf.no/kalender/{organization}")
    assert result.source.identifier == "hlf-tromso"
    assert result.source.organization == organization
    assert result.source.tolerance_seconds == 300
    assert result.secret.startswith("whsec_") and result.secret_generated


def test_a_template_link_to_a_host_the_organisation_does_not_allow_is_not_copied():
    setting = TemplateFeature.objects.get(feature__key="event_calendar")
    setting.default_owner = "portal"
    setting.default_deep_link = "https://minside.hlf.no/kalender/{organization}"
    setting.save()

    result = organization_onboard(
        slug="hlf-lokal",
        name="HLF Lokal",
        source_identifier="hlf-lokal",
        portal_base_url="https://portal.lokal.example/",
        allowed_hosts=["portal.lokal.example"],
    )

    # No link to a host it never allowed; members get the base URL, the admin sees the gap.
    assert not DeepLink.objects.get(
        organization=result.organization, feature__key="event_calendar"
    ).url_template


def test_onboarding_changes_apply_to_that_organisation_only(org_a):
    organization_onboard(
        slug="hlf-tromso",
        name="HLF Tromsø",
        source_identifier="hlf-tromso",
        features={"course_enrollment": FeatureSetting(owner="portal")},
    )
    assert (
        FeatureOwnership.objects.get(organization=org_a, feature__key="course_enrollment").owner
        == "app"
    )
    assert TemplateFeature.objects.get(feature__key="course_enrollment").default_owner == "app"


def test_onboarding_refuses_a_bad_deep_link_and_leaves_nothing_behind():
    before = _counts()
    with pytest.raises(Exception) as error:
        organization_onboard(
            slug="hlf-tromso",
            name="HLF Tromsø",
            source_identifier="hlf-tromso",
            features={"contact_list": FeatureSetting(url_template="https://evil.example/")},
        )
    assert "contact_list" in error.value.error_dict
    assert _counts() == before


def test_onboarding_refuses_a_duplicate_identifier_and_leaves_nothing_behind(org_a):
    organization_onboard(slug="hlf-one", name="One", source_identifier="shared-id")
    before = _counts()
    with pytest.raises(Exception) as error:
        organization_onboard(slug="hlf-two", name="Two", source_identifier="shared-id")
    assert "source_identifier" in error.value.error_dict
    assert _counts() == before
    assert not Organization.objects.filter(slug="hlf-two").exists()


# --- the command ------------------------------------------------------------------------


def test_command_creates_everything_and_prints_a_generated_secret_once():
    out = StringIO()
    call_command(
        "onboard_org",
        "--slug=hlf-bodo",
        "--name=HLF Bodø",
        "--source-id=hlf-bodo",
        "--portal-base-url=https://minside.hlf.no/bodo",
        "--allowed-host=minside.hlf.no",
        "--allowed-host=kurs.hlf.no",
        stdout=out,
    )
    organization = Organization.objects.get(slug="hlf-bodo")
    assert organization.allowed_hosts == ["minside.hlf.no", "kurs.hlf.no"]
    assert organization.portal_base_url == "https://minside.hlf.no/bodo"
    assert FeatureOwnership.objects.filter(organization=organization).count() == 8
    source = WebhookSource.objects.get(identifier="hlf-bodo")
    assert source.organization == organization
    text = out.getvalue()
    secrets = [line.strip() for line in text.splitlines() if line.strip().startswith("whsec_")]
    assert len(secrets) == 1
    assert "/webhooks/dynamics/" in text


def test_command_with_a_given_secret_does_not_print_it():
    out = StringIO()
    call_command(
        "onboard_org", slug="hlf-a", name="A", source_id="hlf-a", secret=SECRET, stdout=out
    )
    assert SECRET not in out.getvalue()
    assert WebhookSource.objects.filter(identifier="hlf-a").exists()


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        ({"slug": "hlf-alpha", "source_id": "fresh-id"}, "slug"),
        ({"slug": "hlf-fresh", "source_id": "taken-id"}, "already exists"),
        ({"slug": "hlf-fresh", "source_id": "fresh-id", "secret": "not-a-secret"}, "secret"),
    ],
)
def test_command_refuses_duplicates_and_bad_secrets(org_a, arguments, message):
    call_command(
        "onboard_org", slug="hlf-taken", name="Taken", source_id="taken-id", stdout=StringIO()
    )
    before = _counts()
    with pytest.raises(CommandError) as error:
        call_command("onboard_org", name="Fresh", stdout=StringIO(), **arguments)
    assert message in str(error.value)
    assert _counts() == before


def test_command_fails_with_non_zero_exit(transactional_db, org_a):
    import subprocess
    import sys

    # CommandError from the command line exits 1 with the message on stderr.
    from tests.support.servers import REPO_ROOT, child_env

    completed = subprocess.run(
        [
            sys.executable,
            "manage.py",
            "onboard_org",
            "--slug",
            "hlf-alpha",
            "--name",
            "X",
            "--source-id",
            "whatever",
        ],
        cwd=REPO_ROOT,
        env=child_env(),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert completed.returncode != 0
    assert "slug" in completed.stderr


# --- the admin view ---------------------------------------------------------------------


def test_onboarding_form_starts_from_the_template(as_global_admin):
    template = PlatformTemplate.objects.get()
    template.default_portal_base_url = "https://minside.hlf.no/ny"
    template.default_tolerance_seconds = 120
    template.save()
    setting = TemplateFeature.objects.get(feature__key="expense_claims")
    setting.default_owner = "portal"
    setting.default_deep_link = "https://minside.hlf.no/utlegg?m={member_id}"
    setting.save()
    response = as_global_admin.get(reverse(ONBOARD_URL))
    assert response.status_code == 200
    form = response.context["form"]
    assert form["portal_base_url"].value() == "https://minside.hlf.no/ny"
    assert form["allowed_hosts"].value() == "minside.hlf.no"
    assert form["tolerance_seconds"].value() == 120
    assert form["owner__expense_claims"].value() == "portal"
    assert form["link__expense_claims"].value() == "https://minside.hlf.no/utlegg?m={member_id}"
    assert form["owner__course_enrollment"].value() == "app"


def _onboarding_post(**overrides) -> dict:
    from portal_integration.selectors import template_feature_states

    data = {
        "slug": "hlf-molde",
        "name": "HLF Molde",
        "parent": "",
        "portal_base_url": "https://minside.hlf.no/molde",
        "allowed_hosts": "minside.hlf.no",
        "source_identifier": "hlf-molde",
        "secret": "",
        "tolerance_seconds": "300",
    }
    for state in template_feature_states():
        data[f"owner__{state.key}"] = state.owner
        data[f"link__{state.key}"] = state.url_template
    data.update(overrides)
    return data


def test_onboarding_view_ends_on_a_checklist_showing_the_secret_once(as_global_admin):
    response = as_global_admin.post(
        reverse(ONBOARD_URL),
        _onboarding_post(
            owner__course_enrollment="portal",
            link__course_enrollment="https://minside.hlf.no/kurs?m={member_id}",
            owner__expense_claims="portal",
        ),
    )
    # Post-redirect-get: a reload cannot submit the form again.
    assert response.status_code == 302, response.content.decode()[:3000]
    organization = Organization.objects.get(slug="hlf-molde")
    checklist_url = reverse("admin:portal_integration_onboard_checklist", args=[organization.pk])
    assert response["Location"] == checklist_url
    response = as_global_admin.get(checklist_url)
    assert "no-store" in response["Cache-Control"]
    body = response.content.decode()
    secret = response.context["secret"]
    assert secret.startswith("whsec_") and secret in body
    assert secret not in str(dict(as_global_admin.session))  # never stored in plain text
    assert "/webhooks/dynamics/" in body
    assert "A deep link for Expense claims" in body  # portal-owned without a link
    assert "An organisation administrator" in body
    source = WebhookSource.objects.get(identifier="hlf-molde")
    assert reverse("admin:webhooks_webhooksource_change", args=[source.pk]) in body
    assert (
        FeatureOwnership.objects.get(
            organization=organization, feature__key="course_enrollment"
        ).owner
        == "portal"
    )
    again = as_global_admin.get(checklist_url).content.decode()
    assert "/webhooks/dynamics/" in again
    assert secret not in again


def test_onboarding_view_shows_field_errors(as_global_admin, org_a):
    response = as_global_admin.post(
        reverse(ONBOARD_URL),
        _onboarding_post(slug=org_a.slug, link__contact_list="http://minside.hlf.no/x"),
    )
    assert response.status_code == 200
    form = response.context["form"]
    assert "slug" in form.errors or "link__contact_list" in form.errors
    assert not WebhookSource.objects.filter(identifier="hlf-molde").exists()


def test_onboarding_view_maps_a_duplicate_identifier_to_its_field(as_global_admin):
    organization_onboard(
        slug="hlf-x", name="X", source_identifier="hlf-molde", secret=secret_generate()
    )
    response = as_global_admin.post(reverse(ONBOARD_URL), _onboarding_post())
    assert response.status_code == 200
    assert "source_identifier" in response.context["form"].errors
    assert not Organization.objects.filter(slug="hlf-molde").exists()


def test_organisation_admins_cannot_reach_onboarding(as_org_admin_a, org_a):
    assert as_org_admin_a.get(reverse(ONBOARD_URL)).status_code == 403
    assert as_org_admin_a.post(reverse(ONBOARD_URL), _onboarding_post()).status_code == 403
    checklist = reverse("admin:portal_integration_onboard_checklist", args=[org_a.pk])
    assert as_org_admin_a.get(checklist).status_code == 403
    assert not Organization.objects.filter(slug="hlf-molde").exists()


def test_onboarding_link_is_offered_to_global_admins_only(as_global_admin, client, org_admin_a):
    changelist = reverse("admin:portal_integration_portalconfiguration_changelist")
    assert reverse(ONBOARD_URL) in as_global_admin.get(changelist).content.decode()
