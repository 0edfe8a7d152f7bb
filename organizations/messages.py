"""Messages stored as a code plus parameters, rendered in the reader's language.

What the system tells an administrator (a sync outcome, a rejection's detail, a self-test
result) is stored as `{"code": ..., "params": {...}}` and turned into text only when
someone reads it, so the same row reads in Bokmål for one admin and in English for
another. Each app keeps its codes in one catalogue module (`sync/messages.py`,
`webhooks/messages.py`); this module holds the machinery they share.

Parameters are plain JSON values, or tagged values rendered at display time too:
a nested message, a role (`role("peer_mentor")` → "Likeperson"), a field name
(`field_name("email")` → "e-post") or a moment (`moment(dt)` → the reader's date format).
A list is rendered joined ("; " between messages, ", " between values).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from django.utils import formats
from django.utils.dateparse import parse_datetime
from django.utils.functional import Promise
from django.utils.timezone import localtime
from django.utils.translation import gettext_lazy as _

LEGACY = "legacy"


@dataclass(frozen=True)
class MessageCode:
    """One entry of a catalogue: the text template and, for failures, what can help.

    `retryable` is None for messages that report no failure; False means applying the
    same event again can only fail again (the source must be corrected first).
    """

    code: str
    text: Promise | str
    retryable: bool | None = None
    advice: Promise | None = None


_REGISTRY: dict[str, MessageCode] = {}


def catalogue(*codes: MessageCode) -> dict[str, MessageCode]:
    """Register an app's codes (each code once, across all apps) and return them by code."""
    entries = {}
    for entry in codes:
        existing = _REGISTRY.get(entry.code)
        if existing is not None and existing != entry:
            raise ValueError(f"message code {entry.code!r} is defined twice")
        _REGISTRY[entry.code] = entries[entry.code] = entry
    return entries


def registered_codes() -> dict[str, MessageCode]:
    return dict(_REGISTRY)


# Each app's catalogue registers itself when its AppConfig is ready (`sync.apps`,
# `webhooks.apps`), so every code is known before anyone renders one, and this module
# imports none of the apps that use it.


@dataclass(frozen=True)
class Message:
    code: str
    params: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return {"code": self.code, "params": _json_value(self.params)}

    @classmethod
    def from_json(cls, value: Any) -> Message:
        if isinstance(value, dict) and isinstance(value.get("code"), str):
            params = value.get("params")
            return cls(value["code"], params if isinstance(params, dict) else {})
        return cls(LEGACY, {"text": "" if value is None else str(value)})

    def render(self) -> str:
        return message_render(self.code, self.params)

    def __str__(self) -> str:
        return self.render()

    @property
    def definition(self) -> MessageCode | None:
        return _REGISTRY.get(self.code)

    @property
    def retryable(self) -> bool | None:
        definition = self.definition
        return definition.retryable if definition is not None else None

    def advice(self) -> str:
        definition = self.definition
        if definition is None or definition.advice is None:
            return ""
        return _format(str(definition.advice), self.params)


def message(code: str, **params: Any) -> Message:
    """A message of a registered code (an unknown code is a programming error)."""
    if code not in _REGISTRY:
        raise KeyError(f"unknown message code {code!r}")
    return Message(code, params)


def legacy(text: str) -> Message:
    """Text written before messages were codes (or by code not converted yet): shown as is."""
    return Message(LEGACY, {"text": text})


def as_message(value: Message | str | None) -> Message:
    if isinstance(value, Message):
        return value
    return legacy(value or "")


# --- tagged parameters -----------------------------------------------------------------------


def role(value: Any) -> dict[str, Any]:
    return {"role": value}


def field_name(name: str) -> dict[str, str]:
    return {"field": name}


def moment(value: datetime) -> dict[str, str]:
    return {"time": value.isoformat()}


def _json_value(value: Any) -> Any:
    if isinstance(value, Message):
        return value.to_json()
    if isinstance(value, dict):
        return {str(key): _json_value(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_json_value(item) for item in value]
    if isinstance(value, datetime):
        return moment(value)
    if value is None or isinstance(value, str | int | float | bool):
        return value
    return str(value)


def _role_label(value: Any) -> str:
    from organizations.models import Member

    try:
        return str(Member.Role(value).label)
    except ValueError:
        return f"«{value}»"


_FIELD_LABELS = {
    "member_id": _("Min Side member id"),
    "enrollment_id": _("Min Side enrollment id"),
    "from_organization_ids": _("previous organisations"),
    "role": _("role"),
}


def _field_label(name: Any) -> str:
    from organizations.models import CourseEnrollment, Member

    if name in _FIELD_LABELS:
        return str(_FIELD_LABELS[name])
    for model in (Member, CourseEnrollment):
        try:
            label = getattr(model._meta.get_field(str(name)), "verbose_name", None)
        except Exception:  # noqa: BLE001, S112 - not a field of this model; try the next
            continue
        if label:
            return str(label)
    return str(name)


# More tags from the apps (e.g. webhooks: a rejection reason as its label).
_TAGS: dict[str, Callable[[Any], str]] = {}


def tag_register(name: str, render: Callable[[Any], str]) -> None:
    _TAGS[name] = render


def _render_value(value: Any, *, joiner: str = ", ") -> Any:
    if isinstance(value, Message):
        return value.render()
    if isinstance(value, dict):
        if isinstance(value.get("code"), str) and set(value) <= {"code", "params"}:
            return Message.from_json(value).render()
        if set(value) == {"role"}:
            return _role_label(value["role"])
        if set(value) == {"field"}:
            return _field_label(value["field"])
        if len(value) == 1 and (tag := next(iter(value))) in _TAGS:
            return _TAGS[tag](value[tag])
        if set(value) == {"time"} and isinstance(value["time"], str):
            parsed = parse_datetime(value["time"])
            if parsed is not None:
                return formats.date_format(localtime(parsed), "SHORT_DATETIME_FORMAT")
        return str(value)
    if isinstance(value, list):
        rendered = [_render_value(item) for item in value]
        messages = any(
            isinstance(item, Message) or (isinstance(item, dict) and "code" in item)
            for item in value
        )
        return ("; " if messages else joiner).join(str(item) for item in rendered)
    return "" if value is None else value


def _format(template: str, params: dict[str, Any]) -> str:
    values = {key: _render_value(value) for key, value in params.items()}
    try:
        return template % values
    except (KeyError, TypeError, ValueError):
        # A row written with other parameters than the template now expects: show what
        # is there rather than fail the page.
        return " ".join([template.split("%(")[0].strip(), *(str(v) for v in values.values())])


def message_render(code: str, params: dict[str, Any] | None) -> str:
    """The message's text in the active language (the reader's)."""
    params = params if isinstance(params, dict) else {}
    definition = _REGISTRY.get(code)
    if definition is None:
        # A code from a newer release, or removed since: never a 500 on a log page.
        return " ".join([code, *(str(_render_value(v)) for v in params.values())]).strip()
    return _format(str(definition.text), params)


# Not a translatable text: the old text (or one not converted yet) is shown as written.
catalogue(MessageCode(LEGACY, "%(text)s"))
