"""Tests for Standard Webhooks signing and verification (webhooks.signing)."""

import base64
import hmac

import pytest

from webhooks import signing
from webhooks.signing import (
    SecretFormatError,
    secret_generate,
    secret_key_bytes,
    secret_mask,
    signature_compute,
    signature_header_parse,
    signature_verify,
    signed_headers,
    timestamp_within_tolerance,
)

# The Standard Webhooks specification's published example (shared/fixtures/README.md).
SPEC_SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
SPEC_ID = "msg_p5jXN8AQM9LWM0D4loKWxJek"
SPEC_TIMESTAMP = 1614265330
SPEC_BODY = b'{"test": 2432232314}'
SPEC_SIGNATURE = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="

OTHER_SECRET = "whsec_" + base64.b64encode(b"k" * 32).decode()


def spec_message(**changes):
    """The spec vector as verify() keyword arguments, with optional changes."""
    message = {
        "secrets": [SPEC_SECRET],
        "msg_id": SPEC_ID,
        "timestamp": SPEC_TIMESTAMP,
        "body": SPEC_BODY,
        "signature_header": SPEC_SIGNATURE,
    }
    message.update(changes)
    return message


def test_spec_vector_verifies():
    assert signature_verify(**spec_message()) is True


def test_spec_vector_verifies_with_timestamp_as_header_string():
    assert signature_verify(**spec_message(timestamp=str(SPEC_TIMESTAMP))) is True


def test_compute_reproduces_spec_signature():
    computed = signature_compute(
        secret=SPEC_SECRET, msg_id=SPEC_ID, timestamp=SPEC_TIMESTAMP, body=SPEC_BODY
    )
    assert computed == SPEC_SIGNATURE


@pytest.mark.parametrize(
    "changes",
    [
        pytest.param({"body": b'{"test": 2432232315}'}, id="tampered-body"),
        pytest.param({"body": b'{"test":2432232314}'}, id="reserialised-body"),
        pytest.param({"secrets": [OTHER_SECRET]}, id="wrong-secret"),
        pytest.param({"secrets": []}, id="no-secret"),
        pytest.param({"msg_id": "msg_p5jXN8AQM9LWM0D4loKWxJeK"}, id="wrong-id"),
        pytest.param({"timestamp": SPEC_TIMESTAMP + 1}, id="wrong-timestamp"),
        pytest.param({"signature_header": ""}, id="empty-header"),
    ],
)
def test_any_change_fails_verification(changes):
    assert signature_verify(**spec_message()) is True  # the unchanged message passes
    assert signature_verify(**spec_message(**changes)) is False


def test_any_of_several_secrets_may_match_during_rotation():
    assert signature_verify(**spec_message(secrets=[OTHER_SECRET, SPEC_SECRET])) is True
    assert signature_verify(**spec_message(secrets=[OTHER_SECRET])) is False


@pytest.mark.parametrize(
    "header",
    [
        f"v1,{base64.b64encode(b'x' * 32).decode()} {SPEC_SIGNATURE}",
        f"{SPEC_SIGNATURE} v1,{base64.b64encode(b'x' * 32).decode()}",
        f"v2,abcdef {SPEC_SIGNATURE}",
        f"garbage v1,!!!notbase64!!! v1, , {SPEC_SIGNATURE}",
        f"  {SPEC_SIGNATURE}  ",
    ],
)
def test_one_matching_signature_among_others_is_enough(header):
    assert signature_verify(**spec_message(signature_header=header)) is True


@pytest.mark.parametrize(
    "header",
    [
        SPEC_SIGNATURE.replace("v1,", "v2,"),  # right bytes, wrong scheme
        SPEC_SIGNATURE.replace("v1,", "v1a,"),
        SPEC_SIGNATURE.replace("v1,", ""),  # no version at all
        "garbage",
        "v1,!!!",
    ],
)
def test_non_v1_and_garbage_entries_are_ignored(header):
    assert signature_verify(**spec_message(signature_header=header)) is False


def test_header_parse_returns_only_decoded_v1_signatures():
    good = base64.b64decode(SPEC_SIGNATURE.removeprefix("v1,"))
    other = b"y" * 32
    header = (
        f"v2,{base64.b64encode(other).decode()} {SPEC_SIGNATURE} "
        f"v1,%%% v1,{base64.b64encode(other).decode()} nonsense"
    )
    assert signature_header_parse(header) == [good, other]


