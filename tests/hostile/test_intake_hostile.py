"""Hostile input at POST /webhooks/dynamics/ (SPEC §4.3 *Hostile input*, issue 12).

Each failure example of issue 12 has a test here: a retry can never fix these inputs, so
each is a recorded 4xx with the SPEC JSON shape, never a 5xx, never stored half.
"""

import json
from datetime import timedelta
from unittest import mock

import pytest
from django.db import DataError, InterfaceError, OperationalError
from django.utils import timezone

from sync.models import InboundEvent
from tests.webhooks.factories import (
    ENDPOINT,
    dataverse_fixture,
    deliver,
    envelope,
    signed,
)
from webhooks.models import WebhookRejection

pytestmark = pytest.mark.django_db


def assert_malformed(response, *, reason="malformed_payload", status=400, mentions=""):
    assert response.status_code == status, response.content
    assert response["Content-Type"].startswith("application/json")
    payload = response.json()
    assert payload["error"] == reason
    assert mentions.lower() in payload["detail"].lower()
    rejection = WebhookRejection.objects.get()
    assert (rejection.reason, rejection.status_code) == (reason, status)
    assert InboundEvent.objects.count() == 0
    return rejection


def envelope_with(**data) -> bytes:
    body = json.loads(envelope())
    body["data"].update(data)
    return json.dumps(body).encode()


# --- strings that cannot be stored ----------------------------------------------------


def test_lone_surrogate_source_with_any_signature_headers_is_400_not_500(client, source_a):
    # Issue 12: the surrogate reached the database driver in the source lookup.
    body = b'{"source": "\\ud800"}'
    headers = {"webhook-id": "m1", "webhook-timestamp": "1", "webhook-signature": "v1,AAAA"}
    rejection = assert_malformed(deliver(client, body, headers=headers), mentions="surrogate")
    assert rejection.source_identifier is None


def test_lone_surrogate_in_a_signed_data_field_is_400(client, source_a):
    body = envelope_with(first_name="Kari\ud800")  # json.dumps writes it as \ud800
    assert b"\\ud800" in body
    assert_malformed(deliver(client, body), mentions="surrogate")


def test_lone_surrogate_in_a_key_is_400(client, source_a):
    body = envelope().replace(b'"first_name"', b'"first_\\udfffname"')
    assert_malformed(deliver(client, body), mentions="surrogate")


def test_nul_in_a_key_is_400_on_every_backend(client, source_a):
    body = envelope().replace(b'"first_name"', b'"first\\u0000name"')
    assert_malformed(deliver(client, body), mentions="NUL")


def test_escaped_backslash_u_is_plain_text_and_accepted(client, source_a):
    body = envelope_with(first_name="C:\\u0000\\ud800")  # backslashes, not escapes
    assert deliver(client, body).status_code == 202


def test_paired_surrogates_are_a_valid_character(client, source_a):
    body = envelope().replace(b'"Kari"', b'"Kari \\ud83d\\ude00"')
    assert deliver(client, body).status_code == 202
    assert InboundEvent.objects.get().payload["data"]["first_name"] == "Kari \U0001f600"


# --- nesting --------------------------------------------------------------------------


def test_600_deep_array_holding_nul_without_signature_headers_is_a_quick_400(client, source_a):
    # Issue 12: a RecursionError after 18 s, answered 500.
    body = b'{"source": "hlf-alpha", "x": ' + b"[" * 600 + b'"\\u0000"' + b"]" * 600 + b"}"
    rejection = assert_malformed(deliver(client, body, headers={}), mentions="nested deeper")
    assert rejection.body_size == len(body)


def test_nesting_at_the_limit_is_accepted(client, source_a):
    # The envelope itself is one level, `data` a second.
    body = envelope_with(deep=json.loads("[" * 62 + "]" * 62))
    assert deliver(client, body).status_code == 202


def test_nesting_one_past_the_limit_is_400(client, source_a):
    body = envelope_with(deep=json.loads("[" * 63 + "]" * 63))
    assert_malformed(deliver(client, body), mentions="nested deeper than 64")


def test_brackets_inside_strings_do_not_count_as_nesting(client, source_a):
    body = envelope_with(first_name="[" * 500 + "{" * 500)
    assert deliver(client, body).status_code == 202


