"""Signed self-tests are marked where they are recorded, shown on their source, and are no
traffic: not in the figures, not in any organisation's sync log or status."""

import json

import pytest
from django.urls import reverse

from monitoring.selectors import health_figures
from sync.models import InboundEvent
from sync.selectors import sync_status_for_organization
from tests.webhooks.factories import OTHER_SECRET, deliver, signed
from webhooks.models import WebhookRejection
from webhooks.services import webhook_id_is_self_test, webhook_self_test_id

pytestmark = pytest.mark.django_db


def self_test_payload(source: str = "hlf-alpha") -> bytes:
    return json.dumps(
        {
            "type": "webhook.test",
            "source": source,
            "occurred_at": "2026-11-27T09:15:00Z",
            "data": {"message": "Signed test payload sent from the admin."},
        }
    ).encode()


def test_self_test_ids_are_recognised_and_cannot_be_forged():
    assert webhook_id_is_self_test(webhook_self_test_id())
    assert not webhook_id_is_self_test("selftest_0123456789abcdef")
    assert not webhook_id_is_self_test("selftest_abc_000000000000000000000000")
    assert not webhook_id_is_self_test("msg_1")
    assert not webhook_id_is_self_test(None)


def test_a_self_test_is_marked_and_left_out_of_figures_and_sync_logs(
    client, as_org_admin_a, source_a, org_a
):
    body = self_test_payload()
    assert (
        deliver(client, body, headers=signed(body, msg_id=webhook_self_test_id())).status_code
        == 202
    )
    refused = signed(body, secret=OTHER_SECRET, msg_id=webhook_self_test_id())
    assert deliver(client, body, headers=refused).status_code == 401
    forged = signed(body, secret=OTHER_SECRET, msg_id="selftest_forged")
    assert deliver(client, body, headers=forged).status_code == 401

    event = InboundEvent.objects.get()
    assert event.is_self_test is True
    assert sorted(WebhookRejection.objects.values_list("is_self_test", flat=True)) == [
        False,
        True,
    ]
    figures = health_figures()
    assert (figures.accepted_24h, figures.rejected_24h) == (0, 1)  # only the forged one
    assert sync_status_for_organization(organization=org_a)["recent_events"] == []
    html = as_org_admin_a.get(reverse("admin:sync_inboundevent_changelist")).content.decode()
    assert str(event.pk) not in html


def test_the_source_page_lists_self_tests_with_their_result(as_global_admin, source_a, client):
    body = self_test_payload()
    deliver(client, body, headers=signed(body, msg_id=webhook_self_test_id()))
    deliver(client, body, headers=signed(body, secret=OTHER_SECRET, msg_id=webhook_self_test_id()))
    url = reverse("admin:webhooks_webhooksource_change", args=[source_a.pk])
    html = as_global_admin.get(url).content.decode()
    assert 'id="self-tests"' in html
    assert "accepted (" in html
    assert "refused: Invalid signature" in html  # the reason as people read it
