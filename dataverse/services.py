"""Write side of reconciliation (SPEC §5.1): connections, and passes that heal lost events."""

from __future__ import annotations

import logging
import time
import uuid
from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.debug import sensitive_variables

from dataverse.client import DataverseError, DeltaLinkRefused, WebApiClient
from dataverse.models import (
    DEFAULT_AUTHORITY_URL,
    DataverseConnection,
    DataverseDeltaLink,
    ReconcilePass,
)
from dataverse.routing import PassRouting, rows_route
from dataverse.rows import RowUnreadable, Table, row_decode, table_for
from sync.models import InboundEvent
from sync.services import EventToRecord, inbound_events_record_bulk
from webhooks.crypto import SecretDecryptionError, secret_decrypt, secret_encrypt
from webhooks.models import WebhookSource
from webhooks.normalize import NormalizedEvent

logger = logging.getLogger(__name__)


class ReconcileBusy(Exception):
    """Another pass of this source is running; this one did not start."""


# --- the connection -----------------------------------------------------------------------


@sensitive_variables("client_secret")
def dataverse_connection_set(
    *,
    source: WebhookSource,
    environment_url: str,
    tenant_id: str,
    client_id: str,
    client_secret: str | None = None,
    authority_url: str | None = None,
    contact_entity_set: str | None = None,
    enrollment_entity_set: str | None = None,
    is_enabled: bool | None = None,
) -> DataverseConnection:
    """Create or change a source's connection; the client secret is stored encrypted.

    `client_secret` None keeps the stored one (it is never shown again, so a form cannot
    send it back). Pointing at another environment or table forgets the delta links.
    """
    connection = DataverseConnection.objects.filter(source=source).first()
    if connection is None:
        if not client_secret:
            raise ValidationError({"client_secret": _("Enter the client secret.")})
        connection = DataverseConnection(source=source)
    before = (
        (
            connection.environment_url,
            connection.entity_set(kind="contact"),
            connection.entity_set(kind="enrollment"),
        )
        if connection.pk
        else None
    )
    connection.environment_url = (environment_url or "").strip().rstrip("/")
    connection.tenant_id = (tenant_id or "").strip()
    connection.client_id = (client_id or "").strip()
    connection.authority_url = (authority_url or "").strip().rstrip("/") or (
        connection.authority_url if connection.pk else DEFAULT_AUTHORITY_URL
    )
    if contact_entity_set is not None:
        connection.contact_entity_set = contact_entity_set.strip()
    if enrollment_entity_set is not None:
        connection.enrollment_entity_set = enrollment_entity_set.strip()
    if is_enabled is not None:
        connection.is_enabled = is_enabled
    if client_secret:
        client_secret = client_secret.strip()
        connection.client_secret_ciphertext = secret_encrypt(client_secret)
        connection.client_secret_last4 = client_secret[-4:] if len(client_secret) >= 12 else ""
    connection.full_clean(exclude=["source"])
    with transaction.atomic():
        connection.save()
        after = (
            connection.environment_url,
            connection.entity_set(kind="contact"),
            connection.entity_set(kind="enrollment"),
        )
        if before is not None and before != after:
            connection.delta_links.all().delete()
    return connection


def _client_for(connection: DataverseConnection, **kwargs) -> WebApiClient:
    try:
        secret = secret_decrypt(connection.client_secret_ciphertext)
    except SecretDecryptionError:
        raise DataverseError(
            "The client secret cannot be decrypted: its key is missing from "
            "FIELD_ENCRYPTION_KEYS. Set the secret again."
        ) from None
    return WebApiClient(
        environment_url=connection.environment_url,
        tenant_id=connection.tenant_id,
        client_id=connection.client_id,
        client_secret=secret,
        authority_url=connection.authority_url,
        **kwargs,
    )


# --- one pass at a time ----------------------------------------------------------------------


def _lease_ttl() -> timedelta:
    return timedelta(seconds=settings.DATAVERSE_PASS_LEASE_SECONDS)


def _lease_acquire(connection: DataverseConnection) -> str | None:
    """Take the source's lease in one conditional UPDATE; None when a pass holds it."""
    token = uuid.uuid4().hex
    now = timezone.now()
    taken = (
        DataverseConnection.objects.filter(pk=connection.pk)
        .filter(Q(lease_expires_at__isnull=True) | Q(lease_expires_at__lte=now))
        .update(lease_token=token, lease_expires_at=now + _lease_ttl())
    )
    return token if taken else None


