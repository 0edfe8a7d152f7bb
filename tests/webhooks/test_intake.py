"""POST /webhooks/dynamics/: every row of SPEC §4.3 and every reason code, one test each."""

import io
import json
import logging
import time
from datetime import timedelta
from unittest import mock

import pytest
from django.db import OperationalError
from django.test import Client, override_settings
from django.utils import timezone, translation

from sync.models import InboundEvent
from tests.webhooks.conftest import DATAVERSE_ORG_ID
from tests.webhooks.factories import (
    ENDPOINT,
    OTHER_SECRET,
    TEST_SECRET,
    WebhookSourceFactory,
    dataverse_fixture,
    deliver,
    envelope,
    signed,
)
from webhooks.models import WebhookRejection, WebhookSecret
from webhooks.services import webhook_secret_rotate, webhook_source_create

pytestmark = pytest.mark.django_db


def assert_rejected(response, *, reason: str, status: int) -> WebhookRejection:
    """The answer carries the code, and exactly one rejection was recorded with it."""
    assert response.status_code == status, response.content
    payload = response.json()
    assert payload["error"] == reason
    assert "detail" in payload
    assert response["Content-Type"].startswith("application/json")
    rejection = WebhookRejection.objects.get()
    assert (rejection.reason, rejection.status_code) == (reason, status)
    assert InboundEvent.objects.count() == 0
    return rejection


# --- 202 accepted ------------------------------------------------------------------


def test_authentic_envelope_is_stored_and_accepted(client, source_a, org_a):
    body = envelope()
    headers = signed(body, msg_id="msg_accepted_1")
    response = deliver(client, body, headers=headers)

    assert response.status_code == 202
    event = InboundEvent.objects.get()
    assert response.json() == {"status": "accepted", "event_id": str(event.id)}
    assert event.organization == org_a
    assert (event.source_identifier, event.webhook_id) == ("hlf-alpha", "msg_accepted_1")
    assert event.payload == json.loads(body)
    assert event.normalized[0]["type"] == "membership.created"
    assert event.normalized[0]["data"]["member_id"] == "5b0b7c59-aaaa"
    assert event.status == InboundEvent.Status.PENDING
    # Headers are kept for investigation, the signature is not.
    assert event.headers["webhook-id"] == "msg_accepted_1"
    assert event.headers["webhook-signature"] == "[redacted]"
    assert WebhookRejection.objects.count() == 0


def test_dataverse_contact_update_fixture_is_normalised_and_stored(client, dataverse_source):
    body = dataverse_fixture("contact-update-async.json")
    response = deliver(client, body)

    assert response.status_code == 202, response.content
    event = InboundEvent.objects.get()
    assert event.payload_format == "dataverse"
    assert event.source_identifier == DATAVERSE_ORG_ID
    assert event.payload == json.loads(body)  # the original is kept
    assert event.event_type == "membership.updated"
    assert event.normalized[0]["data"]["member_id"] == "6d81597f-0f9f-e711-8122-000d3aa2331c"
    assert event.occurred_at is not None


def test_dataverse_unmapped_entity_fixture_is_stored_for_the_sync_to_skip(client, org_a):
    webhook_source_create(
        organization=org_a, identifier="55ff55ff-aa66-bb77-cc88-99dd99dd99dd", secret=TEST_SECRET
    )
    response = deliver(client, dataverse_fixture("agentstatus-create-sync.json"))

    assert response.status_code == 202, response.content
    assert InboundEvent.objects.get().event_type == "dataverse.msdyn_agentstatus.create"


def test_truncated_dataverse_message_is_stored_as_failed(client, dataverse_source):
    payload = json.loads(dataverse_fixture("contact-update-async.json"))
    for key in ("InputParameters", "PreEntityImages", "PostEntityImages", "ParentContext"):
        payload.pop(key)
    body = json.dumps(payload).encode()
    headers = {**signed(body), "x-ms-dynamics-msg-size-exceeded": "true"}

    response = deliver(client, body, headers=headers)

    assert response.status_code == 202
    event = InboundEvent.objects.get()
    assert event.status == InboundEvent.Status.FAILED
    assert "truncated" in event.outcome
    # The sync log names what Dynamics sent, although nothing could be normalised.
    assert event.event_type == "dataverse.contact.update"


def test_any_listed_signature_may_match(client, source_a):
    body = envelope()
    good = signed(body)
    bad = signed(body, secret=OTHER_SECRET, msg_id=good["webhook-id"])
    good["webhook-signature"] = f"{bad['webhook-signature']} {good['webhook-signature']}"

    assert deliver(client, body, headers=good).status_code == 202


