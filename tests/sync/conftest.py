"""Fixtures of the sync tests: stored events, a controllable clock, captured enqueues."""

import uuid
from datetime import timedelta

import pytest
from django.utils import timezone

from sync import dispatch
from sync.models import InboundEvent
from sync.services import inbound_event_apply, inbound_event_record


def event_store(
    organization, normalized: list[dict], *, payload_format="envelope", payload=None
) -> InboundEvent:
    """Store an event as the intake does (through the sync's own record service)."""
    event, created = inbound_event_record(
        organization=organization,
        source_identifier=f"src-{organization.slug}",
        webhook_id=f"msg_{uuid.uuid4().hex}",
        payload_format=payload_format,
        payload=payload if payload is not None else {"normalized": normalized},
        normalized=normalized,
    )
    assert created
    return event


def event_apply(event: InboundEvent):
    """Run one processing attempt and reload the row."""
    result = inbound_event_apply(event_id=event.id)
    event.refresh_from_db()
    return result


@pytest.fixture
def wakeups(monkeypatch) -> list[str]:
    """Wake-ups of the inbox drain, "commit" (coalesced) or "now"/"in Ns" (nothing is sent)."""
    sent: list[str] = []
    monkeypatch.setattr(dispatch._waker, "request", lambda: sent.append("commit"))
    monkeypatch.setattr(
        dispatch, "_publish", lambda countdown=None: sent.append(f"in {countdown or 0:g}s")
    )
    return sent


class Clock:
    def __init__(self):
        self.now = timezone.now()

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)

    def __call__(self):
        return self.now


@pytest.fixture
def clock(monkeypatch) -> Clock:
    """`timezone.now()` frozen at the test's start; `clock.advance(s)` moves it."""
    fake = Clock()
    monkeypatch.setattr(timezone, "now", fake)
    return fake
