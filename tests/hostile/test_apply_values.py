"""Values that cannot be stored fail the event at once; source times never pass receipt.

Issue 12: a lone surrogate in `first_name` (SQLite) or a 10 KB `member_id` (PostgreSQL)
made the worker raise and left the event `processing` for ever; one event dated
9999-12-31 froze its member, every later real change skipped as stale.
"""

from datetime import UTC, datetime, timedelta
from io import StringIO
from unittest import mock

import pytest
from django.core.management import call_command
from django.db import DataError, connection, transaction
from django.utils import timezone

from organizations.models import CourseEnrollment, Member
from sync.appliers import EventInvalid, event_apply
from sync.models import InboundEvent
from sync.repair import source_times_unfreeze
from tests.factories import CourseEnrollmentFactory, MemberFactory
from tests.sync import payloads as p
from tests.sync.conftest import event_apply as pipeline_apply
from tests.sync.conftest import event_store

pytestmark = pytest.mark.django_db
Status = InboundEvent.Status
FAR_FUTURE = datetime(9999, 12, 31, 23, 30, tzinfo=UTC)


def apply(org, event_type, data, *, occurred_at=p.T0, received_at=None):
    with transaction.atomic():
        return event_apply(
            organization=org,
            event_type=event_type,
            occurred_at=occurred_at,
            data=data,
            received_at=received_at,
        )


# --- values that cannot be stored ---------------------------------------------------------


@pytest.mark.parametrize("value", ["Kari\ud800", "Ka\x00ri", "\udfff"])
@pytest.mark.parametrize("field", ["first_name", "last_name", "phone"])
def test_unstorable_text_fails_the_event_with_a_readable_reason(org_a, field, value):
    label = field.replace("_", " ")
    with pytest.raises(EventInvalid, match=f"{label} contains characters that cannot be stored"):
        apply(org_a, "membership.created", {"member_id": p.MEMBER_ID, field: value})
    assert not Member.objects.exists()


@pytest.mark.parametrize("value", ["m\ud800", "m\x00"])
def test_unstorable_member_id_fails_the_event(org_a, value):
    with pytest.raises(EventInvalid, match="Min Side member id contains characters"):
        apply(org_a, "membership.created", {"member_id": value})


@pytest.mark.parametrize(
    ("event_type", "data"),
    [
        ("membership.created", {"member_id": "m" * 10_000}),
        ("membership.updated", {"member_id": "m" * 101}),
        ("course_enrollment.created", {"enrollment_id": "e" * 10_000, "member_id": "m"}),
    ],
)
def test_id_longer_than_its_column_fails_never_truncated(org_a, event_type, data):
    with pytest.raises(EventInvalid, match="characters long; at most 100 fit"):
        apply(org_a, event_type, data)
    assert not Member.objects.exists()


def test_lone_surrogate_first_name_event_fails_at_once_through_the_pipeline(org_a):
    if connection.vendor == "postgresql":
        pytest.skip("PostgreSQL refuses to store such a payload at all (the intake refuses it)")
    events = p.envelope("membership.created", {"member_id": p.MEMBER_ID, "first_name": "\ud800"})
    event = event_store(org_a, events)

    pipeline_apply(event)

    assert event.status == Status.FAILED
    assert event.attempts == 1
    assert "first name contains characters that cannot be stored" in event.outcome


def test_10_kb_member_id_event_fails_at_once_through_the_pipeline(org_a):
    event = event_store(org_a, p.envelope("membership.created", {"member_id": "m" * 10_000}))

    pipeline_apply(event)

    assert event.status == Status.FAILED
    assert event.attempts == 1
    assert "10000 characters long" in event.outcome
    assert not Member.objects.exists()


def test_value_the_database_still_refuses_fails_the_event(org_a):
    with (
        mock.patch.object(Member, "save", side_effect=DataError("value too long")),
        pytest.raises(EventInvalid, match="the database refused it"),
    ):
        apply(org_a, "membership.created", {"member_id": p.MEMBER_ID})


def test_odd_values_are_quoted_short_in_the_outcome(org_a):
    deep: list = []
    for _ in range(50):
        deep = [deep, "x" * 1000]
    with pytest.raises(EventInvalid) as raised:
        apply(org_a, "membership.created", {"member_id": p.MEMBER_ID, "role": deep})
    # Bounded however deep the value: the quoted part is cut, the rest is the catalogue's.
    assert len(str(raised.value)) < 400


def test_deactivation_reason_with_nul_still_deactivates(org_a):
    MemberFactory(organization=org_a, portal_member_id=p.MEMBER_ID)
    apply(org_a, "membership.deactivated", {"member_id": p.MEMBER_ID, "reason": "moved\x00away"})
    member = Member.objects.get()
    assert not member.is_active
    assert member.deactivation_reason == "moved\ufffdaway"


# --- source times never pass the time the event was received ----------------------------


def test_source_time_is_capped_at_receipt(org_a):
    received = p.T0
    apply(
        org_a,
        "membership.created",
        {"member_id": p.MEMBER_ID},
        occurred_at=received + timedelta(hours=20),
        received_at=received,
    )
    assert Member.objects.get().source_updated_at == received


