"""Turn webhook bodies (HLF envelope or Dataverse RemoteExecutionContext) into normalised events."""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

from sync.events import NormalizedEvent
from webhooks.validation import EARLIEST_EVENT_TIME, LATEST_REPRESENTABLE_TIME, MAX_NESTING_DEPTH

PayloadKind = Literal["envelope", "dataverse"]

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
# WCF DataContractJsonSerializer dates; the optional offset is display-only, the number is UTC.
_DATE_RE = re.compile(r"^/Date\((-?[0-9]{1,20})([+-][0-9]{4})?\)/$")
_EMPTY_GUID = "00000000-0000-0000-0000-000000000000"
_STATE_ACTIVE, _STATE_INACTIVE = 0, 1
DEFAULT_ROLE = "member"


class MalformedPayload(ValueError):
    """The body is not a valid envelope or RemoteExecutionContext; the message says why."""


class NormalizationFailed(ValueError):
    """The body is authentic and well-formed but cannot be turned into events."""


def _iso_datetime_parse(*, value: Any, field_name: str) -> datetime:
    if not isinstance(value, str):
        raise MalformedPayload(f"'{field_name}' must be an ISO-8601 date-time string.")
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError as exc:
        raise MalformedPayload(f"'{field_name}' is not an ISO-8601 date-time: {value!r}.") from exc
    if parsed.tzinfo is None:
        # A naive time is ambiguous by hours; refuse rather than guess a zone.
        raise MalformedPayload(f"'{field_name}' must include a timezone (e.g. 'Z'): {value!r}.")
    return _in_range(parsed, what=f"'{field_name}' {value!r}")


def _in_range(moment: datetime, *, what: str) -> datetime:
    """`moment` in UTC, refused when some UTC offset could not show it (9999-12-31T23:00-05:00)."""
    try:
        utc = moment.astimezone(UTC)
    except (OverflowError, ValueError) as exc:
        raise MalformedPayload(f"{what} is outside the representable date range.") from exc
    if not EARLIEST_EVENT_TIME <= utc <= LATEST_REPRESENTABLE_TIME:
        raise MalformedPayload(f"{what} is outside the representable date range.")
    return utc


# --- routing -----------------------------------------------------------------


def payload_kind(body: Mapping[str, Any]) -> PayloadKind:
    """Return "dataverse" for a RemoteExecutionContext, else "envelope"."""
    if isinstance(body, Mapping) and "MessageName" in body and "PrimaryEntityName" in body:
        return "dataverse"
    return "envelope"


@dataclass(frozen=True)
class PayloadHead:
    """What the intake reads off a body before verifying it, decided once per request."""

    kind: PayloadKind
    # Selects the secret (and, until verified, nothing else): envelope `source` or the
    # Dataverse `OrganizationId`.
    source_identifier: str | None
    # The event type as the sender named it, kept for payloads that cannot be normalised.
    raw_type: str


def payload_inspect(body: Mapping[str, Any]) -> PayloadHead:
    kind = payload_kind(body)
    if kind == "dataverse":
        identifier = body.get("OrganizationId")
        entity = str(body.get("PrimaryEntityName") or "unknown").lower()
        raw_type = f"dataverse.{entity}.{str(body.get('MessageName') or 'unknown').lower()}"
    else:
        identifier = body.get("source")
        event_type = body.get("type")
        raw_type = event_type if isinstance(event_type, str) and event_type else "unknown"
    return PayloadHead(
        kind=kind,
        source_identifier=identifier if isinstance(identifier, str) and identifier else None,
        raw_type=raw_type,
    )


# --- (a) HLF envelope --------------------------------------------------------


def envelope_parse(body: Mapping[str, Any]) -> NormalizedEvent:
    """Validate an HLF event envelope and return its event; `data` passes through unchanged."""
    if not isinstance(body, Mapping):
        raise MalformedPayload("The body must be a JSON object.")
    event_type = body.get("type")
    if not isinstance(event_type, str) or not event_type.strip():
        raise MalformedPayload("Field 'type' is required and must be a non-empty string.")
    source = body.get("source")
    if not isinstance(source, str) or not source:
        raise MalformedPayload("Field 'source' is required and must be a non-empty string.")
    if "occurred_at" not in body:
        raise MalformedPayload("Field 'occurred_at' is required (ISO-8601 with timezone).")
    occurred_at = _iso_datetime_parse(value=body["occurred_at"], field_name="occurred_at")
    data = body.get("data")
    if not isinstance(data, dict):
        raise MalformedPayload("Field 'data' is required and must be an object.")
    return NormalizedEvent(type=event_type, occurred_at=occurred_at, data=data)


