"""Web API rows (SPEC §5.1) → the normalised events a webhook would have brought.

A row is the table's current state, not a change, so its events are what it takes to
bring the local state to it: nothing when the local state already reflects the row.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any, Literal

from django.utils.dateparse import parse_date, parse_datetime

from organizations.models import CourseEnrollment, Member
from webhooks.normalize import DataverseMapping, EntityRef, NormalizedEvent, row_fields

Kind = Literal["contact", "enrollment"]
DELETED_MARK = "$deletedEntity"
DELETED_REASON = "deleted in Dynamics"
_STATE_ACTIVE, _STATE_INACTIVE = 0, 1
MEMBER_TEXT_FIELDS = ("first_name", "last_name", "email", "phone")
ENROLLMENT_TEXT_FIELDS = ("course_id", "course_name")


@dataclass(frozen=True)
class Table:
    kind: Kind
    entity: str
    entity_set: str
    key: str
    select: tuple[str, ...]

    @property
    def select_text(self) -> str:
        return ",".join(self.select)


def _column(name: str, mapping: DataverseMapping) -> str:
    return f"_{name}_value" if name in mapping.lookup_attributes else name


def table_for(*, kind: Kind, entity_set: str, mapping: DataverseMapping) -> Table:
    if kind == "contact":
        entity = mapping.contact_entity
        names = [
            *mapping.contact_attributes,
            mapping.role_attribute,
            mapping.state_attribute,
            mapping.routing_attribute,
        ]
    else:
        entity = mapping.enrollment_entity
        names = list(mapping.enrollment_attributes)
    key = f"{entity}id"
    columns = {key, "modifiedon", *(_column(name, mapping) for name in names)}
    return Table(
        kind=kind, entity=entity, entity_set=entity_set, key=key, select=tuple(sorted(columns))
    )


@dataclass(frozen=True)
class Row:
    """One decoded row: its id, time and the event fields a webhook would carry."""

    entity_id: str
    deleted: bool
    modified_on: datetime | None
    data: dict[str, Any]
    active: bool | None
    routing_value: str | None
    fingerprint: str


class RowUnreadable(ValueError):
    """The row lacks its id or has a value of the wrong shape."""


def _iso_datetime(value: Any) -> datetime | None:
    if not isinstance(value, str) or "T" not in value:
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        return None
    return parsed.astimezone(UTC) if parsed.tzinfo else None


def _attributes(row: dict, *, table: Table, mapping: DataverseMapping) -> dict[str, Any]:
    """The row's columns as decoded webhook attributes: lookups as refs, ISO dates as datetimes."""
    names = (
        [*mapping.contact_attributes, mapping.role_attribute, mapping.state_attribute]
        if table.kind == "contact"
        else list(mapping.enrollment_attributes)
    )
    attributes: dict[str, Any] = {}
    for name in names:
        column = _column(name, mapping)
        if column not in row:
            continue
        value = row[column]
        if name in mapping.lookup_attributes:
            if value is not None and not isinstance(value, str):
                raise RowUnreadable(f"{column} must be a GUID string")
            value = EntityRef(id=value) if value else None
        elif (moment := _iso_datetime(value)) is not None:
            value = moment
        attributes[name] = value
    return attributes


def _fingerprint(row: dict) -> str:
    text = json.dumps(row, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:20]


def row_decode(row: Any, *, table: Table, mapping: DataverseMapping) -> Row:
    if not isinstance(row, dict):
        raise RowUnreadable("a row must be a JSON object")
    deleted = DELETED_MARK in str(row.get("@odata.context", ""))
    entity_id = row.get("id") if deleted else row.get(table.key)
    if not isinstance(entity_id, str) or not entity_id.strip():
        raise RowUnreadable(f"the row has no {table.key}")
    entity_id = entity_id.strip()
    if deleted:
        return Row(entity_id, True, None, {}, None, None, "deleted")
    attributes = _attributes(row, table=table, mapping=mapping)
    data = row_fields(attributes, kind=table.kind, mapping=mapping)
    active = None
    routing_value = None
    if table.kind == "contact":
        state = row.get(mapping.state_attribute)
        states: dict[Any, bool] = {_STATE_ACTIVE: True, _STATE_INACTIVE: False}
        active = states.get(state)
        routing_column = _column(mapping.routing_attribute, mapping)
        raw_routing = row.get(routing_column)
        routing_value = raw_routing.strip().lower() if isinstance(raw_routing, str) else None
    return Row(
        entity_id=entity_id,
        deleted=False,
        modified_on=_iso_datetime(row.get("modifiedon")),
        data=data,
        active=active,
        routing_value=routing_value,
        fingerprint=_fingerprint(row),
    )


