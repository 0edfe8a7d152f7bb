"""Write-side operations of the sync inbox: record, drain (claim, apply, finish), sweep, reprocess.

The inbox table is the truth. A drain claims due events in batches, applies each
subject's events in `occurred_at` order and finishes the batch in one transaction; a
broker message only wakes a drain (`sync.dispatch`). A killed worker leaves its claims
`processing`; after `SYNC_PROCESSING_STUCK_SECONDS` the next drain takes them over, and
the old claim can no longer finish them, so every event is applied exactly once.
"""

import logging
import time
from collections import Counter
from contextlib import nullcontext
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import (
    IntegrityError,
    InterfaceError,
    OperationalError,
    connection,
    models,
    transaction,
)
from django.db.models import Field, ForeignObjectRel, Q, QuerySet
from django.utils import timezone

from config.logging import log_event
from organizations.messages import Message, as_message, message
from organizations.models import Organization
from sync import dispatch
from sync.appliers import EventInvalid, TargetUnknown, event_apply, members_prelocked
from sync.events import NormalizedEvent, NormalizedEventInvalid
from sync.models import UNFINISHED_STATUSES, InboundEvent, WorkerHeartbeat
from sync.signals import inbound_events_finished

logger = logging.getLogger(__name__)

Status = InboundEvent.Status
# Errors worth another try for the whole batch: the database went away or a lock could
# not be had (deadlock, "database is locked").
TRANSIENT_ERRORS = (OperationalError, InterfaceError)


SUPERSEDED = "superseded"


@dataclass(frozen=True)
class ApplyResult:
    """What became of one event in a drain; `retry_in` (seconds) means pending again."""

    status: str
    outcome: Message
    retry_in: float | None = None
    duration_ms: float | None = None


def worker_heartbeat_record(*, hostname: str) -> WorkerHeartbeat:
    heartbeat, _created = WorkerHeartbeat.objects.update_or_create(
        hostname=hostname, defaults={"last_seen_at": timezone.now()}
    )
    return heartbeat


def _subject_ids(normalized: list[dict]) -> str:
    ids: list[str] = []
    for item in normalized:
        data = item.get("data") if isinstance(item, dict) else None
        for key in ("member_id", "enrollment_id"):
            value = data.get(key) if isinstance(data, dict) else None
            if isinstance(value, str) and value and value not in ids:
                ids.append(value)
    return " ".join(ids)[: InboundEvent._meta.get_field("subject_ids").max_length]


class RecordPreconditionFailed(Exception):
    """The caller's condition did not hold at the insert (or the id was known): nothing stored."""


def _concrete(field: Field | ForeignObjectRel) -> Field:
    # The names passed here are the model's own columns, never a relation's reverse side.
    assert isinstance(field, Field)  # noqa: S101
    return field


def _column(field: Field | ForeignObjectRel) -> str:
    column = _concrete(field).column
    assert column  # noqa: S101 -- every concrete field has a column
    return column


_insert_if_sql: dict[tuple[str, str], str] = {}


def _insert_if(event: InboundEvent, condition: tuple[str, list]) -> bool:
    """INSERT … SELECT … WHERE <condition> ON CONFLICT DO NOTHING: one statement.

    Lets the intake check that its cached view of the source is still current in the
    same round trip that stores the event. Returns whether a row was inserted.
    """
    meta = InboundEvent._meta
    fields = meta.concrete_fields
    condition_sql, condition_params = condition
    key = (connection.vendor, condition_sql)
    sql = _insert_if_sql.get(key)
    if sql is None:  # built once per process: column types do not change
        quote = connection.ops.quote_name
        if connection.vendor == "postgresql":
            # Untyped parameters in a SELECT list would be text; say each column's type.
            placeholders = [f"CAST(%s AS {f.db_type(connection)})" for f in fields]
        else:
            placeholders = ["%s"] * len(fields)
        sql = _insert_if_sql[key] = (
            f"INSERT INTO {quote(meta.db_table)} "  # noqa: S608
            f"({', '.join(quote(_column(f)) for f in fields)}) "
            f"SELECT {', '.join(placeholders)} WHERE {condition_sql} "
            "ON CONFLICT DO NOTHING"
        )
    values: list[Any] = []
    for f in fields:
        value = f.pre_save(event, add=True)
        # NULL needs no preparing (half of a new event's columns; a few µs each). A JSON
        # field's None is the JSON value null, which does.
        if value is None and not isinstance(f, models.JSONField):
            values.append(None)
        else:
            values.append(f.get_db_prep_save(value, connection))
    with transaction.atomic() if connection.vendor == "sqlite" else nullcontext():
        with connection.cursor() as cursor:
            cursor.execute(sql, [*values, *condition_params])
            return cursor.rowcount == 1


