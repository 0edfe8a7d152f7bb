"""Stored values at the edges of the datetime range render everywhere (issue 12).

A member poisoned by an old far-future event (`9999-12-31T23:30Z`, which is year 10000 in
Europe/Oslo) must not take down the admin or the API; nor may NUL in an API path or query.
"""

from datetime import UTC, datetime

import pytest
from django.urls import reverse

from sync.models import InboundEvent
from tests.factories import CourseEnrollmentFactory, MemberFactory
from tests.portal_integration.conftest import member_login

pytestmark = pytest.mark.django_db

FAR_FUTURE = datetime(9999, 12, 31, 23, 30, tzinfo=UTC)
FAR_PAST = datetime(1, 1, 1, 0, 0, tzinfo=UTC)


@pytest.fixture
def poisoned(org_a):
    member = MemberFactory(
        organization=org_a,
        first_name="Poisoned",
        source_updated_at=FAR_FUTURE,
        deactivated_at=FAR_FUTURE,
    )
    CourseEnrollmentFactory(member=member, source_updated_at=FAR_PAST)
    InboundEvent.objects.create(
        organization=org_a,
        source_identifier="hlf-alpha",
        webhook_id="msg-poison",
        event_type="membership.updated",
        payload_format="envelope",
        payload={},
        occurred_at=FAR_FUTURE,
        subject_ids=member.portal_member_id,
    )
    return member


@pytest.fixture
def coordinator_api(org_a):
    from organizations.models import Member

    coordinator = MemberFactory(organization=org_a, role=Member.Role.COORDINATOR)
    return member_login(coordinator, "coordinator-poison")


@pytest.mark.parametrize(
    "name",
    [
        "admin:organizations_member_changelist",
        "admin:sync_inboundevent_changelist",
        "admin:organizations_courseenrollment_changelist",
    ],
)
def test_admin_lists_render_times_at_the_edge_of_the_range(as_global_admin, poisoned, name):
    response = as_global_admin.get(reverse(name))
    assert response.status_code == 200


def test_admin_member_page_renders_a_poisoned_member(as_global_admin, poisoned):
    response = as_global_admin.get(reverse("admin:organizations_member_change", args=[poisoned.pk]))
    assert response.status_code == 200
    assert "Poisoned" in response.content.decode()


def test_admin_event_page_renders_a_far_future_event(as_global_admin, poisoned):
    event = InboundEvent.objects.get(webhook_id="msg-poison")
    response = as_global_admin.get(reverse("admin:sync_inboundevent_change", args=[event.pk]))
    assert response.status_code == 200


@pytest.mark.parametrize("endpoint", ["members/", "members/{member}/", "sync-status/"])
def test_api_renders_a_poisoned_member(org_a, poisoned, coordinator_api, endpoint):
    path = f"/api/v1/organizations/{org_a.slug}/" + endpoint.format(
        member=poisoned.portal_member_id
    )
    response = coordinator_api.get(path)
    assert response.status_code == 200, response.content


@pytest.mark.parametrize(
    "path",
    [
        "/api/v1/organizations/hlf-alpha/members/abc%00def/",
        "/api/v1/organizations/hlf-al%00pha/members/",
        "/api/v1/organizations/hlf-alpha/members/?search=a%00b",
        "/api/v1/organizations/hlf-alpha/members/?a%00=1",
        "/api/v1/organizations/hlf-alpha/members/%01/",
    ],
)
def test_nul_and_control_bytes_in_api_paths_and_queries_are_4xx(org_a, coordinator_api, path):
    response = coordinator_api.get(path)
    assert 400 <= response.status_code < 500, response.content
    assert response["Content-Type"].startswith("application/json")


def test_nul_in_an_admin_search_is_4xx(as_global_admin, poisoned):
    response = as_global_admin.get(reverse("admin:organizations_member_changelist") + "?q=a%00b")
    assert 400 <= response.status_code < 500
