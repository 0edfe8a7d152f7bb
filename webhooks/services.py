"""Write-side operations of the webhook intake: sources, secrets, deliveries, rejections."""

from __future__ import annotations

import dataclasses
import hashlib
import hmac
import ipaddress
import json
import logging
import threading
import time
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import requests
from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import DatabaseError, IntegrityError, InterfaceError, OperationalError, transaction
from django.db.models import F
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.views.decorators.debug import sensitive_variables

from organizations.messages import Message, message
from organizations.models import Organization
from sync.services import RecordPreconditionFailed, inbound_event_record
from webhooks import messages as _catalogue  # noqa: F401 - registers the codes used below at import
from webhooks import signing, validation
from webhooks.crypto import ciphertext_reencrypt, secret_encrypt
from webhooks.models import (
    SourceOrganization,
    WebhookRejection,
    WebhookRejectionRollup,
    WebhookSecret,
    WebhookSource,
    routing_value_normalize,
)
from webhooks.normalize import (
    MalformedPayload,
    NormalizationFailed,
    PayloadHead,
    payload_inspect,
    payload_normalize,
)
from webhooks.routing import Route, event_route
from webhooks.selectors import (
    webhook_secret_list_active,
    webhook_source_active_secrets,
    webhook_source_cached,
    webhook_source_with_active_secrets,
)

logger = logging.getLogger(__name__)

Reason = WebhookRejection.Reason

# Standard Webhooks recommends 24–64 random bytes; shorter keys are refused.
SECRET_MIN_KEY_BYTES = 24
SELF_TEST_TIMEOUT_SECONDS = 10
JSON_MEDIA_TYPE = "application/json"
SIZE_EXCEEDED_HEADER = "x-ms-dynamics-msg-size-exceeded"
REDACTED = "[redacted]"
# Header names containing any of these may carry credentials (signatures, function
# keys, cookies); their values are never stored.
_SENSITIVE_HEADER_PARTS = ("signature", "secret", "token", "key", "auth", "cookie", "password")
_MAX_STORED_HEADERS = 50
_MAX_HEADER_VALUE = 500
_MAX_WEBHOOK_ID = 255
_MAX_IDENTIFIER = 200
# Standard Webhooks lists one signature per active secret; a handful covers any rotation.
_MAX_SIGNATURES = 20
_SIGNATURE_HEADERS = (signing.HEADER_ID, signing.HEADER_TIMESTAMP, signing.HEADER_SIGNATURE)
RATE_LIMITED = "rate_limited"
RATE_LIMITED_RETRY_AFTER_SECONDS = 60
# Database errors that mean "down, retry later" (503); any other DatabaseError (a value
# the database refuses) is the request's fault and can never succeed on a retry.
DATABASE_DOWN_ERRORS = (OperationalError, InterfaceError)

REJECTION_STATUS: dict[str, int] = {
    Reason.UNSUPPORTED_MEDIA_TYPE: 415,
    Reason.PAYLOAD_TOO_LARGE: 413,
    Reason.MALFORMED_PAYLOAD: 400,
    Reason.MISSING_SIGNATURE_HEADERS: 400,
    Reason.UNKNOWN_SOURCE: 401,
    Reason.SOURCE_DISABLED: 401,
    Reason.SECRET_NOT_CONFIGURED: 401,
    Reason.TIMESTAMP_OUT_OF_TOLERANCE: 401,
    Reason.INVALID_SIGNATURE: 401,
}
# What a 401 says: nothing beyond its code (SPEC §4.3), so no probing of sources or secrets.
_AUTH_FAILED_DETAIL = message("webhooks.rejected.not_authenticated")


# --- self-test ids --------------------------------------------------------------------
SELF_TEST_ID_PREFIX = "selftest_"


def _self_test_mac(nonce: str) -> str:
    key = f"webhook-self-test:{settings.SECRET_KEY}".encode()
    return hmac.new(key, nonce.encode(), hashlib.sha256).hexdigest()[:24]


def webhook_self_test_id() -> str:
    """A webhook-id for an admin self-test: `selftest_<nonce>_<mac>`.

    The MAC (keyed by SECRET_KEY) makes the mark unforgeable: a stranger who names a
    request `selftest_…` cannot hide refusals from the rejection rate that way.
    """
    nonce = uuid.uuid4().hex
    return f"{SELF_TEST_ID_PREFIX}{nonce}_{_self_test_mac(nonce)}"


