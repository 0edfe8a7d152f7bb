"""Forms report every mistake at once, next to its field, in plain words (issue 10, item 3)."""

import pytest
from django.urls import reverse
from django.utils import translation

from organizations.models import Organization
from tests.factories import OrganizationFactory
from tests.portal_integration.test_onboarding import _onboarding_post
from webhooks.models import WebhookSource

ONBOARD_URL = reverse("admin:portal_integration_onboard")
FIVE_MISTAKES = {
    "slug": "HLF Tromsø",
    "portal_base_url": "http://minside.hlf.no/tromso",
    "secret": "whsec_<base64 key>",
    "link__course_enrollment": "https://minside.hlf.no/kurs?m={member_id",
    "owner__course_enrollment": "portal",
    "tolerance_seconds": "0",
}


def test_onboarding_reports_every_error_in_one_submit(as_global_admin):
    OrganizationFactory(slug="hlf-tromso-gammel", name="HLF Tromsø")
    response = as_global_admin.post(
        ONBOARD_URL, _onboarding_post(name="HLF Tromsø", **FIVE_MISTAKES)
    )
    assert response.status_code == 200
    errors = response.context["form"].errors
    assert set(errors) >= {
        "slug",
        "name",
        "portal_base_url",
        "secret",
        "link__course_enrollment",
        "tolerance_seconds",
    }
    assert "æ, ø and å are not allowed" in errors["slug"][0]
    assert "Capitals" in errors["slug"][0]
    assert "already exists. Is this really another one?" in errors["name"][0]
    assert "starts with whsec_" in errors["secret"][0]
    assert "base64" not in errors["secret"][0] and "<" not in errors["secret"][0]
    assert "https://" in errors["portal_base_url"][0]
    assert "character 31" in errors["link__course_enrollment"][0]
    body = response.content.decode()
    assert "Nothing was saved: correct the 6 errors below." in body
    # Each message sits in its own field's row.
    assert body.index("æ, ø and å") < body.index('name="slug"')
    assert (
        not Organization.objects.filter(slug__icontains="troms", name="HLF Tromsø")
        .exclude(slug="hlf-tromso-gammel")
        .exists()
    )
    assert not WebhookSource.objects.exists()


def test_a_duplicate_name_is_questioned_then_accepted(as_global_admin):
    OrganizationFactory(slug="hlf-molde-gammel", name="HLF Molde")
    first = as_global_admin.post(ONBOARD_URL, _onboarding_post())
    assert "name" in first.context["form"].errors
    assert 'name="confirm_duplicate_name"' in first.content.decode()
    second = as_global_admin.post(ONBOARD_URL, _onboarding_post(confirm_duplicate_name="on"))
    assert second.status_code == 302
    assert Organization.objects.filter(name="HLF Molde").count() == 2


def test_a_taken_slug_and_identifier_are_both_reported(as_global_admin, org_a):
    WebhookSource.objects.create(organization=org_a, identifier="hlf-molde")
    response = as_global_admin.post(ONBOARD_URL, _onboarding_post(slug=org_a.slug))
    errors = response.context["form"].errors
    assert "already exists" in errors["slug"][0]
    assert "already exists" in errors["source_identifier"][0]


@pytest.mark.parametrize("language", ["nb"])
def test_the_messages_are_bokmal_in_bokmal(as_global_admin, settings, language):
    settings.LANGUAGE_CODE = language
    with translation.override(language):
        response = as_global_admin.post(
            ONBOARD_URL,
            _onboarding_post(**FIVE_MISTAKES),
            HTTP_ACCEPT_LANGUAGE=language,
        )
    errors = response.context["form"].errors
    assert "æ, ø og å" in errors["slug"][0]
    assert "whsec_" in errors["secret"][0] and "Lim inn" in errors["secret"][0]
    assert "tegn 31" in errors["link__course_enrollment"][0]


def test_the_config_form_reports_every_feature_error_at_once(as_org_admin_a, org_a):
    from portal_integration.models import PortalConfiguration
    from tests.portal_integration.test_publish_flow import _change_url, _form_data

    configuration = PortalConfiguration.objects.get(organization=org_a)
    response = as_org_admin_a.post(
        _change_url(configuration),
        _form_data(
            configuration,
            link__course_enrollment="http://minside.hlf.no/kurs",
            link__expense_claims="https://evil.example/x",
            link__contact_list="https://minside.hlf.no/{memberid}",
            _publish="1",
        ),
    )
    errors = response.context["form"].errors
    assert set(errors) == {"link__course_enrollment", "link__expense_claims", "link__contact_list"}
