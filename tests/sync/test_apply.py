"""Each SPEC §4.2 event type applied from an HLF envelope and from a Dataverse payload."""

from datetime import date, timedelta

import pytest
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from organizations.models import CourseEnrollment, Member
from organizations.services import global_admin_group_ensure
from sync.models import InboundEvent
from tests.factories import CourseEnrollmentFactory, MemberFactory, UserFactory
from tests.sync import payloads as p
from tests.sync.conftest import event_apply, event_store

Status = InboundEvent.Status
SOURCES = ["envelope", "dataverse"]
T1 = p.T0 + timedelta(minutes=5)


def normalized(source, envelope_type, envelope_data, dataverse_events, *, occurred_at=p.T0):
    if source == "envelope":
        return p.envelope(envelope_type, envelope_data, occurred_at=occurred_at)
    return dataverse_events


def applied(org, events, source="envelope"):
    event = event_store(org, events, payload_format=source)
    result = event_apply(event)
    return event, result


@pytest.fixture
def kari(org_a):
    return MemberFactory(
        organization=org_a,
        portal_member_id=p.MEMBER_ID,
        first_name="Kari",
        last_name="Nordmann",
        role=Member.Role.MEMBER,
        source_updated_at=p.T0 - timedelta(days=1),
    )


# --- membership ---------------------------------------------------------------------------


@pytest.mark.parametrize("source", SOURCES)
def test_membership_created(org_a, source):
    events = normalized(
        source,
        "membership.created",
        {
            "member_id": p.MEMBER_ID,
            "first_name": "Kari",
            "last_name": "Nordmann",
            "email": "kari@example.no",
            "phone": "+47 400 00 000",
            "role": "peer_mentor",
            "joined_on": "2026-11-27",
        },
        p.contact(
            "Create",
            target={
                "firstname": "Kari",
                "lastname": "Nordmann",
                "emailaddress1": "kari@example.no",
                "mobilephone": "+47 400 00 000",
                "hlf_approle": p.option(100000001),
                "hlf_joinedon": p.dv_date(p.T0),
            },
        ),
    )

    event, result = applied(org_a, events, source)

    assert (event.status, result.retry_in) == (Status.SUCCEEDED, None)
    member = Member.objects.get(organization=org_a, portal_member_id=p.MEMBER_ID)
    assert (member.first_name, member.last_name, member.email, member.phone) == (
        "Kari",
        "Nordmann",
        "kari@example.no",
        "+47 400 00 000",
    )
    assert member.role == Member.Role.PEER_MENTOR
    assert member.joined_on == date(2026, 11, 27)
    assert member.source_updated_at == p.T0
    assert f"Member {p.MEMBER_ID}: created" in event.outcome
    assert (event.attempts, event.finished_at is not None) == (1, True)


def test_membership_created_without_role_defaults_to_member_and_repeats_idempotently(org_a):
    events = p.envelope("membership.created", {"member_id": p.MEMBER_ID, "first_name": "Kari"})
    applied(org_a, events)
    again, _ = applied(org_a, events)

    member = Member.objects.get(organization=org_a, portal_member_id=p.MEMBER_ID)
    assert member.role == Member.Role.MEMBER
    assert Member.objects.filter(portal_member_id=p.MEMBER_ID).count() == 1
    assert again.status == Status.SUCCEEDED
    assert "no change" in again.outcome


@pytest.mark.parametrize("source", SOURCES)
def test_membership_updated(kari, org_a, source):
    events = normalized(
        source,
        "membership.updated",
        {"member_id": p.MEMBER_ID, "first_name": "Kari-Anne"},
        p.contact("Update", target={"firstname": "Kari-Anne"}),
    )

    event, _ = applied(org_a, events, source)

    kari.refresh_from_db()
    assert event.status == Status.SUCCEEDED
    assert kari.first_name == "Kari-Anne"
    assert kari.last_name == "Nordmann"  # absent fields are left alone
    assert kari.source_updated_at == p.T0
    assert event.outcome == f"Member {p.MEMBER_ID}: updated first name"


