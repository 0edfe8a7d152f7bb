"""One Dynamics environment, many organisations (SPEC §4.4): routing, unrouted events, transfers."""

import io
import json
from datetime import timedelta

import pytest
from django.core.management import CommandError, call_command
from django.urls import reverse

from organizations.models import CourseEnrollment, Member
from sync.models import InboundEvent
from tests.dataverse.conftest import inbox_apply
from tests.factories import CourseEnrollmentFactory, MemberFactory, OrganizationFactory
from tests.sync import payloads as p
from tests.sync.conftest import wakeups  # noqa: F401 - shared fixture
from tests.webhooks.factories import TEST_SECRET, deliver
from webhooks.dry_run import webhook_payload_dry_run
from webhooks.models import SourceOrganization, WebhookSource
from webhooks.services import webhook_source_join

pytestmark = pytest.mark.usefixtures("wakeups")

SOURCE = "hlf-dynamics"
ACC_A, ACC_B, ACC_C = (
    "aaaaaaaa-0000-4000-8000-00000000000a",
    "bbbbbbbb-0000-4000-8000-00000000000b",
    "cccccccc-0000-4000-8000-00000000000c",
)
KARI = p.MEMBER_ID


@pytest.fixture
def shared(org_a, org_b):
    source, _secret = webhook_source_join(
        organization=org_a, identifier=SOURCE, routing_value=ACC_A, secret=TEST_SECRET
    )
    webhook_source_join(organization=org_b, identifier=SOURCE, routing_value=ACC_B.upper())
    return WebhookSource.objects.get(pk=source.pk)


def account(account_id: str) -> dict:
    return p.ref(account_id, "account", "Lokallag")


def contact_body(
    message="Update", *, target=None, pre=None, post=None, occurred_at=p.T0, member_id=KARI
):
    body = p.dataverse_body(
        entity="contact",
        message=message,
        entity_id=member_id,
        occurred_at=occurred_at,
        target=target,
        pre=pre,
    )
    if post is not None:
        body["PostEntityImages"] = [
            {"key": "PostImage", "value": p._entity("contact", member_id, post)}
        ]
    body["OrganizationId"] = SOURCE
    return body


def send(client, body: dict):
    response = deliver(client, json.dumps(body).encode())
    assert response.status_code == 202, response.content
    return InboundEvent.objects.get(pk=response.json()["event_id"])


# --- routing ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("images", "expected"),
    [
        ({"target": {"firstname": "Kari", "parentcustomerid": account(ACC_A)}}, "a"),
        ({"target": {"firstname": "Kari"}, "post": {"parentcustomerid": account(ACC_B)}}, "b"),
        ({"target": {"firstname": "Kari"}, "pre": {"parentcustomerid": account(ACC_A)}}, "a"),
        (
            {
                "target": {"parentcustomerid": account(ACC_B)},
                "post": {"parentcustomerid": account(ACC_A)},
                "pre": {"parentcustomerid": account(ACC_A)},
            },
            "b",
        ),
        (
            {
                "target": {"firstname": "Kari"},
                "post": {"parentcustomerid": account(ACC_B)},
                "pre": {"parentcustomerid": account(ACC_A)},
            },
            "b",
        ),
    ],
    ids=["target", "post-image", "pre-image", "target-over-images", "post-over-pre"],
)
def test_a_contact_is_routed_by_its_parent_account(client, shared, org_a, org_b, images, expected):
    event = send(client, contact_body("Create", **images))

    assert event.organization == {"a": org_a, "b": org_b}[expected]
    inbox_apply()
    member = Member.objects.get(portal_member_id=KARI)
    assert member.organization == event.organization


def test_the_routing_attribute_is_configurable(client, shared, org_b):
    shared.dataverse_mapping = {"routing_attribute": "hlf_localchapterid"}
    shared.save()
    event = send(
        client,
        contact_body("Create", target={"hlf_localchapterid": account(ACC_B), "firstname": "K"}),
    )
    assert event.organization == org_b


def test_a_contact_of_no_organisation_is_stored_failed_and_unrouted(client, shared):
    event = send(client, contact_body("Create", target={"parentcustomerid": account(ACC_C)}))

    assert event.organization is None
    assert event.status == InboundEvent.Status.FAILED
    assert event.outcome == (
        f"contact {KARI} belongs to account {ACC_C}, which is no organisation of source "
        "hlf-dynamics"
    )
    assert event.normalized[0]["type"] == "membership.created"  # kept for reprocessing