def webhook_id_is_self_test(webhook_id: str | None) -> bool:
    if not webhook_id or not webhook_id.startswith(SELF_TEST_ID_PREFIX):
        return False
    nonce, _sep, mac = webhook_id[len(SELF_TEST_ID_PREFIX) :].partition("_")
    return bool(nonce) and hmac.compare_digest(mac, _self_test_mac(nonce))


# --- sources and secrets ----------------------------------------------------------


def _secret_validate(secret: str) -> None:
    try:
        key = signing.secret_key_bytes(secret)
    except signing.SecretFormatError as exc:
        raise ValidationError(
            {
                "secret": _("Enter a secret of the form whsec_<base64 key>. (%(problem)s)")
                % {"problem": exc}
            }
        ) from exc
    if len(key) < SECRET_MIN_KEY_BYTES:
        raise ValidationError(
            {
                "secret": _(
                    "The webhook secret's key is %(length)d bytes; use at least %(minimum)d."
                )
                % {"length": len(key), "minimum": SECRET_MIN_KEY_BYTES}
            }
        )


@sensitive_variables()
def _secret_store(*, source: WebhookSource, plaintext: str) -> WebhookSecret:
    masked = signing.secret_mask(plaintext)
    # Saving a secret moves the source's version, so every intake cache reloads.
    return WebhookSecret.objects.create(
        source=source,
        ciphertext=secret_encrypt(plaintext),
        last4=masked.rsplit("\u2026", 1)[-1],
    )


def _duplicate_identifier_error(identifier: str) -> ValidationError:
    return ValidationError(
        {
            "identifier": _("A webhook source with the identifier “%(identifier)s” already exists.")
            % {"identifier": identifier}
        },
        code="duplicate_identifier",
    )


@sensitive_variables()
def webhook_source_create(
    *,
    organization: Organization,
    identifier: str,
    secret: str | None = None,
    tolerance_seconds: int | None = None,
    is_active: bool = True,
    dataverse_mapping: dict | None = None,
) -> tuple[WebhookSource, str]:
    """Create a source with its first secret; return (source, plaintext secret) once."""
    identifier = (identifier or "").strip()
    if secret is not None:
        _secret_validate(secret)
    if WebhookSource.objects.filter(identifier=identifier).exists():
        raise _duplicate_identifier_error(identifier)
    source = WebhookSource(
        organization=organization,
        identifier=identifier,
        is_active=is_active,
        dataverse_mapping=dataverse_mapping or {},
    )
    if tolerance_seconds is not None:
        source.tolerance_seconds = tolerance_seconds
    source.full_clean(validate_unique=False)
    plaintext = secret or signing.secret_generate()
    try:
        with transaction.atomic():
            source.save(force_insert=True)
            _secret_store(source=source, plaintext=plaintext)
    except IntegrityError as exc:  # a concurrent create won the race
        raise _duplicate_identifier_error(identifier) from exc
    return source, plaintext


@sensitive_variables()
def webhook_source_join(
    *,
    organization: Organization,
    identifier: str,
    routing_value: str,
    secret: str | None = None,
    tolerance_seconds: int | None = None,
) -> tuple[WebhookSource, str | None]:
    """Put an organisation on a shared source with its routing value (SPEC §4.4).

    An existing source is joined and its secret neither touched nor returned (None); a
    new one is created as a shared source with its first secret, returned once.
    """
    identifier = (identifier or "").strip()
    value = routing_value_normalize(routing_value)
    if not value:
        raise ValidationError({"routing_value": _("Enter the routing value.")})
    with transaction.atomic():
        source = WebhookSource.objects.select_for_update().filter(identifier=identifier).first()
        plaintext = None
        if source is None:
            source, plaintext = webhook_source_create(
                organization=organization,
                identifier=identifier,
                secret=secret,
                tolerance_seconds=tolerance_seconds,
            )
            source.shared = True
            source.save(update_fields=["shared", "updated_at"])
        elif not source.shared:
            raise ValidationError(
                {
                    "identifier": _(
                        "The webhook source “%(identifier)s” serves one organisation; it cannot "
                        "be joined with a routing value."
                    )
                    % {"identifier": identifier}
                },
                code="source_not_shared",
            )
        elif secret:
            raise ValidationError(
                {"secret": _("Joining an existing source keeps its secret; leave it empty.")}
            )
        if SourceOrganization.objects.filter(source=source, routing_value=value).exists():
            raise ValidationError(
                {
                    "routing_value": _(
                        "The routing value %(value)s is already used on source %(identifier)s."
                    )
                    % {"value": value, "identifier": identifier}
                },
                code="duplicate_routing_value",
            )
        if SourceOrganization.objects.filter(source=source, organization=organization).exists():
            raise ValidationError(
                {"routing_value": _("This organisation is already on the source.")}
            )
        SourceOrganization.objects.create(
            source=source, organization=organization, routing_value=value
        )
    return source, plaintext


