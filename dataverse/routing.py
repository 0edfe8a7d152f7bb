"""Which organisation a Web API row belongs to, and its events (SPEC §4.4 applied to §5.1).

The same rules as webhooks (`webhooks.routing`): a single-organisation source takes every
row; a shared source routes a contact by its routing attribute (`_<attribute>_value`),
an enrollment through its member, and a contact now active in another of its
organisations moves (`membership.moved`). A row matching no organisation is recorded
without one, failed with a plain outcome.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from typing import Literal

from dataverse.rows import Row, Table, contact_events, enrollment_events
from organizations.messages import Message, message
from organizations.models import CourseEnrollment, Member, Organization
from webhooks.models import WebhookSource
from webhooks.normalize import NormalizedEvent
from webhooks.routing import member_unknown, source_organizations


@dataclass
class PassRouting:
    """Per pass: the source's organisations, and where this pass saw each contact go."""

    source: WebhookSource
    routes: dict[str, Organization] | None  # None: a single-organisation source
    member_organizations: dict[str, Organization] = field(default_factory=dict)

    @classmethod
    def for_source(cls, source: WebhookSource) -> PassRouting:
        return cls(source=source, routes=source_organizations(source) if source.shared else None)

    @property
    def organizations(self) -> list[Organization]:
        if self.routes is None:
            return [self.source.organization]
        return list(self.routes.values())


@dataclass(frozen=True)
class RowOutcome:
    organization: Organization | None
    events: list[NormalizedEvent]
    failure: Message | None = None
    waiting: Message | None = None  # no organisation yet, but its member may still come


def _current(members: list[Member]) -> Member | None:
    """Where a member is now among several records: the active one, else the newest."""
    if not members:
        return None
    return max(
        members,
        key=lambda m: (
            m.is_active,
            m.source_updated_at.timestamp() if m.source_updated_at else 0.0,
            m.pk,
        ),
    )


def _unroutable(routing: PassRouting, code: str, **params) -> RowOutcome:
    return RowOutcome(None, [], message(code, source=routing.source.identifier, **params))


def contacts_route(routing: PassRouting, rows: list[Row]) -> list[RowOutcome]:
    by_id: dict[str, list[Member]] = defaultdict(list)
    for member in Member.objects.filter(
        organization__in=routing.organizations, portal_member_id__in=[r.entity_id for r in rows]
    ).select_related("organization"):
        by_id[member.portal_member_id].append(member)
    outcomes = []
    mapping = routing.source.mapping
    organization: Organization | None
    for row in rows:
        members = by_id.get(row.entity_id, [])
        if routing.routes is None:
            organization = routing.source.organization
        elif row.deleted:
            current = _current(members)
            organization = current.organization if current else None
            if organization is None:  # never known here: nothing to deactivate
                outcomes.append(RowOutcome(None, []))
                continue
        elif not row.routing_value:
            outcomes.append(
                _unroutable(
                    routing,
                    "webhooks.unroutable.no_routing_value",
                    member=row.entity_id,
                    attribute=mapping.routing_attribute,
                )
            )
            continue
        else:
            organization = routing.routes.get(row.routing_value)
            if organization is None:
                outcomes.append(
                    _unroutable(
                        routing,
                        "webhooks.unroutable.unknown_account",
                        member=row.entity_id,
                        account=row.routing_value,
                    )
                )
                continue
        routing.member_organizations[row.entity_id] = organization
        here = next((m for m in members if m.organization_id == organization.pk), None)
        elsewhere = [m for m in members if m.organization_id != organization.pk and m.is_active]
        # Known only in another organisation (even inactive): a transfer, or an older row
        # that the transfer's staleness check across the organisations skips.
        if (elsewhere or (here is None and members)) and not row.deleted:
            data = {"member_id": row.entity_id, **row.data}
            data["from_organization_ids"] = sorted(
                org.pk for org in routing.organizations if org.pk != organization.pk
            )
            if row.active is False:  # deactivated by the same change: inside the transfer
                data["is_active"] = False
            events = [NormalizedEvent("membership.moved", row.modified_on, data)]
        else:
            events = contact_events(row, member=here)
        outcomes.append(RowOutcome(organization, events))
    return outcomes


def enrollments_route(routing: PassRouting, rows: list[Row]) -> list[RowOutcome]:
    ids = [row.entity_id for row in rows]
    enrollments: dict[str, list[CourseEnrollment]] = defaultdict(list)
    for enrollment in CourseEnrollment.objects.filter(
        organization__in=routing.organizations, portal_enrollment_id__in=ids
    ).select_related("member", "organization"):
        enrollments[enrollment.portal_enrollment_id].append(enrollment)
    member_ids = {row.data.get("member_id") for row in rows if row.data.get("member_id")}
    members: dict[str, list[Member]] = defaultdict(list)
    if routing.routes is not None and member_ids:
        for member in Member.objects.filter(
            organization__in=routing.organizations, portal_member_id__in=member_ids
        ).select_related("organization"):
            members[member.portal_member_id].append(member)
    outcomes = []
    organization: Organization | None
    for row in rows:
        local = enrollments.get(row.entity_id, [])
        if routing.routes is None:
            organization = routing.source.organization
        elif row.deleted:
            organization = local[0].organization if local else None
            if organization is None:
                outcomes.append(RowOutcome(None, []))
                continue
        else:
            member_id = row.data.get("member_id") or ""  # none: no route, no member
            organization = routing.member_organizations.get(member_id)
            if organization is None and (current := _current(members.get(member_id, []))):
                organization = current.organization
            if organization is None and local:
                organization = local[0].organization
            if organization is None:
                # Its member may still come (an unrouted contact onboarded, a create on
                # its way): recorded pending without an organisation, routed when it applies.
                waiting = member_unknown(routing.source, member_id or "?")
                outcomes.append(RowOutcome(None, [], waiting=waiting))
                continue
        here = next((e for e in local if e.organization_id == organization.pk), None)
        outcomes.append(RowOutcome(organization, enrollment_events(row, enrollment=here)))
    return outcomes


def rows_route(routing: PassRouting, table: Table, rows: list[Row]) -> list[RowOutcome]:
    if table.kind == "contact":
        return contacts_route(routing, rows)
    return enrollments_route(routing, rows)


def inbound_event_reroute(event):
    """Route a stored, unrouted reconciliation row again (after onboarding, SPEC §4.4)."""
    from dataverse.models import DataverseConnection
    from dataverse.rows import RowUnreadable, row_decode, table_for
    from webhooks.routing import Route

    source = (
        WebhookSource.objects.select_related("organization")
        .filter(identifier=event.source_identifier)
        .first()
    )
    if source is None:
        return Route(None, event.normalized, message("sync.source_gone"))
    types = {item.get("type", "") for item in event.normalized}
    kind: Literal["contact", "enrollment"] = (
        "enrollment" if any(t.startswith("course_enrollment") for t in types) else "contact"
    )
    connection = DataverseConnection.objects.filter(source=source).first()
    entity_set = connection.entity_set(kind=kind) if connection else kind
    table = table_for(kind=kind, entity_set=entity_set, mapping=source.mapping)
    try:
        row = row_decode(event.payload, table=table, mapping=source.mapping)
    except RowUnreadable as exc:
        failure = message("webhooks.normalization_failed", detail=str(exc))
        return Route(None, event.normalized, failure)
    outcome = rows_route(PassRouting.for_source(source), table, [row])[0]
    if outcome.organization is None:
        return Route(None, event.normalized, outcome.failure, waiting=outcome.waiting)
    normalized = [item.to_json() for item in outcome.events] or event.normalized
    return Route(outcome.organization, normalized)
