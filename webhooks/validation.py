"""Hostile-input checks for webhook bodies and events (SPEC §4.3), run before the database.

Pure functions, free of Django models (the string and range primitives live in
`organizations.values`, the lowest layer, shared with the appliers and model fields).
The intake calls `json_body_parse` on the raw bytes and `normalized_events_check` on what
the normaliser made of them. Everything a retry can never fix is refused here with a
plain reason, so it is a recorded 400 instead of a 5xx, a crash or an event stuck in
processing:

* nesting deeper than `MAX_NESTING_DEPTH`, counted on the bytes before `json.loads` runs
  (no recursion, no parser time spent on it);
* strings the databases cannot store: lone surrogates (UTF-8 cannot encode them) and
  U+0000 (PostgreSQL refuses it in text and JSON; SQLite is held to the same rule so both
  behave alike), in keys as well as values;
* numbers outside the float range (`1e400`, a 400-digit integer), `NaN` and `Infinity`;
* event times outside the range a datetime can be shown in, in any offset, or more than
  `MAX_FUTURE` ahead of the server clock (they would make every later change look stale);
* ids and event types longer than the columns that hold them (refused, never truncated).
"""

from __future__ import annotations

import itertools
import json
import math
import re
import sys
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

from organizations.values import (  # noqa: F401 -- re-exported for the intake's callers
    EARLIEST_EVENT_TIME,
    LATEST_REPRESENTABLE_TIME,
    text_storable,
    text_storable_or_replaced,
)

MAX_NESTING_DEPTH = 64
# An event time more than this far ahead of our clock is refused (SPEC §4.3).
MAX_FUTURE = timedelta(hours=24)
# The columns normalised events land in (sync.InboundEvent.event_type, Member and
# CourseEnrollment portal ids); kept here so the checks stay free of Django models.
MAX_EVENT_TYPE_LENGTH = 100
MAX_ID_LENGTH = 100
ID_FIELDS = ("member_id", "enrollment_id")

_FLOAT_MAX = sys.float_info.max
# A JSON string token (escapes included) or a bracket; strings are skipped whole, so a
# bracket inside a string is never counted.
_STRING_TOKEN = re.compile(rb'"[^"\\]*(?:\\.[^"\\]*)*"', re.DOTALL)
_NOT_BRACKETS = bytes(b for b in range(256) if b not in b"[]{}")
_BRACKET_STEPS = bytes.maketrans(b"[]{}", b"\x01\xff\x01\xff")


class InputRefused(ValueError):
    """The input cannot be accepted as sent; the message says why, in plain English."""


# --- strings ------------------------------------------------------------------------


def _problem_with_text(value: str) -> str:
    if "\x00" in value:
        return "a NUL character (\\u0000)"
    return "a lone UTF-16 surrogate (not valid Unicode)"


# --- the raw body -------------------------------------------------------------------


def nesting_depth_check(body: bytes, *, limit: int = MAX_NESTING_DEPTH) -> None:
    """Refuse JSON nested deeper than `limit`, without parsing it (no recursion at all).

    Strings are cut out first, so brackets inside them do not count; what is left is a
    run of +1/-1 steps whose running maximum is the depth. Malformed input may be
    over- or under-counted: the parser refuses it afterwards either way.
    """
    if body.count(b"[") + body.count(b"{") <= limit:
        return  # cannot be deeper than the number of openers
    structure = _STRING_TOKEN.sub(b"", body).translate(None, _NOT_BRACKETS)
    steps = memoryview(structure.translate(_BRACKET_STEPS)).cast("b")
    # accumulate/max run in C: a megabyte of brackets costs milliseconds.
    if max(itertools.accumulate(steps), default=0) > limit:
        raise InputRefused(f"The JSON is nested deeper than {limit} levels.")


def _constant_refuse(name: str):
    raise InputRefused(f"{name} is not a JSON number.")


def _float_parse(text: str) -> float:
    number = float(text)
    if not math.isfinite(number):
        raise InputRefused(f"The number {text[:40]} is outside the range a number can hold.")
    return number


def _int_parse(text: str) -> int:
    # Python caps int() at 4,300 digits (a ValueError); below that, refuse what no float,
    # and so no JSON reader on the other side, could hold either.
    number = int(text)
    if abs(number) > _FLOAT_MAX:
        raise InputRefused(f"The number {text[:40]}… is outside the range a number can hold.")
    return number