def test_a_contact_without_the_attribute_is_unroutable(client, shared):
    event = send(client, contact_body("Create", target={"firstname": "Kari"}))
    assert event.organization is None
    assert "has no parentcustomerid" in event.outcome


def test_an_enrollment_goes_to_its_members_organisation(client, shared, org_b):
    MemberFactory(organization=org_b, portal_member_id=KARI)
    body = p.dataverse_body(
        entity="hlf_courseenrollment",
        message="Create",
        entity_id=p.ENROLLMENT_ID,
        target=p.enrollment_columns(),
    )
    body["OrganizationId"] = SOURCE
    event = send(client, body)

    assert event.organization == org_b
    inbox_apply()
    assert CourseEnrollment.objects.get().organization == org_b


def _enrollment_body(*, without: str = "") -> dict:
    columns = p.enrollment_columns()
    columns.pop(without, None)
    body = p.dataverse_body(
        entity="hlf_courseenrollment", message="Create", entity_id=p.ENROLLMENT_ID, target=columns
    )
    body["OrganizationId"] = SOURCE
    return body


def _apply(event) -> str:
    from sync.services import inbound_event_apply

    return inbound_event_apply(event_id=event.pk).status


def test_an_enrollment_of_a_member_not_known_yet_waits_and_follows_the_member(
    client, shared, org_b
):
    event = send(client, _enrollment_body())

    # Not failed as unroutable: its member's create may still be on its way (SPEC §5).
    assert (event.organization, event.status) == (None, InboundEvent.Status.PENDING)
    assert _apply(event) == InboundEvent.Status.PENDING
    event.refresh_from_db()
    assert event.organization is None
    assert event.outcome.startswith(
        f"Waiting: member {KARI} is not known in any organisation of source hlf-dynamics yet"
    )
    assert event.next_attempt_at is not None

    # The member appears in HLF Beta: the retry routes the enrollment through it.
    MemberFactory(organization=org_b, portal_member_id=KARI)
    InboundEvent.objects.filter(pk=event.pk).update(next_attempt_at=None)
    assert _apply(event) == InboundEvent.Status.SUCCEEDED
    event.refresh_from_db()
    assert event.organization == org_b
    assert set(event.subject_ids.split()) == {p.ENROLLMENT_ID, KARI}
    enrollment = CourseEnrollment.objects.get()
    assert (enrollment.organization, enrollment.member.organization) == (org_b, org_b)


def test_an_enrollment_whose_member_never_comes_fails_after_the_window(client, shared):
    event = send(client, _enrollment_body())
    InboundEvent.objects.filter(pk=event.pk).update(
        received_at=event.received_at - timedelta(minutes=11)
    )

    assert _apply(event) == InboundEvent.Status.FAILED
    event.refresh_from_db()
    assert (event.organization, event.outcome) == (
        None,
        f"member {KARI} is not known in any organisation of source hlf-dynamics",
    )
    assert not CourseEnrollment.objects.exists()


def test_an_enrollment_naming_no_member_is_unroutable_at_once(client, shared):
    event = send(client, _enrollment_body(without="hlf_contactid"))

    assert (event.organization, event.status) == (None, InboundEvent.Status.FAILED)
    assert "cannot be routed to an organisation of source hlf-dynamics" in event.outcome


def test_an_envelope_on_a_shared_source_names_its_organisation(client, shared, org_b):
    body = {
        "type": "membership.created",
        "source": SOURCE,
        "occurred_at": "2026-11-27T09:15:00Z",
        "data": {"member_id": KARI, "first_name": "Kari", "organization": ACC_B},
    }
    assert send(client, body).organization == org_b
    del body["data"]["organization"]
    unrouted = send(client, body)
    assert unrouted.organization is None
    assert "data.organization" in unrouted.outcome


def test_a_single_organisation_source_is_unchanged(client, org_a):
    from webhooks.services import webhook_source_create

    webhook_source_create(organization=org_a, identifier="hlf-alpha", secret=TEST_SECRET)
    body = contact_body("Create", target={"parentcustomerid": account(ACC_C)})
    body["OrganizationId"] = "hlf-alpha"
    event = send(client, body)
    assert event.organization == org_a
    assert event.status == InboundEvent.Status.PENDING


