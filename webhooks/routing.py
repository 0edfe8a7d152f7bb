"""Which organisation an event of a source belongs to (SPEC §4.4), and transfers between them.

A single-organisation source routes everything to its organisation. A shared source
routes a contact by its routing attribute (Target, else post-image, else pre-image), an
enrollment through the member it references, an envelope by `data.organization`. An
event that matches none of the source's organisations is stored without one and failed
with a plain outcome. A contact that changes organisation becomes a `membership.moved`
event, applied in one transaction by the sync.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from organizations.messages import Message, message
from organizations.models import Member, Organization
from webhooks.models import SourceOrganization, WebhookSource, routing_value_normalize
from webhooks.normalize import DataverseMapping, dataverse_routing

MEMBER_EVENTS = frozenset(
    {
        "membership.created",
        "membership.updated",
        "role.updated",
        "membership.deactivated",
        "membership.reactivated",
    }
)
ENROLLMENT_EVENTS = frozenset(
    {"course_enrollment.created", "course_enrollment.updated", "course_enrollment.cancelled"}
)
_PROFILE_EVENTS = frozenset({"membership.created", "membership.updated", "role.updated"})
_PROFILE_FIELDS = ("first_name", "last_name", "email", "phone", "joined_on", "role")


@dataclass(frozen=True)
class Route:
    """Where an event goes: an organisation, or None with the `failure` to store."""

    organization: Organization | None
    normalized: list[dict] = field(default_factory=list)
    failure: Message | None = None
    # No organisation yet, but one may come: an enrollment whose member is not known
    # (its create may still be on its way, SPEC §5). Stored pending without an
    # organisation; the drain routes it again and waits like for any unknown member.
    waiting: Message | None = None


def source_organizations(source: WebhookSource) -> dict[str, Organization]:
    """Routing value → organisation, for a shared source."""
    return {
        route.routing_value: route.organization
        for route in SourceOrganization.objects.filter(source=source).select_related("organization")
    }


def _member_id(normalized: list[dict]) -> str | None:
    for item in normalized:
        value = (item.get("data") or {}).get("member_id")
        if isinstance(value, str) and value.strip():
            return value.strip()
    return None


def member_organization(
    *, member_id: str, organizations: list[Organization]
) -> Organization | None:
    """The organisation (of these) where the member is now: active first, else newest."""
    members = list(
        Member.objects.filter(
            portal_member_id=member_id, organization__in=organizations
        ).select_related("organization")
    )
    if not members:
        return None
    members.sort(
        key=lambda m: (
            (m.is_active, m.source_updated_at is not None, m.source_updated_at or 0, m.pk)
            if m.source_updated_at
            else (m.is_active, False, 0, m.pk)
        )
    )
    return members[-1].organization


def _others_named(normalized: list[dict], others: list[Organization]) -> list[dict]:
    """Name the source's other organisations in each member event.

    A change for a member not known here, older than the member's record in another of
    them, is then skipped as stale when it applies (`sync.appliers`), instead of waiting
    for a member that moved on and will not come here.
    """
    ids = sorted(org.pk for org in others)
    return [
        {**item, "data": {**(item.get("data") or {}), "other_organization_ids": ids}}
        if item.get("type") in MEMBER_EVENTS
        else item
        for item in normalized
    ]


def transfer_events(
    *,
    normalized: list[dict],
    organization: Organization,
    others: list[Organization],
    moved_from_value: bool = False,
) -> list[dict]:
    """Turn a contact's events into a transfer when the member is (or was) elsewhere.

    `moved_from_value`: the payload itself says the routing attribute changed (pre-image).
    A change for an organisation the member is not known in, while it is known in another,
    is a transfer too (or an older change arriving late: the transfer's staleness check
    across the organisations skips it). A deactivation in the same payload travels inside
    the transfer, so the whole change is applied, or skipped as stale, as one.
    """
    member_id = _member_id(normalized)
    if not member_id or not others:
        return normalized
    records = list(
        Member.objects.filter(
            portal_member_id=member_id, organization__in=[organization, *others]
        ).values_list("organization_id", "is_active")
    )
    active_elsewhere = any(active for org, active in records if org != organization.pk)
    known_here = any(org == organization.pk for org, _active in records)
    profile_change = any(item.get("type") in _PROFILE_EVENTS for item in normalized)
    if not (
        active_elsewhere or moved_from_value or (records and not known_here and profile_change)
    ):
        return _others_named(normalized, others)
    moved: dict[str, Any] = {"member_id": member_id}
    rest = []
    occurred_at = None
    for item in normalized:
        data = item.get("data") or {}
        occurred_at = occurred_at or item.get("occurred_at")
        if item.get("type") == "membership.deactivated":
            moved["is_active"] = False
            if data.get("reason"):
                moved["reason"] = data["reason"]
            continue
        if item.get("type") == "membership.reactivated":
            continue  # a transfer leaves the member active where it lands
        if item.get("type") not in MEMBER_EVENTS:
            rest.append(item)
            continue
        moved.update({key: data[key] for key in _PROFILE_FIELDS if key in data})
    moved["from_organization_ids"] = sorted(org.pk for org in others)
    return [{"type": "membership.moved", "occurred_at": occurred_at, "data": moved}, *rest]


def member_unknown(source: WebhookSource, member_id: str) -> Message:
    """Why an event waits: its member is known in no organisation of the shared source yet."""
    return message("webhooks.member_unknown", member=member_id, source=source.identifier)


def _unroutable(source: WebhookSource, normalized: list[dict], code: str, **params: str) -> Route:
    failure = message(code, source=source.identifier, **params)
    return Route(organization=None, normalized=normalized, failure=failure)


def event_route(
    *,
    source: WebhookSource,
    kind: str,
    body: Mapping[str, Any],
    normalized: list[dict],
    mapping: DataverseMapping | None = None,
) -> Route:
    """Route a normalised payload of `source`; single-organisation sources are unchanged."""
    if not source.shared:
        return Route(source.organization, normalized)
    routes = source_organizations(source)
    organizations = list(routes.values())
    types = {item.get("type") for item in normalized}
    if kind == "envelope":
        raw = (normalized[0].get("data") or {}).get("organization") if normalized else None
        if not isinstance(raw, str) or not raw.strip():
            return _unroutable(
                source,
                normalized,
                "webhooks.unroutable.no_organization_field",
            )
        organization = routes.get(routing_value_normalize(raw))
        if organization is None:
            return _unroutable(
                source,
                normalized,
                "webhooks.unroutable.unknown_organization",
                value=raw.strip(),
            )
        others = [org for org in organizations if org.pk != organization.pk]
        if types & MEMBER_EVENTS:
            normalized = transfer_events(
                normalized=normalized, organization=organization, others=others
            )
        return Route(organization, normalized)

    mapping = mapping or source.mapping
    routing = dataverse_routing(body, mapping=mapping)
    member_id = _member_id(normalized) or "?"
    if routing.entity == "enrollment" or types <= ENROLLMENT_EVENTS:
        organization = (
            member_organization(member_id=member_id, organizations=organizations)
            if member_id != "?"
            else None
        )
        if organization is None and member_id == "?":
            return _unroutable(
                source,
                normalized,
                "webhooks.unroutable.type",
                type=", ".join(sorted(str(t) for t in types)) or "?",
            )
        if organization is None:
            return Route(None, normalized, waiting=member_unknown(source, member_id))
        return Route(organization, normalized)
    if routing.entity != "contact":
        return _unroutable(
            source,
            normalized,
            "webhooks.unroutable.type",
            type=", ".join(sorted(str(t) for t in types)) or "?",
        )
    if not routing.value:
        return _unroutable(
            source,
            normalized,
            "webhooks.unroutable.no_routing_value",
            member=member_id,
            attribute=mapping.routing_attribute,
        )
    organization = routes.get(routing_value_normalize(routing.value))
    if organization is None:
        return _unroutable(
            source,
            normalized,
            "webhooks.unroutable.unknown_account",
            member=member_id,
            account=routing.value,
        )
    others = [org for org in organizations if org.pk != organization.pk]
    changed = bool(
        routing.previous
        and routing_value_normalize(routing.previous) != routing_value_normalize(routing.value)
    )
    normalized = transfer_events(
        normalized=normalized, organization=organization, others=others, moved_from_value=changed
    )
    return Route(organization, normalized)


def inbound_event_reroute(event) -> Route:
    """Route a stored, unrouted webhook event again (after onboarding the missing organisation)."""
    source = (
        WebhookSource.objects.select_related("organization")
        .filter(identifier=event.source_identifier)
        .first()
    )
    if source is None:
        return Route(None, event.normalized, message("sync.source_gone"))
    return event_route(
        source=source, kind=event.payload_format, body=event.payload, normalized=event.normalized
    )
