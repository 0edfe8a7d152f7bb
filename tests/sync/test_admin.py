"""The sync log admin: scoped per organisation, read-only, with a confirmed Reprocess."""

import re

import pytest
from django.urls import reverse

from sync.models import InboundEvent, WorkerHeartbeat
from tests.conftest import PASSWORD
from tests.support.isolation import (
    admin_url,
    assert_admin_hidden,
    assert_admin_isolated,
    assert_admin_sees_all,
    isolation_test,
)
from tests.sync import payloads as p
from tests.sync.conftest import event_store

Status = InboundEvent.Status
CHANGELIST = "admin:sync_inboundevent_changelist"


def failed_event(org, member_id, *, outcome="Member x: role 'boss' is not one of member"):
    event = event_store(
        org,
        p.envelope(
            "role.updated", {"member_id": member_id, "role": "boss", "email": "kari@example.no"}
        ),
    )
    InboundEvent.objects.filter(pk=event.pk).update(
        status=Status.FAILED, outcome_code="legacy", outcome_params={"text": outcome}
    )
    event.refresh_from_db()
    return event


@pytest.fixture
def events(org_a, org_b):
    return failed_event(org_a, "alpha-member-1"), failed_event(org_b, "beta-member-1")


@isolation_test("admin:sync_inboundevent_changelist")
def test_org_admin_sees_only_own_events_and_payloads(as_org_admin_a, events):
    own, other = events
    assert_admin_isolated(as_org_admin_a, own=own, other=other, marker=lambda e: e.webhook_id)
    # The payload (personal data) is shown to the event's own organisation admins...
    assert "beta-member-1" not in as_org_admin_a.get(reverse(CHANGELIST)).content.decode()
    page = as_org_admin_a.get(admin_url(own)).content.decode()
    assert "alpha-member-1" in page and "kari@example.no" in page


def test_global_admin_sees_all_events(as_global_admin, events):
    assert_admin_sees_all(as_global_admin, *events, marker=lambda e: e.webhook_id)


def test_the_log_is_read_only(as_global_admin, events):
    own, _other = events
    assert as_global_admin.get(reverse("admin:sync_inboundevent_add")).status_code == 403
    assert as_global_admin.get(admin_url(own, "delete")).status_code == 403
    page = as_global_admin.get(admin_url(own)).content.decode()
    assert 'name="_save"' not in page
    changelist = as_global_admin.get(reverse(CHANGELIST)).content.decode()
    assert "delete_selected" not in changelist
    assert 'value="reprocess_failed"' in changelist


def test_a_failed_event_shows_outcome_raw_type_and_pretty_payload(as_org_admin_a, events):
    own, _other = events
    page = as_org_admin_a.get(admin_url(own)).content.decode()

    assert "role &#x27;boss&#x27; is not one of member" in page
    assert "raw event type" in page.lower()
    # Indented JSON on its own lines, not a one-line repr.
    assert re.search(
        r"<pre[^>]*>\{\n\s+&quot;.*\n\s+&quot;role&quot;: &quot;boss&quot;", page, re.S
    )
    assert reverse("admin:sync_inboundevent_reprocess", args=[own.pk]) in page


def test_filters_and_search(as_global_admin, events, org_a):
    own, other = events
    body = as_global_admin.get(reverse(CHANGELIST), {"q": "alpha-member-1"}).content.decode()
    assert own.webhook_id in body and other.webhook_id not in body
    body = as_global_admin.get(
        reverse(CHANGELIST), {"organization__id__exact": org_a.pk, "status__exact": "failed"}
    ).content.decode()
    assert own.webhook_id in body and other.webhook_id not in body
    assert (
        as_global_admin.get(reverse(CHANGELIST), {"event_type": "role.updated"}).status_code == 200
    )


def _post_action(client, ids, **extra):
    data = {"action": "reprocess_failed", "_selected_action": [str(i) for i in ids], **extra}
    return client.post(reverse(CHANGELIST), data, follow="post" in extra)


def test_bulk_reprocess_asks_first_then_reports_with_a_plural_message(
    as_org_admin_a, org_a, events, wakeups, django_capture_on_commit_callbacks
):
    own, _other = events
    second = failed_event(org_a, "alpha-member-2")
    ids = [own.pk, second.pk]

    confirm = _post_action(as_org_admin_a, ids)
    assert confirm.status_code == 200
    assert "Yes, reprocess" in confirm.content.decode()
    assert InboundEvent.objects.filter(pk__in=ids, status=Status.FAILED).count() == 2

    with django_capture_on_commit_callbacks(execute=True):
        done = _post_action(as_org_admin_a, ids, post="yes")

    assert "2 failed events were queued for reprocessing." in done.content.decode()
    assert InboundEvent.objects.filter(pk__in=ids, status=Status.PENDING).count() == 2
    assert wakeups == ["commit"]  # one wake-up for the whole bulk action


@isolation_test("admin:sync_inboundevent_reprocess")
def test_reprocess_is_scoped_to_the_admins_organisation(as_org_admin_a, events, wakeups):
    own, other = events

    response = _post_action(as_org_admin_a, [own.pk, other.pk], post="yes")

    own.refresh_from_db()
    other.refresh_from_db()
    assert "1 failed event was queued for reprocessing." in response.content.decode()
    assert (own.status, other.status) == (Status.PENDING, Status.FAILED)
    url = reverse("admin:sync_inboundevent_reprocess", args=[other.pk])
    assert as_org_admin_a.get(url).status_code == 404
    assert as_org_admin_a.post(url).status_code == 404
    other.refresh_from_db()
    assert other.status == Status.FAILED


def test_single_event_reprocess_button_confirms_then_requeues(as_org_admin_a, events, wakeups):
    own, _other = events
    url = reverse("admin:sync_inboundevent_reprocess", args=[own.pk])

    assert "Yes, reprocess" in as_org_admin_a.get(url).content.decode()
    own.refresh_from_db()
    assert own.status == Status.FAILED
    response = as_org_admin_a.post(url, follow=True)

    own.refresh_from_db()
    assert own.status == Status.PENDING
    assert "1 failed event was queued for reprocessing." in response.content.decode()


def test_no_reprocess_button_or_action_effect_on_events_that_did_not_fail(as_global_admin, org_a):
    event = event_store(org_a, p.envelope("webhook.test", {}))
    InboundEvent.objects.filter(pk=event.pk).update(status=Status.SUCCEEDED)

    page = as_global_admin.get(admin_url(event)).content.decode()
    response = _post_action(as_global_admin, [event.pk])

    assert reverse("admin:sync_inboundevent_reprocess", args=[event.pk]) not in page
    assert "only failed events are reprocessed" in response.content.decode() or (
        response.status_code == 302
    )
    event.refresh_from_db()
    assert event.status == Status.SUCCEEDED


@isolation_test("admin:sync_workerheartbeat_changelist")
def test_worker_heartbeats_are_global_only(as_org_admin_a, client, global_admin):
    beat = WorkerHeartbeat.objects.create(hostname="worker-1")
    assert_admin_hidden(as_org_admin_a, beat)
    client.logout()
    client.login(username=global_admin.username, password=PASSWORD)
    assert "worker-1" in client.get(admin_url(beat, "changelist")).content.decode()