def test_csrf_accept_header_and_session_play_no_part(source_a):
    client = Client(enforce_csrf_checks=True)
    body = envelope()
    response = deliver(client, body, HTTP_ACCEPT="text/html")

    assert response.status_code == 202
    assert response["Content-Type"].startswith("application/json")
    assert "sessionid" not in response.cookies


def test_get_is_not_allowed(client, source_a):
    assert client.get(ENDPOINT).status_code == 405


# --- 200 duplicate -----------------------------------------------------------------


def test_replayed_webhook_id_answers_duplicate_and_stores_once(client, source_a):
    body = envelope()
    headers = signed(body, msg_id="msg_replayed")
    first = deliver(client, body, headers=headers)
    second = deliver(client, body, headers=headers)

    assert first.status_code == 202
    assert second.status_code == 200
    assert second.json() == {"status": "duplicate", "event_id": first.json()["event_id"]}
    assert InboundEvent.objects.count() == 1


def test_same_webhook_id_from_another_source_is_not_a_duplicate(client, source_a, org_b):
    webhook_source_create(organization=org_b, identifier="hlf-beta", secret=TEST_SECRET)
    for source in ("hlf-alpha", "hlf-beta"):
        body = envelope(source=source)
        assert deliver(client, body, headers=signed(body, msg_id="msg_same")).status_code == 202
    assert InboundEvent.objects.count() == 2


def test_duplicate_must_still_be_authentic(client, source_a):
    body = envelope()
    headers = signed(body, msg_id="msg_once")
    assert deliver(client, body, headers=headers).status_code == 202

    forged = signed(body, msg_id="msg_once", secret=OTHER_SECRET)
    response = deliver(client, body, headers=forged)

    assert response.status_code == 401
    assert response.json()["error"] == "invalid_signature"


# --- 415 / 413 ---------------------------------------------------------------------


def test_wrong_content_type_is_415_without_reading_the_body(client, source_a):
    body = envelope()
    response = deliver(client, body, content_type="text/plain")

    rejection = assert_rejected(response, reason="unsupported_media_type", status=415)
    assert rejection.body_sha256 == ""  # the body was never read


def test_json_with_charset_parameter_is_accepted(client, source_a):
    body = envelope()
    assert deliver(client, body, content_type="application/json; charset=utf-8").status_code == 202


def test_body_at_the_limit_passes(client, source_a):
    body = envelope()
    with override_settings(WEBHOOK_MAX_BODY_BYTES=len(body)):
        assert deliver(client, body).status_code == 202


def test_body_one_byte_over_the_limit_is_413(client, source_a):
    body = envelope()
    with override_settings(WEBHOOK_MAX_BODY_BYTES=len(body) - 1):
        response = deliver(client, body)
    rejection = assert_rejected(response, reason="payload_too_large", status=413)
    assert rejection.headers["content-length"] == str(len(body))


def test_default_limit_is_one_mebibyte(client, source_a):
    body = b'{"pad": "' + b"x" * (1024 * 1024) + b'"}'
    assert_rejected(deliver(client, body), reason="payload_too_large", status=413)


@override_settings(WEBHOOK_MAX_BODY_BYTES=1000)
def test_declared_length_over_the_limit_is_refused_before_reading(client, source_a):
    stream = io.BytesIO(b"{}")
    response = client.generic(
        "POST",
        ENDPOINT,
        b"",
        CONTENT_TYPE="application/json",
        CONTENT_LENGTH="5000000",
        **{"wsgi.input": stream},
    )
    assert_rejected(response, reason="payload_too_large", status=413)
    assert stream.tell() == 0


@override_settings(WEBHOOK_MAX_BODY_BYTES=1000)
def test_chunked_body_without_length_is_cut_one_byte_past_the_limit(client, source_a):
    stream = io.BytesIO(b"[" * 50_000)
    response = client.generic(
        "POST",
        ENDPOINT,
        b"",
        CONTENT_TYPE="application/json",
        CONTENT_LENGTH="",
        **{"wsgi.input": stream},
    )
    assert_rejected(response, reason="payload_too_large", status=413)
    assert stream.tell() == 1001


@override_settings(WEBHOOK_MAX_BODY_BYTES=1000)
def test_chunked_body_within_the_limit_is_read_whole(client, source_a):
    body = envelope()
    stream = io.BytesIO(body)
    response = client.generic(
        "POST",
        ENDPOINT,
        b"",
        CONTENT_TYPE="application/json",
        CONTENT_LENGTH="",
        headers=signed(body),
        **{"wsgi.input": stream},
    )
    assert response.status_code == 202