@sensitive_variables()
def webhook_secret_generate(*, source: WebhookSource) -> str:
    """Give a source without an active secret its first one; return it (shown once)."""
    with transaction.atomic():
        WebhookSource.objects.select_for_update().filter(pk=source.pk).first()
        if webhook_secret_list_active(source=source):
            raise ValidationError(
                _("%(source)s already has an active secret; rotate it instead.")
                % {"source": source.identifier}
            )
        plaintext = signing.secret_generate()
        _secret_store(source=source, plaintext=plaintext)
    return plaintext


@sensitive_variables()
def webhook_secret_rotate(*, source: WebhookSource, overlap: timedelta | None = None) -> str:
    """Add a new secret; earlier ones keep verifying for `overlap`, then stop. Return it once."""
    if overlap is None:
        overlap = timedelta(hours=settings.WEBHOOK_SECRET_OVERLAP_HOURS)
    if overlap < timedelta(0):
        raise ValidationError(_("The overlap cannot be negative."))
    with transaction.atomic():
        # Serialise rotations of one source so two admins cannot both "win".
        WebhookSource.objects.select_for_update().filter(pk=source.pk).first()
        now = timezone.now()
        expires_at = now + overlap
        # Never extends a secret that already expires sooner.
        WebhookSecret.objects.filter(source=source).exclude(expires_at__lte=expires_at).update(
            expires_at=expires_at
        )
        plaintext = signing.secret_generate()
        _secret_store(source=source, plaintext=plaintext)
    return plaintext


def webhook_source_set_active(*, source: WebhookSource, is_active: bool) -> WebhookSource:
    source.is_active = is_active
    source.save(update_fields=["is_active", "updated_at"])
    return source


def webhook_secrets_reencrypt(*, batch_size: int = 200) -> int:
    """Re-encrypt every stored secret with the first FIELD_ENCRYPTION_KEYS key; return the count."""
    count = 0
    with transaction.atomic():
        batch: list[WebhookSecret] = []
        for secret in WebhookSecret.objects.select_for_update().only("id", "ciphertext"):
            secret.ciphertext = ciphertext_reencrypt(secret.ciphertext)
            batch.append(secret)
            if len(batch) >= batch_size:
                WebhookSecret.objects.bulk_update(batch, ["ciphertext"])
                count += len(batch)
                batch = []
        WebhookSecret.objects.bulk_update(batch, ["ciphertext"])
        count += len(batch)
    return count


# --- intake ---------------------------------------------------------------------


@dataclass(frozen=True)
class IntakeRequest:
    """One delivery as the view read it: `body` is None when it was not read."""

    headers: Mapping[str, str]  # lower-case names
    client_address: str | None
    body: bytes | None
    body_too_large: bool = False
    content_type_ok: bool = True
    # Reading the body failed (client went away, broken chunking): refused as malformed.
    body_unreadable: bool = False


@dataclass(frozen=True)
class IntakeResult:
    status_code: int
    body: dict[str, Any]
    reason: str | None = None  # the rejection code, if refused
    headers: dict[str, str] = field(default_factory=dict)
    source: str | None = None  # the source identifier, once known (for the outcome log)


def _sender_detail(detail: Message) -> str:
    """The `detail` answered to the sender: English for every sender (SPEC §4.3)."""
    if detail.code == "webhooks.rejected.sender_detail":
        return str(detail.params.get("detail", ""))
    with translation.override("en"):
        return detail.render()


class _Rejected(Exception):
    def __init__(
        self,
        reason: str,
        detail: Message | str,
        *,
        source: WebhookSource | None = None,
        identifier=None,
        authenticated: bool = False,
    ):
        super().__init__(reason)
        # A parser's text (English, for the sender) is kept as it is, under its own code.
        if not isinstance(detail, Message):
            detail = message("webhooks.rejected.sender_detail", detail=str(detail)[:500])
        self.reason, self.detail, self.source, self.identifier = reason, detail, source, identifier
        # Refused after its signature verified: never throttled (SPEC §4.3 Floods).
        self.authenticated = authenticated


