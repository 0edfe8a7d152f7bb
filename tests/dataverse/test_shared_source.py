"""Reconciliation of a shared source (SPEC §4.4 with §5.1): rows routed, moved, or unrouted."""

import pytest

from dataverse.services import dataverse_connection_set, reconcile_pass_run
from organizations.models import CourseEnrollment, Member
from sync.models import InboundEvent
from sync.routing import inbound_events_route
from tests.dataverse.conftest import CLIENT_SECRET, contact, inbox_apply
from tests.factories import MemberFactory, OrganizationFactory
from webhooks.services import webhook_source_join

pytestmark = pytest.mark.usefixtures("wakeups")

ACC_A, ACC_B, ACC_C = "acc-a", "acc-b", "acc-c"


@pytest.fixture
def shared(org_a, org_b, fake_dataverse):
    source, _secret = webhook_source_join(
        organization=org_a, identifier="hlf-dynamics", routing_value=ACC_A
    )
    webhook_source_join(organization=org_b, identifier="hlf-dynamics", routing_value=ACC_B)
    dataverse_connection_set(
        source=source,
        environment_url=fake_dataverse.url,
        authority_url=fake_dataverse.url,
        tenant_id=fake_dataverse.tenant,
        client_id=fake_dataverse.client_id,
        client_secret=CLIENT_SECRET,
    )
    source.refresh_from_db()
    return source


def test_rows_are_routed_by_parent_account_and_enrollments_follow_their_member(
    shared, org_a, org_b, fake_dataverse
):
    fake_dataverse.upsert("contacts", contact("c-a", _parentcustomerid_value=ACC_A))
    fake_dataverse.upsert("contacts", contact("c-b", _parentcustomerid_value=ACC_B.upper()))
    fake_dataverse.upsert("contacts", contact("c-x", _parentcustomerid_value=ACC_C))
    fake_dataverse.upsert(
        "hlf_courseenrollments",
        {"hlf_courseenrollmentid": "e-1", "_hlf_contactid_value": "c-b", "hlf_status": 100000000},
    )

    record = reconcile_pass_run(source=shared)

    assert record.status == "succeeded", record.error
    assert record.tables[0]["unroutable"] == 1
    unrouted = InboundEvent.objects.get(subject_ids="c-x")
    assert unrouted.organization is None
    assert unrouted.status == "failed"
    assert "belongs to account acc-c, which is no organisation of source hlf-dynamics" in (
        unrouted.outcome
    )
    inbox_apply()
    assert Member.objects.get(portal_member_id="c-a").organization == org_a
    assert Member.objects.get(portal_member_id="c-b").organization == org_b
    assert CourseEnrollment.objects.get().organization == org_b

    # After onboarding the third organisation, the unrouted row is routed and applied.
    org_c = OrganizationFactory(slug="hlf-gamma", name="HLF Gamma")
    webhook_source_join(organization=org_c, identifier="hlf-dynamics", routing_value=ACC_C)
    assert inbound_events_route(events=InboundEvent.objects.all()) == (1, 0)
    unrouted.refresh_from_db()
    assert unrouted.organization == org_c


def test_a_row_in_another_account_moves_the_member(shared, org_a, org_b, fake_dataverse):
    old = MemberFactory(organization=org_a, portal_member_id="c-1", first_name="Kari")
    fake_dataverse.upsert("contacts", contact("c-1", _parentcustomerid_value=ACC_B))

    record = reconcile_pass_run(source=shared)

    event = InboundEvent.objects.get()
    assert (event.organization, event.normalized[0]["type"]) == (org_b, "membership.moved")
    assert inbox_apply() == ["succeeded"]
    old.refresh_from_db()
    assert (old.is_active, old.deactivation_reason) == (False, "moved to HLF Beta")
    assert Member.objects.get(organization=org_b, portal_member_id="c-1").is_active
    assert record.events_recorded == 1
    # The next pass finds the local state reflects the row: nothing more.
    assert reconcile_pass_run(source=shared, full=True).events_recorded == 0


def test_a_deleted_contact_of_a_shared_source_is_deactivated_where_it_is(
    shared, org_b, fake_dataverse
):
    fake_dataverse.upsert("contacts", contact("c-1", _parentcustomerid_value=ACC_B))
    reconcile_pass_run(source=shared)
    inbox_apply()
    fake_dataverse.delete("contacts", "c-1")

    reconcile_pass_run(source=shared)
    inbox_apply()

    member = Member.objects.get(portal_member_id="c-1")
    assert (member.organization, member.is_active) == (org_b, False)
    assert member.deactivation_reason == "deleted in Dynamics"


def test_an_enrollment_of_a_member_not_known_yet_waits_for_it_then_heals(
    shared, org_b, fake_dataverse
):
    # The member's contact has no account yet: unroutable. Its enrollment is not — it
    # waits for the member like any event for an unknown member (SPEC §5).
    fake_dataverse.upsert("contacts", contact("c-late", _parentcustomerid_value=None))
    fake_dataverse.upsert(
        "hlf_courseenrollments",
        {
            "hlf_courseenrollmentid": "e-9",
            "_hlf_contactid_value": "c-late",
            "hlf_status": 100000000,
        },
    )

    record = reconcile_pass_run(source=shared)

    assert [table["unroutable"] for table in record.tables] == [1, 0]
    enrollment_event = InboundEvent.objects.get(subject_ids__contains="e-9")
    assert (enrollment_event.organization, enrollment_event.status) == (None, "pending")
    assert inbox_apply() == ["pending"]
    enrollment_event.refresh_from_db()
    assert "member c-late is not known in any organisation of source hlf-dynamics yet" in (
        enrollment_event.outcome
    )

    # The contact gets its account in Dynamics; the next pass creates the member in
    # HLF Beta, and the waiting enrollment follows it there.
    fake_dataverse.upsert("contacts", {"contactid": "c-late", "_parentcustomerid_value": ACC_B})
    reconcile_pass_run(source=shared)
    inbox_apply()
    InboundEvent.objects.filter(pk=enrollment_event.pk).update(next_attempt_at=None)
    assert inbox_apply() == ["succeeded"]

    enrollment = CourseEnrollment.objects.get(portal_enrollment_id="e-9")
    assert (enrollment.organization, enrollment.member.organization) == (org_b, org_b)
    enrollment_event.refresh_from_db()
    assert (enrollment_event.organization, enrollment_event.origin) == (org_b, "reconciliation")
