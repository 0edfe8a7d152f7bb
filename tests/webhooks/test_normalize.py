"""Tests for turning envelopes and Dataverse contexts into events (webhooks.normalize)."""

import copy
import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

from webhooks.normalize import (
    DataverseMapping,
    MalformedPayload,
    NormalizationFailed,
    NormalizedEvent,
    dataverse_normalize,
    envelope_parse,
    payload_inspect,
    payload_kind,
    payload_normalize,
)

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "dataverse"
CONTRACTS = "http://schemas.microsoft.com/xrm/2011/Contracts"

CONTACT_ID = "6d81597f-0f9f-e711-8122-000d3aa2331c"
CONTACT_ORG = "00aa00aa-bb11-cc22-dd33-44ee44ee44ee"
# OperationCreatedOn "/Date(1506409448000-0700)/": the offset is ignored.
CONTACT_OCCURRED = datetime(2017, 9, 26, 7, 4, 8, tzinfo=UTC)
AGENT_ID = "44ee44ee-ff55-aa66-bb77-88cc88cc88cc"
ENROLLMENT_ID = "1f2e3d4c-0000-4000-8000-00000000e001"
COURSE_ID = "c0c0c0c0-0000-4000-8000-00000000c001"
MAPPING = DataverseMapping()


def load(name):
    return json.loads((FIXTURES / name).read_text(encoding="utf-8"))


def contact_fixture():
    return load("contact-update-async.json")


def agent_fixture():
    return load("agentstatus-create-sync.json")


# --- builders for Dataverse JSON shapes -------------------------------------


def pairs(values):
    return [{"key": key, "value": value} for key, value in values.items()]


def option(value, type_name=f"OptionSetValue:{CONTRACTS}"):
    return {"__type": type_name, "Value": value}


def ref(ref_id, logical_name, name=None):
    return {
        "__type": f"EntityReference:{CONTRACTS}",
        "Id": ref_id,
        "KeyAttributes": [],
        "LogicalName": logical_name,
        "Name": name,
        "RowVersion": None,
    }


def money(value):
    return {"__type": f"Money:{CONTRACTS}", "Value": value}


def entity(logical_name, entity_id, attributes, formatted=None):
    return {
        "__type": f"Entity:{CONTRACTS}",
        "Attributes": pairs(attributes),
        "EntityState": None,
        "FormattedValues": pairs(formatted or {}),
        "Id": entity_id,
        "KeyAttributes": [],
        "LogicalName": logical_name,
        "RelatedEntities": [],
        "RowVersion": None,
    }


def image(logical_name, entity_id, attributes):
    # Images arrive without "__type", as in the contact fixture's post-image.
    value = entity(logical_name, entity_id, attributes)
    del value["__type"]
    return [{"key": "Image", "value": value}]


def context(
    *,
    entity_name,
    message,
    target=None,
    pre=None,
    post=None,
    params=None,
    entity_id=CONTACT_ID,
):
    """The real contact fixture, rewritten to another entity, message and columns."""
    body = contact_fixture()
    body["MessageName"] = message
    body["PrimaryEntityName"] = entity_name
    body["PrimaryEntityId"] = entity_id
    if params is not None:
        body["InputParameters"] = pairs(params)
    elif target is not None:
        body["InputParameters"] = pairs({"Target": entity(entity_name, entity_id, target)})
    body["PreEntityImages"] = image(entity_name, entity_id, pre) if pre is not None else []
    body["PostEntityImages"] = image(entity_name, entity_id, post) if post is not None else []
    return body


def contact(message="Update", **kwargs):
    return context(entity_name="contact", message=message, **kwargs)


def enrollment(message, **kwargs):
    return context(
        entity_name="hlf_courseenrollment", message=message, entity_id=ENROLLMENT_ID, **kwargs
    )


def normalize(body, **kwargs):
    return dataverse_normalize(body, mapping=kwargs.pop("mapping", MAPPING), **kwargs)


def types(events):
    return [event.type for event in events]


# --- the real fixtures --------------------------------------------------------


def test_contact_update_fixture_becomes_membership_updated():
    events = normalize(contact_fixture())

    assert events == [
        NormalizedEvent(
            type="membership.updated",
            occurred_at=CONTACT_OCCURRED,
            data={"member_id": CONTACT_ID, "first_name": "James"},
        )
    ]
    assert events[0].occurred_at.utcoffset().total_seconds() == 0


