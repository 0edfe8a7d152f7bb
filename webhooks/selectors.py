"""Read-side queries over webhook sources, their secrets and the intake's health."""

import logging
from dataclasses import dataclass
from datetime import datetime

from django.db import DEFAULT_DB_ALIAS, connection
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
    """The organisation's own source, else a shared source it is on (SPEC §4.4)."""
    own = webhook_sources_in_preference_order(
        WebhookSource.objects.filter(organization=organization)
    ).first()
    if own is not None:
        return own
    return webhook_sources_in_preference_order(
        WebhookSource.objects.filter(routes__organization=organization)
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


# The source columns the intake needs, in model field order (from_db pairs values with
# fields by position when some are left deferred).
_SOURCE_COLUMNS = (
    "id",
    "organization_id",
    "identifier",
    "is_active",
    "shared",
    "tolerance_seconds",
    "dataverse_mapping",
)


@dataclass(frozen=True)
class _IntakeSourceCached:
    version: object  # the source's updated_at as the database driver returns it
    values: tuple  # _SOURCE_COLUMNS
    mapping: object  # the parsed DataverseMapping
    secrets: tuple[tuple[str, datetime | None], ...]  # (plaintext, expires_at), newest first
    organization_is_active: bool


# Per process. Decrypting secrets and building the source on every request cost more than
# the rest of the intake; a cached entry is used only while the source row's `updated_at`
# is unchanged, and every change to a source or its secrets moves it (`save()`, and
# `webhooks.services` for secrets), so a new, rotated or revoked secret applies to the
# very next request in every process.
_intake_cache: dict[str, _IntakeSourceCached] = {}
_INTAKE_CACHE_MAX = 1000


def _intake_version_row(identifier: str):
    source_table = connection.ops.quote_name(WebhookSource._meta.db_table)
    organization_table = connection.ops.quote_name(Organization._meta.db_table)
    sql = (
        f"SELECT s.updated_at, s.is_active, o.is_active FROM {source_table} s "  # noqa: S608
        f"JOIN {organization_table} o ON o.id = s.organization_id WHERE s.identifier = %s"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [identifier])
        return cursor.fetchone()


def _intake_source_load(
    identifier: str, *, version, organization_is_active: bool, now: datetime
) -> _IntakeSourceCached | None:
    source = WebhookSource.objects.filter(identifier=identifier).only(*_SOURCE_COLUMNS).first()
    if source is None:
        return None
    rows = list(
        WebhookSecret.objects.filter(source=source)
        .filter(_active(now))
        .order_by("-created_at", "-id")
        .values_list("id", "ciphertext", "expires_at")
    )
    plaintexts = []
    for pk, ciphertext, expires_at in rows:
        plaintext = _decrypted([(pk, ciphertext)], identifier=identifier)
        if plaintext:
            plaintexts.append((plaintext[0], expires_at))
    entry = _IntakeSourceCached(
        version=version,
        values=tuple(getattr(source, column) for column in _SOURCE_COLUMNS),
        mapping=source.mapping,
        secrets=tuple(plaintexts),
        organization_is_active=organization_is_active,
    )
    if len(_intake_cache) >= _INTAKE_CACHE_MAX:
        _intake_cache.clear()
    _intake_cache[identifier] = entry
    return entry


def _intake_source_build(
    entry: _IntakeSourceCached, *, source_is_active: bool, organization_is_active: bool, now
) -> tuple[WebhookSource, list[str]]:
    # A fresh instance per request: threads of one process share the cache entry.
    source = WebhookSource.from_db(DEFAULT_DB_ALIAS, _SOURCE_COLUMNS, entry.values)
    source.is_active = bool(source_is_active)
    source.__dict__["mapping"] = entry.mapping
    source.organization = Organization.from_db(
        DEFAULT_DB_ALIAS,
        ["id", "is_active"],
        [source.organization_id, bool(organization_is_active)],
    )
    secrets = [plain for plain, expires in entry.secrets if expires is None or expires > now]
    return source, secrets


def webhook_source_with_active_secrets(
    *, identifier: str, now: datetime | None = None
) -> tuple[WebhookSource | None, list[str]]:
    """The source (with its organisation) and its plaintext active secrets, newest first.

    Checked against the database: one small indexed query (the source's version and the
    two active flags); the rest comes from the per-process cache while it is current.
    """
    now = now or timezone.now()
    row = _intake_version_row(identifier)
    if row is None:
        return None, []
    version, source_is_active, organization_is_active = row
    entry = _intake_cache.get(identifier)
    if (
        entry is None
        or entry.version != version
        or (entry.organization_is_active != bool(organization_is_active))
    ):
        entry = _intake_source_load(
            identifier,
            version=version,
            organization_is_active=bool(organization_is_active),
            now=now,
        )
        if entry is None:
            return None, []
    return _intake_source_build(
        entry,
        source_is_active=source_is_active,
        organization_is_active=organization_is_active,
        now=now,
    )


@dataclass(frozen=True)
class CachedIntakeSource:
    """A source as this process last saw it, and the SQL condition that it still is so."""

    source: WebhookSource
    secrets: list[str]
    # An SQL boolean (with its parameters) true while the source row is unchanged and
    # source and organisation are active; the inbox insert is made conditional on it.
    still_current: tuple[str, list]


def webhook_source_cached(*, identifier: str, now: datetime | None = None):
    """The cached source without asking the database, or None if not cached / not usable.

    The fast path of the intake: verified against these secrets, an event is stored only
    if `still_current` holds at the moment of the insert, so a change committed before
    the insert sends the request down the checked path instead.
    """
    entry = _intake_cache.get(identifier)
    if entry is None or not entry.organization_is_active:
        return None
    source, secrets = _intake_source_build(
        entry, source_is_active=True, organization_is_active=True, now=now or timezone.now()
    )
    if not (entry.values[_SOURCE_COLUMNS.index("is_active")] and secrets):
        return None
    quote = connection.ops.quote_name
    # Two primary-key lookups rather than a join: the same truth, and PostgreSQL plans
    # (for every insert) two single-table subqueries in ~20 % less of its time per insert.
    condition = (
        f"EXISTS (SELECT 1 FROM {quote(WebhookSource._meta.db_table)} s "  # noqa: S608
        "WHERE s.id = %s AND s.updated_at = %s AND s.is_active = %s AND s.organization_id = %s) "
        f"AND EXISTS (SELECT 1 FROM {quote(Organization._meta.db_table)} o "
        "WHERE o.id = %s AND o.is_active = %s)"
    )
    organization_id = source.organization_id
    return CachedIntakeSource(
        source=source,
        secrets=secrets,
        still_current=(
            condition,
            [source.pk, entry.version, True, organization_id, organization_id, True],
        ),
    )


# --- self-tests ------------------------------------------------------------------------


@dataclass(frozen=True)
class SelfTestRecord:
    received_at: datetime
    accepted: bool
    result: str  # the event's status, or the rejection's reason code
    detail: str
    result_label: str = ""  # the status or reason as the reader says it


def webhook_self_test_list(*, source: WebhookSource, limit: int = 10) -> list[SelfTestRecord]:
    """The source's latest signed self-tests, accepted or refused, newest first."""
    events = InboundEvent.objects.filter(
        source_identifier=source.identifier, is_self_test=True
    ).order_by("-received_at")[:limit]
    refusals = WebhookRejection.objects.filter(source=source, is_self_test=True).order_by(
        "-received_at"
    )[:limit]
    records = [
        SelfTestRecord(
            event.received_at,
            True,
            event.status,
            event.outcome,
            str(event.get_status_display()),
        )
        for event in events
    ] + [
        SelfTestRecord(
            rejection.received_at,
            False,
            rejection.reason,
            rejection.detail,
            str(rejection.get_reason_display()),
        )
        for rejection in refusals
    ]
    return sorted(records, key=lambda record: record.received_at, reverse=True)[:limit]