# --- (b) Dataverse RemoteExecutionContext ------------------------------------


def _default_role_options() -> dict[int, str]:
    return {
        100000000: "member",
        100000001: "peer_mentor",
        100000002: "coordinator",
        100000003: "org_admin",
    }


def _default_contact_attributes() -> dict[str, str]:
    return {
        "firstname": "first_name",
        "lastname": "last_name",
        "emailaddress1": "email",
        "mobilephone": "phone",
        "hlf_joinedon": "joined_on",
    }


def _default_enrollment_attributes() -> dict[str, str]:
    return {
        "hlf_contactid": "member_id",
        "hlf_courseid": "course_id",
        "hlf_coursename": "course_name",
        "hlf_status": "status",
        "hlf_startdate": "starts_on",
    }


def _default_enrollment_status_options() -> dict[int, str]:
    return {
        100000000: "enrolled",
        100000001: "waitlisted",
        100000002: "completed",
        100000003: "cancelled",
    }


@dataclass(frozen=True)
class DataverseMapping:
    """Which Dataverse logical names and choice values mean what; HLF's own names by default.

    Attribute maps go from Dataverse logical name to event field. Event fields
    with special decoding: `status` (via `enrollment_status_options`),
    `course_id` (a lookup's Name also fills `course_name`) and those in
    `date_only_fields` (sent as `YYYY-MM-DD`).
    """

    contact_entity: str = "contact"
    enrollment_entity: str = "hlf_courseenrollment"
    role_attribute: str = "hlf_approle"
    role_options: dict[int, str] = field(default_factory=_default_role_options)
    state_attribute: str = "statecode"
    contact_attributes: dict[str, str] = field(default_factory=_default_contact_attributes)
    enrollment_attributes: dict[str, str] = field(default_factory=_default_enrollment_attributes)
    enrollment_status_options: dict[int, str] = field(
        default_factory=_default_enrollment_status_options
    )
    date_only_fields: tuple[str, ...] = ("joined_on", "starts_on")
    # The contact lookup naming the organisation on a shared source (SPEC §4.4).
    routing_attribute: str = "parentcustomerid"
    # Lookup columns: the Web API serves them as `_<name>_value` (SPEC §5.1).
    lookup_attributes: tuple[str, ...] = ("parentcustomerid", "hlf_contactid", "hlf_courseid")

    @classmethod
    def from_overrides(cls, overrides: Mapping[str, Any] | None) -> DataverseMapping:
        """Build a mapping from a JSON object of overrides; each key replaces one field whole.

        Raises ValueError naming the offending key. Option keys may be JSON strings
        ("100000000") since JSON objects cannot have integer keys.
        """
        if not overrides:
            return cls()
        if not isinstance(overrides, Mapping):
            raise ValueError("Dataverse mapping overrides must be a JSON object.")
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(overrides) - known)
        if unknown:
            raise ValueError(
                f"Unknown Dataverse mapping key(s): {', '.join(map(str, unknown))}; "
                f"allowed: {', '.join(sorted(known))}."
            )
        kwargs: dict[str, Any] = {}
        for key, value in overrides.items():
            if key in ("role_options", "enrollment_status_options"):
                kwargs[key] = _option_map_parse(key=key, value=value)
            elif key in ("contact_attributes", "enrollment_attributes"):
                kwargs[key] = _name_map_parse(key=key, value=value)
            elif key in ("date_only_fields", "lookup_attributes"):
                if not isinstance(value, list | tuple) or not all(
                    isinstance(item, str) and item for item in value
                ):
                    raise ValueError(f"'{key}' must be a list of field names.")
                kwargs[key] = tuple(value)
            else:
                if not isinstance(value, str) or not value.strip():
                    raise ValueError(f"'{key}' must be a non-empty string.")
                kwargs[key] = value.strip()
        return cls(**kwargs)


def _option_map_parse(*, key: str, value: Any) -> dict[int, str]:
    if not isinstance(value, Mapping):
        raise ValueError(f"'{key}' must be an object of option value to name.")
    parsed: dict[int, str] = {}
    for option, name in value.items():
        if isinstance(option, bool):
            raise ValueError(f"'{key}': option value {option!r} is not an integer.")
        try:
            number = int(option)
        except (TypeError, ValueError) as exc:
            raise ValueError(f"'{key}': option value {option!r} is not an integer.") from exc
        if not isinstance(name, str) or not name:
            raise ValueError(f"'{key}': option {option!r} must map to a non-empty string.")
        parsed[number] = name
    return parsed