def media_type_is_json(content_type: str | None) -> bool:
    return (content_type or "").split(";", 1)[0].strip().lower() == JSON_MEDIA_TYPE


def headers_redact(headers: Mapping[str, str]) -> dict[str, str]:
    """Headers safe to store: credentials replaced, values and count bounded, no NUL."""
    redacted: dict[str, str] = {}
    for name, value in list(headers.items())[:_MAX_STORED_HEADERS]:
        lowered = validation.text_storable_or_replaced(str(name).lower()[:_MAX_HEADER_VALUE])
        if any(part in lowered for part in _SENSITIVE_HEADER_PARTS):
            redacted[lowered] = REDACTED
        else:
            redacted[lowered] = validation.text_storable_or_replaced(str(value)[:_MAX_HEADER_VALUE])
    return redacted


def _client_address(value: str | None) -> str | None:
    try:
        return str(ipaddress.ip_address((value or "").strip()))
    except ValueError:
        return None


def _storable_detail(detail: Message | str) -> Message:
    if not detail:
        return message("webhooks.rejected.none")
    if not isinstance(detail, Message):
        detail = message("webhooks.rejected.sender_detail", detail=str(detail)[:500])
    # The parameters can quote what the sender sent: only what the database can store.
    params = {
        key: validation.text_storable_or_replaced(value[:500]) if isinstance(value, str) else value
        for key, value in detail.params.items()
    }
    return Message(detail.code, params)


def webhook_rejection_record(
    *,
    request: IntakeRequest,
    reason: str,
    detail: Message | str = "",
    source: WebhookSource | None = None,
    source_identifier: str | None = None,
) -> WebhookRejection | None:
    """Record a refused delivery; with the database down, log it instead of failing."""
    body = request.body or b""
    logger.warning(
        "webhook rejected: reason=%s source=%s client=%s size=%d",
        reason,
        source_identifier,
        request.client_address,
        len(body),
    )
    if source_identifier:
        source_identifier = validation.text_storable_or_replaced(source_identifier[:200])
    try:
        with transaction.atomic():
            return WebhookRejection.objects.create(  # type: ignore[misc]
                reason=reason,
                status_code=REJECTION_STATUS[reason],
                source_identifier=source_identifier or None,
                source=source,
                organization_id=source.organization_id if source else None,
                client_address=_client_address(request.client_address),
                headers=headers_redact(request.headers),
                body_size=len(body),
                body_sha256=hashlib.sha256(body).hexdigest() if request.body is not None else "",
                is_self_test=webhook_id_is_self_test(request.headers.get(signing.HEADER_ID)),
                # Django sets a property given to create(); django-stubs does not know it.
                detail=_storable_detail(detail),
            )
    except DatabaseError:
        logger.exception("webhook rejection (reason=%s) could not be stored", reason)
        return None


# --- floods (SPEC §4.3): rejections past the rate are answered 429 and only counted -------


def _rejections_over_rate(address: str | None) -> bool:
    """Whether `address` already had its rate of individually recorded rejections.

    Counted on the stored rows of the last minute (an indexed count of at most `rate`
    rows), so every process sees the same figure. Only refusals ask; an authentic
    request never reaches this.
    """
    rate = settings.WEBHOOK_REJECTION_RATE_PER_MINUTE
    if rate <= 0 or address is None:
        return False
    since = timezone.now() - timedelta(minutes=1)
    try:
        recent = (
            WebhookRejection.objects.filter(client_address=address, received_at__gte=since)
            .order_by()
            .values("pk")[:rate]
            .count()
        )
    except DatabaseError:
        return False  # the database is down: the recorder logs instead, nothing to protect
    return recent >= rate


# Roll-up counts wait here and are written at most once a second per process, so a flood
# costs no database write per request (nor a lock an authentic request could wait for).
ROLLUP_FLUSH_SECONDS = 1.0
_rollup_lock = threading.Lock()
_rollup_pending: dict[tuple[str, str, Any], int] = {}
_rollup_flushed_at = float("-inf")


def webhook_rejection_rollup_add(*, client_address: str | None, reason: str) -> None:
    """Count one throttled rejection; written to its roll-up row within about a second."""
    global _rollup_flushed_at
    now = timezone.now()
    key = (client_address or "", str(reason), now.replace(second=0, microsecond=0))
    with _rollup_lock:
        _rollup_pending[key] = _rollup_pending.get(key, 0) + 1
        due = time.monotonic() - _rollup_flushed_at >= ROLLUP_FLUSH_SECONDS
        if due:
            _rollup_flushed_at = time.monotonic()
    if due:
        webhook_rejection_rollup_flush()


