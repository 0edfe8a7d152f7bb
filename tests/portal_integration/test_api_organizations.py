"""The organisation endpoints of the app API: members, one member, sync status (SPEC §7)."""

import pytest
from django.utils import timezone

from organizations.models import Member
from sync.models import InboundEvent
from tests.factories import CourseEnrollmentFactory, MemberFactory, UserFactory
from tests.portal_integration.conftest import member_login, token_client

ENDPOINTS = ("members/", "members/{member}/", "sync-status/")


def url(org_slug: str, endpoint: str = "members/", member: str = "") -> str:
    return f"/api/v1/organizations/{org_slug}/" + endpoint.format(member=member)


@pytest.fixture
def coordinator_a(org_a):
    return MemberFactory(organization=org_a, role=Member.Role.COORDINATOR, last_name="Coord")


@pytest.fixture
def coordinator_a_api(coordinator_a):
    return member_login(coordinator_a, "coordinator-a")


def _event(organization, **fields):
    defaults = {
        "source_identifier": organization.slug,
        "webhook_id": f"msg-{InboundEvent.objects.count()}",
        "event_type": "membership.updated",
        "payload_format": "envelope",
        "payload": {},
    }
    return InboundEvent.objects.create(organization=organization, **(defaults | fields))


def test_coordinator_lists_own_organisations_members_with_enrollments(
    org_a, coordinator_a_api, member_a, member_b
):
    CourseEnrollmentFactory(member=member_a, course_name="Grunnkurs")
    response = coordinator_a_api.get(url(org_a.slug))
    assert response.status_code == 200
    rows = {row["portal_member_id"]: row for row in response.json()["results"]}
    assert member_a.portal_member_id in rows
    assert member_b.portal_member_id not in rows
    assert rows[member_a.portal_member_id]["enrollments"][0]["course_name"] == "Grunnkurs"
    assert set(rows[member_a.portal_member_id]) >= {
        "first_name",
        "last_name",
        "email",
        "phone",
        "role",
        "is_active",
        "deactivated_at",
    }


@pytest.mark.parametrize("endpoint", ENDPOINTS)
def test_other_and_unknown_organisations_answer_the_same_404(
    endpoint, org_b, member_b, coordinator_a_api
):
    other = coordinator_a_api.get(url(org_b.slug, endpoint, member_b.portal_member_id))
    unknown = coordinator_a_api.get(url("no-such-org", endpoint, member_b.portal_member_id))
    assert other.status_code == unknown.status_code == 404
    assert other.json() == unknown.json()


@pytest.mark.parametrize("endpoint", ENDPOINTS)
@pytest.mark.parametrize("role", [Member.Role.MEMBER, Member.Role.PEER_MENTOR])
def test_members_without_a_reading_role_get_403(endpoint, role, org_a, member_a):
    member_a.role = role
    member_a.save()
    client = member_login(member_a)
    assert client.get(url(org_a.slug, endpoint, member_a.portal_member_id)).status_code == 403


def test_deactivated_coordinator_gets_403(org_a, coordinator_a, coordinator_a_api):
    coordinator_a.is_active = False
    coordinator_a.deactivated_at = timezone.now()
    coordinator_a.save()
    assert coordinator_a_api.get(url(org_a.slug)).status_code == 403


@pytest.mark.parametrize("endpoint", ENDPOINTS)
def test_org_admin_and_global_admin_may_read(endpoint, org_a, member_a, org_admin_a, global_admin):
    for user in (org_admin_a, global_admin):
        response = token_client(user).get(url(org_a.slug, endpoint, member_a.portal_member_id))
        assert response.status_code == 200, (user, endpoint)


def test_org_admin_member_role_may_read(org_a):
    admin_member = MemberFactory(organization=org_a, role=Member.Role.ORG_ADMIN)
    assert member_login(admin_member).get(url(org_a.slug)).status_code == 200


def test_user_with_no_relation_gets_404(org_a):
    client = token_client(UserFactory(username="stranger"))
    assert client.get(url(org_a.slug)).status_code == 404


def test_colliding_portal_member_ids_stay_in_their_organisation(org_a, org_b, global_admin):
    MemberFactory(organization=org_a, portal_member_id="shared", last_name="Alphason")
    MemberFactory(organization=org_b, portal_member_id="shared", last_name="Betason")
    client = token_client(global_admin)
    assert client.get(url(org_a.slug, "members/{member}/", "shared")).json()["last_name"] == (
        "Alphason"
    )
    assert client.get(url(org_b.slug, "members/{member}/", "shared")).json()["last_name"] == (
        "Betason"
    )
    names = [row["last_name"] for row in client.get(url(org_b.slug)).json()["results"]]
    assert "Alphason" not in names


def test_unknown_member_is_404(org_a, coordinator_a_api):
    assert coordinator_a_api.get(url(org_a.slug, "members/{member}/", "nope")).status_code == 404


def test_active_filter_and_pagination(org_a, coordinator_a, coordinator_a_api):
    for n in range(4):
        MemberFactory(organization=org_a, last_name=f"Active{n}")
    MemberFactory(
        organization=org_a, last_name="Gone", is_active=False, deactivated_at=timezone.now()
    )
    inactive = coordinator_a_api.get(url(org_a.slug), {"active": "false"}).json()
    assert [row["last_name"] for row in inactive["results"]] == ["Gone"]
    active = coordinator_a_api.get(url(org_a.slug), {"active": "true"}).json()
    assert active["count"] == 5  # four + the coordinator
    page_one = coordinator_a_api.get(url(org_a.slug), {"page_size": 2}).json()
    page_three = coordinator_a_api.get(url(org_a.slug), {"page_size": 2, "page": 3}).json()
    assert page_one["count"] == 6 and len(page_one["results"]) == 2 and page_one["next"]
    assert len(page_three["results"]) == 2 and page_three["next"] is None
    assert coordinator_a_api.get(url(org_a.slug), {"active": "maybe"}).status_code == 400


def test_member_list_has_no_n_plus_one(org_a, coordinator_a_api, django_assert_num_queries):
    def queries_for_listing() -> int:
        from django.db import connection
        from django.test.utils import CaptureQueriesContext

        with CaptureQueriesContext(connection) as context:
            assert coordinator_a_api.get(url(org_a.slug)).status_code == 200
        return len(context)

    baseline = queries_for_listing()
    for _n in range(5):
        CourseEnrollmentFactory(member=MemberFactory(organization=org_a))
    assert queries_for_listing() == baseline


def test_sync_status_shows_own_figures_and_twenty_recent_events(org_a, org_b, global_admin):
    for n in range(22):
        _event(org_a, webhook_id=f"a-{n}")
    _event(org_a, webhook_id="a-failed", status=InboundEvent.Status.FAILED, outcome="Bad role")
    other = _event(org_b, webhook_id="b-1", status=InboundEvent.Status.FAILED)
    body = token_client(global_admin).get(url(org_a.slug, "sync-status/")).json()
    assert body["pending"] == 22
    assert body["failed"] == 1
    assert body["oldest_pending_age_seconds"] >= 0
    assert len(body["recent_events"]) == 20
    assert {"event_type", "status", "received_at", "outcome"} <= set(body["recent_events"][0])
    assert str(other.id) not in {event["id"] for event in body["recent_events"]}


def test_sync_status_empty_organisation(org_a, org_admin_a):
    body = token_client(org_admin_a).get(url(org_a.slug, "sync-status/")).json()
    assert body["last_succeeded_at"] is None
    assert body["recent_events"] == []
    assert body["lag_median_seconds"] is None and body["lag_max_seconds"] is None
