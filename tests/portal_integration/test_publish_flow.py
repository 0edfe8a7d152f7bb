"""Nothing broken can be published; drafts are previewed as a member, then published; the
change history restores an earlier value (issue 10, items 1 and 2)."""

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse

from portal_integration.deep_links import deep_link_fill, deep_link_parse, deep_link_validate
from portal_integration.models import DeepLink, PortalConfiguration
from portal_integration.selectors import portal_config_for_member
from portal_integration.services import (
    FeatureSetting,
    portal_configuration_draft_save,
    portal_configuration_publish,
    portal_configuration_update,
)
from tests.portal_integration.conftest import hand_to_portal
from tests.support.isolation import isolation_test

HOSTS = ["minside.hlf.no"]
LINK = "https://minside.hlf.no/kurs?m={member_id}"
OTHER_LINK = "https://minside.hlf.no/kurs/ny?m={member_id}"


def _change_url(configuration):
    return reverse("admin:portal_integration_portalconfiguration_change", args=[configuration.pk])


def _form_data(configuration, **overrides) -> dict:
    view = portal_config_for_member(
        organization=configuration.organization, member=None, locale="en"
    )
    data = {"version": str(configuration.version)}
    for feature in view.features:
        data[f"owner__{feature.key}"] = feature.owner
        data[f"link__{feature.key}"] = feature.url_template
    data.update(overrides)
    return data


# --- the parser ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("url_template", "position"),
    [
        ("https://minside.hlf.no/profil?medlem={member_id", 38),
        ("https://minside.hlf.no/profil?m=member_id}", 42),
        ("https://minside.hlf.no/{member_id{locale}}", 24),
        ("https://minside.hlf.no/}{", 24),
    ],
)
def test_unbalanced_braces_are_refused_with_their_position(url_template, position):
    with pytest.raises(ValidationError) as error:
        deep_link_validate(url_template=url_template, allowed_hosts=HOSTS)
    assert error.value.code == "unbalanced_braces"
    assert f"character {position}" in error.value.messages[0]
    assert url_template[position - 1] in "{}"


def test_the_parser_splits_text_and_placeholders():
    parts = deep_link_parse("https://x.no/{member_id}/a{locale}")
    assert [getattr(part, "name", part) for part in parts] == [
        "https://x.no/",
        "member_id",
        "/a",
        "locale",
    ]
    assert parts[1].position == 14


def test_filling_never_sends_literal_braces():
    # A template saved before braces were checked resolves to nothing (base URL fallback).
    assert deep_link_fill(url_template="https://x.no/?m={member_id", values={}) == ""
    assert (
        deep_link_fill(url_template="https://x.no/?m={member_id}", values={"member_id": "a b"})
        == "https://x.no/?m=a%20b"
    )


# --- dead ends -----------------------------------------------------------------------


def test_a_portal_feature_without_any_link_is_refused(org_a):
    org_a.portal_base_url = ""
    org_a.save()
    with pytest.raises(ValidationError) as error:
        hand_to_portal(org_a, "course_enrollment", "")
    message = error.value.message_dict["course_enrollment"][0]
    assert "add a deep link" in message
    assert "base URL" in message
    assert PortalConfiguration.objects.get(organization=org_a).version == 1
    # With its own deep link it is fine, and so is the base URL alone.
    hand_to_portal(org_a, "course_enrollment", LINK)
    org_a.portal_base_url = "https://minside.hlf.no/alpha"
    org_a.save()
    hand_to_portal(org_a, "expense_claims", "")


def test_the_config_page_refuses_a_dead_end_and_says_what_to_add(as_org_admin_a, org_a):
    org_a.portal_base_url = ""
    org_a.save()
    configuration = PortalConfiguration.objects.get(organization=org_a)
    response = as_org_admin_a.post(
        _change_url(configuration),
        _form_data(
            configuration,
            owner__course_enrollment="portal",
            link__course_enrollment="",
            owner__expense_claims="portal",
            link__expense_claims="https://minside.hlf.no/utlegg?m={member_id",
            _publish="1",
        ),
    )
    assert response.status_code == 200
    form = response.context["form"]
    # Both mistakes at once, each next to its own field.
    assert "add a deep link" in form.errors["link__course_enrollment"][0]
    assert "character" in form.errors["link__expense_claims"][0]
    body = response.content.decode()
    assert "Nothing was saved: correct the 2 errors below." in body
    configuration.refresh_from_db()
    assert configuration.version == 1


