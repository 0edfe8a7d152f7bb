"""Read-side queries over webhook sources, their secrets and the intake's health."""

import logging
from dataclasses import dataclass
from datetime import datetime

from django.db import DEFAULT_DB_ALIAS
from django.db.models import Q, QuerySet
from django.utils import timezone

from organizations.models import Organization
from sync.models import InboundEvent
from webhooks.crypto import SecretDecryptionError, secret_decrypt
from webhooks.models import WebhookRejection, WebhookSecret, WebhookSource

logger = logging.getLogger(__name__)


def webhook_source_get_by_identifier(*, identifier: str) -> WebhookSource | None:
    return (
        WebhookSource.objects.select_related("organization").filter(identifier=identifier).first()
    )


def webhook_sources_in_preference_order(sources: QuerySet) -> QuerySet:
    """The organisation's source is the active, oldest one when there are several."""
    return sources.order_by("-is_active", "created_at", "id")


def webhook_source_for_organization(*, organization: Organization) -> WebhookSource | None:
    return webhook_sources_in_preference_order(
        WebhookSource.objects.filter(organization=organization)
    ).first()


def _active(now: datetime):
    return Q(expires_at__isnull=True) | Q(expires_at__gt=now)


def webhook_secret_list_active(
    *, source: WebhookSource, now: datetime | None = None
) -> list[WebhookSecret]:
    """Active secret rows, newest first (never cached: a saved secret applies at once)."""
    return list(
        WebhookSecret.objects.filter(source=source)
        .filter(_active(now or timezone.now()))
        .order_by("-created_at", "-id")
    )


def _decrypted(secrets: list[tuple[int, str]], *, identifier: str) -> list[str]:
    """Plaintexts of (pk, ciphertext) pairs; one that cannot be decrypted is logged, not used."""
    plaintexts = []
    for pk, ciphertext in secrets:
        try:
            plaintexts.append(secret_decrypt(ciphertext))
        except SecretDecryptionError:
            logger.error(
                "webhook secret %s of source %s cannot be decrypted; "
                "is its key missing from FIELD_ENCRYPTION_KEYS?",
                pk,
                identifier,
            )
    return plaintexts


def webhook_source_active_secrets(
    *, source: WebhookSource, now: datetime | None = None
) -> list[str]:
    """Plaintext active secrets of a source, newest first; undecryptable ones are logged."""
    rows = webhook_secret_list_active(source=source, now=now)
    return _decrypted([(row.pk, row.ciphertext) for row in rows], identifier=source.identifier)


# The source columns the intake reads on every request, in model field order (from_db
# pairs values with fields by position when some are left deferred).
_SOURCE_COLUMNS = (
    "id",
    "organization_id",
    "identifier",
    "is_active",
    "tolerance_seconds",
    "dataverse_mapping",
)


def webhook_source_with_active_secrets(
    *, identifier: str, now: datetime | None = None
) -> tuple[WebhookSource | None, list[str]]:
    """The source (with its organisation) and its plaintext active secrets, newest first.

    The intake's hot path: one query when the source has an active secret, which is
    every authentic delivery. Tuples instead of three model rows halve its CPU cost.
    Read afresh each time, so a saved secret applies to the very next request.
    """
    rows = list(
        WebhookSecret.objects.filter(source__identifier=identifier)
        .filter(_active(now or timezone.now()))
        .order_by("-created_at", "-id")
        .values_list(
            "id",
            "ciphertext",
            *(f"source__{column}" for column in _SOURCE_COLUMNS),
            "source__organization__is_active",
        )
    )
    if not rows:
        return webhook_source_get_by_identifier(identifier=identifier), []
    *source_values, organization_is_active = rows[0][2:]
    source = WebhookSource.from_db(DEFAULT_DB_ALIAS, _SOURCE_COLUMNS, source_values)
    source.organization = Organization.from_db(
        DEFAULT_DB_ALIAS, ["id", "is_active"], [source.organization_id, organization_is_active]
    )
    return source, _decrypted([(row[0], row[1]) for row in rows], identifier=identifier)


# --- self-tests ------------------------------------------------------------------------


@dataclass(frozen=True)
class SelfTestRecord:
    received_at: datetime
    accepted: bool
    result: str  # the event's status, or the rejection's reason code
    detail: str


def webhook_self_test_list(*, source: WebhookSource, limit: int = 10) -> list[SelfTestRecord]:
    """The source's latest signed self-tests, accepted or refused, newest first."""
    events = InboundEvent.objects.filter(
        source_identifier=source.identifier, is_self_test=True
    ).order_by("-received_at")[:limit]
    refusals = WebhookRejection.objects.filter(source=source, is_self_test=True).order_by(
        "-received_at"
    )[:limit]
    records = [
        SelfTestRecord(event.received_at, True, event.status, event.outcome) for event in events
    ] + [
        SelfTestRecord(rejection.received_at, False, rejection.reason, rejection.detail)
        for rejection in refusals
    ]
    return sorted(records, key=lambda record: record.received_at, reverse=True)[:limit]