def _name_map_parse(*, key: str, value: Any) -> dict[str, str]:
    if not isinstance(value, Mapping) or not all(
        isinstance(k, str) and k and isinstance(v, str) and v for k, v in value.items()
    ):
        raise ValueError(f"'{key}' must be an object of Dataverse logical name to event field.")
    return dict(value)


@dataclass(frozen=True)
class _Ref:
    """A decoded EntityReference; equal by Id alone, as Dataverse compares lookups."""

    id: str | None
    logical_name: str | None = field(default=None, compare=False)
    name: str | None = field(default=None, compare=False)


EntityRef = _Ref  # for decoders of other forms of the same attributes (Web API rows)


@dataclass(frozen=True)
class _Entity:
    attributes: dict[str, Any]
    formatted_values: dict[str, Any]


def _type_name(value: Mapping[str, Any]) -> str:
    # "OptionSetValue:http://schemas…" — the namespace is noise, and its slashes
    # arrive escaped or not depending on the serialiser; json.loads already unescaped them.
    raw = value.get("__type")
    return raw.split(":", 1)[0] if isinstance(raw, str) else ""


def _date_decode(value: str) -> datetime:
    match = _DATE_RE.match(value)
    if not match:
        raise MalformedPayload(f"Not a Dataverse date: {value!r} (expected '/Date(<ms>[±hhmm])/').")
    try:
        moment = _EPOCH + timedelta(milliseconds=int(match.group(1)))
    except (OverflowError, ValueError) as exc:
        raise MalformedPayload(f"Dataverse date out of range: {value[:40]!r}.") from exc
    return _in_range(moment, what=f"Dataverse date {value[:40]!r}")


def _value_decode(value: Any, *, where: str, depth: int = 0) -> Any:
    """Decode one attribute value from its Dataverse JSON form to Python."""
    if depth > MAX_NESTING_DEPTH:
        # A bound of our own: the normaliser also reads payloads that did not pass the
        # intake's byte scan (reconciliation, stored events), and must never recurse away.
        raise MalformedPayload(f"{where[:200]}: nested deeper than {MAX_NESTING_DEPTH} levels.")
    if isinstance(value, str):
        return _date_decode(value) if value.startswith("/Date(") else value
    if isinstance(value, list):
        return [_value_decode(item, where=where, depth=depth + 1) for item in value]
    if not isinstance(value, Mapping):
        return value
    type_name = _type_name(value)
    if type_name == "OptionSetValue":
        number = value.get("Value")
        if not isinstance(number, int) or isinstance(number, bool):
            raise MalformedPayload(f"{where}: OptionSetValue without an integer 'Value'.")
        return number
    if type_name == "EntityReference":
        ref_id = value.get("Id")
        if ref_id is not None and not isinstance(ref_id, str):
            raise MalformedPayload(f"{where}: EntityReference 'Id' must be a string.")
        logical_name, name = value.get("LogicalName"), value.get("Name")
        return _Ref(
            id=ref_id,
            logical_name=logical_name if isinstance(logical_name, str) else None,
            name=name if isinstance(name, str) else None,
        )
    if type_name == "Money":
        amount = value.get("Value")
        if not isinstance(amount, int | float) or isinstance(amount, bool):
            raise MalformedPayload(f"{where}: Money without a numeric 'Value'.")
        return amount
    if type_name == "Entity" or "Attributes" in value:
        return _entity_decode(value, where=where, depth=depth + 1)
    # Other typed values (AliasedValue, EntityCollection, …) are not used by the
    # mapping; they are JSON already, so keep them as they came.
    return value


def _pairs_decode(value: Any, *, where: str, decode: bool = True, depth: int = 0) -> dict[str, Any]:
    """Decode a Dataverse `[{"key": …, "value": …}]` collection into a dict."""
    if value is None:
        return {}
    if not isinstance(value, list):
        raise MalformedPayload(f"{where} must be a list of {{key, value}} pairs.")
    pairs: dict[str, Any] = {}
    for item in value:
        if not isinstance(item, Mapping) or not isinstance(item.get("key"), str):
            raise MalformedPayload(f"{where} must be a list of {{key, value}} pairs.")
        key = item["key"]
        raw = item.get("value")
        pairs[key] = _value_decode(raw, where=f"{where}[{key}]", depth=depth + 1) if decode else raw
    return pairs


