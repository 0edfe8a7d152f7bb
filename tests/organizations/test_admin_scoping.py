"""Organisation admins see and change only their own organisation in every admin screen."""

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.urls import reverse

from organizations.admin_scoping import OrganizationScopedAdmin
from organizations.models import Member
from organizations.permissions import GLOBAL_ADMIN_GROUP, user_is_global_admin
from tests.conftest import PASSWORD
from tests.factories import (
    CourseEnrollmentFactory,
    OrganizationAdministratorFactory,
    UserFactory,
)
from tests.support.isolation import (
    admin_url,
    assert_admin_hidden,
    assert_admin_isolated,
    assert_admin_sees_all,
    isolation_test,
)


@isolation_test("admin:organizations_organization_changelist")
def test_organization_admin_sees_only_own_organization(as_org_admin_a, org_a, org_b):
    assert_admin_isolated(as_org_admin_a, own=org_a, other=org_b, marker=lambda o: o.name)


@isolation_test("admin:organizations_member_changelist")
def test_organization_admin_sees_only_own_members(as_org_admin_a, member_a, member_b):
    assert_admin_isolated(
        as_org_admin_a, own=member_a, other=member_b, marker=lambda m: m.last_name
    )


@isolation_test("admin:organizations_courseenrollment_changelist")
def test_organization_admin_sees_only_own_enrollments(as_org_admin_a, member_a, member_b):
    own = CourseEnrollmentFactory(member=member_a, course_name="Alpha course")
    other = CourseEnrollmentFactory(member=member_b, course_name="Beta course")
    assert_admin_isolated(as_org_admin_a, own=own, other=other, marker=lambda e: e.course_name)


@isolation_test("admin:organizations_organizationadministrator_changelist")
def test_administrator_assignments_are_global_only(as_org_admin_a, org_admin_a):
    assert_admin_hidden(as_org_admin_a, org_admin_a.administered_organizations.first())


def test_global_admin_sees_every_organization(as_global_admin, org_a, org_b, member_a, member_b):
    assert_admin_sees_all(as_global_admin, org_a, org_b, marker=lambda o: o.name)
    assert_admin_sees_all(as_global_admin, member_a, member_b, marker=lambda m: m.last_name)


def test_group_member_is_global_admin(db, org_a, org_b):
    from organizations.services import global_admin_group_ensure

    user = UserFactory(username="national", is_staff=True)
    assert not user_is_global_admin(user)
    user.groups.add(global_admin_group_ensure())
    user = type(user).objects.get(pk=user.pk)
    assert user.groups.filter(name=GLOBAL_ADMIN_GROUP).exists()
    assert user_is_global_admin(user)


def test_organization_admin_links_login_user_to_own_member(as_org_admin_a, member_a):
    login = UserFactory(username="app-user")
    response = as_org_admin_a.post(admin_url(member_a), {"user": login.pk, **_empty_inline()})
    assert response.status_code == 302, response.content.decode()[:2000]
    member_a.refresh_from_db()
    assert member_a.user == login


def test_organization_admin_cannot_change_other_organizations_member(as_org_admin_a, member_b):
    login = UserFactory(username="app-user")
    response = as_org_admin_a.post(admin_url(member_b), {"user": login.pk, **_empty_inline()})
    assert response.status_code in (403, 404)
    member_b.refresh_from_db()
    assert member_b.user is None


def test_login_user_choices_exclude_users_of_other_organizations(
    as_org_admin_a, member_a, member_b
):
    member_b.user = UserFactory(username="beta-login-user")
    member_b.save()
    UserFactory(username="free-login-user")
    body = as_org_admin_a.get(admin_url(member_a)).content.decode()
    assert "free-login-user" in body
    assert "beta-login-user" not in body


def test_organization_filter_lists_only_own_organization(as_org_admin_a, member_a, member_b):
    body = as_org_admin_a.get(reverse("admin:organizations_member_changelist")).content.decode()
    assert member_a.organization.name in body
    assert member_b.organization.name not in body


def test_admin_with_no_organization_sees_nothing(client, db, member_a):
    user = UserFactory(username="staff-without-org", is_staff=True)
    client.login(username=user.username, password=PASSWORD)
    assert client.get(admin_url(member_a, "changelist")).status_code == 403
    assert client.get(admin_url(member_a)).status_code in (403, 404)


def test_admin_of_two_organizations_sees_both(client, org_a, org_b, member_a, member_b):
    user = UserFactory(username="two-orgs", is_staff=True)
    OrganizationAdministratorFactory(user=user, organization=org_a)
    OrganizationAdministratorFactory(user=user, organization=org_b)
    client.login(username=user.username, password=PASSWORD)
    assert_admin_sees_all(client, member_a, member_b, marker=lambda m: m.last_name)


def test_subclass_cannot_replace_the_scoped_queryset():
    with pytest.raises(ImproperlyConfigured, match="get_scoped_queryset"):

        class LeakyAdmin(OrganizationScopedAdmin):  # noqa: F841 - defining it is the test
            organization_lookup = "organization"

            def get_queryset(self, request):
                return Member.objects.all()


def _empty_inline() -> dict:
    return {
        "enrollments-TOTAL_FORMS": "0",
        "enrollments-INITIAL_FORMS": "0",
        "enrollments-MIN_NUM_FORMS": "0",
        "enrollments-MAX_NUM_FORMS": "1000",
    }


def test_login_user_choices_exclude_administrator_accounts(as_org_admin_a, member_a):
    from organizations.services import global_admin_group_ensure

    UserFactory(username="root-account", is_superuser=True)
    UserFactory(username="national-account").groups.add(global_admin_group_ensure())
    body = as_org_admin_a.get(admin_url(member_a)).content.decode()
    assert "root-account" not in body
    assert "national-account" not in body
