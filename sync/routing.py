"""Routing unrouted events again when they are reprocessed (SPEC §4.4).

The sync knows no sources; the apps that do register a router per payload format. A
router takes the stored event and returns an object with `organization` (None: still
unroutable), `normalized`, `failure` and `waiting` (no organisation yet, but one may come:
the reason to wait for it).
"""

from collections.abc import Callable

from django.db import transaction
from django.db.models import QuerySet

from sync.models import InboundEvent

_routers: dict[str, Callable] = {}


def inbound_event_router_register(*, payload_format: str, router: Callable) -> None:
    _routers[payload_format] = router


def inbound_event_route(event: InboundEvent):
    """Route one stored event now (the drain, for events stored pending without one)."""
    router = _routers.get(event.payload_format)
    return router(event) if router else None


def inbound_events_route(*, events: QuerySet[InboundEvent]) -> tuple[int, int]:
    """Give the failed unrouted events among `events` an organisation if one matches now.

    Returns (routed, still unroutable); the latter get the new reason as their outcome.
    """
    routed = still = 0
    with transaction.atomic():
        unrouted = events.filter(
            organization__isnull=True, status=InboundEvent.Status.FAILED
        ).select_for_update()
        for event in unrouted:
            route = inbound_event_route(event)
            if route is None or route.organization is None:
                still += 1
                if route is not None and route.failure:
                    before = (event.outcome_code, event.outcome_params)
                    event.outcome = route.failure
                    if (event.outcome_code, event.outcome_params) != before:
                        event.save(update_fields=["outcome_code", "outcome_params"])
                continue
            event.organization = route.organization
            event.normalized = route.normalized
            event.save(update_fields=["organization", "normalized"])
            routed += 1
    return routed, still