def webhook_rejection_rollup_flush() -> int:
    """Write the counted rejections to their roll-up rows; return how many were written."""
    with _rollup_lock:
        batch = dict(_rollup_pending)
        _rollup_pending.clear()
    written = 0
    for (address, reason, minute), count in batch.items():
        lookup = {"client_address": address, "reason": reason, "minute": minute}
        try:
            with transaction.atomic():
                updated = WebhookRejectionRollup.objects.filter(**lookup).update(
                    count=F("count") + count, last_seen_at=timezone.now()
                )
                if not updated:
                    try:
                        with transaction.atomic():
                            WebhookRejectionRollup.objects.create(**lookup, count=count)
                    except IntegrityError:  # another process created it meanwhile
                        WebhookRejectionRollup.objects.filter(**lookup).update(
                            count=F("count") + count, last_seen_at=timezone.now()
                        )
                    logger.warning(
                        "webhook rejections from %s over the rate (reason=%s); "
                        "counting them per minute from now on",
                        address or "an unknown address",
                        reason,
                    )
            written += count
        except DatabaseError:
            logger.warning("webhook rejection roll-up (%d) could not be stored", count)
    return written


def webhook_rejection_rollup_reset() -> None:
    """Forget counts not yet written (tests; a process that must not write them)."""
    global _rollup_flushed_at
    with _rollup_lock:
        _rollup_pending.clear()
        _rollup_flushed_at = float("-inf")


# --- reading the request ------------------------------------------------------------------


def _headers_check(headers: Mapping[str, str]) -> None:
    """Refuse absurd header sets before anything else is looked at."""
    if len(headers) > settings.WEBHOOK_MAX_HEADERS:
        raise _Rejected(
            Reason.MALFORMED_PAYLOAD,
            message(
                "webhooks.rejected.too_many_headers",
                count=len(headers),
                max=settings.WEBHOOK_MAX_HEADERS,
            ),
        )
    for name, value in headers.items():
        if name in _SIGNATURE_HEADERS:
            continue  # checked with their own limits, under their own reason code
        if len(name) + len(str(value)) > settings.WEBHOOK_MAX_HEADER_BYTES:
            raise _Rejected(
                Reason.MALFORMED_PAYLOAD,
                message("webhooks.rejected.header_too_long", max=settings.WEBHOOK_MAX_HEADER_BYTES),
            )


def _json_object_parse(body: bytes) -> dict:
    # One validation step before anything touches the database (webhooks.validation):
    # depth, numbers and unstorable strings; the source lookup never sees NUL or surrogates.
    try:
        parsed = validation.json_body_parse(body)
    except validation.InputRefused as exc:
        raise _Rejected(Reason.MALFORMED_PAYLOAD, str(exc)) from exc
    if not isinstance(parsed, dict):
        raise _Rejected(Reason.MALFORMED_PAYLOAD, message("webhooks.rejected.not_object"))
    return parsed


@dataclass(frozen=True)
class _SignatureHeaders:
    msg_id: str
    timestamp: int
    signature: str


def _signature_headers_parse(headers: Mapping[str, str]) -> _SignatureHeaders:
    values = {
        name: (headers.get(name) or "").strip()
        for name in (signing.HEADER_ID, signing.HEADER_TIMESTAMP, signing.HEADER_SIGNATURE)
    }
    missing = [name for name, value in values.items() if not value]
    if missing:
        raise _Rejected(
            Reason.MISSING_SIGNATURE_HEADERS,
            message("webhooks.rejected.missing_headers", names=", ".join(missing)),
        )
    msg_id, raw_timestamp = values[signing.HEADER_ID], values[signing.HEADER_TIMESTAMP]
    if len(msg_id) > _MAX_WEBHOOK_ID:
        raise _Rejected(
            Reason.MISSING_SIGNATURE_HEADERS,
            message("webhooks.rejected.id_too_long", max=_MAX_WEBHOOK_ID),
        )
    if not (msg_id.isprintable() and validation.text_storable(msg_id)):
        raise _Rejected(
            Reason.MISSING_SIGNATURE_HEADERS,
            message("webhooks.rejected.id_control_characters"),
        )
    signature = values[signing.HEADER_SIGNATURE]
    if len(signature) > _MAX_SIGNATURES * 100 or len(signature.split()) > _MAX_SIGNATURES:
        raise _Rejected(
            Reason.MISSING_SIGNATURE_HEADERS,
            message("webhooks.rejected.too_many_signatures", max=_MAX_SIGNATURES),
        )
    if not (raw_timestamp.isascii() and raw_timestamp.isdigit() and len(raw_timestamp) <= 12):
        raise _Rejected(
            Reason.MISSING_SIGNATURE_HEADERS,
            message("webhooks.rejected.timestamp_format"),
        )
    return _SignatureHeaders(msg_id, int(raw_timestamp), values[signing.HEADER_SIGNATURE])