# --- who sees unrouted events ----------------------------------------------------------------


def test_organisation_admins_never_see_unrouted_events_or_other_organisations(
    client, shared, org_a, org_b, org_admin_a, global_admin
):
    from tests.conftest import PASSWORD

    unrouted = send(client, contact_body("Create", target={"parentcustomerid": account(ACC_C)}))
    own = send(
        client,
        contact_body("Create", target={"parentcustomerid": account(ACC_A)}, member_id="own-1"),
    )
    other = send(
        client,
        contact_body("Create", target={"parentcustomerid": account(ACC_B)}, member_id="other-1"),
    )
    changelist = reverse("admin:sync_inboundevent_changelist")

    client.login(username=org_admin_a.username, password=PASSWORD)
    body = client.get(changelist).content.decode()
    assert str(own.pk) in body
    assert str(other.pk) not in body and str(unrouted.pk) not in body
    for event in (unrouted, other):
        url = reverse("admin:sync_inboundevent_change", args=[event.pk])
        assert client.get(url).status_code == 404
    assert (
        client.get(changelist + "?organization__isnull=True")
        .content.decode()
        .count(str(unrouted.pk))
        == 0
    )
    api = client.get(f"/api/v1/organizations/{org_a.slug}/sync-status/").content.decode()
    assert str(unrouted.pk) not in api and str(other.pk) not in api

    client.login(username=global_admin.username, password=PASSWORD)
    body = client.get(changelist + "?organization__isnull=True").content.decode()
    assert str(unrouted.pk) in body and str(own.pk) not in body
    health = client.get(reverse("admin:monitoring_health")).content.decode()
    assert 'id="alert-unrouted"' in health


def test_unrouted_events_are_reprocessed_after_onboarding(client, shared, global_admin):
    from tests.conftest import PASSWORD

    event = send(
        client,
        contact_body("Create", target={"parentcustomerid": account(ACC_C), "firstname": "Kari"}),
    )
    client.login(username=global_admin.username, password=PASSWORD)
    reprocess = reverse("admin:sync_inboundevent_reprocess", args=[event.pk])

    client.post(reprocess)  # not onboarded yet: stays failed
    event.refresh_from_db()
    assert (event.status, event.organization) == ("failed", None)

    out = io.StringIO()
    call_command(
        "onboard_org",
        "--slug=hlf-gamma",
        "--name=HLF Gamma",
        f"--source-id={SOURCE}",
        f"--routing-value={ACC_C}",
        stdout=out,
    )
    client.post(reprocess)
    event.refresh_from_db()
    assert event.organization.slug == "hlf-gamma"
    assert event.status == InboundEvent.Status.PENDING
    inbox_apply()
    assert Member.objects.get(portal_member_id=KARI).organization.slug == "hlf-gamma"


# --- onboarding with a routing value ------------------------------------------------------------


def test_onboarding_joins_a_shared_source_without_touching_or_showing_its_secret(shared):
    secrets_before = list(shared.secrets.values_list("ciphertext", flat=True))
    out = io.StringIO()

    call_command(
        "onboard_org",
        "--slug=hlf-gamma",
        "--name=HLF Gamma",
        f"--source-id={SOURCE}",
        f"--routing-value={ACC_C.upper()}",
        stdout=out,
    )

    assert list(shared.secrets.values_list("ciphertext", flat=True)) == secrets_before
    assert "whsec_" not in out.getvalue()
    assert "unchanged" in out.getvalue()
    route = SourceOrganization.objects.get(organization__slug="hlf-gamma")
    assert (route.source, route.routing_value) == (shared, ACC_C)


def test_onboarding_refuses_a_routing_value_already_on_the_source(shared):
    with pytest.raises(CommandError, match="already used"):
        call_command(
            "onboard_org",
            "--slug=hlf-gamma",
            "--name=HLF Gamma",
            f"--source-id={SOURCE}",
            f"--routing-value={ACC_A}",
            stdout=io.StringIO(),
        )
    assert not Member.objects.exists()
    from organizations.models import Organization

    assert not Organization.objects.filter(slug="hlf-gamma").exists()