def test_source_time_without_receipt_is_capped_at_now(org_a):
    apply(org_a, "membership.created", {"member_id": p.MEMBER_ID}, occurred_at=FAR_FUTURE)
    assert Member.objects.get().source_updated_at <= timezone.now()


def test_an_early_dated_event_cannot_make_the_next_real_change_stale(org_a):
    received = p.T0
    apply(
        org_a,
        "membership.created",
        {"member_id": p.MEMBER_ID, "first_name": "Early"},
        occurred_at=received + timedelta(hours=20),
        received_at=received,
    )
    later = received + timedelta(minutes=5)
    result = apply(
        org_a,
        "membership.updated",
        {"member_id": p.MEMBER_ID, "first_name": "Kari"},
        occurred_at=later,
        received_at=later,
    )
    assert not result.skipped
    assert Member.objects.get().first_name == "Kari"


def test_enrollment_source_time_is_capped_at_receipt(org_a):
    MemberFactory(organization=org_a, portal_member_id=p.MEMBER_ID)
    apply(
        org_a,
        "course_enrollment.created",
        {"enrollment_id": p.ENROLLMENT_ID, "member_id": p.MEMBER_ID},
        occurred_at=FAR_FUTURE,
        received_at=p.T0,
    )
    assert CourseEnrollment.objects.get().source_updated_at == p.T0


# --- repairing a member frozen by an old bad event ----------------------------------------


@pytest.fixture
def frozen(org_a):
    """Kari as an old bad event left her: source time 9999-12-31, every change stale."""
    member = MemberFactory(
        organization=org_a, portal_member_id=p.MEMBER_ID, first_name="Kari", last_name="Old"
    )
    event = event_store(org_a, p.envelope("membership.updated", {"member_id": p.MEMBER_ID}))
    InboundEvent.objects.filter(pk=event.pk).update(
        status=Status.SUCCEEDED, occurred_at=FAR_FUTURE, received_at=p.T0
    )
    Member.objects.filter(pk=member.pk).update(source_updated_at=FAR_FUTURE)
    return member


def test_a_frozen_member_skips_every_real_change(org_a, frozen):
    result = apply(
        org_a,
        "membership.updated",
        {"member_id": p.MEMBER_ID, "last_name": "New"},
        occurred_at=p.T0 + timedelta(days=1),
        received_at=p.T0 + timedelta(days=1),
    )
    assert result.skipped  # the reason a repair is needed


def test_unfreeze_command_resets_the_source_time_to_what_events_vouch_for(org_a, frozen):
    out = StringIO()
    call_command("sync_member_unfreeze", "--organization", org_a.slug, stdout=out)

    frozen.refresh_from_db()
    # The bad event counts as the moment it was received.
    assert frozen.source_updated_at == p.T0
    assert p.MEMBER_ID in out.getvalue()
    assert "1 frozen row(s) reset" in out.getvalue()
    result = apply(
        org_a,
        "membership.updated",
        {"member_id": p.MEMBER_ID, "last_name": "New"},
        occurred_at=p.T0 + timedelta(days=1),
        received_at=p.T0 + timedelta(days=1),
    )
    assert not result.skipped
    assert Member.objects.get().last_name == "New"


def test_unfreeze_dry_run_changes_nothing(org_a, frozen):
    out = StringIO()
    call_command("sync_member_unfreeze", "--dry-run", stdout=out)
    frozen.refresh_from_db()
    assert frozen.source_updated_at.year == 9999
    assert "would reset" in out.getvalue()


def test_unfreeze_leaves_other_organisations_and_healthy_members_alone(
    org_a, org_b, frozen, member_b
):
    other_frozen = MemberFactory(organization=org_b)
    Member.objects.filter(pk=other_frozen.pk).update(source_updated_at=FAR_FUTURE)
    healthy = MemberFactory(organization=org_a, source_updated_at=p.T0)

    changed = source_times_unfreeze(organization=org_a)

    assert [item.portal_id for item in changed] == [p.MEMBER_ID]
    other_frozen.refresh_from_db()
    healthy.refresh_from_db()
    assert other_frozen.source_updated_at.year == 9999
    assert healthy.source_updated_at == p.T0


def test_unfreeze_without_vouching_events_clears_the_source_time(org_a):
    member = MemberFactory(organization=org_a)
    Member.objects.filter(pk=member.pk).update(source_updated_at=FAR_FUTURE)
    enrollment = CourseEnrollmentFactory(member=member)
    CourseEnrollment.objects.filter(pk=enrollment.pk).update(source_updated_at=FAR_FUTURE)

    changed = source_times_unfreeze(portal_ids=[member.portal_member_id])

    assert [item.kind for item in changed] == ["member"]
    member.refresh_from_db()
    assert member.source_updated_at is None


def test_unfreeze_unknown_organisation_is_an_error(db):
    from django.core.management.base import CommandError

    with pytest.raises(CommandError):
        call_command("sync_member_unfreeze", "--organization", "nope")