def _event_new(
    *,
    organization,
    source_identifier: str,
    webhook_id: str,
    payload_format: str,
    origin: str,
    payload: dict,
    normalized: list[dict],
    occurred_at: datetime | None,
    failure: Message | str | None,
    now: datetime,
    event_type: str | None = None,
    headers: dict | None = None,
    is_self_test: bool = False,
) -> InboundEvent:
    """An unsaved inbox row; stored failed (finished now) when `failure` is given."""
    event = InboundEvent(
        organization=organization,
        source_identifier=source_identifier,
        webhook_id=webhook_id,
        event_type=event_type or (normalized[0]["type"] if normalized else "unknown"),
        payload_format=payload_format,
        origin=origin,
        payload=payload,
        normalized=normalized,
        headers=headers or {},
        occurred_at=occurred_at,
        subject_ids=_subject_ids(normalized),
        is_self_test=is_self_test,
    )
    if failure:
        event.status, event.outcome, event.finished_at = Status.FAILED, failure, now
    return event


def inbound_event_record(
    *,
    organization,
    source_identifier: str,
    webhook_id: str,
    payload_format: str,
    payload: dict,
    normalized: list[dict],
    occurred_at=None,
    headers: dict | None = None,
    failure: Message | str | None = None,
    event_type: str | None = None,
    only_if: tuple[str, list] | None = None,
    origin: str = InboundEvent.Origin.WEBHOOK,
    is_self_test: bool = False,
) -> tuple[InboundEvent, bool]:
    """Store an authentic event; return (event, created). A known webhook-id is a duplicate.

    The row is committed before the caller answers 2xx; the drain is woken only after
    the commit, so a worker never looks for a row that is not there yet. `failure`
    stores an authentic payload that cannot be processed (e.g. truncated by Dynamics)
    as failed (a message, sync/messages.py or webhooks/messages.py; a plain text is kept
    as a legacy message); `event_type` then names what the sender sent. `only_if` (SQL, params)
    stores it only if that condition holds at the insert, else raises
    RecordPreconditionFailed (also for a known webhook-id: the caller's checked path
    answers duplicates). `origin` says who brought it: a webhook, or reconciliation
    (SPEC §5.1).
    """
    event = _event_new(
        organization=organization,
        source_identifier=source_identifier,
        webhook_id=webhook_id,
        event_type=event_type,
        payload_format=payload_format,
        origin=origin,
        payload=payload,
        normalized=normalized,
        headers=headers or {},
        occurred_at=occurred_at,
        is_self_test=is_self_test,
        failure=failure,
        now=timezone.now(),
    )
    # On PostgreSQL outside a transaction the INSERT commits on its own (one round trip
    # instead of three); SQLite takes its write lock up front in an IMMEDIATE transaction,
    # and inside a caller's transaction a savepoint keeps a duplicate from breaking it.
    if only_if is not None:
        if not _insert_if(event, only_if):
            raise RecordPreconditionFailed
        if not failure:
            dispatch.inbox_wake_on_commit()
        return event, True
    own_transaction = connection.in_atomic_block or connection.vendor == "sqlite"
    try:
        with transaction.atomic() if own_transaction else nullcontext():
            event.save(force_insert=True)
    except IntegrityError:
        existing = InboundEvent.objects.filter(
            source_identifier=source_identifier, webhook_id=webhook_id
        ).first()
        if existing is None:  # the IntegrityError was something else
            raise
        return existing, False
    if not failure:
        dispatch.inbox_wake_on_commit()
    return event, True


