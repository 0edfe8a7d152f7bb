"""Configuration changes: version, validation, audit history, organisation isolation."""

import pytest
from django.core.exceptions import ValidationError

from portal_integration.models import FeatureOwnership, PortalConfiguration
from portal_integration.selectors import portal_config_for_member, portal_configuration_history
from portal_integration.services import FeatureSetting, portal_configuration_update

pytestmark = pytest.mark.django_db


def _version(organization) -> int:
    return PortalConfiguration.objects.get(organization=organization).version


def test_version_is_raised_once_per_saved_change(org_a, org_admin_a):
    configuration = portal_configuration_update(
        organization=org_a,
        changes={
            "course_enrollment": FeatureSetting(
                owner="portal", url_template="https://minside.hlf.no/kurs"
            ),
            "expense_claims": FeatureSetting(owner="portal"),
        },
        user=org_admin_a,
    )
    assert configuration.version == 2 == _version(org_a)
    assert configuration.updated_by == org_admin_a


def test_saving_without_a_difference_keeps_the_version(org_a):
    portal_configuration_update(
        organization=org_a,
        changes={"course_enrollment": FeatureSetting(owner="app", url_template="")},
        user=None,
    )
    assert _version(org_a) == 1


def test_invalid_link_is_refused_per_feature_and_nothing_is_saved(org_a):
    with pytest.raises(ValidationError) as error:
        portal_configuration_update(
            organization=org_a,
            changes={
                "expense_claims": FeatureSetting(owner="portal"),
                "course_enrollment": FeatureSetting(url_template="http://minside.hlf.no/kurs"),
                "contact_list": FeatureSetting(url_template="https://evil.example/"),
            },
            user=None,
        )
    assert set(error.value.error_dict) == {"course_enrollment", "contact_list"}
    assert _version(org_a) == 1
    assert FeatureOwnership.objects.get(
        organization=org_a, feature__key="expense_claims"
    ).owner == ("app")


def test_unknown_feature_and_owner_are_refused(org_a):
    with pytest.raises(ValidationError) as error:
        portal_configuration_update(
            organization=org_a,
            changes={
                "no_such_feature": FeatureSetting(owner="portal"),
                "contact_list": FeatureSetting(owner="nobody"),
            },
            user=None,
        )
    assert set(error.value.error_dict) == {"no_such_feature", "contact_list"}


def test_change_in_one_organisation_changes_nothing_in_another(org_a, org_b, member_b):
    before = portal_config_for_member(organization=org_b, member=member_b, locale="nb")
    portal_configuration_update(
        organization=org_a,
        changes={"course_enrollment": FeatureSetting(owner="portal")},
        user=None,
    )
    after = portal_config_for_member(organization=org_b, member=member_b, locale="nb")
    assert after == before
    assert _version(org_b) == 1
    assert FeatureOwnership.objects.get(
        organization=org_b, feature__key="course_enrollment"
    ).owner == ("app")


def test_history_says_who_changed_what_before_and_after(org_a, org_b, org_admin_a):
    portal_configuration_update(
        organization=org_a,
        changes={
            "course_enrollment": FeatureSetting(
                owner="portal", url_template="https://minside.hlf.no/kurs"
            )
        },
        user=org_admin_a,
    )
    portal_configuration_update(
        organization=org_b, changes={"contact_list": FeatureSetting(owner="portal")}, user=None
    )
    entries = [e for e in portal_configuration_history(organization=org_a) if e.user is not None]
    assert {(e.feature, e.field, e.before, e.after) for e in entries} == {
        ("Course enrollment", "Owner", "The app", "Min Side"),
        ("Course enrollment", "Deep link", "—", "https://minside.hlf.no/kurs"),
    }
    assert all(e.user == org_admin_a for e in entries)
    # Org B's change never shows up in A's history.
    assert not any(
        e.feature == "Contact list" and e.after == "Min Side"
        for e in portal_configuration_history(organization=org_a)
    )


def test_update_from_a_stale_version_is_refused(org_a):
    portal_configuration_update(
        organization=org_a, changes={"contact_list": FeatureSetting(owner="portal")}, user=None
    )
    with pytest.raises(ValidationError) as error:
        portal_configuration_update(
            organization=org_a,
            changes={"contact_list": FeatureSetting(owner="app")},
            user=None,
            expected_version=1,
        )
    assert error.value.code == "stale_version"
    assert _version(org_a) == 2
    updated = portal_configuration_update(
        organization=org_a,
        changes={"contact_list": FeatureSetting(owner="app")},
        user=None,
        expected_version=2,
    )
    assert updated.version == 3


def test_history_leaves_out_the_starting_point(org_a):
    assert portal_configuration_history(organization=org_a) == []
    portal_configuration_update(
        organization=org_a, changes={"contact_list": FeatureSetting(owner="portal")}, user=None
    )
    assert len(portal_configuration_history(organization=org_a)) == 1