def _entity_decode(value: Any, *, where: str, depth: int = 0) -> _Entity:
    if not isinstance(value, Mapping):
        raise MalformedPayload(f"{where} must be an Entity object.")
    return _Entity(
        attributes=_pairs_decode(
            value.get("Attributes"), where=f"{where}.Attributes", depth=depth + 1
        ),
        formatted_values=_pairs_decode(
            value.get("FormattedValues"), where=f"{where}.FormattedValues", decode=False
        ),
    )


def _first_image(body: Mapping[str, Any], key: str) -> _Entity | None:
    images = _pairs_decode(body.get(key), where=key)
    for name, image in images.items():
        if not isinstance(image, _Entity):
            raise MalformedPayload(f"{key}[{name}] must be an Entity object.")
        return image
    return None


def _jsonable(value: Any, *, date_only: bool = False) -> Any:
    if isinstance(value, datetime):
        return value.date().isoformat() if date_only else value.isoformat()
    if isinstance(value, _Ref):
        return value.id
    if isinstance(value, _Entity):
        return {k: _jsonable(v) for k, v in value.attributes.items()}
    if isinstance(value, list):
        return [_jsonable(item, date_only=date_only) for item in value]
    return value


def _option_name(value: Any, options: Mapping[int, str]) -> Any:
    if isinstance(value, int) and not isinstance(value, bool):
        # Unknown choice values pass through as text so the sync fails them by name.
        return options.get(value, str(value))
    return _jsonable(value)


def _mapped_fields(
    attributes: Mapping[str, Any], *, names: Mapping[str, str], mapping: DataverseMapping
) -> dict[str, Any]:
    data: dict[str, Any] = {}
    course_name_from_lookup: str | None = None
    for logical_name, field_name in names.items():
        if logical_name not in attributes:
            continue
        value = attributes[logical_name]
        if field_name == "status":
            data[field_name] = _option_name(value, mapping.enrollment_status_options)
            continue
        if field_name == "course_id" and isinstance(value, _Ref) and value.name:
            course_name_from_lookup = value.name
        data[field_name] = _jsonable(value, date_only=field_name in mapping.date_only_fields)
    if course_name_from_lookup and not data.get("course_name"):
        data["course_name"] = course_name_from_lookup
    return data


def row_fields(
    attributes: Mapping[str, Any],
    *,
    kind: Literal["contact", "enrollment"],
    mapping: DataverseMapping,
) -> dict[str, Any]:
    """Event fields of decoded attributes, as a webhook's would be (a contact's role included).

    For reconciliation (SPEC §5.1): a Web API row decoded into the same Python values as
    a RemoteExecutionContext's attributes (`EntityRef` lookups, int choices, datetimes).
    """
    if kind == "enrollment":
        return _mapped_fields(attributes, names=mapping.enrollment_attributes, mapping=mapping)
    data = _mapped_fields(attributes, names=mapping.contact_attributes, mapping=mapping)
    if mapping.role_attribute in attributes:
        data["role"] = _role(attributes[mapping.role_attribute], mapping=mapping)
    return data


def _role(value: Any, *, mapping: DataverseMapping) -> Any:
    # A cleared role means the default access level (SPEC §4.2), never a higher one.
    if value is None:
        return DEFAULT_ROLE
    return _option_name(value, mapping.role_options)


def _changed(attribute: str, *, target: Mapping[str, Any], pre: Mapping[str, Any] | None) -> bool:
    """Whether an attribute in Target really changed; without a pre-image, assume it did."""
    if attribute not in target:
        return False
    if pre is None or attribute not in pre:
        return True
    return target[attribute] != pre[attribute]


def _truncated(*, entity: str, message: str, entity_id: Any) -> NormalizationFailed:
    return NormalizationFailed(
        "Dynamics truncated this message (x-ms-dynamics-msg-size-exceeded): "
        f"{message} of {entity} {entity_id} arrived without InputParameters and images, "
        "so its changes are unknown; register a smaller step or a post-image"
    )


def _state_event(
    state: Any, *, member_id: str | None, occurred_at: datetime | None
) -> NormalizedEvent | None:
    if state == _STATE_INACTIVE:
        return NormalizedEvent("membership.deactivated", occurred_at, {"member_id": member_id})
    if state == _STATE_ACTIVE:
        return NormalizedEvent("membership.reactivated", occurred_at, {"member_id": member_id})
    return None


