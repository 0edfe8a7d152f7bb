"""Builders for the two payload kinds the sync receives, normalised as the intake does.

Dataverse bodies are the real contact fixture rewritten to another message, entity and
columns; they are normalised with `webhooks.normalize` here in the tests only (the sync
itself never imports webhooks).
"""

import json
from datetime import UTC, datetime
from pathlib import Path

from webhooks.normalize import DataverseMapping, dataverse_normalize, envelope_parse

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "dataverse"
CONTRACTS = "http://schemas.microsoft.com/xrm/2011/Contracts"
MEMBER_ID = "5b0b7c59-1d2e-4f00-8a00-00000000a001"
ENROLLMENT_ID = "1f2e3d4c-0000-4000-8000-00000000e001"
COURSE_ID = "c0c0c0c0-0000-4000-8000-00000000c001"
T0 = datetime(2026, 11, 27, 9, 15, tzinfo=UTC)
ROLE_OPTIONS = {
    "member": 100000000,
    "peer_mentor": 100000001,
    "coordinator": 100000002,
    "org_admin": 100000003,
}
STATUS_OPTIONS = {
    "enrolled": 100000000,
    "waitlisted": 100000001,
    "completed": 100000002,
    "cancelled": 100000003,
}


def envelope(event_type: str, data: dict, *, occurred_at: datetime = T0) -> list[dict]:
    body = {
        "type": event_type,
        "source": "hlf-test",
        "occurred_at": occurred_at.isoformat().replace("+00:00", "Z"),
        "data": data,
    }
    return [envelope_parse(body).to_json()]


# --- Dataverse ------------------------------------------------------------------------------


def _pairs(values: dict) -> list[dict]:
    return [{"key": key, "value": value} for key, value in values.items()]


def option(value: int) -> dict:
    return {"__type": f"OptionSetValue:{CONTRACTS}", "Value": value}


def ref(ref_id: str, logical_name: str, name: str | None = None) -> dict:
    return {
        "__type": f"EntityReference:{CONTRACTS}",
        "Id": ref_id,
        "KeyAttributes": [],
        "LogicalName": logical_name,
        "Name": name,
        "RowVersion": None,
    }


def dv_date(moment: datetime) -> str:
    return f"/Date({int(moment.timestamp() * 1000)})/"


def _entity(logical_name: str, entity_id: str, attributes: dict) -> dict:
    return {
        "__type": f"Entity:{CONTRACTS}",
        "Attributes": _pairs(attributes),
        "EntityState": None,
        "FormattedValues": [],
        "Id": entity_id,
        "KeyAttributes": [],
        "LogicalName": logical_name,
        "RelatedEntities": [],
        "RowVersion": None,
    }


def dataverse_body(
    *,
    entity: str,
    message: str,
    entity_id: str,
    occurred_at: datetime = T0,
    target: dict | None = None,
    params: dict | None = None,
    pre: dict | None = None,
) -> dict:
    body = json.loads((FIXTURES / "contact-update-async.json").read_text(encoding="utf-8"))
    body.update(
        MessageName=message,
        PrimaryEntityName=entity,
        PrimaryEntityId=entity_id,
        OperationCreatedOn=dv_date(occurred_at),
        PostEntityImages=[],
    )
    if params is None:
        params = {"Target": _entity(entity, entity_id, target or {})}
    body["InputParameters"] = _pairs(params)
    body["PreEntityImages"] = (
        [{"key": "PreImage", "value": _entity(entity, entity_id, pre)}] if pre is not None else []
    )
    return body


def dataverse(body: dict) -> list[dict]:
    return [event.to_json() for event in dataverse_normalize(body, mapping=DataverseMapping())]


def contact(
    message: str, *, member_id: str = MEMBER_ID, occurred_at: datetime = T0, **kwargs
) -> list[dict]:
    return dataverse(
        dataverse_body(
            entity="contact",
            message=message,
            entity_id=member_id,
            occurred_at=occurred_at,
            **kwargs,
        )
    )


def contact_state(state: int, *, member_id: str = MEMBER_ID, occurred_at: datetime = T0):
    params = {
        "EntityMoniker": ref(member_id, "contact"),
        "State": option(state),
        "Status": option(2 if state else 1),
    }
    return contact("SetState", member_id=member_id, occurred_at=occurred_at, params=params)


def enrollment_columns(
    *, member_id: str = MEMBER_ID, status: str = "enrolled", starts: datetime = T0
) -> dict:
    return {
        "hlf_contactid": ref(member_id, "contact", "Kari Nordmann"),
        "hlf_courseid": ref(COURSE_ID, "hlf_course", "Mestringskurs"),
        "hlf_status": option(STATUS_OPTIONS[status]),
        "hlf_startdate": dv_date(starts),
    }


def enrollment(message: str, *, occurred_at: datetime = T0, **kwargs) -> list[dict]:
    return dataverse(
        dataverse_body(
            entity="hlf_courseenrollment",
            message=message,
            entity_id=ENROLLMENT_ID,
            occurred_at=occurred_at,
            **kwargs,
        )
    )