def _lease_renew(connection: DataverseConnection, token: str) -> None:
    renewed = DataverseConnection.objects.filter(pk=connection.pk, lease_token=token).update(
        lease_expires_at=timezone.now() + _lease_ttl()
    )
    if not renewed:
        raise DataverseError("The pass lost its lease (it ran too long); it stopped.")


def _lease_release(connection: DataverseConnection, token: str) -> None:
    DataverseConnection.objects.filter(pk=connection.pk, lease_token=token).update(
        lease_token="", lease_expires_at=None
    )


# --- a pass ----------------------------------------------------------------------------------


@dataclass
class _TableRun:
    entity_set: str
    mode: str = "full"
    rows: int = 0
    pages: int = 0
    recorded: int = 0
    deleted: int = 0
    unreadable: int = 0
    unroutable: int = 0
    delta_saved: bool = False
    reset: str = ""

    def as_json(self) -> dict:
        return dict(self.__dict__)


def _tables(connection: DataverseConnection) -> list[Table]:
    mapping = connection.source.mapping
    # Contacts first: an enrollment's member is then usually known when it applies.
    return [
        table_for(kind=kind, entity_set=connection.entity_set(kind=kind), mapping=mapping)
        for kind in ("contact", "enrollment")
    ]


def _webhook_id(table: Table, row) -> str:
    # The same row state read twice is the same change: recorded once (SPEC §4.1 dedupe).
    return f"reconcile:{table.entity_set}:{row.entity_id}:{row.fingerprint}"[:255]


def _unroutable_events(row, table: Table) -> list[dict]:
    """What an unrouted row stands for, kept so reprocessing can route it later."""
    kind = "contact" if table.kind == "contact" else "enrollment"
    key = "member_id" if kind == "contact" else "enrollment_id"
    event_type = "membership.updated" if kind == "contact" else "course_enrollment.updated"
    return [
        NormalizedEvent(event_type, row.modified_on, {key: row.entity_id, **row.data}).to_json()
    ]


def _page_record(
    *, source: WebhookSource, table: Table, rows: list, run: _TableRun, routing: PassRouting
) -> None:
    """Compare a page with the local state and record what it lacks, in one transaction."""
    mapping = source.mapping
    decoded = []
    for raw in rows:
        try:
            decoded.append((raw, row_decode(raw, table=table, mapping=mapping)))
        except RowUnreadable as exc:
            run.unreadable += 1
            logger.warning("reconcile %s: a %s row was skipped: %s", source, table.entity_set, exc)
    outcomes = rows_route(routing, table, [row for _raw, row in decoded])
    pending = []
    for (raw, row), outcome in zip(decoded, outcomes, strict=True):
        run.deleted += row.deleted
        if outcome.failure or outcome.waiting:
            normalized = _unroutable_events(row, table)
        elif outcome.events:
            normalized = [event.to_json() for event in outcome.events]
        else:
            continue
        pending.append((_webhook_id(table, row), raw, row, outcome, normalized))
    if not pending:
        return
    # One transaction and a few multi-row INSERTs per page; a row recorded before (the
    # same row state: the same webhook id) is left as it is.
    stored = inbound_events_record_bulk(
        source_identifier=source.identifier,
        payload_format=InboundEvent.PayloadFormat.DATAVERSE_ROW,
        origin=InboundEvent.Origin.RECONCILIATION,
        events=[
            EventToRecord(
                organization=outcome.organization,
                webhook_id=webhook_id,
                payload=raw,
                normalized=normalized,
                occurred_at=row.modified_on,
                failure=outcome.failure,
            )
            for webhook_id, raw, row, outcome, normalized in pending
        ],
    )
    for webhook_id, _raw, _row, outcome, _normalized in pending:
        if webhook_id in stored:
            run.recorded += 1
            run.unroutable += bool(outcome.failure)


def _delta_link_get(connection: DataverseConnection, table: Table) -> DataverseDeltaLink | None:
    return DataverseDeltaLink.objects.filter(
        connection=connection, entity_set=table.entity_set
    ).first()