def test_700_deep_list_in_a_dataverse_attribute_is_400(client, dataverse_source):
    payload = json.loads(dataverse_fixture("contact-update-async.json"))
    attributes = payload["InputParameters"][0]["value"]["Attributes"]
    attributes.append({"key": "hlf_deep", "value": "X"})
    body = json.dumps(payload).encode().replace(b'"X"', b"[" * 700 + b"1" + b"]" * 700)
    assert_malformed(deliver(client, body), mentions="nested deeper")


# --- numbers --------------------------------------------------------------------------


@pytest.mark.parametrize(
    "number", [b"1e400", b"-1e400", b"1" + b"0" * 400, b"1" + b"0" * 5000], ids=str
)
def test_signed_number_outside_the_float_range_is_400_not_503(client, source_a, number):
    body = envelope().replace(b'"peer_mentor"', number)
    response = deliver(client, body)
    assert response.status_code == 400, response.content
    assert response.json()["error"] == "malformed_payload"
    assert WebhookRejection.objects.count() == 1


def test_largest_finite_float_is_accepted(client, source_a):
    body = envelope_with(score=1.7976931348623157e308)
    assert deliver(client, body).status_code == 202


# --- event times ----------------------------------------------------------------------


@pytest.mark.parametrize(
    "occurred_at",
    [
        "9999-12-31T23:00:00-05:00",  # issue 12: 500 (OverflowError in astimezone)
        "0001-01-01T00:00:00+01:00",  # issue 12: 500
        "9999-12-31T23:30:00Z",  # issue 12: accepted, then froze the member
        "0001-01-01T00:00:00Z",  # year 0 in any negative offset
        "9999-12-31T23:59:59.999999+14:00",
    ],
)
def test_event_time_outside_the_representable_range_is_400(client, source_a, occurred_at):
    assert_malformed(deliver(client, envelope(occurred_at=occurred_at)))


def test_event_time_more_than_a_day_ahead_is_400(client, source_a):
    ahead = (timezone.now() + timedelta(hours=24, minutes=5)).isoformat()
    assert_malformed(deliver(client, envelope(occurred_at=ahead)), mentions="24 hours ahead")


def test_event_time_less_than_a_day_ahead_is_accepted(client, source_a):
    # Clock skew between Dynamics and us is not an attack.
    ahead = (timezone.now() + timedelta(hours=23)).isoformat()
    assert deliver(client, envelope(occurred_at=ahead)).status_code == 202


def test_old_event_time_inside_the_range_is_accepted(client, source_a):
    assert deliver(client, envelope(occurred_at="1900-01-01T00:00:00+01:00")).status_code == 202


@pytest.mark.parametrize(
    "created_on",
    [
        "/Date(253402300799000)/",  # 9999-12-31T23:59:59Z
        "/Date(99999999999999999)/",  # past datetime.max
        "/Date(-62135596800000)/",  # 0001-01-01T00:00Z
        "/Date(" + "9" * 30 + ")/",
    ],
)
def test_dataverse_operation_time_out_of_range_is_400(client, dataverse_source, created_on):
    payload = json.loads(dataverse_fixture("contact-update-async.json"))
    payload["OperationCreatedOn"] = created_on
    assert_malformed(deliver(client, json.dumps(payload).encode()))


def test_dataverse_operation_time_a_week_ahead_is_400(client, dataverse_source):
    payload = json.loads(dataverse_fixture("contact-update-async.json"))
    ahead_ms = int((timezone.now() + timedelta(days=7)).timestamp() * 1000)
    payload["OperationCreatedOn"] = f"/Date({ahead_ms})/"
    assert_malformed(deliver(client, json.dumps(payload).encode()), mentions="24 hours ahead")


def test_dataverse_attribute_date_out_of_range_is_400(client, dataverse_source):
    payload = json.loads(dataverse_fixture("contact-update-async.json"))
    attributes = payload["InputParameters"][0]["value"]["Attributes"]
    attributes.append({"key": "hlf_joinedon", "value": "/Date(253402387200000)/"})
    assert_malformed(deliver(client, json.dumps(payload).encode()), mentions="out")


# --- lengths --------------------------------------------------------------------------