def test_onboarding_with_a_routing_value_creates_a_shared_source(db):
    out = io.StringIO()
    call_command(
        "onboard_org",
        "--slug=hlf-gamma",
        "--name=HLF Gamma",
        "--source-id=hlf-new-env",
        f"--routing-value={ACC_C}",
        stdout=out,
    )
    source = WebhookSource.objects.get(identifier="hlf-new-env")
    assert source.shared
    assert "whsec_" in out.getvalue()  # a new source's secret, shown once


def test_onboarding_without_a_routing_value_still_refuses_an_existing_identifier(shared):
    with pytest.raises(CommandError, match="already exists"):
        call_command(
            "onboard_org",
            "--slug=hlf-gamma",
            "--name=G",
            f"--source-id={SOURCE}",
            stdout=io.StringIO(),
        )


def test_a_single_organisation_source_cannot_be_joined(org_a):
    from webhooks.services import webhook_source_create

    webhook_source_create(organization=org_a, identifier="hlf-alpha")
    with pytest.raises(CommandError, match="serves one organisation"):
        call_command(
            "onboard_org",
            "--slug=hlf-gamma",
            "--name=G",
            "--source-id=hlf-alpha",
            f"--routing-value={ACC_C}",
            stdout=io.StringIO(),
        )


def test_admin_onboarding_joins_a_shared_source(as_global_admin, shared):
    from tests.portal_integration.test_onboarding import ONBOARD_URL, _onboarding_post

    page = as_global_admin.get(reverse(ONBOARD_URL))
    assert 'name="routing_value"' in page.content.decode()

    response = as_global_admin.post(
        reverse(ONBOARD_URL),
        _onboarding_post(
            slug="hlf-gamma", name="HLF Gamma", source_identifier=SOURCE, routing_value=ACC_C
        ),
    )

    body = response.content.decode()
    assert SourceOrganization.objects.filter(organization__slug="hlf-gamma").exists(), body[:3000]
    assert "whsec_" not in body


# --- transfers -----------------------------------------------------------------------------------


def _moved(client, *, old: str, new: str, at, member_id=KARI, **target):
    return send(
        client,
        contact_body(
            "Update",
            target={"parentcustomerid": account(new), **target},
            pre={"parentcustomerid": account(old)},
            occurred_at=at,
            member_id=member_id,
        ),
    )


def test_a_transfer_moves_the_member_and_leaves_enrollments_as_history(
    client, shared, org_a, org_b
):
    kari = MemberFactory(
        organization=org_a, portal_member_id=KARI, first_name="Kari", source_updated_at=p.T0
    )
    CourseEnrollmentFactory(member=kari, course_name="Alpha course")

    event = _moved(client, old=ACC_A, new=ACC_B, at=p.T0 + timedelta(hours=1), lastname="Moved")

    assert event.organization == org_b
    assert [item["type"] for item in event.normalized] == ["membership.moved"]
    assert inbox_apply() == ["succeeded"]
    kari.refresh_from_db()
    assert (kari.is_active, kari.deactivation_reason) == (False, "moved to HLF Beta")
    assert kari.enrollments.count() == 1
    moved = Member.objects.get(organization=org_b, portal_member_id=KARI)
    assert (moved.is_active, moved.first_name, moved.last_name) == (True, "Kari", "Moved")
    assert "HLF Alpha" not in InboundEvent.objects.get().outcome


def test_out_of_order_transfers_end_in_the_newest_state(client, shared, org_a, org_b):
    org_c = OrganizationFactory(slug="hlf-gamma", name="HLF Gamma")
    webhook_source_join(organization=org_c, identifier=SOURCE, routing_value=ACC_C)
    MemberFactory(organization=org_a, portal_member_id=KARI, source_updated_at=p.T0)

    # B→C (newer) arrives and is applied first; A→B (older) comes late.
    _moved(client, old=ACC_B, new=ACC_C, at=p.T0 + timedelta(hours=2))
    inbox_apply()
    _moved(client, old=ACC_A, new=ACC_B, at=p.T0 + timedelta(hours=1))
    assert inbox_apply() == ["skipped"]

    records = {
        m.organization.slug: m.is_active for m in Member.objects.filter(portal_member_id=KARI)
    }
    assert records == {"hlf-alpha": False, "hlf-gamma": True}