def _table_pass(
    *,
    connection: DataverseConnection,
    client: WebApiClient,
    table: Table,
    full: bool,
    lease: str,
    run: _TableRun,
    routing: PassRouting,
) -> None:
    source = connection.source
    saved = None if full else _delta_link_get(connection, table)
    if saved is not None and saved.select != table.select_text:
        run.reset = _("the mapping's columns changed since the last pass; read in full")
        saved = None
    url = (
        saved.link
        if saved
        else client.table_url(entity_set=table.entity_set, select=list(table.select))
    )
    run.mode = "delta" if saved else "full"
    delta_link = None
    try:
        for page in client.pages(url=url, delta=saved is not None):
            run.pages += 1
            run.rows += len(page.rows)
            _page_record(source=source, table=table, rows=page.rows, run=run, routing=routing)
            _lease_renew(connection, lease)
            delta_link = page.delta_link
    except DeltaLinkRefused as exc:
        logger.warning(
            "reconcile %s: the delta link of %s was refused (%s); reading it in full",
            source,
            table.entity_set,
            exc,
        )
        run.reset = _("the delta link was refused (%(error)s); read in full") % {"error": exc}
        run.mode = "full"
        url = client.table_url(entity_set=table.entity_set, select=list(table.select))
        for page in client.pages(url=url, delta=False):
            run.pages += 1
            run.rows += len(page.rows)
            _page_record(source=source, table=table, rows=page.rows, run=run, routing=routing)
            _lease_renew(connection, lease)
            delta_link = page.delta_link
    if not delta_link:
        raise DataverseError(
            f"The last page of {table.entity_set} carried no @odata.deltaLink; "
            "is change tracking enabled for the table?"
        )
    # Only now, after the last page: a pass that fails before keeps the previous link.
    DataverseDeltaLink.objects.update_or_create(
        connection=connection,
        entity_set=table.entity_set,
        defaults={"link": delta_link, "select": table.select_text, "saved_at": timezone.now()},
    )
    run.delta_saved = True


def reconcile_pass_run(
    *,
    source: WebhookSource,
    full: bool = False,
    trigger: str = ReconcilePass.Trigger.COMMAND,
    client: WebApiClient | None = None,
    **client_options,
) -> ReconcilePass:
    """Run one pass over the source's tables; raise ReconcileBusy if one is running.

    Returns the finished pass row (succeeded or failed; a failure never raises, it is
    recorded with a readable reason and each unfinished table keeps its delta link).
    """
    connection = (
        DataverseConnection.objects.select_related("source__organization")
        .filter(source=source)
        .first()
    )
    if connection is None:
        raise ValidationError(
            _("Source %(source)s has no Dataverse connection.") % {"source": source.identifier}
        )
    lease = _lease_acquire(connection)
    if lease is None:
        raise ReconcileBusy(source.identifier)
    started = time.monotonic()
    record = ReconcilePass.objects.create(
        connection=connection,
        source_identifier=source.identifier,
        trigger=trigger,
        full_requested=full,
    )
    runs: list[_TableRun] = []
    try:
        client = client or _client_for(connection, **client_options)
        routing = PassRouting.for_source(connection.source)
        for table in _tables(connection):
            run = _TableRun(entity_set=table.entity_set)
            runs.append(run)
            _table_pass(
                connection=connection,
                client=client,
                table=table,
                full=full,
                lease=lease,
                run=run,
                routing=routing,
            )
        record.status = ReconcilePass.Status.SUCCEEDED
    except DataverseError as exc:
        record.status = ReconcilePass.Status.FAILED
        record.error = str(exc)
        logger.warning("reconcile %s failed: %s", source.identifier, exc)
    except Exception as exc:
        # Never a traceback with row values in the pass log; the log line has the type.
        record.status = ReconcilePass.Status.FAILED
        record.error = _("unexpected error (%(type)s); see the worker log") % {
            "type": type(exc).__name__
        }
        logger.exception("reconcile %s failed unexpectedly", source.identifier)
    finally:
        record.finished_at = timezone.now()
        record.tables = [run.as_json() for run in runs]
        record.rows_read = sum(run.rows for run in runs)
        record.events_recorded = sum(run.recorded for run in runs)
        record.deleted = sum(run.deleted for run in runs)
        record.pages = sum(run.pages for run in runs)
        if client is not None:
            record.requests = client.counters.requests + client.counters.token_requests
            record.throttled = client.counters.throttled
        record.save()
        _lease_release(connection, lease)
    logger.info(
        "reconcile %s: %s in %.1f s, %d rows, %d events recorded",
        source.identifier,
        record.status,
        time.monotonic() - started,
        record.rows_read,
        record.events_recorded,
    )
    return record
