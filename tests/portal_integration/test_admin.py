"""The config screen, preview as member and the template/feature admins, per organisation."""

from django.urls import reverse

from organizations.models import Member
from portal_integration.models import Feature, PlatformTemplate, PortalConfiguration
from portal_integration.services import FeatureSetting, portal_configuration_update
from tests.factories import MemberFactory
from tests.portal_integration.conftest import hand_to_portal
from tests.support.isolation import (
    admin_url,
    assert_admin_hidden,
    assert_admin_isolated,
    isolation_test,
)

LINK = "https://minside.hlf.no/kurs?medlem={member_id}&org={organization}&lang={locale}"


def _configuration(organization) -> PortalConfiguration:
    return PortalConfiguration.objects.get(organization=organization)


def _preview_url(organization, **params) -> str:
    url = reverse(
        "admin:portal_integration_portalconfiguration_preview",
        args=[_configuration(organization).pk],
    )
    query = "&".join(f"{key}={value}" for key, value in params.items())
    return f"{url}?{query}" if query else url


def _post_data(organization, **overrides) -> dict:
    """The config form as the browser would submit it, unchanged unless overridden."""
    from portal_integration.selectors import portal_config_for_member

    data = {"version": _configuration(organization).version}
    for state in portal_config_for_member(
        organization=organization, member=None, locale="en"
    ).features:
        data[f"owner__{state.key}"] = state.owner
        data[f"link__{state.key}"] = state.url_template
    data.update(overrides)
    return data


# --- isolation helpers, one line per admin ----------------------------------------------


@isolation_test("admin:portal_integration_portalconfiguration_changelist")
def test_config_screen_is_isolated_per_organisation(as_org_admin_a, org_a, org_b):
    assert_admin_isolated(
        as_org_admin_a,
        own=_configuration(org_a),
        other=_configuration(org_b),
        marker=lambda c: c.organization.name,
    )


@isolation_test(
    "admin:portal_integration_platformtemplate_changelist",
    "admin:portal_integration_feature_changelist",
)
def test_template_and_features_are_hidden_from_organisation_admins(as_org_admin_a, db):
    assert_admin_hidden(as_org_admin_a, PlatformTemplate.objects.get())
    assert_admin_hidden(as_org_admin_a, Feature.objects.first())


def test_global_admin_sees_template_and_features(as_global_admin, org_a):
    template = PlatformTemplate.objects.get()
    response = as_global_admin.get(admin_url(template, "changelist"))
    assert response.status_code == 302
    assert as_global_admin.get(response["Location"]).status_code == 200
    body = as_global_admin.get(admin_url(Feature.objects.first(), "changelist")).content.decode()
    assert "course_enrollment" in body


# --- the config screen ----------------------------------------------------------------


def test_config_screen_shows_features_links_sync_panel_and_preview_link(
    as_org_admin_a, org_a, member_a
):
    hand_to_portal(org_a, "course_enrollment", LINK)
    body = as_org_admin_a.get(admin_url(_configuration(org_a))).content.decode()
    assert 'name="owner__course_enrollment"' in body
    assert f"medlem={member_a.portal_member_id}&amp;org=hlf-alpha" in body  # current URL
    assert "Sync status" in body
    assert "No events from Min Side yet" in body
    assert (
        reverse(
            "admin:portal_integration_portalconfiguration_preview", args=[_configuration(org_a).pk]
        )
        in body
    )


def test_missing_deep_link_of_portal_feature_is_flagged(as_org_admin_a, org_a):
    hand_to_portal(org_a, "expense_claims")
    body = as_org_admin_a.get(admin_url(_configuration(org_a))).content.decode()
    assert "No deep link: members land on the Min Side base URL" in body


def test_saving_raises_version_once_and_records_who(as_org_admin_a, org_a, org_b, org_admin_a):
    data = _post_data(
        org_a,
        owner__course_enrollment="portal",
        link__course_enrollment=LINK,
        owner__expense_claims="portal",
    )
    response = as_org_admin_a.post(admin_url(_configuration(org_a)), data)
    assert response.status_code == 302
    assert _configuration(org_a).version == 2
    assert _configuration(org_b).version == 1
    body = as_org_admin_a.get(admin_url(_configuration(org_a))).content.decode()
    assert "Change history" in body and org_admin_a.username in body
    assert "The app → Min Side" in body


def test_invalid_link_shows_a_field_message_and_saves_nothing(as_org_admin_a, org_a):
    data = _post_data(org_a, link__course_enrollment="javascript:alert(1)")
    response = as_org_admin_a.post(admin_url(_configuration(org_a)), data)
    assert response.status_code == 200
    body = response.content.decode()
    assert "The link must start with https://" in body
    assert _configuration(org_a).version == 1


def test_save_based_on_an_old_version_does_not_overwrite_a_newer_one(as_org_admin_a, org_a):
    stale_form = _post_data(org_a, owner__contact_list="portal")
    hand_to_portal(org_a, "expense_claims")  # someone else saves meanwhile: version 2
    response = as_org_admin_a.post(admin_url(_configuration(org_a)), stale_form, follow=True)
    assert "Someone else saved this configuration" in response.content.decode()
    assert _configuration(org_a).version == 2
    owners = dict(org_a.feature_ownerships.values_list("feature__key", "owner"))
    assert owners["expense_claims"] == "portal"  # not overwritten by the stale form
    assert owners["contact_list"] == "app"