def test_lying_short_content_length_reads_no_further(client, source_a):
    stream = io.BytesIO(envelope() + b" " * 100_000)
    response = client.generic(
        "POST",
        ENDPOINT,
        b"",
        CONTENT_TYPE="application/json",
        CONTENT_LENGTH="10",
        headers=signed(envelope()),
        **{"wsgi.input": stream},
    )
    rejection = assert_rejected(response, reason="malformed_payload", status=400)
    assert stream.tell() == 10
    assert rejection.body_size == 10


# --- 400 ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "body",
    [
        pytest.param(b"not json", id="not-json"),
        pytest.param(b"[1, 2]", id="array"),
        pytest.param(b'"text"', id="string"),
        pytest.param(b"\xff\xfe", id="not-utf8"),
        pytest.param(b'{"a": NaN}', id="nan"),
        pytest.param(b'{"a": "nul\\u0000"}', id="nul-character"),
    ],
)
def test_body_that_is_not_a_json_object_is_400(client, source_a, body):
    assert_rejected(deliver(client, body), reason="malformed_payload", status=400)


def test_empty_body_is_400(client, source_a):
    # The test client sets no content type for empty data; a real sender would.
    response = client.generic(
        "POST", ENDPOINT, b"", CONTENT_TYPE="application/json", CONTENT_LENGTH="0"
    )
    assert_rejected(response, reason="malformed_payload", status=400)


@pytest.mark.parametrize("missing", ["type", "occurred_at", "data"])
def test_authentic_envelope_missing_a_field_is_400(client, source_a, missing):
    payload = json.loads(envelope())
    del payload[missing]
    body = json.dumps(payload).encode()

    rejection = assert_rejected(deliver(client, body), reason="malformed_payload", status=400)
    assert rejection.source == source_a
    assert missing in rejection.detail


@pytest.mark.parametrize("missing", ["webhook-id", "webhook-timestamp", "webhook-signature"])
def test_missing_signature_header_is_400(client, source_a, missing):
    body = envelope()
    headers = signed(body)
    del headers[missing]

    response = deliver(client, body, headers=headers)

    rejection = assert_rejected(response, reason="missing_signature_headers", status=400)
    assert missing in response.json()["detail"]
    assert "webhook-signature" not in rejection.headers or missing != "webhook-signature"


@pytest.mark.parametrize("timestamp", ["soon", "1.5e9", "-1", "1700000000.5"])
def test_malformed_timestamp_is_400(client, source_a, timestamp):
    body = envelope()
    headers = {**signed(body), "webhook-timestamp": timestamp}
    assert_rejected(
        deliver(client, body, headers=headers), reason="missing_signature_headers", status=400
    )


def test_overlong_webhook_id_is_400(client, source_a):
    body = envelope()
    headers = signed(body, msg_id="m" * 256)
    assert_rejected(
        deliver(client, body, headers=headers), reason="missing_signature_headers", status=400
    )


# --- 401 ---------------------------------------------------------------------------


def test_unknown_source_is_401(client, source_a):
    body = envelope(source="hlf-nowhere")
    rejection = assert_rejected(deliver(client, body), reason="unknown_source", status=401)
    assert rejection.source_identifier == "hlf-nowhere"
    assert rejection.source is None


def test_body_naming_no_source_is_401_unknown_source(client, source_a):
    payload = json.loads(envelope())
    del payload["source"]
    assert_rejected(
        deliver(client, json.dumps(payload).encode()), reason="unknown_source", status=401
    )


def test_disabled_source_is_401(client, source_a, org_a):
    source_a.is_active = False
    source_a.save()
    rejection = assert_rejected(deliver(client, envelope()), reason="source_disabled", status=401)
    assert rejection.organization == org_a


def test_source_of_inactive_organisation_is_401_disabled(client, source_a, org_a):
    org_a.is_active = False
    org_a.save()
    assert_rejected(deliver(client, envelope()), reason="source_disabled", status=401)


def test_no_secret_configured_is_401_and_logged(client, org_a, caplog):
    source = WebhookSourceFactory(organization=org_a, identifier="hlf-alpha")
    with caplog.at_level(logging.WARNING, logger="webhooks"):
        response = deliver(client, envelope())

    rejection = assert_rejected(response, reason="secret_not_configured", status=401)
    assert rejection.source == source
    assert "secret_not_configured" in caplog.text


def test_only_expired_secrets_count_as_not_configured(client, source_a):
    WebhookSecret.objects.update(expires_at=timezone.now() - timedelta(seconds=1))
    assert_rejected(deliver(client, envelope()), reason="secret_not_configured", status=401)