@pytest.mark.parametrize("source", SOURCES)
def test_role_updated_changes_app_access_only(kari, org_a, source):
    user = UserFactory(is_staff=False)
    kari.user = user
    kari.save()
    events = normalized(
        source,
        "role.updated",
        {"member_id": p.MEMBER_ID, "role": "org_admin"},
        p.contact("Update", target={"hlf_approle": p.option(100000003)}),
    )

    event, _ = applied(org_a, events, source)

    kari.refresh_from_db()
    user.refresh_from_db()
    assert kari.role == Member.Role.ORG_ADMIN
    assert event.outcome == (
        f"Member {p.MEMBER_ID}: role changed from Member to Organisation administrator"
    )
    # Admin rights are never granted by an event (SPEC §1).
    assert (user.is_staff, user.is_superuser, user.groups.count()) == (False, False, 0)
    assert not kari.organization.administrators.filter(user=user).exists()


@pytest.mark.parametrize("source", SOURCES)
def test_membership_deactivated_disables_login_and_revokes_tokens(kari, org_a, source):
    user = UserFactory()
    kari.user = user
    kari.save()
    Token.objects.create(user=user)
    events = normalized(
        source,
        "membership.deactivated",
        {"member_id": p.MEMBER_ID, "reason": "Membership ended"},
        p.contact_state(1),
    )

    event, _ = applied(org_a, events, source)

    kari.refresh_from_db()
    user.refresh_from_db()
    assert event.status == Status.SUCCEEDED
    assert (kari.is_active, kari.deactivated_at) == (False, p.T0)
    assert kari.deactivation_reason == ("Membership ended" if source == "envelope" else "")
    assert user.is_active is False
    assert not Token.objects.filter(user=user).exists()
    assert "deactivated" in event.outcome and "login user disabled" in event.outcome


@pytest.mark.parametrize("source", SOURCES)
def test_membership_reactivated_undoes_deactivation_without_a_new_token(kari, org_a, source):
    user = UserFactory(is_active=False)
    Member.objects.filter(pk=kari.pk).update(
        user=user, is_active=False, deactivated_at=p.T0, deactivation_reason="Ended"
    )
    events = normalized(
        source,
        "membership.reactivated",
        {"member_id": p.MEMBER_ID},
        p.contact_state(0),
        occurred_at=T1,
    )
    if source == "dataverse":
        events = p.contact_state(0, occurred_at=T1)

    event, _ = applied(org_a, events, source)

    kari.refresh_from_db()
    user.refresh_from_db()
    assert event.status == Status.SUCCEEDED
    assert (kari.is_active, kari.deactivated_at, kari.deactivation_reason) == (True, None, "")
    assert user.is_active is True
    assert not Token.objects.filter(user=user).exists()


def test_deactivation_leaves_an_administrators_account_alone(kari, org_a):
    staff = UserFactory(is_staff=True)
    kari.user = staff
    kari.save()
    Token.objects.create(user=staff)

    event, _ = applied(org_a, p.envelope("membership.deactivated", {"member_id": p.MEMBER_ID}))

    staff.refresh_from_db()
    kari.refresh_from_db()
    assert kari.is_active is False
    assert (staff.is_active, staff.is_staff) == (True, True)
    assert not Token.objects.filter(user=staff).exists()  # app access still revoked
    assert "administrator" in event.outcome


def test_deactivation_leaves_a_global_admin_group_member_alone(kari, org_a):
    # A global admin by group membership alone (not staff): still admin rights (SPEC §1).
    national = UserFactory(is_staff=False)
    national.groups.add(global_admin_group_ensure())
    kari.user = national
    kari.save()

    applied(org_a, p.envelope("membership.deactivated", {"member_id": p.MEMBER_ID}))

    national.refresh_from_db()
    assert national.is_active is True


def test_a_deactivated_members_token_stops_working(kari, org_a):
    user = UserFactory()
    kari.user = user
    kari.save()
    token = Token.objects.create(user=user)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {token.key}")
    assert client.get("/api/schema/").status_code == 200

    applied(org_a, p.envelope("membership.deactivated", {"member_id": p.MEMBER_ID}))

    assert client.get("/api/schema/").status_code == 401


# --- course enrollments ---------------------------------------------------------------------


def _enrollment_envelope(event_type, status="enrolled"):
    return {
        "enrollment_id": p.ENROLLMENT_ID,
        "member_id": p.MEMBER_ID,
        "course_id": p.COURSE_ID,
        "course_name": "Mestringskurs",
        "status": status,
        "starts_on": "2026-11-27",
    }