def test_agentstatus_fixture_is_passed_on_as_unmapped_with_values_decoded():
    (event,) = normalize(agent_fixture())

    assert event.type == "dataverse.msdyn_agentstatus.create"
    assert event.occurred_at == datetime(2024, 7, 24, 10, 28, 25, 786000, tzinfo=UTC)
    attributes = event.data["attributes"]
    assert attributes["statecode"] == 0  # OptionSetValue → its Value
    assert attributes["statuscode"] == 1
    assert attributes["owningbusinessunit"] == "e95e91cf-7b10-ef11-9f8a-6045bdd4c6be"
    assert attributes["msdyn_capacitymodifiedon"] == "2024-07-24T08:26:41+00:00"
    assert attributes["msdyn_isagentloggedin"] is False
    assert event.data["entity_id"] == AGENT_ID
    assert event.data["formatted_values"]["statecode"] == "Active"
    json.dumps(event.to_json())  # storable as JSON


@pytest.mark.parametrize(
    ("body", "kind", "source", "raw_type"),
    [
        (contact_fixture(), "dataverse", CONTACT_ORG, "dataverse.contact.update"),
        (
            agent_fixture(),
            "dataverse",
            "55ff55ff-aa66-bb77-cc88-99dd99dd99dd",
            "dataverse.msdyn_agentstatus.create",
        ),
        ({"type": "webhook.test", "source": "hlf-oslo"}, "envelope", "hlf-oslo", "webhook.test"),
        ({"type": "webhook.test", "source": 7}, "envelope", None, "webhook.test"),
        ({"MessageName": "Update", "OrganizationId": "x"}, "envelope", None, "unknown"),
    ],
)
def test_a_payload_is_inspected_once_for_kind_source_and_raw_type(body, kind, source, raw_type):
    head = payload_inspect(body)

    assert (head.kind, head.source_identifier, head.raw_type) == (kind, source, raw_type)
    assert payload_kind(body) == kind


# --- the Dataverse format traps ------------------------------------------------


@pytest.mark.parametrize(
    "created_on",
    ["/Date(1506409448000-0700)/", "/Date(1506409448000+0200)/", "/Date(1506409448000)/"],
)
def test_date_offset_suffix_is_ignored(created_on):
    body = contact_fixture()
    body["OperationCreatedOn"] = created_on

    assert normalize(body)[0].occurred_at == CONTACT_OCCURRED


@pytest.mark.parametrize(
    "bad_date",
    ["/Date(abc)/", "/Date()/", "/Date(1506409448000-07)/", "/Date(99999999999999999999)/"],
)
def test_bad_dates_are_malformed(bad_date):
    in_header = contact_fixture()
    in_header["OperationCreatedOn"] = bad_date
    in_attribute = contact(target={"firstname": "James", "hlf_joinedon": bad_date})

    with pytest.raises(MalformedPayload, match="Date"):
        normalize(in_header)
    with pytest.raises(MalformedPayload, match="Date"):
        normalize(in_attribute)


@pytest.mark.parametrize(
    "type_name",
    [f"OptionSetValue:{CONTRACTS}", "OptionSetValue", "OptionSetValue:#Microsoft.Xrm.Sdk"],
)
@pytest.mark.parametrize("escaped", [True, False])
def test_type_prefix_is_compared_after_json_parsing(type_name, escaped):
    body = contact(target={"hlf_approle": option(100000002, type_name)})
    raw = json.dumps(body)
    if escaped:
        raw = raw.replace("/", "\\/")  # how Dataverse writes it; still the same JSON
        assert "http:\\/\\/" in raw

    events = normalize(json.loads(raw))

    assert events[0] == NormalizedEvent(
        "role.updated", CONTACT_OCCURRED, {"member_id": CONTACT_ID, "role": "coordinator"}
    )


def test_money_multiselect_and_lookup_values_decode_in_unmapped_entities():
    body = context(
        entity_name="hlf_invoice",
        message="Create",
        target={
            "hlf_fee": money(450.5),
            "hlf_topics": [option(1), option(3)],
            "hlf_payer": ref(CONTACT_ID, "contact", "James"),
            "hlf_paidon": "/Date(1506384247000)/",
        },
    )

    (event,) = normalize(body)

    assert event.type == "dataverse.hlf_invoice.create"
    assert event.data["attributes"] == {
        "hlf_fee": 450.5,
        "hlf_topics": [1, 3],
        "hlf_payer": CONTACT_ID,
        "hlf_paidon": "2017-09-26T00:04:07+00:00",
    }


