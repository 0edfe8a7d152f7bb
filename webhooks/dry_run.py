"""Try a payload (SPEC §6): how a body would be normalised, routed and applied — writing nothing.

The production code runs: the intake's parser and normaliser, then the sync's parsing of
each normalised event and the real appliers, inside a transaction that is always rolled
back. Only the final write (and the after-commit enqueue, discarded with the rollback)
never happens.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from django.db import transaction
from django.utils.translation import gettext as _

from organizations.models import CourseEnrollment, Member
from sync.appliers import EventInvalid, TargetUnknown, event_apply
from sync.events import NormalizedEvent, NormalizedEventInvalid
from webhooks.models import WebhookSource
from webhooks.normalize import payload_inspect
from webhooks.services import _json_object_parse, _normalize, _Rejected, _route

MEMBER_FIELDS = (
    "first_name",
    "last_name",
    "email",
    "phone",
    "role",
    "joined_on",
    "is_active",
    "deactivated_at",
    "deactivation_reason",
    "source_updated_at",
)
ENROLLMENT_FIELDS = (
    "member",
    "course_id",
    "course_name",
    "status",
    "starts_on",
    "source_updated_at",
)


class _RollBack(Exception):
    """Raised at the end of the dry run's transaction so nothing it did is kept."""


@dataclass
class DryRunEvent:
    type: str
    occurred_at: str | None
    subject: str  # "member" | "enrollment" | ""
    subject_id: str | None
    status: str  # "would_apply" | "skipped" | "failed" | "waiting"
    outcome: str
    existed: bool = False
    changes: list[dict[str, Any]] = field(default_factory=list)


@dataclass
class DryRunResult:
    source: str
    payload_kind: str | None = None
    error: str | None = None  # the body would be refused (reason code and detail)
    failure: str | None = None  # stored, then failed (e.g. truncated by Dynamics)
    notes: list[str] = field(default_factory=list)
    organization: dict[str, str] | None = None
    routing: str = ""
    normalized: list[dict] = field(default_factory=list)
    events: list[DryRunEvent] = field(default_factory=list)
    written: bool = False

    def to_json(self) -> dict[str, Any]:
        return {
            "source": self.source,
            "payload_kind": self.payload_kind,
            "error": self.error,
            "failure": self.failure,
            "notes": self.notes,
            "organization": self.organization,
            "routing": self.routing,
            "normalized": self.normalized,
            "events": [event.__dict__ for event in self.events],
            "written": self.written,
        }


def _plain(value: Any) -> Any:
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Member):
        return value.portal_member_id
    return value


def _snapshot(row, fields: tuple[str, ...]) -> dict[str, Any] | None:
    if row is None:
        return None
    return {name: _plain(getattr(row, name)) for name in fields}


def _subject(organization, data: Mapping[str, Any]):
    """(kind, id, loader) of the row an event changes, to read it before and after."""
    enrollment_id = data.get("enrollment_id")
    if isinstance(enrollment_id, str) and enrollment_id:
        return (
            "enrollment",
            enrollment_id,
            lambda: _snapshot(
                CourseEnrollment.objects.filter(
                    organization=organization, portal_enrollment_id=enrollment_id.strip()
                )
                .select_related("member")
                .first(),
                ENROLLMENT_FIELDS,
            ),
        )
    member_id = data.get("member_id")
    if isinstance(member_id, str) and member_id:
        return (
            "member",
            member_id,
            lambda: _snapshot(
                Member.objects.filter(
                    organization=organization, portal_member_id=member_id.strip()
                ).first(),
                MEMBER_FIELDS,
            ),
        )
    return "", None, lambda: None


def _changes(before: dict | None, after: dict | None) -> list[dict[str, Any]]:
    if after is None:
        return []
    return [
        {"field": name, "before": None if before is None else before.get(name), "after": value}
        for name, value in after.items()
        if before is None or before.get(name) != value
    ]


def _apply_all(organization, normalized: list[dict], result: DryRunResult) -> None:
    for item in normalized:
        try:
            parsed = NormalizedEvent.from_json(item)
        except NormalizedEventInvalid as exc:
            result.events.append(
                DryRunEvent(str(item.get("type")), None, "", None, "failed", str(exc))
            )
            continue
        event_type, occurred_at, data = parsed.type, parsed.occurred_at, parsed.data
        kind, subject_id, load = _subject(organization, data)
        before = load()
        event = DryRunEvent(
            type=event_type,
            occurred_at=occurred_at.isoformat() if occurred_at else None,
            subject=kind,
            subject_id=subject_id,
            status="would_apply",
            outcome="",
            existed=before is not None,
        )
        try:
            # A savepoint per event, so one failing event leaves the next ones' view intact.
            with transaction.atomic():
                applied = event_apply(
                    organization=organization,
                    event_type=event_type,
                    occurred_at=occurred_at,
                    data=data,
                )
            event.outcome = str(applied.message)  # shown at once, to this reader
            event.status = "skipped" if applied.skipped else "would_apply"
            event.changes = _changes(before, load())
        except EventInvalid as exc:
            event.status, event.outcome = "failed", str(exc)
        except TargetUnknown as exc:
            event.status = "waiting"
            event.outcome = _(
                "%(reason)s: the event would wait for it (its create may be on its way)"
            ) % {"reason": exc}
        result.events.append(event)


def webhook_payload_dry_run(
    *, source: WebhookSource, body: bytes, headers: Mapping[str, str] | None = None
) -> DryRunResult:
    """What the intake and the sync would do with `body` from `source`; nothing is kept."""
    headers = {name.lower(): value for name, value in (headers or {}).items()}
    result = DryRunResult(source=source.identifier)
    try:
        parsed = _json_object_parse(body)
    except _Rejected as rejection:
        result.error = f"{rejection.reason}: {rejection.detail}"
        return result
    head = payload_inspect(parsed)
    result.payload_kind = head.kind
    claimed = head.source_identifier
    if claimed != source.identifier:
        result.notes.append(
            _(
                "The body names the source %(claimed)s, not %(source)s: the intake would choose "
                "the secret of %(claimed)s (or refuse the request as unknown_source)."
            )
            % {"claimed": claimed or "—", "source": source.identifier}
        )
    if not source.is_active:
        result.notes.append(_("This source is disabled: the intake would refuse the request."))
    try:
        normalized = _normalize(source=source, body=parsed, head=head, headers=headers)
    except _Rejected as rejection:
        result.error = f"{rejection.reason}: {rejection.detail}"
        return result
    result.normalized = normalized.events
    if normalized.failure:
        result.failure = str(normalized.failure)
        return result
    route = _route(source=source, body=parsed, head=head, normalized=normalized)
    result.normalized = route.normalized
    if route.organization is None:
        result.failure = str(route.failure or route.waiting)
        result.routing = _("matches no organisation of the shared source")
        return result
    organization = route.organization
    result.organization = {"slug": organization.slug, "name": organization.name}
    result.routing = (
        _("routed by the shared source's routing value")
        if source.shared
        else _("the source's organisation")
    )
    try:
        with transaction.atomic():
            _apply_all(organization, route.normalized, result)
            raise _RollBack
    except _RollBack:
        pass
    return result
