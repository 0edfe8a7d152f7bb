"""Write-side operations of the sync inbox: record, apply, retry, sweep and reprocess events."""

import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db import (
    IntegrityError,
    InterfaceError,
    OperationalError,
    connection,
    transaction,
)
from django.db.models import Q, QuerySet
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from django.utils.translation import gettext as _
from kombu.exceptions import OperationalError as BrokerOperationalError

from organizations.models import Organization
from sync.appliers import EventInvalid, TargetUnknown, event_apply
from sync.models import InboundEvent, WorkerHeartbeat
from sync.signals import inbound_event_finished_send

logger = logging.getLogger(__name__)

Status = InboundEvent.Status
# Errors worth another try: the database or the broker was briefly unavailable. An
# IntegrityError here means two workers created the same member at once; the retry
# finds the row the other one committed.
TRANSIENT_ERRORS = (OperationalError, InterfaceError, BrokerOperationalError, IntegrityError)


@dataclass(frozen=True)
class ApplyResult:
    """What became of one processing attempt; `retry_in` (seconds) asks the task to retry."""

    status: str
    outcome: str
    retry_in: float | None = None


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


def _enqueue_after_commit(event_ids: Iterable) -> None:
    from sync.tasks import inbound_event_process

    ids = [str(event_id) for event_id in event_ids]
    if ids:
        transaction.on_commit(lambda: [inbound_event_process.delay(event_id) for event_id in ids])


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
    failure: str | None = None,
    event_type: str | None = None,
    is_self_test: bool = False,
) -> tuple[InboundEvent, bool]:
    """Store an authentic event; return (event, created). A known webhook-id is a duplicate.

    The row is committed before the caller answers 2xx; processing is enqueued only after
    the commit, so a worker never looks for a row that is not there yet. `failure` stores
    an authentic payload that cannot be processed (e.g. truncated by Dynamics) as failed;
    `event_type` then names what the sender sent, since there are no normalised events.
    """
    event = InboundEvent(
        organization=organization,
        source_identifier=source_identifier,
        webhook_id=webhook_id,
        event_type=event_type or (normalized[0]["type"] if normalized else "unknown"),
        payload_format=payload_format,
        payload=payload,
        normalized=normalized,
        headers=headers or {},
        occurred_at=occurred_at,
        subject_ids=_subject_ids(normalized),
        is_self_test=is_self_test,
    )
    if failure:
        event.status = Status.FAILED
        event.outcome = failure
        event.finished_at = timezone.now()
    try:
        with transaction.atomic():
            event.save(force_insert=True)
    except IntegrityError:
        existing = InboundEvent.objects.filter(
            source_identifier=source_identifier, webhook_id=webhook_id
        ).first()
        if existing is None:  # the IntegrityError was something else
            raise
        return existing, False
    if not failure:
        _enqueue_after_commit([event.id])
    return event, True


# --- applying one event ------------------------------------------------------------------------