def _source_resolve(head: PayloadHead) -> tuple[WebhookSource, list[str]]:
    identifier = head.source_identifier
    if not identifier or len(identifier) > _MAX_IDENTIFIER:
        raise _Rejected(Reason.UNKNOWN_SOURCE, _AUTH_FAILED_DETAIL, identifier=identifier)
    source, secrets = webhook_source_with_active_secrets(identifier=identifier)
    if source is None:
        raise _Rejected(Reason.UNKNOWN_SOURCE, _AUTH_FAILED_DETAIL, identifier=identifier)
    if not (source.is_active and source.organization.is_active):
        raise _Rejected(
            Reason.SOURCE_DISABLED, _AUTH_FAILED_DETAIL, source=source, identifier=identifier
        )
    if not secrets:
        raise _Rejected(
            Reason.SECRET_NOT_CONFIGURED, _AUTH_FAILED_DETAIL, source=source, identifier=identifier
        )
    return source, secrets


@sensitive_variables()
def _authenticate(
    *, source: WebhookSource, secrets: list[str], sig: _SignatureHeaders, body: bytes
) -> None:
    try:
        authentic = signing.signature_verify(
            secrets=secrets,
            msg_id=sig.msg_id,
            timestamp=sig.timestamp,
            body=body,
            signature_header=sig.signature,
        )
    except signing.SecretFormatError:
        logger.error("webhook source %s has a malformed stored secret", source.identifier)
        authentic = False
    if not authentic:
        raise _Rejected(
            Reason.INVALID_SIGNATURE,
            _AUTH_FAILED_DETAIL,
            source=source,
            identifier=source.identifier,
        )
    within = signing.timestamp_within_tolerance(
        timestamp=sig.timestamp,
        now=int(timezone.now().timestamp()),
        tolerance_seconds=source.tolerance_seconds,
    )
    if not within:
        raise _Rejected(
            Reason.TIMESTAMP_OUT_OF_TOLERANCE,
            _AUTH_FAILED_DETAIL,
            source=source,
            identifier=source.identifier,
            authenticated=True,
        )


@dataclass
class _Normalized:
    events: list[dict] = field(default_factory=list)
    occurred_at: Any = None
    failure: Message | None = None
    event_type: str | None = None


def _normalize(
    *, source: WebhookSource, body: dict, head: PayloadHead, headers: Mapping[str, str]
) -> _Normalized:
    size_exceeded = SIZE_EXCEEDED_HEADER in headers

    def refused(detail: str) -> _Rejected:
        return _Rejected(
            Reason.MALFORMED_PAYLOAD,
            detail,
            source=source,
            identifier=source.identifier,
            authenticated=True,
        )

    try:
        events = payload_normalize(
            body=body, kind=head.kind, mapping=source.mapping, size_exceeded=size_exceeded
        )
    except MalformedPayload as exc:
        raise refused(str(exc)) from exc
    except NormalizationFailed as exc:
        # Authentic but unusable (e.g. truncated by Dynamics): stored as failed, not guessed at.
        normalized = _Normalized(
            failure=message("webhooks.normalization_failed", detail=str(exc)),
            event_type=head.raw_type,
        )
        events = []
    else:
        normalized = _Normalized(
            events=[event.to_json() for event in events],
            occurred_at=events[0].occurred_at if events else None,
        )
    # What the database would refuse (or that would freeze a member) is refused now, with
    # the reason; never truncated, never a 503 for a value that a retry cannot fix.
    try:
        validation.normalized_events_check(
            normalized.events,
            now=timezone.now(),
            occurred_at=normalized.occurred_at,
            event_type=normalized.event_type,
        )
    except validation.InputRefused as exc:
        raise refused(str(exc)) from exc
    return normalized