# --- contact ---------------------------------------------------------------------


def test_contact_create_maps_profile_and_role():
    body = contact(
        "Create",
        target={
            "firstname": "Kari",
            "lastname": "Nordmann",
            "emailaddress1": "kari@example.no",
            "mobilephone": "+47 400 00 000",
            "hlf_joinedon": "/Date(1506384247000)/",
            "hlf_approle": option(100000001),
            "fullname": "Kari Nordmann",
        },
    )

    assert normalize(body) == [
        NormalizedEvent(
            "membership.created",
            CONTACT_OCCURRED,
            {
                "member_id": CONTACT_ID,
                "first_name": "Kari",
                "last_name": "Nordmann",
                "email": "kari@example.no",
                "phone": "+47 400 00 000",
                "joined_on": "2017-09-26",  # date-only: the UTC day
                "role": "peer_mentor",
            },
        )
    ]


def test_contact_create_from_real_create_fixture_without_profile_columns():
    body = agent_fixture()
    body["PrimaryEntityName"] = "contact"
    for item in body["InputParameters"]:
        item["value"]["LogicalName"] = "contact"

    (event,) = normalize(body)

    assert event.type == "membership.created"
    assert event.data == {"member_id": AGENT_ID}  # statecode is not a profile field


def test_contact_create_with_empty_guid_takes_id_from_output_parameters():
    body = agent_fixture()
    body["PrimaryEntityName"] = "contact"
    body["PrimaryEntityId"] = "00000000-0000-0000-0000-000000000000"

    assert normalize(body)[0].data["member_id"] == AGENT_ID


@pytest.mark.parametrize(
    ("value", "role"),
    [
        (option(100000000), "member"),
        (option(100000003), "org_admin"),
        (option(424242), "424242"),  # unknown: the sync fails it by name
        (None, "member"),  # cleared: the default, never more access
    ],
)
def test_role_option_values(value, role):
    events = normalize(contact(target={"hlf_approle": value}))

    assert events == [
        NormalizedEvent("role.updated", CONTACT_OCCURRED, {"member_id": CONTACT_ID, "role": role})
    ]


@pytest.mark.parametrize(
    ("pre_role", "expected"),
    [
        (None, ["role.updated"]),  # no pre-image: assume it changed
        (option(100000000), ["role.updated"]),  # changed from member
        (option(100000002), ["membership.updated"]),  # unchanged: nothing relevant
    ],
)
def test_role_change_is_detected_against_pre_image(pre_role, expected):
    pre = None if pre_role is None else {"hlf_approle": pre_role}
    body = contact(target={"hlf_approle": option(100000002)}, pre=pre)

    events = normalize(body)

    assert types(events) == expected
    if expected == ["membership.updated"]:
        assert events[0].data == {"member_id": CONTACT_ID}


@pytest.mark.parametrize(
    ("state", "pre_state", "expected"),
    [
        (1, None, ["membership.deactivated"]),
        (0, None, ["membership.reactivated"]),
        (1, 0, ["membership.deactivated"]),
        (0, 1, ["membership.reactivated"]),
        (1, 1, ["membership.updated"]),  # the double-fired Update Dataverse warns about
    ],
)
def test_statecode_change_in_update(state, pre_state, expected):
    pre = None if pre_state is None else {"statecode": option(pre_state)}
    body = contact(target={"statecode": option(state), "statuscode": option(2)}, pre=pre)

    events = normalize(body)

    assert types(events) == expected
    assert all(event.data["member_id"] == CONTACT_ID for event in events)


def test_update_with_profile_role_and_state_yields_three_events_in_order():
    body = contact(
        target={
            "firstname": "James",
            "hlf_approle": option(100000001),
            "statecode": option(1),
        }
    )

    events = normalize(body)

    assert types(events) == ["membership.updated", "role.updated", "membership.deactivated"]
    assert events[0].data == {"member_id": CONTACT_ID, "first_name": "James"}
    assert events[1].data == {"member_id": CONTACT_ID, "role": "peer_mentor"}


