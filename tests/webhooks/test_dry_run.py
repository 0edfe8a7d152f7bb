"""Try a payload (SPEC §6): normalised, routed and applied as for real — and nothing written."""

import io
import json

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.urls import reverse
from rest_framework.authtoken.models import Token

from organizations.models import CourseEnrollment, Member
from sync.models import InboundEvent
from tests.factories import MemberFactory, UserFactory
from tests.support.isolation import assert_admin_hidden, isolation_test
from tests.webhooks.factories import WebhookSourceFactory, dataverse_fixture, envelope
from webhooks.dry_run import webhook_payload_dry_run
from webhooks.models import WebhookDryRun, WebhookRejection

MEMBER_ID = "5b0b7c59-aaaa"


@pytest.fixture
def source(org_a):
    return WebhookSourceFactory(organization=org_a, identifier="hlf-alpha")


def _counts() -> dict:
    user_model = get_user_model()
    return {
        "members": Member.objects.count(),
        "member_rows": list(Member.objects.order_by("pk").values()),
        "enrollments": CourseEnrollment.objects.count(),
        "events": InboundEvent.objects.count(),
        "rejections": WebhookRejection.objects.count(),
        "tokens": Token.objects.count(),
        "users_active": list(user_model.objects.order_by("pk").values_list("is_active", flat=True)),
    }


def test_dry_run_of_an_update_shows_each_fields_before_and_after_and_writes_nothing(
    source, org_a, django_capture_on_commit_callbacks
):
    member = MemberFactory(organization=org_a, portal_member_id=MEMBER_ID, first_name="Kari")
    member.user = UserFactory(username="kari-login")
    member.save()
    Token.objects.create(user=member.user)
    body = json.dumps(
        {
            "type": "membership.deactivated",
            "source": "hlf-alpha",
            "occurred_at": "2026-11-27T09:15:00Z",
            "data": {"member_id": MEMBER_ID, "reason": "moved away"},
        }
    ).encode()
    before = _counts()

    with django_capture_on_commit_callbacks() as callbacks:
        result = webhook_payload_dry_run(source=source, body=body)

    assert _counts() == before
    assert callbacks == []  # nothing enqueued either
    assert result.organization == {"slug": "hlf-alpha", "name": "HLF Alpha"}
    [event] = result.events
    assert (event.type, event.subject, event.subject_id, event.status) == (
        "membership.deactivated",
        "member",
        MEMBER_ID,
        "would_apply",
    )
    assert "API token revoked" in event.outcome
    changes = {change["field"]: (change["before"], change["after"]) for change in event.changes}
    assert changes["is_active"] == (True, False)
    assert changes["deactivation_reason"] == ("", "moved away")
    assert result.written is False


def test_dry_run_of_a_create_shows_the_member_that_would_be_created(source):
    result = webhook_payload_dry_run(source=source, body=envelope())

    [event] = result.events
    assert event.existed is False
    assert {"field": "first_name", "before": None, "after": "Kari"} in event.changes
    assert Member.objects.count() == 0


def test_dry_run_of_a_dataverse_payload_uses_the_sources_mapping(source, org_a):
    MemberFactory(
        organization=org_a, portal_member_id="6d81597f-0f9f-e711-8122-000d3aa2331c", first_name="X"
    )
    body = dataverse_fixture("contact-update-async.json")
    payload = json.loads(body)
    payload["OrganizationId"] = "hlf-alpha"

    result = webhook_payload_dry_run(source=source, body=json.dumps(payload).encode())

    assert result.payload_kind == "dataverse"
    assert result.normalized[0]["type"] == "membership.updated"
    change = next(c for c in result.events[0].changes if c["field"] == "first_name")
    assert (change["before"], change["after"]) == ("X", "James")
    assert Member.objects.get().first_name == "X"


def test_dry_run_reports_what_the_intake_would_refuse_or_fail(source, org_a):
    assert webhook_payload_dry_run(source=source, body=b"not json").error.startswith(
        "malformed_payload"
    )
    other = webhook_payload_dry_run(source=source, body=envelope(source="somebody-else"))
    assert "somebody-else" in other.notes[0]
    unknown = webhook_payload_dry_run(
        source=source, body=envelope(type="membership.updated", data={"member_id": "nobody"})
    )
    assert unknown.events[0].status == "waiting"
    invalid = webhook_payload_dry_run(
        source=source, body=envelope(data={"member_id": "x", "role": "boss"})
    )
    assert invalid.events[0].status == "failed"
    assert "boss" in invalid.events[0].outcome
    assert WebhookRejection.objects.count() == 0
    assert InboundEvent.objects.count() == 0


def test_dry_run_command_prints_json_and_writes_nothing(source, tmp_path):
    path = tmp_path / "body.json"
    path.write_bytes(envelope())
    out = io.StringIO()

    call_command("webhook_dry_run", "--source=hlf-alpha", str(path), stdout=out)

    result = json.loads(out.getvalue())
    assert result["events"][0]["type"] == "membership.created"
    assert result["written"] is False
    assert Member.objects.count() == 0


def test_try_a_payload_page(as_global_admin, source):
    url = reverse("admin:webhooks_webhookdryrun_changelist")
    assert as_global_admin.get(url).status_code == 200

    response = as_global_admin.post(url, {"source": source.pk, "body": envelope().decode()})

    body = response.content.decode()
    assert response.status_code == 200
    assert "membership.created" in body
    assert "first_name" in body and "Kari" in body
    assert Member.objects.count() == 0


@isolation_test("admin:webhooks_webhookdryrun_changelist")
def test_try_a_payload_is_for_global_admins_only(as_org_admin_a, source):
    url = reverse("admin:webhooks_webhookdryrun_changelist")
    assert as_org_admin_a.get(url).status_code == 403
    assert as_org_admin_a.post(url, {"source": source.pk, "body": "{}"}).status_code == 403
    proxy = WebhookDryRun.objects.get(pk=source.pk)
    assert_admin_hidden(as_org_admin_a, proxy)