def _route(
    *, source: WebhookSource, body: dict, head: PayloadHead, normalized: _Normalized
) -> Route:
    """The organisation of the event (SPEC §4.4); a shared source's unroutable one has none."""
    if normalized.failure or not source.shared:
        return Route(source.organization, normalized.events)
    return event_route(source=source, kind=head.kind, body=body, normalized=normalized.events)


def _loggable_identifier(identifier) -> str | None:
    """A claimed source identifier as it may be logged: text, bounded, printable."""
    if not isinstance(identifier, str):
        return None
    return identifier[:_MAX_IDENTIFIER].encode("ascii", "backslashreplace").decode("ascii")


def _rejected_result(request: IntakeRequest, rejection: _Rejected) -> IntakeResult:
    address = _client_address(request.client_address)
    if not rejection.authenticated and _rejections_over_rate(address):
        webhook_rejection_rollup_add(client_address=address, reason=rejection.reason)
        return IntakeResult(
            status_code=429,
            body={
                "error": RATE_LIMITED,
                "detail": "Too many rejected requests from this address; try again later.",
            },
            reason=RATE_LIMITED,
            headers={"Retry-After": str(RATE_LIMITED_RETRY_AFTER_SECONDS)},
            source=_loggable_identifier(rejection.identifier),
        )
    webhook_rejection_record(
        request=request,
        reason=rejection.reason,
        detail=rejection.detail,
        source=rejection.source,
        source_identifier=rejection.identifier,
    )
    return IntakeResult(
        status_code=REJECTION_STATUS[rejection.reason],
        body={"error": str(rejection.reason), "detail": _sender_detail(rejection.detail)},
        reason=str(rejection.reason),
        source=_loggable_identifier(rejection.identifier),
    )


def _store(
    *,
    source: WebhookSource,
    sig: _SignatureHeaders,
    body: dict,
    head: PayloadHead,
    request: IntakeRequest,
    only_if: tuple[str, list] | None = None,
) -> IntakeResult:
    normalized = _normalize(source=source, body=body, head=head, headers=request.headers)
    route = _route(source=source, body=body, head=head, normalized=normalized)
    event, created = inbound_event_record(
        organization=route.organization,
        source_identifier=source.identifier,
        webhook_id=sig.msg_id,
        payload_format=head.kind,
        payload=body,
        normalized=route.normalized,
        occurred_at=normalized.occurred_at,
        headers=headers_redact(request.headers),
        failure=normalized.failure or route.failure,
        event_type=normalized.event_type,
        only_if=only_if,
        is_self_test=webhook_id_is_self_test(sig.msg_id),
    )
    status = "accepted" if created else "duplicate"
    return IntakeResult(
        status_code=202 if created else 200, body={"status": status, "event_id": str(event.pk)}
    )


def _store_with_cached_source(
    *, sig: _SignatureHeaders, body: dict, head: PayloadHead, request: IntakeRequest
) -> IntakeResult | None:
    """The common case in one database round trip, or None to take the checked path.

    Verified against this process's cached secrets, the event is inserted only if the
    source row is unchanged at that moment. Anything else — not cached, a signature the
    cached secrets do not verify (a new secret?), a changed source, a duplicate — goes
    down the checked path, which decides and records it.
    """
    cached = webhook_source_cached(identifier=head.source_identifier or "")
    if cached is None:
        return None
    try:
        _authenticate(
            source=cached.source, secrets=cached.secrets, sig=sig, body=request.body or b""
        )
    except _Rejected:
        return None
    try:
        return _store(
            source=cached.source,
            sig=sig,
            body=body,
            head=head,
            request=request,
            only_if=cached.still_current,
        )
    except (_Rejected, RecordPreconditionFailed):
        return None


def _unexpected_error_rejection(exc: Exception) -> _Rejected:
    # No message, no locals: either could hold payload values or secrets.
    frame = exc.__traceback__
    while frame is not None and frame.tb_next is not None:
        frame = frame.tb_next
    where = (
        f"{frame.tb_frame.f_code.co_filename.rsplit('/', 1)[-1]}:{frame.tb_lineno}"
        if frame is not None
        else "?"
    )
    logger.error(
        "webhook intake: unexpected %s at %s; refused as malformed_payload",
        type(exc).__name__,
        where,
    )
    return _Rejected(Reason.MALFORMED_PAYLOAD, message("webhooks.rejected.not_a_delivery"))