def test_update_merges_post_image_under_target():
    body = contact(
        target={"firstname": "James"},
        post={"firstname": "Jim", "lastname": "Glynn", "emailaddress1": None},
    )

    (event,) = normalize(body)

    assert event.data == {
        "member_id": CONTACT_ID,
        "first_name": "James",  # Target wins
        "last_name": "Glynn",
        "email": None,  # a cleared column is passed on, not dropped
    }


def test_update_with_unchanged_profile_values_reports_nothing_changed():
    body = contact(target={"firstname": "James"}, pre={"firstname": "James"})

    assert normalize(body) == [
        NormalizedEvent("membership.updated", CONTACT_OCCURRED, {"member_id": CONTACT_ID})
    ]


def test_update_with_only_irrelevant_columns_still_yields_one_event():
    body = contact(target={"fullname": "James Glynn", "modifiedon": "/Date(1506384247000)/"})

    assert normalize(body) == [
        NormalizedEvent("membership.updated", CONTACT_OCCURRED, {"member_id": CONTACT_ID})
    ]


@pytest.mark.parametrize("message", ["SetState", "SetStateDynamicEntity"])
@pytest.mark.parametrize(
    ("state", "expected"), [(1, "membership.deactivated"), (0, "membership.reactivated")]
)
def test_setstate_deactivates_and_reactivates(message, state, expected):
    body = contact(
        message,
        params={
            "EntityMoniker": ref(CONTACT_ID, "contact"),
            "State": option(state),
            "Status": option(2 if state else 1),
        },
    )

    assert normalize(body) == [
        NormalizedEvent(expected, CONTACT_OCCURRED, {"member_id": CONTACT_ID})
    ]


@pytest.mark.parametrize(
    "params",
    [
        {"EntityMoniker": ref(CONTACT_ID, "contact")},
        {"EntityMoniker": ref(CONTACT_ID, "contact"), "State": option(2)},
    ],
)
def test_setstate_without_a_usable_state_fails(params):
    with pytest.raises(NormalizationFailed, match=CONTACT_ID):
        normalize(contact("SetState", params=params))


def test_other_contact_messages_are_unmapped():
    body = contact("Delete", params={"Target": ref(CONTACT_ID, "contact")})

    (event,) = normalize(body)

    assert event.type == "dataverse.contact.delete"
    assert event.data["entity_id"] == CONTACT_ID


# --- course enrollment --------------------------------------------------------------


def enrollment_columns(**extra):
    columns = {
        "hlf_contactid": ref(CONTACT_ID, "contact", "James Glynn"),
        "hlf_courseid": ref(COURSE_ID, "hlf_course", "Mestringskurs"),
        "hlf_status": option(100000001),
        "hlf_startdate": "/Date(1506384247000)/",
    }
    columns.update(extra)
    return columns


def test_enrollment_create():
    (event,) = normalize(enrollment("Create", target=enrollment_columns()))

    assert event == NormalizedEvent(
        "course_enrollment.created",
        CONTACT_OCCURRED,
        {
            "enrollment_id": ENROLLMENT_ID,
            "member_id": CONTACT_ID,
            "course_id": COURSE_ID,
            "course_name": "Mestringskurs",  # from the lookup's Name
            "status": "waitlisted",
            "starts_on": "2017-09-26",
        },
    )


def test_enrollment_course_name_column_wins_over_lookup_name():
    columns = enrollment_columns(hlf_coursename="Mestring 2026")

    (event,) = normalize(enrollment("Create", target=columns))

    assert event.data["course_name"] == "Mestring 2026"


@pytest.mark.parametrize(
    ("status", "expected"),
    [(100000000, "enrolled"), (100000002, "completed"), (100000003, "cancelled"), (7, "7")],
)
def test_enrollment_update_takes_unchanged_columns_from_images(status, expected):
    body = enrollment(
        "Update",
        target={"hlf_status": option(status)},
        pre=enrollment_columns(),
        post={"hlf_courseid": ref(COURSE_ID, "hlf_course", "Mestringskurs")},
    )

    (event,) = normalize(body)

    assert event.type == "course_enrollment.updated"
    assert event.data["status"] == expected  # Target wins over the pre-image
    assert event.data["member_id"] == CONTACT_ID
    assert event.data["course_id"] == COURSE_ID


