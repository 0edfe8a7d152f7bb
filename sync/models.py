"""Accepted events from Min Side and where each one is in its processing."""

import re
import uuid
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from django.db import models
from django.db.models import Lookup, Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from organizations.fields import DisplaySafeDateTimeField
from organizations.messages import Message, as_message
from organizations.models import Organization


class InLiterally(Lookup):
    """`status__in_literally=[...]`: SQL `IN` with the values written out, not bound.

    SQLite uses a partial index only when the query states the index's condition in so
    many words: with bound parameters (what `__in` sends) it cannot tell at planning time
    that `status IN (?, ?)` means 'pending' and 'processing', and the drain's claim
    scanned every row of the inbox instead of inbound_unfinished_received (10 ms a claim
    at 16,000 rows and growing: the embedded default slowed down as a burst went on).
    PostgreSQL gets the values inlined anyway (client-side binding). Only for code
    constants such as choices, never for input: each value must be a plain word.
    """

    lookup_name = "in_literally"
    prepare_rhs = False

    def as_sql(self, compiler, connection):
        lhs, lhs_params = self.process_lhs(compiler, connection)
        values = [str(value) for value in self.rhs]
        if not values or not all(re.fullmatch(r"[a-z_]+", value) for value in values):
            raise ValueError(f"in_literally takes plain code constants, not {values!r}")
        return f"{lhs} IN ({', '.join(repr(value) for value in values)})", list(lhs_params)