@dataclass(frozen=True)
class EventToRecord:
    """One event of a bulk recording (see `inbound_events_record_bulk`)."""

    organization: Organization | None
    webhook_id: str
    payload: dict
    normalized: list[dict]
    occurred_at: datetime | None = None
    failure: Message | str | None = None


def inbound_events_record_bulk(
    *,
    source_identifier: str,
    payload_format: str,
    origin: str,
    events: list[EventToRecord],
) -> set[str]:
    """Store a page of events of one source in one transaction; return the webhook ids stored.

    The same rows and dedupe key as `inbound_event_record`, written by multi-row INSERTs
    that skip a webhook id the source already has (ON CONFLICT DO NOTHING), so a page of
    thousands costs a few statements instead of one round trip (and savepoint) per event.
    One wake-up for the drain after the commit, if anything pending was stored.
    """
    if not events:
        return set()
    now = timezone.now()
    rows = []
    for item in events:
        row = _event_new(
            organization=item.organization,
            source_identifier=source_identifier,
            webhook_id=item.webhook_id,
            payload_format=payload_format,
            origin=origin,
            payload=item.payload,
            normalized=item.normalized,
            occurred_at=item.occurred_at,
            failure=item.failure,
            now=now,
        )
        row.received_at = now
        rows.append(row)
    # PostgreSQL takes at most 65,535 parameters per statement; SQLite's limit applies
    # through bulk_create's own batch size.
    batch_size = max(1, 60_000 // len(InboundEvent._meta.concrete_fields))
    with transaction.atomic():
        InboundEvent.objects.bulk_create(rows, batch_size=batch_size, ignore_conflicts=True)
        # A row skipped as a duplicate is the earlier one, with another primary key.
        stored = dict(
            InboundEvent.objects.filter(pk__in=[row.pk for row in rows]).values_list(
                "webhook_id", "status"
            )
        )
        if any(status == Status.PENDING for status in stored.values()):
            dispatch.inbox_wake_on_commit()
    return set(stored)


# --- timing rules ---------------------------------------------------------------------------


def retry_backoff_seconds(*, attempt: int) -> int:
    """Exponential backoff for attempt n (1-based), capped below the visibility timeout.

    A retry is a broker countdown; a Redis message held longer than the visibility
    timeout would be delivered twice, so the cap stays well below it.
    """
    cap = settings.SYNC_RETRY_BACKOFF_MAX_SECONDS
    visibility_timeout = settings.CELERY_BROKER_TRANSPORT_OPTIONS.get("visibility_timeout")
    if visibility_timeout:
        cap = min(cap, visibility_timeout // 4)
    delay = settings.SYNC_RETRY_BACKOFF_SECONDS * 2 ** max(attempt - 1, 0)
    return max(1, min(delay, cap))


def _due_condition(now: datetime) -> Q:
    """Events a drain may claim: pending and due, or processing by a claim presumed dead."""
    stuck_before = now - timedelta(seconds=settings.SYNC_PROCESSING_STUCK_SECONDS)
    return Q(
        Q(next_attempt_at__isnull=True) | Q(next_attempt_at__lte=now),
        status=Status.PENDING,
    ) | Q(status=Status.PROCESSING, started_at__lte=stuck_before)


# --- claiming -------------------------------------------------------------------------------

# What applying and finishing an event read, returned by the claim itself; the original
# payload and headers can be large and are not needed.
_CLAIM_RETURNING = (
    "id",
    "organization_id",
    "source_identifier",
    "origin",
    "normalized",
    "attempts",
    "received_at",
    "started_at",
    "reprocessed_at",
)


def _due_oldest_first(*, now: datetime, event_ids: list | None = None) -> QuerySet[InboundEvent]:
    due = InboundEvent.objects.filter(_due_condition(now))
    if event_ids is not None:
        due = due.filter(pk__in=event_ids)
    # Only the unfinished rows, stated so that SQLite too reads them from their partial
    # index (InLiterally) rather than the whole inbox.
    return due.filter(status__in_literally=UNFINISHED_STATUSES).order_by("received_at")


def _inbox_claim(*, limit: int, now: datetime, event_ids: list | None = None) -> list[InboundEvent]:
    """Mark up to `limit` due events processing (attempts+1, started_at=now); return them.

    One statement: on PostgreSQL `FOR UPDATE SKIP LOCKED` lets concurrent drains claim
    disjoint batches without waiting for each other; on SQLite the IMMEDIATE transaction
    holds the only write lock, so two claims never overlap there either.
    """
    meta = InboundEvent._meta
    quote = connection.ops.quote_name
    inner = _due_oldest_first(now=now, event_ids=event_ids).values("pk")[:limit]
    if connection.features.has_select_for_update_skip_locked:
        inner = inner.select_for_update(skip_locked=True)

    def column(name: str) -> str:
        return quote(_column(meta.get_field(name)))

    status, attempts = column("status"), column("attempts")
    with transaction.atomic():
        # Compiled inside the transaction: Django refuses FOR UPDATE in autocommit.
        inner_sql, inner_params = inner.query.sql_with_params()
        # PostgreSQL may run an `IN (… LIMIT … SKIP LOCKED)` subquery more than once while
        # it updates, each run skipping the rows the last one locked, and so claim more
        # than `limit`; `= ANY(ARRAY(…))` is evaluated once, before the update.
        if connection.vendor == "postgresql":
            claimed_ids = f"{column('id')} = ANY(ARRAY({inner_sql}))"
        else:
            claimed_ids = f"{column('id')} IN ({inner_sql})"
        # Only identifiers from the model's metadata go into the text; values are parameters.
        sql = (
            f"UPDATE {quote(meta.db_table)} SET {status} = %s, "  # noqa: S608
            f"{attempts} = {attempts} + 1, "
            f"{column('started_at')} = %s, {column('next_attempt_at')} = NULL "
            f"WHERE {claimed_ids} "
            f"RETURNING {', '.join(column(name) for name in _CLAIM_RETURNING)}"
        )
        claimed = list(InboundEvent.objects.raw(sql, [Status.PROCESSING, now, *inner_params]))
    organizations: dict[int | None, Organization] = {}
    for event in claimed:
        if event.organization_id is None:
            continue  # waiting to be routed (a shared source's event, `_unrouted_settle`)
        # Appliers filter by the organisation's key; its name (for messages) loads on use.
        event.organization = organizations.setdefault(
            event.organization_id,
            Organization.from_db(connection.alias, ["id"], [event.organization_id]),
        )
    return claimed


# --- applying -------------------------------------------------------------------------------


def _routed(event: InboundEvent) -> Organization:
    # Unrouted events are routed or settled (`_unrouted_settle`) before they apply.
    assert event.organization is not None  # noqa: S101
    return event.organization


def _parsed(event: InboundEvent) -> list[NormalizedEvent]:
    """The stored events, parsed once per claim (ordering and applying both need them)."""
    cached = getattr(event, "_parsed_events", None)
    if cached is not None:
        return cached
    if not isinstance(event.normalized, list) or not event.normalized:
        raise EventInvalid(message("sync.no_events"))
    try:
        parsed = [NormalizedEvent.from_json(item) for item in event.normalized]
    except NormalizedEventInvalid as exc:
        raise EventInvalid(message("sync.events_unreadable", detail=str(exc))) from exc
    event._parsed_events = parsed  # a per-claim cache (declared on InboundEvent for mypy)
    return parsed


def _order_key(event: InboundEvent) -> tuple:
    """Subject first (so locks are taken in one order), then the portal time."""
    try:
        first = _parsed(event)[0]
    except EventInvalid:
        return ("", "", event.received_at.isoformat())
    occurred = first.occurred_at.isoformat() if first.occurred_at else ""
    return (first.subject_id, occurred, event.received_at.isoformat())


def _events_apply(event: InboundEvent) -> ApplyResult:
    applied = [
        event_apply(
            organization=_routed(event),
            event_type=item.type,
            occurred_at=item.occurred_at,
            data=item.data,
            received_at=event.received_at,
        )
        for item in _parsed(event)
    ]
    status = Status.SKIPPED if all(item.skipped for item in applied) else Status.SUCCEEDED
    if event.origin == InboundEvent.Origin.RECONCILIATION and all(
        item.skipped or item.unchanged for item in applied
    ):
        status = Status.SKIPPED  # a webhook brought it first: nothing healed
    outcomes = [item.message for item in applied]
    outcome = outcomes[0] if len(outcomes) == 1 else message("sync.parts", parts=outcomes)
    return ApplyResult(status, outcome)


def _unknown_target_result(event: InboundEvent, *, reason: Message, now: datetime) -> ApplyResult:
    window_start = event.reprocessed_at or event.received_at
    deadline = window_start + timedelta(seconds=settings.SYNC_UNKNOWN_TARGET_WINDOW_SECONDS)
    remaining = (deadline - now).total_seconds()
    if remaining <= 0:
        return ApplyResult(Status.FAILED, reason)
    retry_in = max(1, min(retry_backoff_seconds(attempt=event.attempts), remaining))
    outcome = message("sync.waiting", reason=reason, seconds=int(retry_in))
    return ApplyResult(Status.PENDING, outcome, retry_in)


def _transient_result(*, attempt: int, error: Exception) -> ApplyResult:
    # The error's class only: its message can quote the values that were being written.
    detail = type(error).__name__
    if attempt >= settings.SYNC_MAX_ATTEMPTS:
        return ApplyResult(Status.FAILED, message("sync.gave_up", attempts=attempt, error=detail))
    retry_in = retry_backoff_seconds(attempt=attempt)
    return ApplyResult(
        Status.PENDING,
        message("sync.temporary_error", error=detail, seconds=retry_in),
        retry_in=retry_in,
    )


def _exhausted_result(event: InboundEvent) -> ApplyResult:
    return ApplyResult(Status.FAILED, message("sync.worker_stopped", attempts=event.attempts - 1))


class _CarefulPassNeeded(Exception):
    """Raised in the fast pass: undo the batch and apply it again event by event."""


def _apply_fast(event: InboundEvent, now: datetime) -> ApplyResult:
    try:
        return _events_apply(event)
    except TRANSIENT_ERRORS:
        raise
    except Exception as exc:
        raise _CarefulPassNeeded from exc


def _apply_careful(event: InboundEvent, now: datetime) -> ApplyResult:
    """Apply in a savepoint; a problem undoes this event only and becomes its result."""
    try:
        with transaction.atomic():
            return _events_apply(event)
    except EventInvalid as exc:
        return ApplyResult(Status.FAILED, exc.outcome)
    except TargetUnknown as exc:
        return _unknown_target_result(event, reason=exc.outcome, now=now)
    except IntegrityError as exc:
        # Two drains created the same member at once: the retry finds the committed row.
        return _transient_result(attempt=event.attempts, error=exc)
    except TRANSIENT_ERRORS:
        raise
    except Exception as exc:  # noqa: BLE001 - a retry cannot fix it: fail it, never loop
        # The exception text can hold payload values; log the class and the event only.
        logger.error("sync event %s: unexpected %s while applying", event.pk, type(exc).__name__)
        return ApplyResult(
            Status.FAILED, message("sync.unexpected_error", error=type(exc).__name__)
        )


def _claims_held(events: list[InboundEvent]) -> list[InboundEvent]:
    """Lock the batch's claims this drain still holds (a takeover replaced `started_at`)."""
    held_ids = set(
        InboundEvent.objects.select_for_update()
        .filter(
            pk__in=[event.pk for event in events],
            status=Status.PROCESSING,
            started_at=events[0].started_at,
        )
        .values_list("pk", flat=True)
    )
    return [event for event in events if event.pk in held_ids]


def _batch_apply(events: list[InboundEvent], *, careful: bool) -> dict:
    """Apply the claims still held and record their results, all in one transaction.

    The held rows are locked first: a drain that presumed this one dead cannot take them
    over until it commits, and rows already taken over are left to their new claim.
    """
    now = timezone.now()
    with transaction.atomic():
        held = sorted(_claims_held(events), key=_order_key)
        apply = _apply_careful if careful else _apply_fast
        # The fast pass locks the batch's members in one query; the careful pass looks
        # each one up afresh, since a savepoint rolled back can leave instances stale.
        prelocked = nullcontext() if careful else members_prelocked(keys=_member_keys(held))
        results = {}
        with prelocked:
            for event in held:
                started = time.perf_counter()
                if event.attempts > settings.SYNC_MAX_ATTEMPTS:
                    result = _exhausted_result(event)
                else:
                    result = apply(event, now)
                results[event.pk] = replace(
                    result, duration_ms=round((time.perf_counter() - started) * 1000, 2)
                )
        _results_record(held, results)
    return results


def _member_keys(events: list[InboundEvent]) -> set[tuple[int, str]]:
    keys = set()
    for event in events:
        for item in event.normalized if isinstance(event.normalized, list) else ():
            data = item.get("data") if isinstance(item, dict) else None
            member_id = data.get("member_id") if isinstance(data, dict) else None
            # An event without an organisation is never applied: nothing to lock.
            if isinstance(member_id, str) and member_id.strip() and event.organization_id:
                keys.add((event.organization_id, member_id.strip()))
    return keys


_FINISH_FIELDS = ("status", "outcome_code", "outcome_params", "finished_at", "next_attempt_at")


def _results_record(events: list[InboundEvent], results: dict) -> None:
    """One UPDATE per event, sent as one batch (psycopg pipelines `executemany`).

    Cheaper than `bulk_update`, whose CASE per column grows with the batch squared.
    """
    if not events:
        return
    now = timezone.now()
    meta = InboundEvent._meta
    quote = connection.ops.quote_name
    fields = [_concrete(meta.get_field(name)) for name in _FINISH_FIELDS]
    assignments = ", ".join(f"{quote(_column(f))} = %s" for f in fields)
    sql = f"UPDATE {quote(meta.db_table)} SET {assignments} WHERE {quote(_column(meta.pk))} = %s"  # noqa: S608
    rows = []
    for event in events:
        result = results[event.pk]
        if result.retry_in is None:
            finished_at, next_attempt_at = now, None
        else:
            finished_at, next_attempt_at = None, now + timedelta(seconds=result.retry_in)
        outcome = as_message(result.outcome).to_json()
        values = (result.status, outcome["code"], outcome["params"], finished_at, next_attempt_at)
        rows.append(
            [f.get_db_prep_value(v, connection) for f, v in zip(fields, values, strict=True)]
            + [meta.pk.get_db_prep_value(event.pk, connection)]
        )
    with connection.cursor() as cursor:
        cursor.executemany(sql, rows)


def _batch_transient_failure(events: list[InboundEvent], *, error: Exception) -> dict:
    """The batch could not be applied (database trouble): back off every claim still held."""
    if not connection.in_atomic_block and not connection.is_usable():
        connection.close()  # a broken connection must be replaced before recording
    with transaction.atomic():
        held = _claims_held(events)
        results = {
            event.pk: _transient_result(attempt=event.attempts, error=error) for event in held
        }
        _results_record(held, results)
    return results


@dataclass
class DrainReport:
    """What one drain did: counts by resulting status, and when to look again."""

    statuses: Counter = field(default_factory=Counter)
    batches: int = 0
    next_retry_in: float | None = None

    @property
    def processed(self) -> int:
        return sum(self.statuses.values())


def _unrouted_settle(events: list[InboundEvent]) -> tuple[list[InboundEvent], dict]:
    """Route the claimed events stored without an organisation, before they are applied.

    Such an event (an enrollment whose member was not known when it arrived, SPEC §4.4)
    gets its organisation as soon as the router finds one, committed here so the apply
    (and a careful re-run of it) sees it; until then it waits like any event for an
    unknown member, and fails when the window ends. Returns the events to apply and the
    results recorded for the rest.
    """
    from sync.routing import inbound_event_route

    unrouted = [event for event in events if event.organization_id is None]
    if not unrouted:
        return events, {}
    now = timezone.now()
    results: dict = {}
    with transaction.atomic():
        held = _claims_held(unrouted)
        for event in held:
            route = inbound_event_route(event)
            if route is not None and route.organization is not None:
                event.organization = route.organization
                event.normalized = route.normalized
                event.__dict__.pop("_parsed_events", None)
                InboundEvent.objects.filter(pk=event.pk).update(
                    organization=route.organization,
                    normalized=route.normalized,
                    subject_ids=_subject_ids(route.normalized),
                )
            elif route is not None and route.waiting:
                results[event.pk] = _unknown_target_result(event, reason=route.waiting, now=now)
            else:
                reason = route.failure if route is not None else None
                results[event.pk] = ApplyResult(
                    Status.FAILED, reason or message("sync.no_matching_organization")
                )
        _results_record([event for event in held if event.pk in results], results)
    lost = {event.pk for event in unrouted} - {event.pk for event in held}
    return [e for e in events if e.pk not in results and e.pk not in lost], results


def _batch_process(events: list[InboundEvent], report: DrainReport) -> dict:
    applicable: list[InboundEvent] = events
    settled: dict = {}
    try:
        applicable, settled = _unrouted_settle(events)
        try:
            results = _batch_apply(applicable, careful=False) if applicable else {}
        except _CarefulPassNeeded:
            results = _batch_apply(applicable, careful=True)
    except TRANSIENT_ERRORS as exc:
        logger.warning("sync drain: transient %s; the batch backs off", type(exc).__name__)
        results = _batch_transient_failure(applicable, error=exc) if applicable else {}
    results = settled | results
    finished = []
    by_pk = {event.pk: event for event in events}
    now = timezone.now()
    for pk, result in results.items():
        report.statuses[result.status] += 1
        if result.retry_in is None:
            finished.append((result.status, (now - by_pk[pk].received_at).total_seconds()))
        else:
            report.next_retry_in = min(report.next_retry_in or result.retry_in, result.retry_in)
        # Ids, codes and numbers only: the outcome text can quote payload values.
        log_event(
            logger,
            "sync.event_applied",
            level=logging.WARNING if result.status == Status.FAILED else logging.INFO,
            event_id=str(pk),
            source=by_pk[pk].source_identifier,
            status=str(result.status),
            attempt=by_pk[pk].attempts,
            retry_in=result.retry_in,
            duration_ms=result.duration_ms,
        )
    report.batches += 1
    if finished:
        inbound_events_finished.send(sender=InboundEvent, results=finished)
    return results


def inbox_drain(*, batch_size: int | None = None, time_budget: float | None = None) -> DrainReport:
    """Claim and apply due events batch by batch until none is due (the drain task's body).

    Stops after `time_budget` seconds and wakes a fresh drain instead, so one task never
    holds a worker process for long; events left waiting for a retry get a wake-up
    when the first of them falls due.
    """
    batch_size = batch_size or settings.SYNC_DRAIN_BATCH_SIZE
    budget = settings.SYNC_DRAIN_TIME_BUDGET_SECONDS if time_budget is None else time_budget
    linger = settings.SYNC_DRAIN_LINGER_SECONDS
    deadline = time.monotonic() + budget
    report = DrainReport()
    while True:
        try:
            claimed = _inbox_claim(limit=batch_size, now=timezone.now())
        except TRANSIENT_ERRORS:
            # Database gone or locked: drop a broken connection and look again after a
            # backoff, rather than wait for the sweeper (or for ever, if beat is down too).
            if not connection.in_atomic_block:
                connection.close_if_unusable_or_obsolete()
            dispatch.inbox_wake_later(seconds=retry_backoff_seconds(attempt=1))
            raise
        if not claimed:
            break
        if report.batches == 0 and len(claimed) == batch_size:
            # A backlog: ask another worker process to join. Once per drain, so the
            # messages stay as few as the drains.
            dispatch.inbox_wake_later(seconds=0)
        _batch_process(claimed, report)
        if time.monotonic() >= deadline:
            dispatch.inbox_wake_later(seconds=0)
            break
        if len(claimed) < batch_size:
            time.sleep(linger)
    if report.next_retry_in is not None:
        dispatch.inbox_wake_later(seconds=report.next_retry_in)
    return report


def inbound_event_apply(*, event_id) -> ApplyResult:
    """Claim and apply one event now, if it is due (tests, and a single reprocess)."""
    claimed = _inbox_claim(limit=1, now=timezone.now(), event_ids=[event_id])
    if not claimed:
        event = (
            InboundEvent.objects.filter(pk=event_id)
            .only("status", "outcome_code", "outcome_params")
            .first()
        )
        if event is None:
            return ApplyResult("missing", message("sync.no_such_event"))
        return ApplyResult(event.status, event.outcome_message or as_message(""))
    results = _batch_process(claimed, DrainReport())
    if not results:  # taken over between the claim and the apply
        return ApplyResult(SUPERSEDED, message("sync.superseded"))
    return next(iter(results.values()))


# --- reprocessing and sweeping --------------------------------------------------------------


def inbound_event_reprocess(*, events: QuerySet[InboundEvent], user) -> int:
    """Put the failed events among `events` back to pending and wake the drain; return how many.

    The caller passes a queryset already scoped to what the user may see.
    """
    now = timezone.now()
    with transaction.atomic():
        ids = list(
            events.filter(status=Status.FAILED)
            .order_by()
            .select_for_update()
            .values_list("id", flat=True)
        )
        InboundEvent.objects.filter(id__in=ids, status=Status.FAILED).update(
            status=Status.PENDING,
            attempts=0,
            started_at=None,
            finished_at=None,
            next_attempt_at=None,
            reprocessed_at=now,
            reprocessed_by=getattr(user, "get_username", lambda: "")()[:150],
            outcome_code="sync.reprocess_requested",
            outcome_params={"user": str(user)},
        )
        if ids:
            dispatch.inbox_wake_on_commit()
    return len(ids)


def inbound_events_due_count(*, limit: int = 1000) -> int:
    """How many events a drain could claim now (bounded: only 'any?' matters)."""
    return _due_oldest_first(now=timezone.now()).order_by().values("pk")[:limit].count()


def inbound_events_sweep() -> int:
    """Wake the drain if events are due that nothing woke it for; return how many are due.

    The safety net under the wake-ups: a lost broker message, a retry whose countdown was
    dropped, a claim left by a killed worker (due once it counts as stuck).
    """
    due = inbound_events_due_count()
    if due:
        dispatch.inbox_wake_later(seconds=0)
        logger.info("sync sweeper woke the drain for %d due event(s)", due)
    return due