def test_enrollment_delete_is_cancelled():
    body = enrollment(
        "Delete",
        params={"Target": ref(ENROLLMENT_ID, "hlf_courseenrollment")},
        pre=enrollment_columns(hlf_status=option(100000000)),
    )

    (event,) = normalize(body)

    assert event.type == "course_enrollment.cancelled"
    assert event.data["enrollment_id"] == ENROLLMENT_ID
    assert event.data["member_id"] == CONTACT_ID
    assert event.data["status"] == "cancelled"


# --- truncated and malformed ------------------------------------------------------


def truncated(body):
    # What Dynamics sends over 256 KB: no ParentContext, InputParameters or images.
    for key in ("ParentContext", "InputParameters", "PreEntityImages", "PostEntityImages"):
        body.pop(key, None)
    return body


@pytest.mark.parametrize(
    ("body", "size_exceeded"),
    [
        pytest.param(contact_fixture(), True, id="header-set"),
        pytest.param(truncated(contact_fixture()), False, id="update-without-input"),
        pytest.param(truncated(contact_fixture()), True, id="both"),
        pytest.param(truncated(contact(message="Create")), False, id="create-without-input"),
    ],
)
def test_truncated_message_fails_with_explanation(body, size_exceeded):
    assert normalize(contact_fixture())  # the untruncated message normalises

    with pytest.raises(NormalizationFailed) as excinfo:
        normalize(copy.deepcopy(body), size_exceeded=size_exceeded)

    message = str(excinfo.value)
    assert "x-ms-dynamics-msg-size-exceeded" in message
    assert CONTACT_ID in message
    assert "post-image" in message


def break_input_parameters(body):
    body["InputParameters"] = {"Target": body["InputParameters"][0]["value"]}


def break_attributes(body):
    target = body["InputParameters"][0]["value"]
    target["Attributes"] = {"firstname": "James"}


def break_images(body):
    body["PostEntityImages"] = {"AsynchronousStepPrimaryName": {}}


def break_pair(body):
    body["InputParameters"][0]["value"]["Attributes"].append({"value": "no key"})


def break_option(body):
    body["InputParameters"][0]["value"]["Attributes"].append(
        {"key": "hlf_approle", "value": option("100000000")}
    )


def break_target(body):
    body["InputParameters"] = pairs({"Target": "not an entity"})


def break_message(body):
    del body["MessageName"]


def break_entity_id(body):
    body["PrimaryEntityId"] = None


@pytest.mark.parametrize(
    ("breaker", "needle"),
    [
        (break_input_parameters, "InputParameters"),
        (break_attributes, "Attributes"),
        (break_images, "PostEntityImages"),
        (break_pair, "key, value"),
        (break_option, "OptionSetValue"),
        (break_target, "Target"),
        (break_message, "MessageName"),
        (break_entity_id, "PrimaryEntityId"),
    ],
)
def test_malformed_structure_is_rejected_with_a_clear_message(breaker, needle):
    body = contact_fixture()
    assert normalize(copy.deepcopy(body))  # intact, it normalises
    breaker(body)

    with pytest.raises(MalformedPayload, match=needle):
        normalize(body)


# --- mapping configuration ---------------------------------------------------------------


def test_default_mapping():
    assert MAPPING.contact_entity == "contact"
    assert MAPPING.enrollment_entity == "hlf_courseenrollment"
    assert MAPPING.role_attribute == "hlf_approle"
    assert MAPPING.role_options == {
        100000000: "member",
        100000001: "peer_mentor",
        100000002: "coordinator",
        100000003: "org_admin",
    }
    assert MAPPING.enrollment_status_options == {
        100000000: "enrolled",
        100000001: "waitlisted",
        100000002: "completed",
        100000003: "cancelled",
    }


def test_overrides_rename_entities_attributes_and_options():
    mapping = DataverseMapping.from_overrides(
        {
            "contact_entity": "hlf_member",
            "role_attribute": "hlf_role",
            "role_options": {"1": "coordinator"},
            "contact_attributes": {"hlf_given": "first_name"},
        }
    )
    body = context(
        entity_name="hlf_member",
        message="Update",
        target={"hlf_given": "Kari", "firstname": "ignored", "hlf_role": option(1)},
    )

    events = normalize(body, mapping=mapping)

    assert [(e.type, e.data) for e in events] == [
        ("membership.updated", {"member_id": CONTACT_ID, "first_name": "Kari"}),
        ("role.updated", {"member_id": CONTACT_ID, "role": "coordinator"}),
    ]
    assert mapping.enrollment_entity == "hlf_courseenrollment"  # untouched default
    # With the default mapping the renamed entity is not a member at all.
    assert types(normalize(body)) == ["dataverse.hlf_member.update"]


