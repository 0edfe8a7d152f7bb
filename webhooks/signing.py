"""Standard Webhooks HMAC-SHA256 signing and verification (SPEC §4.1), free of Django."""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import secrets as _secrets  # the verify keyword `secrets` would shadow the module
from collections.abc import Iterable

SECRET_PREFIX = "whsec_"  # noqa: S105 -- the public prefix, not a secret
SIGNATURE_VERSION = "v1"
SECRET_KEY_BYTES = 32
DEFAULT_TOLERANCE_SECONDS = 300

HEADER_ID = "webhook-id"
HEADER_TIMESTAMP = "webhook-timestamp"
HEADER_SIGNATURE = "webhook-signature"

_MASK_ELLIPSIS = "\u2026"
# Below this many base64 characters, four of them would give away too much of the key.
_MASK_MIN_VISIBLE_LENGTH = 16
_DIGEST_SIZE = hashlib.sha256().digest_size


class SecretFormatError(ValueError):
    """A secret is not `whsec_` followed by non-empty, valid base64."""


def secret_generate() -> str:
    """Return a new `whsec_…` secret holding 32 random bytes."""
    key = _secrets.token_bytes(SECRET_KEY_BYTES)
    return SECRET_PREFIX + base64.b64encode(key).decode("ascii")


def secret_key_bytes(secret: str) -> bytes:
    """Decode the HMAC key from a `whsec_<base64>` secret."""
    if not isinstance(secret, str) or not secret.startswith(SECRET_PREFIX):
        raise SecretFormatError(f"A webhook secret must start with {SECRET_PREFIX!r}.")
    encoded = secret[len(SECRET_PREFIX) :]
    if not encoded:
        raise SecretFormatError("The webhook secret has no key after its prefix.")
    try:
        # validate=True: a typo must not silently turn into a different key.
        key = base64.b64decode(encoded, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise SecretFormatError("The webhook secret's key is not valid base64.") from exc
    if not key:
        raise SecretFormatError("The webhook secret's key is empty.")
    return key


def secret_mask(secret: str) -> str:
    """Return the secret redacted for display: `whsec_…abcd` (last four characters only)."""
    encoded = secret[len(SECRET_PREFIX) :] if secret.startswith(SECRET_PREFIX) else secret
    if len(encoded) < _MASK_MIN_VISIBLE_LENGTH:
        return SECRET_PREFIX + _MASK_ELLIPSIS
    return SECRET_PREFIX + _MASK_ELLIPSIS + encoded[-4:]


def _signed_content(*, msg_id: str, timestamp: int | str, body: bytes) -> bytes:
    # Raw body bytes, never a re-serialisation: any whitespace change breaks the HMAC.
    return f"{msg_id}.{timestamp}.".encode() + bytes(body)


def _digest(*, key: bytes, msg_id: str, timestamp: int | str, body: bytes) -> bytes:
    content = _signed_content(msg_id=msg_id, timestamp=timestamp, body=body)
    return hmac.new(key, content, hashlib.sha256).digest()


def signature_compute(*, secret: str, msg_id: str, timestamp: int | str, body: bytes) -> str:
    """Return the `v1,<base64>` signature of a message."""
    digest = _digest(key=secret_key_bytes(secret), msg_id=msg_id, timestamp=timestamp, body=body)
    return f"{SIGNATURE_VERSION},{base64.b64encode(digest).decode('ascii')}"


def signature_header_parse(header: str) -> list[bytes]:
    """Return the decoded v1 signatures of a `webhook-signature` header.

    Other versions and undecodable entries are ignored, so a sender may list
    future schemes next to v1 without breaking verification.
    """
    signatures: list[bytes] = []
    for part in header.split():
        version, sep, encoded = part.partition(",")
        if not sep or version != SIGNATURE_VERSION:
            continue
        try:
            decoded = base64.b64decode(encoded, validate=True)
        except (binascii.Error, ValueError):
            continue
        # Anything but a SHA-256 digest can never match; dropping it bounds the work.
        if len(decoded) == _DIGEST_SIZE:
            signatures.append(decoded)
    return signatures


def signature_verify(
    *,
    secrets: Iterable[str],
    msg_id: str,
    timestamp: int | str,
    body: bytes,
    signature_header: str,
) -> bool:
    """Return True when any v1 signature in the header matches any of the secrets.

    Raises SecretFormatError for a malformed stored secret: a configuration error
    must surface, not pass for an invalid signature.
    """
    candidates = signature_header_parse(signature_header)
    try:
        f"{msg_id}.{timestamp}.".encode()
    except UnicodeEncodeError:
        return False  # a lone surrogate: no sender can have signed text that is not Unicode
    matched = False
    for secret in secrets:
        expected = _digest(
            key=secret_key_bytes(secret), msg_id=msg_id, timestamp=timestamp, body=body
        )
        for candidate in candidates:
            # Constant-time comparison; no early exit, so timing does not reveal which pair matched.
            matched |= hmac.compare_digest(expected, candidate)
    return matched


def timestamp_within_tolerance(*, timestamp: int, now: int, tolerance_seconds: int) -> bool:
    """Return True when the timestamp is at most `tolerance_seconds` from `now`, either way."""
    return abs(now - timestamp) <= tolerance_seconds


def signed_headers(
    *, secret: str, msg_id: str, timestamp: int | str, body: bytes
) -> dict[str, str]:
    """Return the three Standard Webhooks headers for a message signed with `secret`."""
    return {
        HEADER_ID: msg_id,
        HEADER_TIMESTAMP: str(timestamp),
        HEADER_SIGNATURE: signature_compute(
            secret=secret, msg_id=msg_id, timestamp=timestamp, body=body
        ),
    }