@pytest.mark.parametrize("source", SOURCES)
def test_course_enrollment_created(kari, org_a, source):
    events = normalized(
        source,
        "course_enrollment.created",
        _enrollment_envelope("created", "waitlisted"),
        p.enrollment("Create", target=p.enrollment_columns(status="waitlisted")),
    )

    event, _ = applied(org_a, events, source)

    enrollment = CourseEnrollment.objects.get(portal_enrollment_id=p.ENROLLMENT_ID)
    assert event.status == Status.SUCCEEDED
    assert (enrollment.organization, enrollment.member) == (org_a, kari)
    assert (enrollment.course_id, enrollment.course_name) == (p.COURSE_ID, "Mestringskurs")
    assert (enrollment.status, enrollment.starts_on) == ("waitlisted", date(2026, 11, 27))
    assert enrollment.source_updated_at == p.T0


@pytest.mark.parametrize("source", SOURCES)
def test_course_enrollment_updated(kari, org_a, source):
    existing = CourseEnrollmentFactory(member=kari, portal_enrollment_id=p.ENROLLMENT_ID)
    events = normalized(
        source,
        "course_enrollment.updated",
        _enrollment_envelope("updated", "completed"),
        p.enrollment(
            "Update", target={"hlf_status": p.option(100000002)}, pre=p.enrollment_columns()
        ),
    )

    event, _ = applied(org_a, events, source)

    existing.refresh_from_db()
    assert event.status == Status.SUCCEEDED
    assert existing.status == CourseEnrollment.Status.COMPLETED
    assert CourseEnrollment.objects.count() == 1


@pytest.mark.parametrize("source", SOURCES)
def test_course_enrollment_cancelled(kari, org_a, source):
    existing = CourseEnrollmentFactory(member=kari, portal_enrollment_id=p.ENROLLMENT_ID)
    events = normalized(
        source,
        "course_enrollment.cancelled",
        _enrollment_envelope("cancelled", "enrolled"),
        p.enrollment(
            "Delete",
            params={"Target": p.ref(p.ENROLLMENT_ID, "hlf_courseenrollment")},
            pre=p.enrollment_columns(),
        ),
    )

    event, _ = applied(org_a, events, source)

    existing.refresh_from_db()
    assert event.status == Status.SUCCEEDED
    assert existing.status == CourseEnrollment.Status.CANCELLED  # whatever data.status said


def test_enrollment_for_an_unknown_member_waits(org_a):
    event, result = applied(
        org_a, p.envelope("course_enrollment.created", _enrollment_envelope("created"))
    )

    assert event.status == Status.PENDING
    assert result.retry_in
    assert not CourseEnrollment.objects.exists()


# --- skipped types ----------------------------------------------------------------------------


def test_webhook_test_is_skipped(org_a):
    event, _ = applied(org_a, p.envelope("webhook.test", {"hello": "world"}))

    assert (event.status, event.outcome) == (Status.SKIPPED, "test event")


@pytest.mark.parametrize(
    "events",
    [
        p.envelope("membership.merged", {"member_id": p.MEMBER_ID}),
        p.dataverse(
            p.dataverse_body(
                entity="account", message="Create", entity_id=p.MEMBER_ID, target={"name": "x"}
            )
        ),
    ],
    ids=["envelope", "dataverse"],
)
def test_unknown_types_are_skipped_as_unsupported(org_a, events):
    event, _ = applied(org_a, events)

    assert event.status == Status.SKIPPED
    assert event.outcome == f"unsupported event type {events[0]['type']}"
    assert not Member.objects.exists()


def test_dataverse_update_with_profile_role_and_state_applies_all_three(kari, org_a):
    events = p.contact(
        "Update",
        target={
            "firstname": "Kari-Anne",
            "hlf_approle": p.option(100000002),
            "statecode": p.option(1),
        },
    )
    assert [e["type"] for e in events] == [
        "membership.updated",
        "role.updated",
        "membership.deactivated",
    ]

    event, _ = applied(org_a, events, "dataverse")

    kari.refresh_from_db()
    assert event.status == Status.SUCCEEDED
    assert (kari.first_name, kari.role, kari.is_active) == ("Kari-Anne", "coordinator", False)
    assert event.outcome.count(f"Member {p.MEMBER_ID}") == 3