def test_empty_overrides_are_the_defaults():
    assert DataverseMapping.from_overrides({}) == MAPPING
    assert DataverseMapping.from_overrides(None) == MAPPING


@pytest.mark.parametrize(
    ("overrides", "needle"),
    [
        ({"contact_entiy": "x"}, "contact_entiy"),
        ({"contact_entity": ""}, "contact_entity"),
        ({"contact_entity": 5}, "contact_entity"),
        ({"role_options": {"one": "member"}}, "role_options"),
        ({"role_options": {"1": 3}}, "role_options"),
        ({"role_options": ["member"]}, "role_options"),
        ({"contact_attributes": {"firstname": 1}}, "contact_attributes"),
        ({"date_only_fields": "joined_on"}, "date_only_fields"),
    ],
)
def test_bad_overrides_are_refused(overrides, needle):
    with pytest.raises(ValueError, match=needle):
        DataverseMapping.from_overrides(overrides)


# --- HLF envelope -------------------------------------------------------------------------


def envelope(**changes):
    body = {
        "type": "membership.created",
        "source": "hlf-oslo",
        "occurred_at": "2026-11-27T09:15:00Z",
        "data": {"member_id": "5b0b7c59", "first_name": "Kari", "role": "peer_mentor"},
    }
    body.update(changes)
    return body


def test_envelope_parses_and_passes_data_through():
    body = envelope()

    event = envelope_parse(body)

    assert event == NormalizedEvent(
        "membership.created", datetime(2026, 11, 27, 9, 15, tzinfo=UTC), body["data"]
    )
    assert payload_normalize(body=body) == [event]


def test_envelope_time_with_offset_is_converted_to_utc():
    event = envelope_parse(envelope(occurred_at="2026-11-27T10:15:00+01:00"))

    assert event.occurred_at == datetime(2026, 11, 27, 9, 15, tzinfo=UTC)
    assert event.occurred_at.utcoffset().total_seconds() == 0


@pytest.mark.parametrize("field_name", ["type", "source", "occurred_at", "data"])
def test_envelope_missing_field_is_malformed(field_name):
    body = envelope()
    envelope_parse(body)  # complete, it parses
    del body[field_name]

    with pytest.raises(MalformedPayload, match=field_name):
        envelope_parse(body)


@pytest.mark.parametrize(
    ("field_name", "value"),
    [
        ("type", ""),
        ("type", 3),
        ("source", None),
        ("occurred_at", "2026-11-27T09:15:00"),  # no timezone
        ("occurred_at", "yesterday"),
        ("occurred_at", 1764234900),
        ("data", ["member_id"]),
        ("data", None),
    ],
)
def test_envelope_bad_field_is_malformed(field_name, value):
    with pytest.raises(MalformedPayload, match=field_name):
        envelope_parse(envelope(**{field_name: value}))


@pytest.mark.parametrize("body", [[], "text", None])
def test_non_object_body_is_malformed(body):
    with pytest.raises(MalformedPayload):
        envelope_parse(body)


# --- storage form -------------------------------------------------------------------


@pytest.mark.parametrize(
    "event",
    [
        *normalize(contact_fixture()),
        *normalize(agent_fixture()),
        envelope_parse(envelope()),
        NormalizedEvent("webhook.test", None, {}),
    ],
    ids=["contact", "agentstatus", "envelope", "no-time"],
)
def test_events_round_trip_through_json(event):
    stored = json.loads(json.dumps(event.to_json()))

    assert NormalizedEvent.from_json(stored) == event


def test_to_json_shape():
    (event,) = normalize(contact_fixture())

    assert event.to_json() == {
        "type": "membership.updated",
        "occurred_at": "2017-09-26T07:04:08+00:00",
        "data": {"member_id": CONTACT_ID, "first_name": "James"},
    }


def test_payload_normalize_dispatches_dataverse_with_default_mapping():
    assert payload_normalize(body=contact_fixture()) == normalize(contact_fixture())
