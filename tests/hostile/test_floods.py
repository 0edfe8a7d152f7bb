"""Floods (SPEC §4.3): past the rate, one address's rejections are 429 and only counted.

A correctly signed request is never throttled, and its path never touches the limiter's
tables.
"""

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from sync.models import InboundEvent
from tests.support.isolation import isolation_test
from tests.webhooks.factories import OTHER_SECRET, deliver, envelope, signed
from webhooks.models import WebhookRejection, WebhookRejectionRollup
from webhooks.services import webhook_rejection_rollup_flush

pytestmark = pytest.mark.django_db
RATE = 5


@pytest.fixture(autouse=True)
def low_rate(settings):
    settings.WEBHOOK_REJECTION_RATE_PER_MINUTE = RATE


def forged(client, n, **extra):
    body = envelope()
    return [
        deliver(client, body, headers=signed(body, secret=OTHER_SECRET), **extra) for _ in range(n)
    ]


def test_rejections_past_the_rate_are_429_and_counted_not_stored(client, source_a):
    responses = forged(client, RATE + 7)

    assert [r.status_code for r in responses] == [401] * RATE + [429] * 7
    limited = responses[-1]
    assert limited.json()["error"] == "rate_limited"
    assert "detail" in limited.json()
    assert limited["Content-Type"].startswith("application/json")
    assert int(limited["Retry-After"]) > 0
    assert WebhookRejection.objects.count() == RATE  # the flood did not fill the table

    webhook_rejection_rollup_flush()
    rollups = list(WebhookRejectionRollup.objects.all())  # one row, or two if a minute turned
    assert {(r.client_address, r.reason) for r in rollups} == {("127.0.0.1", "invalid_signature")}
    assert sum(r.count for r in rollups) == 7


def test_a_signed_request_from_a_flooding_address_is_accepted(client, source_a):
    forged(client, RATE + 3)

    body = envelope()
    response = deliver(client, body, headers=signed(body))

    assert response.status_code == 202
    assert InboundEvent.objects.count() == 1


def test_the_signed_path_never_touches_the_limiters_tables(client, source_a):
    forged(client, RATE + 3)
    body = envelope()
    with CaptureQueriesContext(connection) as queries:
        assert deliver(client, body, headers=signed(body)).status_code == 202
    touched = " ".join(q["sql"] for q in queries.captured_queries)
    assert WebhookRejection._meta.db_table not in touched
    assert WebhookRejectionRollup._meta.db_table not in touched


def test_an_authentic_request_refused_for_its_timestamp_is_never_429(client, source_a):
    forged(client, RATE + 1)
    body = envelope()
    stale = signed(body, timestamp=int(timezone.now().timestamp()) - 3600)
    response = deliver(client, body, headers=stale)
    assert response.status_code == 401
    assert response.json()["error"] == "timestamp_out_of_tolerance"


def test_an_authentic_but_malformed_envelope_is_never_429(client, source_a):
    forged(client, RATE + 1)
    body = envelope(occurred_at="yesterday")
    assert deliver(client, body, headers=signed(body)).status_code == 400


def test_other_addresses_are_not_throttled(client, source_a):
    forged(client, RATE + 1)
    responses = forged(client, 2, REMOTE_ADDR="192.0.2.7")
    assert [r.status_code for r in responses] == [401, 401]


def test_every_kind_of_rejection_counts_towards_the_rate(client, source_a):
    for _ in range(RATE):
        deliver(client, b"not json", headers={})
    response = deliver(client, envelope(), content_type="text/plain")
    assert response.status_code == 429
    webhook_rejection_rollup_flush()
    assert set(WebhookRejectionRollup.objects.values_list("reason", flat=True)) == {
        "unsupported_media_type"
    }


def test_the_window_slides(client, source_a):
    forged(client, RATE)
    WebhookRejection.objects.update(received_at=timezone.now() - timedelta(seconds=61))
    assert forged(client, 1)[0].status_code == 401


def test_rate_zero_turns_the_limiter_off(client, source_a, settings):
    settings.WEBHOOK_REJECTION_RATE_PER_MINUTE = 0
    assert {r.status_code for r in forged(client, RATE + 3)} == {401}


def test_roll_up_counts_add_up_per_minute_and_reason(client, source_a):
    forged(client, RATE)
    forged(client, 3)
    webhook_rejection_rollup_flush()
    forged(client, 2)
    deliver(client, b"not json", headers={})
    webhook_rejection_rollup_flush()
    counts: dict[str, int] = {}
    for rollup in WebhookRejectionRollup.objects.all():  # a minute may turn meanwhile
        counts[rollup.reason] = counts.get(rollup.reason, 0) + rollup.count
    assert counts == {"invalid_signature": 5, "malformed_payload": 1}


@isolation_test("admin:webhooks_webhookrejectionrollup_changelist")
def test_roll_ups_are_for_global_admins_only(as_org_admin_a, source_a):
    from tests.support.isolation import assert_admin_hidden

    forged(as_org_admin_a, RATE + 2)
    webhook_rejection_rollup_flush()
    rollup = WebhookRejectionRollup.objects.first()
    assert_admin_hidden(as_org_admin_a, rollup)


def test_global_admin_reads_the_roll_ups(client, global_admin, source_a):
    from tests.support.isolation import admin_url

    forged(client, RATE + 2)
    webhook_rejection_rollup_flush()
    client.force_login(global_admin)
    rollup = WebhookRejectionRollup.objects.first()
    body = client.get(admin_url(rollup, "changelist")).content.decode()
    assert "127.0.0.1" in body
    assert client.get(admin_url(rollup)).status_code == 200