def test_a_member_moved_back_gets_the_old_record_reactivated(client, shared, org_a, org_b):
    kari = MemberFactory(organization=org_a, portal_member_id=KARI, source_updated_at=p.T0)

    _moved(client, old=ACC_A, new=ACC_B, at=p.T0 + timedelta(hours=1))
    inbox_apply()
    _moved(client, old=ACC_B, new=ACC_A, at=p.T0 + timedelta(hours=2))
    inbox_apply()

    assert Member.objects.filter(portal_member_id=KARI).count() == 2
    kari.refresh_from_db()
    assert (kari.is_active, kari.deactivation_reason, kari.deactivated_at) == (True, "", None)
    beta = Member.objects.get(organization=org_b, portal_member_id=KARI)
    assert (beta.is_active, beta.deactivation_reason) == (False, "moved to HLF Alpha")


def test_a_stale_transfer_that_also_deactivates_is_skipped_whole(client, shared, org_a, org_b):
    org_c = OrganizationFactory(slug="hlf-gamma", name="HLF Gamma")
    webhook_source_join(organization=org_c, identifier=SOURCE, routing_value=ACC_C)
    MemberFactory(organization=org_a, portal_member_id=KARI, source_updated_at=p.T0)
    _moved(client, old=ACC_B, new=ACC_C, at=p.T0 + timedelta(hours=2))
    inbox_apply()

    # A→B, older, also deactivated the contact: one transfer carrying the deactivation.
    late = _moved(client, old=ACC_A, new=ACC_B, at=p.T0 + timedelta(hours=1), statecode=p.option(1))

    assert [item["type"] for item in late.normalized] == ["membership.moved"]
    assert late.normalized[0]["data"]["is_active"] is False
    assert inbox_apply() == ["skipped"]  # not pending for a member that is not in HLF Beta
    records = {m.organization.slug: m.is_active for m in Member.objects.all()}
    assert records == {"hlf-alpha": False, "hlf-gamma": True}


def test_a_transfer_that_also_deactivates_moves_the_member_inactive(client, shared, org_a, org_b):
    MemberFactory(organization=org_a, portal_member_id=KARI, source_updated_at=p.T0)

    _moved(client, old=ACC_A, new=ACC_B, at=p.T0 + timedelta(hours=1), statecode=p.option(1))

    assert inbox_apply() == ["succeeded"]
    alpha = Member.objects.get(organization=org_a)
    beta = Member.objects.get(organization=org_b)
    assert (alpha.is_active, alpha.deactivation_reason) == (False, "moved to HLF Beta")
    assert beta.is_active is False


# A member's history across three organisations of one shared source, as Dynamics sends it.
HISTORY = [
    # 1. created in HLF Alpha
    {
        "message": "Create",
        "target": {
            "parentcustomerid": account(ACC_A),
            "firstname": "Kari",
            "lastname": "Nordmann",
            "hlf_approle": p.option(p.ROLE_OPTIONS["member"]),
            "statecode": p.option(0),
        },
    },
    # 2. made coordinator in HLF Alpha
    {
        "target": {"hlf_approle": p.option(p.ROLE_OPTIONS["coordinator"])},
        "pre": {"hlf_approle": p.option(p.ROLE_OPTIONS["member"])},
        "post": {"parentcustomerid": account(ACC_A), "firstname": "Kari"},
    },
    # 3. moved to HLF Beta and deactivated in the same change
    {
        "target": {"parentcustomerid": account(ACC_B), "statecode": p.option(1)},
        "pre": {"parentcustomerid": account(ACC_A), "statecode": p.option(0)},
        "post": {"firstname": "Kari", "lastname": "Nordmann"},
    },
    # 4. moved on to HLF Gamma
    {
        "target": {"parentcustomerid": account(ACC_C)},
        "pre": {"parentcustomerid": account(ACC_B)},
        "post": {"firstname": "Kari", "lastname": "Nordmann"},
    },
    # 5. in HLF Gamma: renamed, made peer mentor, active again
    {
        "target": {
            "lastname": "Hansen",
            "hlf_approle": p.option(p.ROLE_OPTIONS["peer_mentor"]),
            "statecode": p.option(0),
        },
        "pre": {
            "lastname": "Nordmann",
            "hlf_approle": p.option(p.ROLE_OPTIONS["coordinator"]),
            "statecode": p.option(1),
        },
        "post": {"parentcustomerid": account(ACC_C), "firstname": "Kari"},
    },
]