def test_wrong_secret_is_401(client, source_a):
    body = envelope()
    response = deliver(client, body, headers=signed(body, secret=OTHER_SECRET))
    rejection = assert_rejected(response, reason="invalid_signature", status=401)
    assert rejection.source == source_a
    # The 401 tells nothing beyond its code.
    assert "secret" not in response.json()["detail"].lower()


def test_body_changed_after_signing_is_401(client, source_a):
    body = envelope()
    headers = signed(body)
    tampered = body.replace(b"peer_mentor", b"org_admin")
    assert_rejected(
        deliver(client, tampered, headers=headers), reason="invalid_signature", status=401
    )


def test_reserialised_body_is_401(client, source_a):
    body = envelope()
    headers = signed(body)
    reserialised = json.dumps(json.loads(body), separators=(",", ":")).encode()
    assert_rejected(
        deliver(client, reserialised, headers=headers), reason="invalid_signature", status=401
    )


def test_unparseable_signature_entries_are_401(client, source_a):
    body = envelope()
    headers = {**signed(body), "webhook-signature": "v2,abc v1,not-base64!"}
    assert_rejected(deliver(client, body, headers=headers), reason="invalid_signature", status=401)


@pytest.mark.parametrize("offset", [-310, 310])
def test_timestamp_outside_tolerance_is_401(client, source_a, offset):
    body = envelope()
    headers = signed(body, timestamp=int(time.time()) + offset)
    assert_rejected(
        deliver(client, body, headers=headers), reason="timestamp_out_of_tolerance", status=401
    )


@pytest.mark.parametrize("offset", [-290, 290])
def test_timestamp_inside_tolerance_is_accepted(client, source_a, offset):
    body = envelope()
    headers = signed(body, timestamp=int(time.time()) + offset)
    assert deliver(client, body, headers=headers).status_code == 202


def test_tolerance_is_per_source(client, source_a):
    source_a.tolerance_seconds = 60
    source_a.save()
    body = envelope()
    headers = signed(body, timestamp=int(time.time()) - 120)
    assert_rejected(
        deliver(client, body, headers=headers), reason="timestamp_out_of_tolerance", status=401
    )


# --- rotation ------------------------------------------------------------------------


def test_rotated_out_secret_verifies_during_overlap_then_stops(client, source_a):
    new_secret = webhook_secret_rotate(source=source_a, overlap=timedelta(hours=1))

    body = envelope()
    assert deliver(client, body, headers=signed(body, secret=TEST_SECRET)).status_code == 202
    assert deliver(client, body, headers=signed(body, secret=new_secret)).status_code == 202

    # After the overlap: the old secret's validity ended a moment ago.
    old = WebhookSecret.objects.filter(source=source_a).order_by("created_at").first()
    old.expires_at = timezone.now() - timedelta(seconds=1)
    old.save(update_fields=["expires_at"])

    response = deliver(client, body, headers=signed(body, secret=TEST_SECRET))
    assert response.status_code == 401
    assert response.json()["error"] == "invalid_signature"
    assert deliver(client, body, headers=signed(body, secret=new_secret)).status_code == 202


def test_rotation_without_overlap_applies_to_the_very_next_request(client, source_a):
    new_secret = webhook_secret_rotate(source=source_a, overlap=timedelta(0))
    body = envelope()
    assert deliver(client, body, headers=signed(body, secret=TEST_SECRET)).status_code == 401
    assert deliver(client, body, headers=signed(body, secret=new_secret)).status_code == 202


# --- 503 and a database that is down ---------------------------------------------------


def test_database_error_while_storing_is_503(client, source_a, caplog):
    with mock.patch(
        "webhooks.services.inbound_event_record", side_effect=OperationalError("db down")
    ):
        response = deliver(client, envelope())

    assert response.status_code == 503
    assert response.json()["error"] == "storage_unavailable"
    assert WebhookRejection.objects.count() == 0
    assert "503" in caplog.text


def test_database_down_during_source_lookup_is_503(client, source_a):
    with mock.patch(
        "webhooks.services.webhook_source_with_active_secrets",
        side_effect=OperationalError("db down"),
    ):
        response = deliver(client, envelope())
    assert response.status_code == 503


def test_rejection_recorder_logs_instead_of_crashing_when_database_is_down(
    client, source_a, caplog
):
    with mock.patch.object(
        WebhookRejection.objects, "create", side_effect=OperationalError("db down")
    ):
        response = deliver(client, envelope(), content_type="text/plain")

    assert response.status_code == 415
    assert response.json()["error"] == "unsupported_media_type"
    assert "unsupported_media_type" in caplog.text
    assert "could not be stored" in caplog.text