def webhook_intake(*, request: IntakeRequest) -> IntakeResult:
    """Decide on one delivery (SPEC §4.3): refuse and record, or store and acknowledge.

    Raises OperationalError/InterfaceError when the database is down; the caller answers
    503. Anything else that goes wrong, a value the database refuses included, is a
    recorded `400 malformed_payload`: a retry could never fix it.
    """
    try:
        return _webhook_intake(request=request)
    except DATABASE_DOWN_ERRORS:
        raise
    except DatabaseError as exc:  # DataError, IntegrityError, …: the values, not the server
        return _rejected_result(request, _unexpected_error_rejection(exc))
    except Exception as exc:  # noqa: BLE001 -- the contract: never a 5xx for bad input
        return _rejected_result(request, _unexpected_error_rejection(exc))


def _webhook_intake(*, request: IntakeRequest) -> IntakeResult:
    try:
        _headers_check(request.headers)
        if not request.content_type_ok:
            raise _Rejected(
                Reason.UNSUPPORTED_MEDIA_TYPE,
                message("webhooks.rejected.media_type", type=JSON_MEDIA_TYPE),
            )
        if request.body_unreadable:
            raise _Rejected(Reason.MALFORMED_PAYLOAD, message("webhooks.rejected.body_unreadable"))
        if request.body_too_large or request.body is None:
            raise _Rejected(
                Reason.PAYLOAD_TOO_LARGE,
                message("webhooks.rejected.too_large", limit=settings.WEBHOOK_MAX_BODY_BYTES),
            )
        body = _json_object_parse(request.body)
        sig = _signature_headers_parse(request.headers)
        head = payload_inspect(body)
        fast = _store_with_cached_source(sig=sig, body=body, head=head, request=request)
        if fast is not None:
            # The cached source was found by this identifier.
            return dataclasses.replace(fast, source=head.source_identifier)
        source, secrets = _source_resolve(head)
        # Authenticate before anything else, a duplicate answer included.
        _authenticate(source=source, secrets=secrets, sig=sig, body=request.body)
        result = _store(source=source, sig=sig, body=body, head=head, request=request)
        return dataclasses.replace(result, source=source.identifier)
    except _Rejected as rejection:
        return _rejected_result(request, rejection)


# --- self-test ------------------------------------------------------------------


@dataclass(frozen=True)
class SelfTestResult:
    ok: bool
    status_code: int | None
    elapsed_ms: int
    detail: Message


def _self_test_outcome(response: requests.Response) -> tuple[bool, Message]:
    try:
        payload = response.json()
    except ValueError:
        payload = {}
    payload = payload if isinstance(payload, dict) else {}
    if response.status_code in (200, 202) and payload.get("status") in ("accepted", "duplicate"):
        return True, message("webhooks.self_test.ok")
    code = payload.get("error")
    if code:
        return False, message("webhooks.self_test.refused", reason={"rejection_reason": code})
    return False, message("webhooks.self_test.unexpected")


@sensitive_variables()
def webhook_self_test_send(*, source: WebhookSource, endpoint_url: str) -> SelfTestResult:
    """POST a real signed `webhook.test` envelope to the endpoint and report what happened."""
    secrets = webhook_source_active_secrets(source=source)
    if not secrets:
        return SelfTestResult(False, None, 0, message("webhooks.self_test.no_secret"))
    now = timezone.now()
    body = json.dumps(
        {
            "type": "webhook.test",
            "source": source.identifier,
            "occurred_at": now.isoformat(),
            "data": {"message": "Signed test payload sent from the admin."},
        },
        separators=(",", ":"),
    ).encode()
    headers = signing.signed_headers(
        secret=secrets[0],  # the newest: the one the sender is told to use
        msg_id=webhook_self_test_id(),
        timestamp=int(now.timestamp()),
        body=body,
    )
    headers["Content-Type"] = JSON_MEDIA_TYPE
    started = time.monotonic()
    try:
        response = requests.post(
            endpoint_url, data=body, headers=headers, timeout=SELF_TEST_TIMEOUT_SECONDS
        )
    except requests.RequestException as exc:
        elapsed_ms = round((time.monotonic() - started) * 1000)
        return SelfTestResult(
            False,
            None,
            elapsed_ms,
            message("webhooks.self_test.no_answer", error=type(exc).__name__),
        )
    elapsed_ms = round((time.monotonic() - started) * 1000)
    ok, detail = _self_test_outcome(response)
    return SelfTestResult(ok, response.status_code, elapsed_ms, detail)