def test_the_config_page_shows_base_url_and_hosts_read_only_for_org_admins(as_org_admin_a, org_a):
    configuration = PortalConfiguration.objects.get(organization=org_a)
    body = as_org_admin_a.get(_change_url(configuration)).content.decode()
    assert org_a.portal_base_url in body
    assert "minside.hlf.no" in body
    assert "Only a global administrator can change these" in body
    assert 'id="pi-org-change-link"' not in body


def test_global_admins_get_a_link_to_change_base_url_and_hosts(as_global_admin, org_a):
    configuration = PortalConfiguration.objects.get(organization=org_a)
    body = as_global_admin.get(_change_url(configuration)).content.decode()
    assert reverse("admin:organizations_organization_change", args=[org_a.pk]) in body


# --- draft, preview, publish ----------------------------------------------------------


def test_draft_is_previewed_as_a_member_and_published_as_a_new_version(
    as_org_admin_a, org_a, member_a, member_a_api
):
    configuration = PortalConfiguration.objects.get(organization=org_a)
    response = as_org_admin_a.post(
        _change_url(configuration),
        _form_data(
            configuration,
            owner__course_enrollment="portal",
            link__course_enrollment=LINK,
            _preview="1",
        ),
    )
    preview_url = reverse(
        "admin:portal_integration_portalconfiguration_preview", args=[configuration.pk]
    )
    assert response.status_code == 302
    assert response["Location"] == f"{preview_url}?draft=1"

    # Members still get the published version.
    api = member_a_api.get("/api/v1/portal-config/").json()
    assert api["version"] == 1
    course = next(f for f in api["features"] if f["key"] == "course_enrollment")
    assert course["owner"] == "app"

    body = as_org_admin_a.get(response["Location"]).content.decode()
    assert "This is the unpublished draft" in body
    assert f"https://minside.hlf.no/kurs?m={member_a.portal_member_id}" in body
    # The published preview does not show the draft.
    published = as_org_admin_a.get(preview_url).content.decode()
    assert f"kurs?m={member_a.portal_member_id}" not in published

    # The config page continues from the draft.
    page = as_org_admin_a.get(_change_url(configuration))
    assert page.context["form"]["owner__course_enrollment"].value() == "portal"
    assert "Unpublished draft" in page.content.decode()

    publish_url = reverse(
        "admin:portal_integration_portalconfiguration_publish", args=[configuration.pk]
    )
    assert as_org_admin_a.post(publish_url).status_code == 302
    configuration.refresh_from_db()
    assert configuration.version == 2
    assert configuration.draft == {}
    api = member_a_api.get("/api/v1/portal-config/").json()
    assert api["version"] == 2
    course = next(f for f in api["features"] if f["key"] == "course_enrollment")
    assert course["owner"] == "portal"


def test_publishing_a_draft_over_someone_elses_save_is_refused(org_a, org_admin_a):
    portal_configuration_draft_save(
        organization=org_a,
        changes={"course_enrollment": FeatureSetting(owner="portal", url_template=LINK)},
        user=org_admin_a,
        expected_version=1,
    )
    # A second admin publishes in between.
    hand_to_portal(org_a, "expense_claims", "")
    with pytest.raises(ValidationError) as error:
        portal_configuration_publish(organization=org_a, user=org_admin_a)
    assert error.value.code == "stale_version"
    link = DeepLink.objects.get(organization=org_a, feature__key="course_enrollment")
    assert link.url_template != LINK


def test_two_admins_editing_at_once_keep_the_conflict_warning(as_org_admin_a, org_a):
    configuration = PortalConfiguration.objects.get(organization=org_a)
    stale = _form_data(configuration, owner__course_enrollment="portal", _publish="1")
    hand_to_portal(org_a, "expense_claims", "")
    response = as_org_admin_a.post(_change_url(configuration), stale, follow=True)
    assert "Someone else saved this configuration" in response.content.decode()
    configuration.refresh_from_db()
    assert configuration.version == 2


@isolation_test(
    "admin:portal_integration_portalconfiguration_publish",
    "admin:portal_integration_portalconfiguration_preview",
    "admin:portal_integration_portalconfiguration_restore",
)
def test_a_draft_cannot_be_published_into_another_organisation(
    as_org_admin_a, org_a, org_b, org_admin_a
):
    config_b = PortalConfiguration.objects.get(organization=org_b)
    portal_configuration_draft_save(
        organization=org_b,
        changes={"course_enrollment": FeatureSetting(owner="portal", url_template=LINK)},
        user=None,
        expected_version=1,
    )
    for name in ("publish", "preview", "restore"):
        url = reverse(f"admin:portal_integration_portalconfiguration_{name}", args=[config_b.pk])
        assert as_org_admin_a.post(url).status_code == 404
        assert as_org_admin_a.get(url + "?draft=1").status_code == 404
    config_b.refresh_from_db()
    assert config_b.version == 1 and config_b.draft


