"""Hypothesis through the webhook view: whatever arrives, never a 5xx (issue 12).

Signed and unsigned, envelopes, Dataverse contexts, raw bytes and odd headers: each
answer is one of the SPEC §4.3 shapes, and a refusal is recorded.
"""

import string

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from tests.fuzz import strategies as fz
from tests.webhooks.factories import deliver, signed
from webhooks.models import WebhookRejection
from webhooks.services import webhook_rejection_rollup_reset

pytestmark = [pytest.mark.fuzz, pytest.mark.django_db]

header_names = st.text(alphabet=string.ascii_lowercase + "-", min_size=1, max_size=20).map(
    lambda name: f"x-{name}"
)
# What a WSGI server hands Django: latin-1 text.
header_values = st.text(alphabet=st.characters(min_codepoint=0x20, max_codepoint=0xFF), max_size=40)
signature_headers = st.fixed_dictionaries(
    {},
    optional={
        "webhook-id": header_values | st.just("m" * 10_240),
        "webhook-timestamp": header_values | st.integers().map(str),
        "webhook-signature": header_values | st.just("v1,AAAA " * 1000),
    },
)


@given(
    body=fz.raw_bodies,
    sign=st.booleans(),
    unsigned_headers=signature_headers,
    extra=st.dictionaries(header_names, header_values, max_size=4),
    content_type=st.sampled_from(
        ["application/json", "application/json; charset=utf-8", "text/plain", "application/xml"]
    ),
)
@example(
    body=b'{"source": "\\ud800"}',
    sign=False,
    unsigned_headers={"webhook-id": "1", "webhook-timestamp": "1", "webhook-signature": "v1,A"},
    extra={},
    content_type="application/json",
)
@example(
    body=b'{"type":"membership.created","source":"hlf-alpha","occurred_at":'
    b'"9999-12-31T23:00:00-05:00","data":{"member_id":"m"}}',
    sign=True,
    unsigned_headers={},
    extra={},
    content_type="application/json",
)
def test_the_webhook_view_never_answers_5xx(
    client, source_a, body, sign, unsigned_headers, extra, content_type
):
    webhook_rejection_rollup_reset()
    headers = {**(signed(body) if sign else unsigned_headers), **extra}
    before = WebhookRejection.objects.count()

    response = deliver(client, body, headers=headers, content_type=content_type)

    assert response.status_code < 500, response.content
    assert response["Content-Type"].startswith("application/json")
    payload = response.json()
    if response.status_code in (200, 202):
        assert payload["status"] in ("accepted", "duplicate")
    else:
        assert set(payload) == {"error", "detail"}
        if response.status_code != 429:
            assert WebhookRejection.objects.count() == before + 1