@dataclass(frozen=True)
class _Operation:
    """The decoded parts of a RemoteExecutionContext that the mapping reads."""

    message: str
    entity: str
    entity_id: str | None
    occurred_at: datetime | None
    params: dict[str, Any]
    target: Any
    target_attrs: dict[str, Any]
    pre_attrs: dict[str, Any] | None
    merged: dict[str, Any]


def _operation_decode(body: Mapping[str, Any], *, size_exceeded: bool) -> _Operation:
    if not isinstance(body, Mapping):
        raise MalformedPayload("The body must be a JSON object.")
    message = body.get("MessageName")
    entity = body.get("PrimaryEntityName")
    if not isinstance(message, str) or not message:
        raise MalformedPayload("'MessageName' must be a non-empty string.")
    if not isinstance(entity, str) or not entity:
        raise MalformedPayload("'PrimaryEntityName' must be a non-empty string.")
    entity_id = body.get("PrimaryEntityId")
    if entity_id is not None and not isinstance(entity_id, str):
        raise MalformedPayload("'PrimaryEntityId' must be a string.")
    created_on = body.get("OperationCreatedOn")
    if created_on is not None and not isinstance(created_on, str):
        raise MalformedPayload("'OperationCreatedOn' must be a '/Date(<ms>)/' string.")
    occurred_at = _date_decode(created_on) if created_on else None

    is_write = message in ("Create", "Update")
    if size_exceeded or (is_write and body.get("InputParameters") is None):
        raise _truncated(entity=entity, message=message, entity_id=entity_id)

    params = _pairs_decode(body.get("InputParameters"), where="InputParameters")
    pre = _first_image(body, "PreEntityImages")
    post = _first_image(body, "PostEntityImages")
    target = params.get("Target")
    if is_write and not isinstance(target, _Entity):
        raise MalformedPayload(f"{message} of {entity}: InputParameters has no Target entity.")
    target_attrs = target.attributes if isinstance(target, _Entity) else {}
    pre_attrs = pre.attributes if pre else None
    # Target carries only the columns this operation wrote; anything absent from it
    # did not change, so an image's value for it is current (post over pre).
    merged = {**(pre_attrs or {}), **(post.attributes if post else {}), **target_attrs}

    if (not entity_id or entity_id == _EMPTY_GUID) and message == "Create":
        # Pre-operation Create steps run before the row has its id.
        outputs = _pairs_decode(body.get("OutputParameters"), where="OutputParameters")
        output_id = outputs.get("id")
        entity_id = output_id if isinstance(output_id, str) and output_id else entity_id
    return _Operation(
        message=message,
        entity=entity,
        entity_id=entity_id,
        occurred_at=occurred_at,
        params=params,
        target=target,
        target_attrs=target_attrs,
        pre_attrs=pre_attrs,
        merged=merged,
    )


def _contact_events(op: _Operation, *, mapping: DataverseMapping) -> list[NormalizedEvent]:
    member_id, at = op.entity_id, op.occurred_at
    profile = _mapped_fields(op.merged, names=mapping.contact_attributes, mapping=mapping)

    if op.message == "Create":
        data = {"member_id": member_id, **profile}
        if op.merged.get(mapping.role_attribute) is not None:
            data["role"] = _role(op.merged[mapping.role_attribute], mapping=mapping)
        return [NormalizedEvent("membership.created", at, data)]

    if op.message in ("SetState", "SetStateDynamicEntity"):
        if "State" not in op.params:
            raise NormalizationFailed(
                f"{op.message} of contact {member_id} carries no 'State' input parameter."
            )
        state = op.params["State"]
        event = _state_event(state, member_id=member_id, occurred_at=at)
        if event is None:
            raise NormalizationFailed(
                f"{op.message} of contact {member_id}: state {_jsonable(state)!r} is neither "
                f"{_STATE_ACTIVE} (active) nor {_STATE_INACTIVE} (inactive)."
            )
        return [event]

    # Update
    target, pre = op.target_attrs, op.pre_attrs
    events: list[NormalizedEvent] = []
    if any(_changed(name, target=target, pre=pre) for name in mapping.contact_attributes):
        events.append(
            NormalizedEvent("membership.updated", at, {"member_id": member_id, **profile})
        )
    if _changed(mapping.role_attribute, target=target, pre=pre):
        role = _role(target[mapping.role_attribute], mapping=mapping)
        events.append(NormalizedEvent("role.updated", at, {"member_id": member_id, "role": role}))
    if _changed(mapping.state_attribute, target=target, pre=pre):
        event = _state_event(target[mapping.state_attribute], member_id=member_id, occurred_at=at)
        if event:
            events.append(event)
    # A no-op update still yields one event, so the delivery is visible in the sync log.
    return events or [NormalizedEvent("membership.updated", at, {"member_id": member_id})]


