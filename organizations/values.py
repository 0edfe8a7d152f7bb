"""What a stored value may be, for every app: the lowest layer, so all of them can import it.

Pure functions and constants; `webhooks.validation` builds the intake's checks on them,
the appliers use them on event values, the model fields on times read back.
"""

import re
from datetime import UTC, datetime, timedelta

# A stored time must still be a datetime after conversion to any UTC offset (±24 h), so
# no page or API answer can overflow when it shows it in the reader's zone.
EARLIEST_EVENT_TIME = datetime.min.replace(tzinfo=UTC) + timedelta(days=1)
LATEST_REPRESENTABLE_TIME = datetime.max.replace(tzinfo=UTC) - timedelta(days=1)

# Lone surrogates cannot be encoded as UTF-8; PostgreSQL refuses NUL in text and JSON
# (SQLite is held to the same rule, so both backends behave alike).
_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")


def text_storable(value: str) -> bool:
    """Whether every database backend can store `value` (no lone surrogate, no NUL)."""
    if value.isascii():
        return "\x00" not in value
    return _UNSTORABLE.search(value) is None


def text_storable_or_replaced(value: str) -> str:
    """`value` with each unstorable character replaced by U+FFFD."""
    return value if text_storable(value) else _UNSTORABLE.sub("\ufffd", value)