def _orders() -> list[tuple[int, ...]]:
    import itertools
    import random

    every = list(itertools.permutations(range(len(HISTORY))))
    # In order, reversed, two that once ended pending (a change waiting for a member that
    # had moved on), and a fixed sample; all 120 orders pass (run with `every` to check).
    hard = [(1, 2, 0, 3, 4), (4, 1, 2, 0, 3)]
    return [tuple(range(5)), tuple(reversed(range(5))), *hard, *random.Random(11).sample(every, 8)]


def _apply_due() -> list[str]:
    """What the drain does once the retries fall due (time is not waited for here)."""
    InboundEvent.objects.filter(status=InboundEvent.Status.PENDING).update(next_attempt_at=None)
    return inbox_apply()


@pytest.mark.parametrize("order", _orders(), ids=lambda order: "".join(str(i + 1) for i in order))
def test_shuffled_delivery_across_organisations_ends_in_the_newest_state(
    client, shared, org_a, org_b, order
):
    org_c = OrganizationFactory(slug="hlf-gamma", name="HLF Gamma")
    webhook_source_join(organization=org_c, identifier=SOURCE, routing_value=ACC_C)
    delivered = []
    for index in order:
        step = HISTORY[index]
        body = contact_body(
            step.get("message", "Update"),
            target=step["target"],
            pre=step.get("pre"),
            post=step.get("post"),
            occurred_at=p.T0 + timedelta(minutes=10 * index),
        )
        delivered.append(send(client, body))
        _apply_due()  # the workers, seconds later
    for _round in range(3):  # events that waited for their member get their retries
        _apply_due()

    statuses = {
        event.status for event in InboundEvent.objects.filter(pk__in=[e.pk for e in delivered])
    }
    assert statuses <= {"succeeded", "skipped"}, list(
        InboundEvent.objects.values_list("status", "outcome")
    )
    active = Member.objects.filter(portal_member_id=KARI, is_active=True)
    [kari] = active  # active in exactly one organisation: the newest event's
    assert (kari.organization, kari.first_name, kari.last_name, kari.role) == (
        org_c,
        "Kari",
        "Hansen",
        "peer_mentor",
    )
    assert kari.source_updated_at == p.T0 + timedelta(minutes=40)
    others = Member.objects.filter(portal_member_id=KARI).exclude(pk=kari.pk)
    assert {record.organization for record in others} <= {org_a, org_b}


def test_a_transfer_is_one_transaction(client, shared, org_a, org_b, monkeypatch):
    import sync.appliers as appliers

    kari = MemberFactory(organization=org_a, portal_member_id=KARI, source_updated_at=p.T0)
    _moved(client, old=ACC_A, new=ACC_B, at=p.T0 + timedelta(hours=1), emailaddress1="not-an-email")

    assert inbox_apply() == ["failed"]
    kari.refresh_from_db()
    assert kari.is_active  # the deactivation was rolled back with the refused create
    assert not Member.objects.filter(organization=org_b).exists()
    assert appliers.membership_moved


def test_dry_run_shows_the_routing_of_a_shared_source(shared, org_b):
    body = contact_body("Create", target={"parentcustomerid": account(ACC_B), "firstname": "Kari"})
    result = webhook_payload_dry_run(source=shared, body=json.dumps(body).encode())
    assert result.organization["slug"] == org_b.slug
    unrouted = contact_body("Create", target={"parentcustomerid": account(ACC_C)})
    result = webhook_payload_dry_run(source=shared, body=json.dumps(unrouted).encode())
    assert result.organization is None
    assert "no organisation of source" in result.failure


def test_the_shared_source_page_lists_its_organisations_and_routing_values(as_global_admin, shared):
    body = as_global_admin.get(
        reverse("admin:webhooks_webhooksource_change", args=[shared.pk])
    ).content.decode()
    assert ACC_A in body and ACC_B in body
    assert TEST_SECRET not in body