def test_verify_compares_in_constant_time(monkeypatch):
    calls = []
    real = hmac.compare_digest

    def spy(a, b):
        calls.append((a, b))
        return real(a, b)

    monkeypatch.setattr(signing.hmac, "compare_digest", spy)
    header = f"v1,{base64.b64encode(b'x' * 32).decode()} {SPEC_SIGNATURE}"
    assert signature_verify(**spec_message(signature_header=header)) is True
    # Every candidate signature goes through compare_digest, including the matching one.
    assert len(calls) == 2


@pytest.mark.parametrize(
    ("offset", "inside"),
    [(0, True), (300, True), (-300, True), (301, False), (-301, False)],
)
def test_timestamp_tolerance_edges(offset, inside):
    now = 1_700_000_000
    result = timestamp_within_tolerance(timestamp=now + offset, now=now, tolerance_seconds=300)
    assert result is inside


def test_timestamp_tolerance_is_configurable():
    assert timestamp_within_tolerance(timestamp=1000, now=1600, tolerance_seconds=600) is True
    assert timestamp_within_tolerance(timestamp=1000, now=1601, tolerance_seconds=600) is False


def test_generated_secret_holds_32_random_bytes_and_signs():
    first, second = secret_generate(), secret_generate()
    assert first.startswith("whsec_")
    assert len(secret_key_bytes(first)) == 32
    assert first != second
    headers = signed_headers(secret=first, msg_id="msg_1", timestamp=1700000000, body=b"{}")
    assert signature_verify(
        secrets=[first],
        msg_id=headers["webhook-id"],
        timestamp=headers["webhook-timestamp"],
        body=b"{}",
        signature_header=headers["webhook-signature"],
    )
    assert not signature_verify(
        secrets=[second],
        msg_id=headers["webhook-id"],
        timestamp=headers["webhook-timestamp"],
        body=b"{}",
        signature_header=headers["webhook-signature"],
    )


def test_signed_headers_match_spec_vector():
    headers = signed_headers(
        secret=SPEC_SECRET, msg_id=SPEC_ID, timestamp=SPEC_TIMESTAMP, body=SPEC_BODY
    )
    assert headers == {
        "webhook-id": SPEC_ID,
        "webhook-timestamp": str(SPEC_TIMESTAMP),
        "webhook-signature": SPEC_SIGNATURE,
    }


def test_mask_shows_only_last_four_characters():
    secret = secret_generate()
    masked = secret_mask(secret)
    assert masked == "whsec_\u2026" + secret[-4:]
    key_part = secret.removeprefix("whsec_")
    assert key_part[:-4] not in masked
    assert secret_mask(SPEC_SECRET) == "whsec_\u2026LaSw"


@pytest.mark.parametrize("secret", ["whsec_", "whsec_abc", "", "short"])
def test_mask_of_short_or_odd_secret_reveals_nothing(secret):
    masked = secret_mask(secret)
    assert masked == "whsec_\u2026"


@pytest.mark.parametrize(
    "secret",
    [
        pytest.param("", id="empty"),
        pytest.param("whsec_", id="prefix-only"),
        pytest.param("MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", id="no-prefix"),
        pytest.param("whsk_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", id="wrong-prefix"),
        pytest.param("WHSEC_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", id="prefix-case"),
        pytest.param("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaS", id="bad-padding"),
        # Lenient base64 would drop the stray characters and accept these.
        pytest.param("whsec_MfKQ9r8GKYqr!TwjUPD8ILPZIo2LaLaSw", id="bad-character"),
        pytest.param("whsec_MfKQ9r8GKYqr TwjUPD8ILPZIo2LaLaSw", id="inner-space"),
        pytest.param("whsec_====", id="padding-only"),
    ],
)
def test_bad_secret_formats_raise(secret):
    with pytest.raises(SecretFormatError):
        secret_key_bytes(secret)


def test_secret_format_error_is_a_value_error():
    assert issubclass(SecretFormatError, ValueError)


def test_verify_surfaces_a_malformed_stored_secret():
    with pytest.raises(SecretFormatError):
        signature_verify(**spec_message(secrets=["whsec_not base64"]))