def test_150_character_type_is_400_with_the_reason(client, source_a):
    # Issue 12: 503 storage_unavailable on PostgreSQL (value too long for the column).
    rejection = assert_malformed(deliver(client, envelope(type="x" * 150)), mentions="100")
    assert "150 characters" in rejection.detail


def test_150_character_dataverse_entity_name_is_400(client, dataverse_source):
    payload = json.loads(dataverse_fixture("contact-update-async.json"))
    payload["PrimaryEntityName"] = "hlf_" + "e" * 146
    assert_malformed(deliver(client, json.dumps(payload).encode()), mentions="characters long")


def test_10_kb_member_id_is_400_never_truncated(client, source_a):
    # Issue 12: stuck in processing on PostgreSQL; stored whole on SQLite (column holds 100).
    rejection = assert_malformed(
        deliver(client, envelope_with(member_id="m" * 10_000)), mentions="member_id"
    )
    assert "10000 characters" in rejection.detail


def test_member_id_that_fits_is_accepted(client, source_a):
    assert deliver(client, envelope_with(member_id="m" * 100)).status_code == 202


# --- unexpected errors and the database ---------------------------------------------------


def test_unexpected_error_while_normalising_is_a_recorded_400(client, source_a, caplog):
    with mock.patch(
        "webhooks.services.payload_normalize", side_effect=RuntimeError("Kari's secret")
    ):
        response = deliver(client, envelope())
    assert_malformed(response)
    assert "RuntimeError" in caplog.text
    assert "Kari's secret" not in caplog.text  # the message may hold payload values


def test_value_the_database_refuses_is_a_recorded_400_not_503(client, source_a):
    with mock.patch(
        "webhooks.services.inbound_event_record", side_effect=DataError("value too long")
    ):
        response = deliver(client, envelope())
    assert_malformed(response)


@pytest.mark.parametrize("error", [OperationalError, InterfaceError])
def test_database_down_is_still_503(client, source_a, error):
    with mock.patch("webhooks.services.inbound_event_record", side_effect=error("down")):
        response = deliver(client, envelope())
    assert response.status_code == 503
    assert response.json()["error"] == "storage_unavailable"


def test_body_that_cannot_be_read_is_a_recorded_400(client, source_a):
    with mock.patch("webhooks.views._body_read", side_effect=OSError("connection reset")):
        response = deliver(client, envelope())
    assert_malformed(response, mentions="could not be read")


# --- absurd headers ---------------------------------------------------------------------


def test_10_kb_webhook_id_is_a_recorded_json_400(client, source_a):
    body = envelope()
    rejection = assert_malformed(
        deliver(client, body, headers=signed(body, msg_id="m" * 10_240)),
        reason="missing_signature_headers",
    )
    assert len(rejection.headers["webhook-id"]) <= 500  # stored bounded


def test_1000_signatures_are_a_recorded_json_400(client, source_a):
    body = envelope()
    headers = signed(body)
    headers["webhook-signature"] = " ".join([headers["webhook-signature"]] * 1000)
    assert_malformed(
        deliver(client, body, headers=headers),
        reason="missing_signature_headers",
        mentions="signatures",
    )


def test_more_than_100_headers_are_a_recorded_json_400(client, source_a):
    body = envelope()
    headers = {**signed(body), **{f"x-padding-{i}": "1" for i in range(101)}}
    rejection = assert_malformed(deliver(client, body, headers=headers), mentions="headers")
    assert len(rejection.headers) <= 50


def test_a_10_kb_header_is_a_recorded_json_400(client, source_a):
    body = envelope()
    headers = {**signed(body), "x-padding": "p" * 10_240}
    assert_malformed(deliver(client, body, headers=headers), mentions="header")


def test_nul_in_webhook_id_is_400(client, source_a):
    body = envelope()
    assert_malformed(
        deliver(client, body, headers=signed(body, msg_id="msg\x00one")),
        reason="missing_signature_headers",
    )


def test_a_rejection_never_stores_nul_from_headers(client, source_a):
    body = b"not json"
    response = deliver(client, body, headers={"x-odd": "a\x00b"})
    rejection = assert_malformed(response)
    assert "\x00" not in json.dumps(rejection.headers)


def test_endpoint_path_is_unchanged(client, source_a):
    assert ENDPOINT == "/webhooks/dynamics/"
