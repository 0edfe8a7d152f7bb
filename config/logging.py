"""Structured logs: one JSON object per outcome, carrying ids and codes, never payload values.

Call `log_event(logger, "webhook.outcome", event_id=..., source=..., status=..., reason=...,
duration_ms=...)`. The message itself is a JSON object, so the line is machine-readable
under any formatter; with `LOG_FORMAT=json` (the production default) `JsonFormatter`
makes every line of the process a JSON object, these fields at its top level.

What goes in: ids (event, webhook-id, member id as the sender's opaque key), source
identifiers, status and reason codes, counts, durations. What never goes in: names,
e-mail addresses, phone numbers, any other payload value, outcome texts (they quote
values), secrets or signatures. tests/config/test_clean_logs.py holds every process to it.
"""

from __future__ import annotations

import json
import logging
import traceback
from datetime import UTC, datetime
from typing import Any

_RESERVED = frozenset(vars(logging.makeLogRecord({})).keys()) | {"message", "asctime"}


def _plain(value: Any) -> Any:
    if value is None or isinstance(value, bool | int | float | str):
        return value
    return str(value)


def log_event(logger: logging.Logger, name: str, *, level: int = logging.INFO, **fields) -> None:
    """Log `name` with `fields` as one JSON object (keyword values: ids, codes, numbers)."""
    if not logger.isEnabledFor(level):  # the hot paths log per event: skip the encoding
        return
    payload = {"event": name, **{key: _plain(value) for key, value in fields.items()}}
    logger.log(
        level,
        json.dumps(payload, ensure_ascii=True, separators=(",", ":")),
        extra={"structured": payload},
    )


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger and the message (or an event's fields)."""

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, tz=UTC).isoformat(
                timespec="milliseconds"
            ),
            "level": record.levelname,
            "logger": record.name,
        }
        structured = getattr(record, "structured", None)
        if isinstance(structured, dict):
            line.update(structured)
        else:
            line["message"] = record.getMessage()
        if record.exc_info and record.exc_info[0] is not None:
            # The type only: exception messages may quote the values that caused them.
            line["exception"] = record.exc_info[0].__name__
        return json.dumps(line, ensure_ascii=True, default=str)


class NoExceptionMessagesFilter(logging.Filter):
    """Keep an exception's type and traceback in the log, drop its message.

    Exception messages quote the values that caused them (a driver refusing a string,
    a codec naming the character, Celery's "raised unexpected: Error('<value>')"). The
    details stay where access is controlled: the event's stored outcome, the admin.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        if record.exc_info and record.exc_info[0] is not None:
            exc_type, _exc, tb = record.exc_info
            frames = "".join(traceback.format_tb(tb)) if tb else ""
            record.exc_info = None
            record.exc_text = f"Traceback (most recent call last):\n{frames}{exc_type.__name__}"
        if isinstance(record.args, dict) and isinstance(record.args.get("exc"), str):
            # celery.app.trace: "Task %(name)s[%(id)s] raised unexpected: %(exc)s".
            record.args = {**record.args, "exc": record.args["exc"].split("(", 1)[0]}
        return True