class InboundEvent(models.Model):
    if TYPE_CHECKING:
        # Set by sync.services._parsed: the stored events parsed once per claim.
        _parsed_events: list[Any]

    class Status(models.TextChoices):
        PENDING = "pending", _("Pending")
        PROCESSING = "processing", _("Processing")
        SUCCEEDED = "succeeded", _("Succeeded")
        FAILED = "failed", _("Failed")
        SKIPPED = "skipped", _("Skipped")

    class PayloadFormat(models.TextChoices):
        ENVELOPE = "envelope", _("HLF event envelope")
        DATAVERSE = "dataverse", _("Dataverse RemoteExecutionContext")
        DATAVERSE_ROW = "dataverse_row", _("Dataverse Web API row")

    class Origin(models.TextChoices):
        WEBHOOK = "webhook", _("Webhook")
        # Pulled from the Dataverse Web API because no webhook brought it (SPEC §5.1).
        RECONCILIATION = "reconciliation", _("Reconciliation")

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    # None: a shared source's event that matched none of its organisations (SPEC §4.4);
    # stored failed, seen by global admins only, routed again when reprocessed.
    organization = models.ForeignKey(
        Organization,
        verbose_name=_("organisation"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="inbound_events",
        # inbound_org_received and inbound_org_status_finished start with it: a third
        # index on the column alone would only cost every intake insert.
        db_index=False,
    )
    # The source identifier as onboarded (not a foreign key: sync must not depend on
    # the webhooks app, and the inbox outlives a removed source).
    source_identifier = models.CharField(_("source"), max_length=200)
    webhook_id = models.CharField(_("webhook id"), max_length=255)
    # Indexed in Meta (inbound_event_type): db_index=True would add a varchar_pattern_ops
    # twin on PostgreSQL for LIKE, which nothing runs on this column.
    event_type = models.CharField(_("event type"), max_length=100)
    payload_format = models.CharField(
        _("payload format"), max_length=20, choices=PayloadFormat.choices
    )
    origin = models.CharField(
        _("origin"), max_length=20, choices=Origin.choices, default=Origin.WEBHOOK
    )
    payload = models.JSONField(_("original payload"))
    # The SPEC §4.2 events this payload stands for: [{"type", "occurred_at", "data"}].
    normalized = models.JSONField(_("normalised events"), default=list, blank=True)
    headers = models.JSONField(_("headers (redacted)"), default=dict, blank=True)
    occurred_at = DisplaySafeDateTimeField(_("occurred at"), null=True, blank=True)
    received_at = models.DateTimeField(_("received at"), default=timezone.now)
    status = models.CharField(
        _("status"), max_length=20, choices=Status.choices, default=Status.PENDING
    )
    attempts = models.PositiveIntegerField(_("attempts"), default=0)
    started_at = models.DateTimeField(_("started at"), null=True, blank=True)
    finished_at = models.DateTimeField(_("finished at"), null=True, blank=True)
    next_attempt_at = models.DateTimeField(_("next attempt at"), null=True, blank=True)
    # The outcome as a message code and its parameters (sync/messages.py), rendered in
    # the reader's language; `outcome` reads (and sets) it as one.
    outcome_code = models.CharField(_("outcome code"), max_length=60, blank=True)
    outcome_params = models.JSONField(_("outcome parameters"), default=dict, blank=True)
    # Set by the Reprocess action; the wait for an unknown member restarts from it.
    reprocessed_at = models.DateTimeField(_("reprocessed at"), null=True, blank=True)
    reprocessed_by = models.CharField(_("reprocessed by"), max_length=150, blank=True)
    # Member and enrollment ids the events name, space-separated: sync log search.
    subject_ids = models.CharField(_("member / enrollment ids"), max_length=500, blank=True)
    # A signed test sent from the admin: shown on its source, never counted as traffic.
    is_self_test = models.BooleanField(_("self-test"), default=False)
    # When retention stripped the payload, headers and normalised events (personal data).
    payload_purged_at = models.DateTimeField(_("payload purged at"), null=True, blank=True)

    class Meta:
        verbose_name = _("sync event")
        verbose_name_plural = _("sync log")
        ordering = ["-received_at"]
        constraints = [
            # Deduplication key (SPEC §4.1): two concurrent deliveries store one row.
            models.UniqueConstraint(
                fields=["source_identifier", "webhook_id"], name="unique_webhook_id_per_source"
            ),
            models.CheckConstraint(
                condition=Q(status__in=["pending", "processing", "succeeded", "failed", "skipped"]),
                name="inbound_event_status_valid",
            ),
        ]
        # Every index costs each intake insert (issue 8); a partial one costs only the rows
        # its condition holds for (a new event is pending: failed_* indexes skip it).
        indexes = [
            # The sync log filtered by an event type (a rare one especially).
            models.Index(fields=["event_type"], name="inbound_event_type"),
            # The sync log filtered to failed events, newest first, for every organisation
            # or an admin's own; pending/processing pages use inbound_unfinished_received.
            models.Index(
                fields=["received_at"],
                condition=Q(status="failed"),
                name="inbound_failed_received",
            ),
            models.Index(fields=["organization", "-received_at"], name="inbound_org_received"),
            # Healed counts (SPEC §5.1, §9): only reconciliation rows, a small share.
            models.Index(
                fields=["source_identifier", "status", "finished_at"],
                condition=Q(origin="reconciliation"),
                name="inbound_reconcile_finished",
            ),
            # The sync log's default page (newest first), the health page's last-hour
            # count and newest event, and the hourly roll-ups.
            models.Index(fields=["received_at"], name="inbound_received"),
            # Sync log filtered by organisation and status, the panel's per-status counts
            # and its "last succeeded" (newest finished_at) without scanning the org's rows.
            models.Index(
                fields=["organization", "status", "finished_at"], name="inbound_org_status_finished"
            ),
            # Failed events waiting (health page, banners, the panel): only failed rows are
            # in it, so counting them never visits the rest of the inbox.
            models.Index(
                fields=["organization"],
                condition=Q(status="failed", is_self_test=False),
                name="inbound_failed_waiting",
            ),
            # Retention finds what is still to purge; purged rows leave this index.
            models.Index(
                fields=["received_at"],
                condition=Q(payload_purged_at__isnull=True),
                name="inbound_unpurged_received",
            ),
            # The drain's claim and the sweeper read only unfinished rows, oldest first: a
            # partial index stays as small as the backlog however large the log grows.
            models.Index(
                fields=["received_at"],
                condition=Q(status__in=["pending", "processing"]),
                name="inbound_unfinished_received",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.event_type} {self.webhook_id}"

    @property
    def outcome_message(self) -> Message | None:
        return Message(self.outcome_code, self.outcome_params) if self.outcome_code else None

    @property
    def outcome(self) -> str:
        """The outcome in the active language ("" if there is none yet)."""
        outcome = self.outcome_message
        return outcome.render() if outcome is not None else ""

    @outcome.setter
    def outcome(self, value: Message | str | None) -> None:
        # A plain text (code not converted yet) is kept as a legacy message, shown as is.
        if not value:
            self.outcome_code, self.outcome_params = "", {}
            return
        outcome = as_message(value)
        self.outcome_code, self.outcome_params = outcome.code, outcome.to_json()["params"]

    @property
    def outcome_retryable(self) -> bool | None:
        outcome = self.outcome_message
        return outcome.retryable if outcome is not None else None

    @property
    def outcome_advice(self) -> str:
        outcome = self.outcome_message
        return outcome.advice() if outcome is not None else ""

    @property
    def is_finished(self) -> bool:
        return self.status in FINISHED_STATUSES

    @property
    def lag(self) -> timedelta | None:
        """Received → finished; None while the event is not finished."""
        if self.finished_at is None or self.received_at is None:
            return None
        return self.finished_at - self.received_at


FINISHED_STATUSES = frozenset(
    {InboundEvent.Status.SUCCEEDED, InboundEvent.Status.FAILED, InboundEvent.Status.SKIPPED}
)
# The rows of inbound_unfinished_received. Filter with `status__in_literally=` so that
# SQLite uses that index (InLiterally).
UNFINISHED_STATUSES = (InboundEvent.Status.PENDING, InboundEvent.Status.PROCESSING)
InboundEvent._meta.get_field("status").register_lookup(InLiterally)


class WorkerHeartbeat(models.Model):
    """Last sign of life from each Celery worker host (feeds the outage alert)."""

    hostname = models.CharField(_("worker"), max_length=255, unique=True)
    last_seen_at = models.DateTimeField(_("last seen"), default=timezone.now)

    class Meta:
        verbose_name = _("worker heartbeat")
        verbose_name_plural = _("worker heartbeats")

    def __str__(self) -> str:
        return self.hostname