# --- what a rejection keeps -------------------------------------------------------------


def test_rejection_keeps_fingerprint_not_body_or_signature(client, source_a):
    body = envelope()
    headers = signed(body, secret=OTHER_SECRET)
    response = deliver(
        client, body, headers={**headers, "Authorization": "Bearer abc", "x-functions-key": "k1"}
    )

    rejection = assert_rejected(response, reason="invalid_signature", status=401)
    import hashlib

    assert rejection.body_sha256 == hashlib.sha256(body).hexdigest()
    assert rejection.body_size == len(body)
    assert rejection.client_address == "127.0.0.1"
    assert rejection.headers["webhook-id"] == headers["webhook-id"]
    for name in ("webhook-signature", "authorization", "x-functions-key"):
        assert rejection.headers[name] == "[redacted]"
    stored = json.dumps(
        {f.name: str(getattr(rejection, f.name)) for f in WebhookRejection._meta.fields}
    )
    assert headers["webhook-signature"].split(",", 1)[1] not in stored
    assert "Kari" not in stored  # nothing of the body itself


@pytest.mark.django_db(transaction=True)
def test_broker_down_after_commit_still_acknowledges_the_stored_event(client, org_a, caplog):
    from kombu.exceptions import OperationalError as BrokerDown

    webhook_source_create(organization=org_a, identifier="hlf-alpha", secret=TEST_SECRET)
    tried = []

    def broker_down():
        tried.append(1)
        raise BrokerDown("down")

    with mock.patch("sync.dispatch._waker.request", broker_down):
        response = deliver(client, envelope())

    assert tried  # the commit happened and the wake-up was tried
    assert response.status_code == 202
    assert response.json()["event_id"] == str(InboundEvent.objects.get().id)


def test_an_authentic_delivery_is_one_conditional_insert_once_the_source_is_cached(
    client, source_a
):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    assert deliver(client, envelope()).status_code == 202  # loads the source into the cache
    with CaptureQueriesContext(connection) as queries:
        assert deliver(client, envelope()).status_code == 202
    # (Savepoints only because the test runs inside a transaction; SQLite's own.)
    statements = [q["sql"] for q in queries.captured_queries if "SAVEPOINT" not in q["sql"]]
    assert len(statements) == 1, statements
    assert statements[0].startswith("INSERT INTO") and "EXISTS (SELECT 1" in statements[0]


@pytest.mark.parametrize("change", ["disable", "rotate"])
def test_a_cached_source_that_changed_goes_down_the_checked_path(client, source_a, change):
    from webhooks.services import webhook_secret_rotate, webhook_source_set_active

    assert deliver(client, envelope()).status_code == 202  # cached
    if change == "disable":
        webhook_source_set_active(source=source_a, is_active=False)
        expected = (401, "source_disabled")
        response = deliver(client, envelope())
        assert (response.status_code, response.json()["error"]) == expected
    else:
        new_secret = webhook_secret_rotate(source=source_a, overlap=timedelta(0))
        body = envelope()
        assert deliver(client, body, headers=signed(body, secret=new_secret)).status_code == 202
        old = deliver(client, envelope())
        assert (old.status_code, old.json()["error"]) == (401, "invalid_signature")


def test_a_duplicate_through_the_cached_path_is_answered_as_a_duplicate(client, source_a):
    body = envelope()
    headers = signed(body)
    first = deliver(client, body, headers=headers)
    again = deliver(client, body, headers=headers)

    assert (first.status_code, again.status_code) == (202, 200)
    assert again.json() == {"status": "duplicate", "event_id": first.json()["event_id"]}
    assert InboundEvent.objects.count() == 1


def test_a_disabled_organisation_is_refused_at_once_although_its_source_is_cached(
    client, source_a, org_a
):
    assert deliver(client, envelope()).status_code == 202
    type(org_a).objects.filter(pk=org_a.pk).update(is_active=False)

    response = deliver(client, envelope())

    assert (response.status_code, response.json()["error"]) == (401, "source_disabled")


def test_answers_are_english_whatever_the_default_language(client, source_a, settings):
    settings.LANGUAGE_CODE = "nb"
    body = b"[1, 2, 3]"

    with translation.override("nb"):
        response = deliver(client, body, headers=signed(body), HTTP_ACCEPT_LANGUAGE="nb")

    assert response.status_code == 400
    assert response.json()["detail"] == "The body must be a JSON object."
