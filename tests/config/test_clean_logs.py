"""Every process's log of a full run holds ids and codes, never a secret or a payload value.

A real gunicorn (the `web` process as the Procfile runs it) and a real Celery worker log
to files; the onboarding and the self-test run here and are captured with caplog. The run:
accepted and applied events, an invalid e-mail (failed at apply), an event that crashes
(a lone surrogate), forged and unknown-source rejections, the self-test, an onboarding.
"""

import json
import logging

import pytest
import requests
from django.urls import reverse

from sync.models import InboundEvent
from tests.portal_integration.test_onboarding import _onboarding_post
from tests.support import servers
from tests.webhooks.factories import OTHER_SECRET, TEST_SECRET, signed
from webhooks.services import webhook_self_test_send, webhook_source_create

pytestmark = pytest.mark.server

MEMBER = "5b0b7c59-0000-4000-8000-00000000c1ea"
# ASCII markers, so that an escaped repr (\xf8, \ud800) cannot hide them.
VALUES = [
    "Ingridzq",
    "Nordmannzq",
    "ingrid.zq@example.org",
    "not-an-email-zq@@",
    "90011223",
    "Crashzq",
    "Forgedzq",
    "Strangerzq",
]
FINAL = {InboundEvent.Status.SUCCEEDED, InboundEvent.Status.FAILED, InboundEvent.Status.SKIPPED}


def _body(event_type: str, data: dict, *, source="hlf-alpha", at="2026-11-27T09:15:00Z") -> bytes:
    return json.dumps(
        {"type": event_type, "source": source, "occurred_at": at, "data": data}
    ).encode()


def _post(base_url: str, body: bytes, *, secret=TEST_SECRET) -> requests.Response:
    headers = {"Content-Type": "application/json", **signed(body, secret=secret)}
    return requests.post(f"{base_url}/webhooks/dynamics/", data=body, headers=headers, timeout=30)


def test_logs_of_a_full_run_hold_no_secret_and_no_payload_value(
    live_http_server, celery_worker_process, as_global_admin, org_a, caplog
):
    caplog.set_level(logging.INFO)
    source, _ = webhook_source_create(
        organization=org_a, identifier="hlf-alpha", secret=TEST_SECRET
    )
    base = live_http_server.base_url
    created = _body(
        "membership.created",
        {
            "member_id": MEMBER,
            "first_name": "Ingridzq",
            "last_name": "Nordmannzq",
            "email": "ingrid.zq@example.org",
            "phone": "+47 90011223",
        },
    )
    invalid_email = _body(
        "membership.updated",
        {"member_id": MEMBER, "email": "not-an-email-zq@@"},
        at="2026-11-27T09:16:00Z",
    )
    # A lone surrogate: the value cannot be stored anywhere.
    crash = (
        b'{"type": "membership.created", "source": "hlf-alpha", '
        b'"occurred_at": "2026-11-27T09:17:00Z", "data": {"member_id": '
        b'"5b0b7c59-0000-4000-8000-00000000c2ea", "first_name": "Crashzq\\ud800"}}'
    )
    answers = [_post(base, created), _post(base, invalid_email), _post(base, crash)]
    answers.append(
        _post(base, _body("membership.created", {"first_name": "Forgedzq"}), secret=OTHER_SECRET)
    )
    answers.append(
        _post(base, _body("membership.created", {"first_name": "Strangerzq"}, source="nobody"))
    )
    assert answers[0].status_code == 202, answers[0].text

    def applied_and_failed():
        statuses = set(InboundEvent.objects.values_list("status", flat=True))
        return {"succeeded", "failed"} <= statuses

    assert servers.wait_until(applied_and_failed, timeout=90), list(
        [(event.status, event.outcome) for event in InboundEvent.objects.all()]
    )
    # The crashing event gets a little longer to end up wherever it ends up; its log
    # lines are what this test is about.
    servers.wait_until(
        lambda: not InboundEvent.objects.exclude(status__in=FINAL).exists(), timeout=15
    )

    test_result = webhook_self_test_send(source=source, endpoint_url=f"{base}/webhooks/dynamics/")
    assert test_result.ok, test_result.detail

    onboarded = as_global_admin.post(
        reverse("admin:portal_integration_onboard"), _onboarding_post(secret=""), follow=True
    )
    new_secret = onboarded.context["secret"]
    assert new_secret.startswith("whsec_")

    web_log = live_http_server.log_path.read_text(errors="backslashreplace")
    worker_log = celery_worker_process.log_path.read_text(errors="backslashreplace")
    logs = {"web": web_log, "worker": worker_log, "in-process": caplog.text}
    forbidden = [
        *VALUES,
        TEST_SECRET.removeprefix("whsec_"),
        new_secret.removeprefix("whsec_"),
        signed(created)["webhook-signature"].split(",", 1)[1][:16],
    ]
    for name, text in logs.items():
        for value in forbidden:
            assert value not in text, f"{value!r} is in the {name} log"

    # One JSON outcome line per delivery, with its codes.
    outcomes = [
        json.loads(line[line.index("{") :])
        for line in web_log.splitlines()
        if '"event":"webhook.outcome"' in line
    ]
    assert len(outcomes) >= len(answers) + 1  # + the self-test
    accepted = [o for o in outcomes if o["status"] == 202]
    assert accepted and all(o["event_id"] and o["source"] == "hlf-alpha" for o in accepted)
    assert {"invalid_signature", "unknown_source"} <= {o["reason"] for o in outcomes}
    assert all(isinstance(o["duration_ms"], int | float) for o in outcomes)