# --- restore -----------------------------------------------------------------------------


def test_an_earlier_value_is_restored_as_a_new_audited_change(as_org_admin_a, org_a, org_admin_a):
    portal_configuration_update(
        organization=org_a,
        changes={"course_enrollment": FeatureSetting(owner="portal", url_template=LINK)},
        user=org_admin_a,
    )
    portal_configuration_update(
        organization=org_a,
        changes={"course_enrollment": FeatureSetting(url_template=OTHER_LINK)},
        user=org_admin_a,
    )
    configuration = PortalConfiguration.objects.get(organization=org_a)
    assert configuration.version == 3
    history = as_org_admin_a.get(_change_url(configuration)).context["history"]
    entry = next(e for e in history if e.setting == "url_template" and e.before == LINK)
    restore_url = reverse(
        "admin:portal_integration_portalconfiguration_restore", args=[configuration.pk]
    )
    response = as_org_admin_a.post(
        restore_url, {"setting": "url_template", "history_id": entry.history_id}, follow=True
    )
    assert "Restored. The app now gets version 4" in response.content.decode()
    link = DeepLink.objects.get(organization=org_a, feature__key="course_enrollment")
    assert link.url_template == LINK
    history = response.context["history"]
    newest = history[0]
    assert (newest.before, newest.after) == (OTHER_LINK, LINK)
    assert newest.user == org_admin_a
    assert newest.reason.startswith("Restored the value from before the change of")


def test_restoring_cannot_publish_a_dead_end(as_org_admin_a, org_a, org_admin_a):
    hand_to_portal(org_a, "course_enrollment", LINK, user=org_admin_a)
    # The base URL went away since: restoring "no link" would leave members stranded.
    org_a.portal_base_url = ""
    org_a.save()
    configuration = PortalConfiguration.objects.get(organization=org_a)
    history = as_org_admin_a.get(_change_url(configuration)).context["history"]
    entry = next(e for e in history if e.setting == "url_template")
    restore_url = reverse(
        "admin:portal_integration_portalconfiguration_restore", args=[configuration.pk]
    )
    response = as_org_admin_a.post(
        restore_url, {"setting": "url_template", "history_id": entry.history_id}, follow=True
    )
    assert "Not restored" in response.content.decode()
    configuration.refresh_from_db()
    assert configuration.version == 2


def test_another_organisations_history_cannot_be_restored(
    as_org_admin_a, org_a, org_b, org_admin_a
):
    hand_to_portal(org_b, "course_enrollment", LINK)
    hand_to_portal(org_b, "course_enrollment", OTHER_LINK)
    record = DeepLink.history.filter(organization=org_b).order_by("-history_id").first()
    config_a = PortalConfiguration.objects.get(organization=org_a)
    restore_url = reverse(
        "admin:portal_integration_portalconfiguration_restore", args=[config_a.pk]
    )
    response = as_org_admin_a.post(
        restore_url, {"setting": "url_template", "history_id": record.history_id}
    )
    assert response.status_code == 404
    assert (
        DeepLink.objects.get(organization=org_b, feature__key="course_enrollment").url_template
        == OTHER_LINK
    )


def test_the_organisation_form_refuses_to_strand_a_hand_off(as_global_admin, org_a):
    hand_to_portal(org_a, "expense_claims", "")  # relies on the base URL
    url = reverse("admin:organizations_organization_change", args=[org_a.pk])
    data = {
        "slug": org_a.slug,
        "name": org_a.name,
        "parent": "",
        "is_active": "on",
        "portal_base_url": "",
        "allowed_portal_hosts": org_a.allowed_portal_hosts,
    }
    response = as_global_admin.post(url, data)
    assert response.status_code == 200
    errors = response.context["adminform"].form.errors
    assert "Expense claims is handed to Min Side" in errors["portal_base_url"][0]
    org_a.refresh_from_db()
    assert org_a.portal_base_url
    # Dropping the host a deep link uses is refused too.
    hand_to_portal(org_a, "course_enrollment", LINK)
    data.update(portal_base_url=org_a.portal_base_url, allowed_portal_hosts="annen.hlf.no")
    errors = as_global_admin.post(url, data).context["adminform"].form.errors
    assert "Course enrollment is handed to Min Side" in errors["allowed_portal_hosts"][0]
    # A harmless change saves.
    data.update(allowed_portal_hosts="minside.hlf.no\nannen.hlf.no")
    assert as_global_admin.post(url, data).status_code == 302