def test_other_organisations_screen_cannot_be_posted_to(as_org_admin_a, org_b):
    response = as_org_admin_a.post(
        admin_url(_configuration(org_b)), _post_data(org_b, owner__course_enrollment="portal")
    )
    assert response.status_code == 404
    assert _configuration(org_b).version == 1


# --- preview as member ----------------------------------------------------------------


def test_preview_shows_entries_and_handoff_cards(as_org_admin_a, org_a, member_a):
    hand_to_portal(org_a, "course_enrollment", LINK)
    response = as_org_admin_a.get(_preview_url(org_a, member=member_a.pk, locale="en"))
    assert response.status_code == 200
    body = response.content.decode()
    assert "This is done in Min Side" in body
    expected = (
        f'href="https://minside.hlf.no/kurs?medlem={member_a.portal_member_id}'
        '&amp;org=hlf-alpha&amp;lang=en" target="_blank" rel="noopener noreferrer"'
    )
    assert expected in body
    assert 'data-feature="membership_profile" data-owner="app"' in body
    assert "disabled" not in body


def test_preview_member_chooser_lists_only_that_organisation(
    as_org_admin_a, org_a, member_a, member_b
):
    body = as_org_admin_a.get(_preview_url(org_a)).content.decode()
    assert member_a.last_name in body
    assert member_b.last_name not in body


def test_org_admin_cannot_preview_another_organisation(as_org_admin_a, org_b, member_b, member_a):
    assert as_org_admin_a.get(_preview_url(org_b)).status_code == 404
    assert as_org_admin_a.get(_preview_url(org_b, member=member_b.pk)).status_code == 404


def test_member_of_another_organisation_cannot_be_chosen(as_org_admin_a, org_a, member_b):
    assert as_org_admin_a.get(_preview_url(org_a, member=member_b.pk)).status_code == 404


def test_preview_of_deactivated_member_explains_instead_of_failing(as_org_admin_a, org_a):
    from django.utils import timezone

    gone = MemberFactory(organization=org_a, is_active=False, deactivated_at=timezone.now())
    response = as_org_admin_a.get(_preview_url(org_a, member=gone.pk))
    assert response.status_code == 200
    assert "is deactivated" in response.content.decode()


def test_preview_without_members_has_an_empty_state(as_org_admin_a, org_a):
    body = as_org_admin_a.get(_preview_url(org_a)).content.decode()
    assert "has no members yet" in body


def test_preview_matches_the_api_for_the_same_member(as_org_admin_a, org_a, member_a, org_admin_a):
    from tests.portal_integration.conftest import token_client

    portal_configuration_update(
        organization=org_a,
        changes={"contact_list": FeatureSetting(owner="portal", url_template=LINK)},
        user=None,
    )
    api = (
        token_client(org_admin_a)
        .get(
            "/api/v1/portal-config/",
            {"organization": org_a.slug, "member": member_a.portal_member_id, "locale": "en"},
        )
        .json()
    )
    body = as_org_admin_a.get(_preview_url(org_a, member=member_a.pk, locale="en")).content.decode()
    for feature in api["features"]:
        assert f'data-feature="{feature["key"]}" data-owner="{feature["owner"]}"' in body
        if feature["handoff_url"]:
            assert feature["handoff_url"].replace("&", "&amp;") in body


def test_coordinator_role_does_not_open_the_admin(client, org_a):
    from tests.conftest import PASSWORD
    from tests.factories import UserFactory

    member = MemberFactory(organization=org_a, role=Member.Role.COORDINATOR)
    member.user = UserFactory(username="coord-login")
    member.save()
    client.login(username="coord-login", password=PASSWORD)
    response = client.get(_preview_url(org_a))
    assert response.status_code == 302  # to the admin login


def test_sync_panel_shows_figures_and_links_to_the_filtered_sync_log(as_org_admin_a, org_a, org_b):
    from django.utils import timezone

    from sync.models import InboundEvent

    now = timezone.now()
    for org, webhook_id, event_status in (
        (org_a, "a-ok", InboundEvent.Status.SUCCEEDED),
        (org_a, "a-bad", InboundEvent.Status.FAILED),
        (org_b, "b-secret-event", InboundEvent.Status.FAILED),
    ):
        InboundEvent.objects.create(
            organization=org,
            source_identifier=org.slug,
            webhook_id=webhook_id,
            event_type=f"membership.updated.{webhook_id}",
            payload_format="envelope",
            payload={},
            status=event_status,
            started_at=now,
            finished_at=now,
            outcome="Member x: role 'boss' is not valid" if webhook_id == "a-bad" else "",
        )
    body = as_org_admin_a.get(admin_url(_configuration(org_a))).content.decode()
    assert "membership.updated.a-ok" in body
    assert "role &#x27;boss&#x27; is not valid" in body
    assert "b-secret-event" not in body
    sync_log = reverse("admin:sync_inboundevent_changelist")
    assert f"{sync_log}?organization__id__exact={org_a.pk}" in body