def retry_backoff_seconds(*, attempt: int) -> int:
    """Exponential backoff for attempt n (1-based), capped below the visibility timeout.

    A Redis message held for a later retry is delivered again once the visibility timeout
    passes, so a countdown must stay well below it or the retry would run twice.
    """
    cap = settings.SYNC_RETRY_BACKOFF_MAX_SECONDS
    visibility_timeout = settings.CELERY_BROKER_TRANSPORT_OPTIONS.get("visibility_timeout")
    if visibility_timeout:
        cap = min(cap, visibility_timeout // 4)
    delay = settings.SYNC_RETRY_BACKOFF_SECONDS * 2 ** max(attempt - 1, 0)
    return max(1, min(delay, cap))


class _Unfinished(Exception):
    """Raised inside the apply transaction to undo it and record `result` instead."""

    def __init__(self, status: str, outcome: str, retry_in: float | None = None):
        super().__init__(outcome)
        self.result = ApplyResult(status=status, outcome=outcome, retry_in=retry_in)


def _normalized_parse(item) -> tuple[str, datetime | None, dict]:
    if not isinstance(item, dict) or not isinstance(item.get("data"), dict):
        raise EventInvalid(_("a normalised event is not an object with 'type' and 'data'"))
    event_type = item.get("type")
    if not isinstance(event_type, str) or not event_type:
        raise EventInvalid(_("a normalised event has no type"))
    raw = item.get("occurred_at")
    occurred_at = None
    if raw is not None:
        try:
            occurred_at = parse_datetime(raw) if isinstance(raw, str) else None
        except ValueError:
            occurred_at = None
        if occurred_at is None or timezone.is_naive(occurred_at):
            raise EventInvalid(
                _("occurred_at %(value)r is not a date-time with a timezone") % {"value": raw}
            )
    return event_type, occurred_at, item["data"]


# What claiming, applying and finishing read. The original payload and headers can be
# large and are not needed; a narrow select is also cheaper to build on every event.
_PROCESSING_FIELDS = (
    "organization__name",
    "normalized",
    "status",
    "outcome",
    "attempts",
    "received_at",
    "started_at",
    "next_attempt_at",
    "reprocessed_at",
)


def _locked_event(event_id) -> InboundEvent | None:
    # On PostgreSQL a row lock; on SQLite the IMMEDIATE transaction serialises writers.
    # A primary-key lookup: no ORDER BY (`.first()` would add the model's ordering).
    try:
        return (
            InboundEvent.objects.select_for_update(of=("self",))
            .select_related("organization")
            .only(*_PROCESSING_FIELDS)
            .get(pk=event_id)
        )
    except InboundEvent.DoesNotExist:
        return None


# What applying an event reads, returned by the claim itself.
_CLAIM_RETURNING = (
    "id",
    "organization_id",
    "normalized",
    "attempts",
    "received_at",
    "started_at",
    "reprocessed_at",
)


def _pending_event_claim(*, event_id, now: datetime) -> InboundEvent | None:
    """The common case in one statement: a pending event whose retry (if any) is due.

    pending → processing (attempts+1), committed at once (autocommit), RETURNING what the
    apply needs, so no second query reads the row back. The UPDATE's own row lock makes
    two concurrent claims of one event impossible.
    """
    meta = InboundEvent._meta
    quote = connection.ops.quote_name

    def column(name: str) -> str:
        return quote(meta.get_field(name).column)

    status, attempts, retry_at = column("status"), column("attempts"), column("next_attempt_at")
    # Only identifiers from the model's metadata go into the text; values are parameters.
    sql = (
        f"UPDATE {quote(meta.db_table)} SET {status} = %s, "  # noqa: S608
        f"{attempts} = {attempts} + 1, "
        f"{column('started_at')} = %s, {retry_at} = NULL "
        f"WHERE {column('id')} = %s AND {status} = %s "
        f"AND ({retry_at} IS NULL OR {retry_at} <= %s) "
        f"RETURNING {', '.join(column(name) for name in _CLAIM_RETURNING)}"
    )
    params = [
        Status.PROCESSING,
        now,
        meta.pk.get_db_prep_value(event_id, connection),
        Status.PENDING,
        now + timedelta(seconds=1),
    ]
    claimed = next(iter(InboundEvent.objects.raw(sql, params)), None)
    if claimed is not None:
        # Appliers filter by the organisation's key; its name (for messages) loads on use.
        claimed.organization = Organization.from_db(
            connection.alias, ["id"], [claimed.organization_id]
        )
    return claimed


def _inbound_event_claim(*, event_id) -> InboundEvent | ApplyResult:
    """pending → processing (attempts+1); return the claimed event, or why not to go on.

    The claimed event's `started_at` identifies the claim: a later takeover sets a new
    one, after which this attempt can no longer finish the event.
    """
    claimed = _pending_event_claim(event_id=event_id, now=timezone.now())
    if claimed is not None:
        return claimed
    stuck_after = timedelta(seconds=settings.SYNC_PROCESSING_STUCK_SECONDS)
    with transaction.atomic():
        event = _locked_event(event_id)
        if event is None:
            return ApplyResult("missing", _("no such event"))
        if event.is_finished:
            return ApplyResult(event.status, event.outcome)
        now = timezone.now()
        if (
            event.status == Status.PROCESSING
            and event.started_at
            and (now - event.started_at < stuck_after)
        ):
            # Another worker holds it (a duplicate message). Look again once it would
            # count as stuck; by then it is normally finished and this is a no-op.
            wait = stuck_after - (now - event.started_at)
            return ApplyResult(event.status, event.outcome, retry_in=max(1, wait.total_seconds()))
        if (
            event.status == Status.PENDING
            and event.next_attempt_at
            and (event.next_attempt_at > now + timedelta(seconds=1))
        ):
            # A retry is already scheduled for later; this message is a duplicate.
            return ApplyResult(event.status, event.outcome)
        event.status = Status.PROCESSING
        event.attempts += 1
        event.started_at = now
        event.next_attempt_at = None
        event.save(update_fields=["status", "attempts", "started_at", "next_attempt_at"])
        return event


def _events_apply(event: InboundEvent) -> ApplyResult:
    if not event.normalized:
        raise EventInvalid(_("the payload holds no events to apply"))
    applied = [
        event_apply(
            organization=event.organization,
            event_type=event_type,
            occurred_at=occurred_at,
            data=data,
        )
        for event_type, occurred_at, data in map(_normalized_parse, event.normalized)
    ]
    status = Status.SKIPPED if all(item.skipped for item in applied) else Status.SUCCEEDED
    return ApplyResult(status, "; ".join(item.message for item in applied))


def _unknown_target_result(event: InboundEvent, *, reason: str) -> _Unfinished:
    window_start = event.reprocessed_at or event.received_at
    deadline = window_start + timedelta(seconds=settings.SYNC_UNKNOWN_TARGET_WINDOW_SECONDS)
    remaining = (deadline - timezone.now()).total_seconds()
    if remaining <= 0:
        return _Unfinished(Status.FAILED, reason)
    retry_in = max(1, min(retry_backoff_seconds(attempt=event.attempts), remaining))
    outcome = _("Waiting: %(reason)s yet; trying again in %(seconds)d s") % {
        "reason": reason,
        "seconds": retry_in,
    }
    return _Unfinished(Status.PENDING, outcome, retry_in)


def _claim_held(event: InboundEvent | None, claimed_at: datetime) -> bool:
    return (
        event is not None and event.status == Status.PROCESSING and (event.started_at == claimed_at)
    )


SUPERSEDED = "superseded"


class _Superseded(Exception):
    """Raised inside the apply transaction when the claim was taken over: undo it all."""


def _inbound_event_apply_claimed(*, event: InboundEvent, claimed_at: datetime) -> ApplyResult:
    """Apply and finish in one transaction, so a crash leaves no half-applied event.

    The event row is not re-read with a lock: the final UPDATE is conditional on this
    attempt's claim. If a takeover (this worker presumed dead) replaced the claim, it
    matches nothing and the whole apply is rolled back, so an event is applied once.
    """
    try:
        with transaction.atomic():
            try:
                result = _events_apply(event)
            except EventInvalid as exc:
                raise _Unfinished(Status.FAILED, str(exc)) from exc
            except TargetUnknown as exc:
                raise _unknown_target_result(event, reason=str(exc)) from exc
            finished = InboundEvent.objects.filter(
                pk=event.pk, status=Status.PROCESSING, started_at=claimed_at
            ).update(status=result.status, outcome=result.outcome, finished_at=timezone.now())
            if not finished:
                raise _Superseded
            inbound_event_finished_send(event, result.status)  # integrator: drain sends this
            return result
    except _Superseded:
        return ApplyResult(SUPERSEDED, _("taken over by another attempt"))
    except _Unfinished as unfinished:
        recorded = unfinished.result
        return _inbound_event_finish(
            event_id=event.pk, claimed_at=claimed_at, result=lambda event: recorded
        )


def _inbound_event_finish(
    *, event_id, claimed_at: datetime, result: Callable[[InboundEvent], ApplyResult]
) -> ApplyResult:
    """Record a failure or a wait in its own transaction (the apply was rolled back)."""
    with transaction.atomic():
        event = _locked_event(event_id)
        if not _claim_held(event, claimed_at):
            return ApplyResult(SUPERSEDED, _("taken over by another attempt"))
        result = result(event)
        now = timezone.now()
        event.status = result.status
        event.outcome = result.outcome
        if result.retry_in is None:
            event.finished_at = now
            event.next_attempt_at = None
        else:
            event.finished_at = None
            event.next_attempt_at = now + timedelta(seconds=result.retry_in)
        event.save(update_fields=["status", "outcome", "finished_at", "next_attempt_at"])
    inbound_event_finished_send(event, result.status)  # integrator: drain sends this
    if result.status == Status.FAILED:
        logger.warning("sync event %s failed: %s", event_id, result.outcome)
    return result


def _transient_result(*, attempt: int, error: Exception) -> ApplyResult:
    detail = f"{type(error).__name__}: {error}".strip()
    if attempt >= settings.SYNC_MAX_ATTEMPTS:
        return ApplyResult(
            Status.FAILED,
            _("Gave up after %(attempts)d attempts: %(error)s")
            % {"attempts": attempt, "error": detail},
        )
    retry_in = retry_backoff_seconds(attempt=attempt)
    return ApplyResult(
        Status.PENDING,
        _("Temporary error (%(error)s); trying again in %(seconds)d s")
        % {"error": detail, "seconds": retry_in},
        retry_in=retry_in,
    )


def inbound_event_apply(*, event_id) -> ApplyResult:
    """Process one stored event: the entry point of the Celery task.

    pending → processing → succeeded | skipped | failed, or back to pending with a
    `retry_in` for an unknown member (within the window) or a transient error. Errors
    the database raises while claiming propagate; the task retries them with backoff.
    """
    event = _inbound_event_claim(event_id=event_id)
    if isinstance(event, ApplyResult):
        return event
    claimed_at = event.started_at
    try:
        return _inbound_event_apply_claimed(event=event, claimed_at=claimed_at)
    except TRANSIENT_ERRORS as exc:
        error = exc
        logger.warning("sync event %s: transient error: %s", event_id, error)
        # A broken connection must be replaced before the failure can be recorded.
        if not connection.in_atomic_block and not connection.is_usable():
            connection.close()
        return _inbound_event_finish(
            event_id=event_id,
            claimed_at=claimed_at,
            result=lambda event: _transient_result(attempt=event.attempts, error=error),
        )


# --- reprocessing and sweeping --------------------------------------------------------------


def inbound_event_reprocess(*, events: QuerySet[InboundEvent], user) -> int:
    """Put the failed events among `events` back to pending and enqueue them; return how many.

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
            # The sweeper leaves it alone for a grace period: this enqueue comes first.
            next_attempt_at=now,
            reprocessed_at=now,
            reprocessed_by=getattr(user, "get_username", lambda: "")()[:150],
            outcome=_("Reprocessing requested by %(user)s") % {"user": user},
        )
        _enqueue_after_commit(ids)
    return len(ids)


def inbound_events_sweep() -> int:
    """Enqueue again events left pending (lost message) or processing (killed worker).

    An event is re-enqueued at most once per grace period (`next_attempt_at` records
    when), and never before a retry it is waiting for is due.
    """
    now = timezone.now()
    pending_before = now - timedelta(seconds=settings.SYNC_PENDING_GRACE_SECONDS)
    stuck_before = now - timedelta(seconds=settings.SYNC_PROCESSING_STUCK_SECONDS)
    due = Q(
        Q(next_attempt_at__isnull=True) | Q(next_attempt_at__lte=pending_before),
        status=Status.PENDING,
        received_at__lte=pending_before,
    ) | Q(
        Q(next_attempt_at__isnull=True) | Q(next_attempt_at__lte=stuck_before),
        status=Status.PROCESSING,
        started_at__lte=stuck_before,
    )
    with transaction.atomic():
        ids = list(
            InboundEvent.objects.filter(due)
            .order_by("received_at")
            .values_list("id", flat=True)[: settings.SYNC_SWEEP_BATCH_SIZE]
        )
        InboundEvent.objects.filter(id__in=ids).update(next_attempt_at=now)
        _enqueue_after_commit(ids)
    if ids:
        logger.info("sync sweeper re-enqueued %d event(s)", len(ids))
    return len(ids)
