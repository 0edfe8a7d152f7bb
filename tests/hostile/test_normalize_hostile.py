"""The Dataverse normaliser on its own: safe for the hostile classes of issue 12.

It also reads payloads that never passed the intake's byte scan (reconciliation, stored
events), so it bounds depth and date ranges itself.
"""

import json

import pytest

from tests.webhooks.factories import dataverse_fixture
from webhooks.normalize import (
    DataverseMapping,
    MalformedPayload,
    dataverse_normalize,
    envelope_parse,
)


def contact(**attributes) -> dict:
    payload = json.loads(dataverse_fixture("contact-update-async.json"))
    target = payload["InputParameters"][0]["value"]["Attributes"]
    target.extend({"key": key, "value": value} for key, value in attributes.items())
    return payload


def test_700_deep_list_in_an_attribute_is_malformed_not_a_recursion_error():
    deep = json.loads("[" * 700 + "1" + "]" * 700)
    with pytest.raises(MalformedPayload, match="nested deeper than 64"):
        dataverse_normalize(contact(firstname=deep), mapping=DataverseMapping())


def test_deep_entities_are_bounded_too():
    value: dict = {"key": "x", "value": 1}
    for _ in range(400):
        value = {"key": "x", "value": {"Attributes": [value]}}
    with pytest.raises(MalformedPayload, match="nested deeper"):
        dataverse_normalize(contact(hlf_nested=value["value"]), mapping=DataverseMapping())


@pytest.mark.parametrize(
    "date",
    [
        "/Date(253402300800000)/",  # 10000-01-01
        "/Date(-62135596800001)/",  # before year 1
        "/Date(-62135596800000)/",  # 0001-01-01T00:00Z: not showable west of UTC
        "/Date(" + "9" * 19 + ")/",
        "/Date(" + "9" * 5000 + ")/",  # past Python's int() digit limit
    ],
)
def test_out_of_range_dates_are_malformed(date):
    with pytest.raises(MalformedPayload):
        dataverse_normalize(contact(hlf_joinedon=date), mapping=DataverseMapping())
    payload = contact()
    payload["OperationCreatedOn"] = date
    with pytest.raises(MalformedPayload):
        dataverse_normalize(payload, mapping=DataverseMapping())


def test_odd_types_in_an_entity_reference_do_not_leak_into_events():
    lookup = {
        "__type": "EntityReference:http://schemas.microsoft.com/xrm/2011/Contracts",
        "Id": "c0c0c0c0-0000-4000-8000-00000000c001",
        "LogicalName": ["not", "text"],
        "Name": {"odd": True},
    }
    payload = contact()
    payload["PrimaryEntityName"] = "hlf_courseenrollment"
    payload["InputParameters"][0]["value"]["Attributes"].append(
        {"key": "hlf_courseid", "value": lookup}
    )
    (event,) = dataverse_normalize(payload, mapping=DataverseMapping())
    assert event.data["course_id"] == lookup["Id"]
    assert "course_name" not in event.data


@pytest.mark.parametrize("occurred_at", ["9999-12-31T23:00:00-05:00", "0001-01-01T00:00:00+01:00"])
def test_envelope_times_at_the_range_edges_are_malformed(occurred_at):
    body = {"type": "x", "source": "s", "occurred_at": occurred_at, "data": {}}
    with pytest.raises(MalformedPayload, match="representable"):
        envelope_parse(body)