def _storable_tree_check(value: Any) -> None:
    """Refuse unstorable strings anywhere in a parsed JSON value (keys too), iteratively."""
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            if not text_storable(item):
                raise InputRefused(f"A string in the body contains {_problem_with_text(item)}.")
        elif isinstance(item, dict):
            stack.extend(item.keys())
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)


def json_body_parse(body: bytes, *, max_depth: int = MAX_NESTING_DEPTH) -> Any:
    """Parse a JSON body that every later step can handle safely, or raise InputRefused.

    Refuses invalid UTF-8 and JSON, `NaN`/`Infinity`, numbers outside the float range,
    nesting deeper than `max_depth` and strings holding lone surrogates or NUL.
    """
    if not isinstance(body, bytes | bytearray | memoryview):
        raise InputRefused("The body must be bytes.")
    body = bytes(body)
    nesting_depth_check(body, limit=max_depth)
    try:
        parsed = json.loads(
            body,
            parse_constant=_constant_refuse,
            parse_float=_float_parse,
            parse_int=_int_parse,
        )
    except InputRefused:
        raise
    except (UnicodeDecodeError, ValueError, RecursionError, TypeError) as exc:
        raise InputRefused("The body is not valid JSON.") from exc
    # Lone surrogates and NUL can only arrive as \u escapes (raw ones are invalid UTF-8
    # or invalid JSON), so a body without any skips the walk.
    if b"\\u" in body or b"\\U" in body:
        _storable_tree_check(parsed)
    return parsed


# --- values inside events -------------------------------------------------------------


def event_time_check(moment: datetime, *, now: datetime, field_name: str = "occurred_at") -> None:
    """Refuse an event time that cannot be shown in every zone or lies > 24 h ahead."""
    if moment.tzinfo is None:
        raise InputRefused(f"'{field_name}' must include a timezone.")
    try:
        utc = moment.astimezone(UTC)
    except (OverflowError, ValueError) as exc:
        raise InputRefused(f"'{field_name}' is outside the representable date range.") from exc
    if utc < EARLIEST_EVENT_TIME or utc > LATEST_REPRESENTABLE_TIME:
        raise InputRefused(f"'{field_name}' is outside the representable date range.")
    if utc > now + MAX_FUTURE:
        raise InputRefused(
            f"'{field_name}' is more than 24 hours ahead of the server clock "
            f"({utc.isoformat()}); it would make every later change look stale."
        )


def _event_type_check(event_type: Any) -> None:
    if isinstance(event_type, str) and len(event_type) > MAX_EVENT_TYPE_LENGTH:
        raise InputRefused(
            f"The event type is {len(event_type)} characters long; at most "
            f"{MAX_EVENT_TYPE_LENGTH} fit."
        )


def _ids_check(data: Mapping[str, Any]) -> None:
    for key in ID_FIELDS:
        value = data.get(key)
        if isinstance(value, str) and len(value.strip()) > MAX_ID_LENGTH:
            raise InputRefused(
                f"'{key}' is {len(value.strip())} characters long; at most {MAX_ID_LENGTH} fit."
            )


def normalized_events_check(
    events: Iterable[Mapping[str, Any]],
    *,
    now: datetime,
    occurred_at: datetime | None = None,
    event_type: str | None = None,
) -> None:
    """Refuse normalised events whose type, ids or time cannot be stored as they are.

    `events` are `{"type", "occurred_at", "data"}` objects (`NormalizedEvent.to_json()`);
    `occurred_at` and `event_type` describe the payload as a whole (the type a payload
    that could not be normalised is stored under), checked even when no event came of it.
    """
    if occurred_at is not None:
        event_time_check(occurred_at, now=now)
    _event_type_check(event_type)
    for event in events:
        _event_type_check(event.get("type"))
        data = event.get("data")
        if isinstance(data, Mapping):
            _ids_check(data)
        raw = event.get("occurred_at")
        if isinstance(raw, str):
            try:
                moment = datetime.fromisoformat(raw)
            except ValueError as exc:
                raise InputRefused("'occurred_at' is not an ISO-8601 date-time.") from exc
            event_time_check(moment, now=now)
