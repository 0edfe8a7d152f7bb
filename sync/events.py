"""The normalised event (SPEC §4.2): the one shape every payload becomes, owned by the sync.

The intake (`webhooks.normalize`) produces these; the inbox stores them as JSON; the drain
reads them back with `NormalizedEvent.from_json`, the only parser of the stored form.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any


class NormalizedEventInvalid(ValueError):
    """A stored normalised event does not have the shape `to_json` writes."""


def _aware_datetime_parse(value: Any) -> datetime:
    if not isinstance(value, str):
        raise NormalizedEventInvalid(f"occurred_at {value!r} is not an ISO-8601 date-time")
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError as exc:
        raise NormalizedEventInvalid(f"occurred_at {value!r} is not an ISO-8601 date-time") from exc
    if parsed.tzinfo is None:
        raise NormalizedEventInvalid(f"occurred_at {value!r} has no timezone")
    try:
        return parsed.astimezone(UTC)
    except OverflowError as exc:  # e.g. 9999-12-31T23:00:00-05:00 is past year 9999 in UTC
        raise NormalizedEventInvalid(f"occurred_at {value!r} is out of range") from exc


@dataclass(frozen=True)
class NormalizedEvent:
    """One event in the vocabulary of SPEC §4.2, whichever payload it came from."""

    type: str
    occurred_at: datetime | None
    data: dict[str, Any]

    def to_json(self) -> dict[str, Any]:
        occurred_at = self.occurred_at.isoformat() if self.occurred_at else None
        return {"type": self.type, "occurred_at": occurred_at, "data": self.data}

    @classmethod
    def from_json(cls, stored: Mapping[str, Any]) -> NormalizedEvent:
        if not isinstance(stored, Mapping):
            raise NormalizedEventInvalid("a normalised event must be a JSON object")
        event_type = stored.get("type")
        if not isinstance(event_type, str) or not event_type:
            raise NormalizedEventInvalid("a normalised event needs a non-empty 'type'")
        data = stored.get("data")
        if not isinstance(data, dict):
            raise NormalizedEventInvalid("a normalised event's 'data' must be an object")
        raw = stored.get("occurred_at")
        occurred_at = None if raw is None else _aware_datetime_parse(raw)
        return cls(type=event_type, occurred_at=occurred_at, data=data)

    @property
    def subject_id(self) -> str:
        """The member (or, failing that, enrollment) the event is about: the ordering key."""
        for key in ("member_id", "enrollment_id"):
            value = self.data.get(key)
            if isinstance(value, str) and value:
                return value
        return ""