def _enrollment_event(op: _Operation, *, mapping: DataverseMapping) -> NormalizedEvent:
    data = {"enrollment_id": op.entity_id}
    data.update(_mapped_fields(op.merged, names=mapping.enrollment_attributes, mapping=mapping))
    if op.message == "Delete":
        data["status"] = "cancelled"
        return NormalizedEvent("course_enrollment.cancelled", op.occurred_at, data)
    suffix = "created" if op.message == "Create" else "updated"
    return NormalizedEvent(f"course_enrollment.{suffix}", op.occurred_at, data)


def _unmapped_event(op: _Operation) -> NormalizedEvent:
    # Keep what a person needs to understand it; the sync skips it as unsupported.
    data = {
        "entity": op.entity,
        "message": op.message,
        "entity_id": op.entity_id,
        "attributes": {k: _jsonable(v) for k, v in op.target_attrs.items()},
        "formatted_values": (
            dict(op.target.formatted_values) if isinstance(op.target, _Entity) else {}
        ),
    }
    event_type = f"dataverse.{op.entity.lower()}.{op.message.lower()}"
    return NormalizedEvent(event_type, op.occurred_at, data)


_CONTACT_MESSAGES = ("Create", "Update", "SetState", "SetStateDynamicEntity")
_ENROLLMENT_MESSAGES = ("Create", "Update", "Delete")


def dataverse_normalize(
    body: Mapping[str, Any], *, mapping: DataverseMapping, size_exceeded: bool = False
) -> list[NormalizedEvent]:
    """Map a Dataverse RemoteExecutionContext to events (SPEC §4.2, default mapping).

    Raises MalformedPayload for a structurally broken context and
    NormalizationFailed for an authentic one that cannot be mapped, such as a
    message Dynamics truncated.
    """
    op = _operation_decode(body, size_exceeded=size_exceeded)
    entity = op.entity.lower()
    is_contact = entity == mapping.contact_entity.lower() and op.message in _CONTACT_MESSAGES
    is_enrollment = (
        entity == mapping.enrollment_entity.lower() and op.message in _ENROLLMENT_MESSAGES
    )
    if (is_contact or is_enrollment) and not op.entity_id:
        raise MalformedPayload(f"{op.message} of {op.entity}: 'PrimaryEntityId' is required.")
    if is_contact:
        return _contact_events(op, mapping=mapping)
    if is_enrollment:
        return [_enrollment_event(op, mapping=mapping)]
    return [_unmapped_event(op)]


def payload_normalize(
    *,
    body: Mapping[str, Any],
    kind: PayloadKind | None = None,
    mapping: DataverseMapping | None = None,
    size_exceeded: bool = False,
) -> list[NormalizedEvent]:
    """Normalise either payload kind; the one entry point the intake needs."""
    if (kind or payload_kind(body)) == "dataverse":
        mapping = mapping or DataverseMapping()
        return dataverse_normalize(body, mapping=mapping, size_exceeded=size_exceeded)
    return [envelope_parse(body)]


def _ref_id(value: Any) -> str | None:
    if isinstance(value, _Ref):
        return value.id or None
    return value if isinstance(value, str) and value else None


@dataclass(frozen=True)
class DataverseRouting:
    """What a shared source routes a RemoteExecutionContext by (SPEC §4.4)."""

    entity: str  # "contact", "enrollment" or "other"
    value: str | None  # the routing attribute: Target, else post-image, else pre-image
    previous: str | None  # the pre-image's value, when there is one


def dataverse_routing(body: Mapping[str, Any], *, mapping: DataverseMapping) -> DataverseRouting:
    """The routing attribute of a context that normalised without error."""
    op = _operation_decode(body, size_exceeded=False)
    entity = op.entity.lower()
    if entity == mapping.enrollment_entity.lower():
        return DataverseRouting("enrollment", None, None)
    if entity != mapping.contact_entity.lower():
        return DataverseRouting("other", None, None)
    attribute = mapping.routing_attribute
    previous = _ref_id((op.pre_attrs or {}).get(attribute))
    return DataverseRouting("contact", _ref_id(op.merged.get(attribute)), previous)