# --- what the local state lacks ------------------------------------------------------------


def _text(value: Any) -> Any:
    if value is None:
        return ""
    return value.strip() if isinstance(value, str) else value


def _date_text(value: Any) -> Any:
    """A date field as YYYY-MM-DD for comparing; an unreadable value stays (and differs)."""
    if value in (None, ""):
        return ""
    if isinstance(value, str):
        try:
            parsed = parse_date(value)
            if parsed is None and (moment := parse_datetime(value)) is not None:
                parsed = moment.date()
        except ValueError:
            parsed = None
        return parsed.isoformat() if parsed else value
    return value


def _local_date(value: date | None) -> str:
    return value.isoformat() if value else ""


def _newer_locally(local, row: Row) -> bool:
    # The local state holds a later portal change than the row: the applier would skip it.
    return bool(
        row.modified_on and local.source_updated_at and row.modified_on < local.source_updated_at
    )


def contact_events(row: Row, *, member: Member | None) -> list[NormalizedEvent]:
    at, member_id = row.modified_on, row.entity_id
    if row.deleted:
        if member is None or (
            not member.is_active and member.deactivation_reason == DELETED_REASON
        ):
            return []
        data = {"member_id": member_id, "reason": DELETED_REASON}
        return [NormalizedEvent("membership.deactivated", None, data)]
    if member is None:
        events = [NormalizedEvent("membership.created", at, {"member_id": member_id, **row.data})]
        if row.active is False:
            events.append(NormalizedEvent("membership.deactivated", at, {"member_id": member_id}))
        return events
    if _newer_locally(member, row):
        return []
    changed: dict[str, Any] = {}
    for key, value in row.data.items():
        if key in MEMBER_TEXT_FIELDS and _text(value) != getattr(member, key):
            changed[key] = value
        elif key == "joined_on" and _date_text(value) != _local_date(member.joined_on):
            changed[key] = value
    events = []
    if changed:
        events.append(
            NormalizedEvent("membership.updated", at, {"member_id": member_id, **changed})
        )
    if "role" in row.data and row.data["role"] != member.role:
        events.append(
            NormalizedEvent("role.updated", at, {"member_id": member_id, "role": row.data["role"]})
        )
    if row.active is not None and row.active != member.is_active:
        event_type = "membership.reactivated" if row.active else "membership.deactivated"
        events.append(NormalizedEvent(event_type, at, {"member_id": member_id}))
    return events


def enrollment_events(row: Row, *, enrollment: CourseEnrollment | None) -> list[NormalizedEvent]:
    at, enrollment_id = row.modified_on, row.entity_id
    if row.deleted:
        if enrollment is None or enrollment.status == CourseEnrollment.Status.CANCELLED:
            return []
        data = {"enrollment_id": enrollment_id, "status": "cancelled"}
        return [NormalizedEvent("course_enrollment.cancelled", None, data)]
    data = {"enrollment_id": enrollment_id, **row.data}
    if enrollment is None:
        return [NormalizedEvent("course_enrollment.created", at, data)]
    if _newer_locally(enrollment, row):
        return []
    changed: dict[str, Any] = {}
    for key, value in row.data.items():
        if key in ENROLLMENT_TEXT_FIELDS and _text(value) != getattr(enrollment, key):
            changed[key] = value
        elif key == "starts_on" and _date_text(value) != _local_date(enrollment.starts_on):
            changed[key] = value
        elif key == "status" and value != enrollment.status:
            changed[key] = value
        elif key == "member_id" and value != enrollment.member.portal_member_id:
            changed[key] = value
    if not changed:
        return []
    return [
        NormalizedEvent(
            "course_enrollment.updated", at, {"enrollment_id": enrollment_id, **changed}
        )
    ]
