"""Hypothesis strategies for what a hostile or careless sender can put in a webhook."""

import json
from datetime import timedelta, timezone

from hypothesis import strategies as st

CONTRACTS = "http://schemas.microsoft.com/xrm/2011/Contracts"

# Any code point, lone surrogates and NUL included (Hypothesis leaves surrogates out
# unless told).
any_text = st.text(alphabet=st.characters(exclude_categories=()), max_size=30)
edge_text = st.sampled_from(["", "\x00", "\ud800", "\udfff", "a" * 101, "x" * 300, "Kari"])
texts = any_text | edge_text

json_scalars = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats(allow_nan=False, allow_infinity=False)
    | texts
)
json_values = st.recursive(
    json_scalars,
    lambda children: st.lists(children, max_size=4) | st.dictionaries(texts, children, max_size=4),
    max_leaves=15,
)


def nested(depth: int, leaf="1") -> str:
    return "[" * depth + json.dumps(leaf) + "]" * depth


deep_json = st.integers(min_value=0, max_value=800).map(lambda n: json.loads(nested(n)))

offsets = st.integers(min_value=-(24 * 60 - 1), max_value=24 * 60 - 1).map(
    lambda minutes: timezone(timedelta(minutes=minutes))
)
iso_times = (
    st.datetimes(
        timezones=offsets,  # the whole range, year 1 to 9999, in any offset
    ).map(lambda moment: moment.isoformat())
    | st.sampled_from(
        [
            "9999-12-31T23:00:00-05:00",
            "0001-01-01T00:00:00+01:00",
            "9999-12-31T23:30:00Z",
            "2026-11-27T09:15:00Z",
            "2026-11-27T09:15:00",
            "not a time",
        ]
    )
    | texts
)
dataverse_dates = (
    st.integers(min_value=-(10**21), max_value=10**21).map(lambda ms: f"/Date({ms})/")
    | st.integers(min_value=-(10**15), max_value=10**15).map(lambda ms: f"/Date({ms}+0100)/")
    | st.text(max_size=30).map(lambda rest: "/Date(" + rest)
)

# (b) Dataverse RemoteExecutionContext, close enough to the real thing to get deep.
_mapped_names = st.sampled_from(
    [
        "firstname",
        "lastname",
        "emailaddress1",
        "mobilephone",
        "hlf_joinedon",
        "hlf_approle",
        "statecode",
        "parentcustomerid",
        "hlf_contactid",
        "hlf_courseid",
        "hlf_coursename",
        "hlf_status",
        "hlf_startdate",
    ]
)
typed_values = st.one_of(
    json_values,
    dataverse_dates,
    deep_json,
    st.builds(
        lambda value: {"__type": f"OptionSetValue:{CONTRACTS}", "Value": value},
        st.integers(min_value=-(2**40), max_value=2**40) | json_values,
    ),
    st.builds(
        lambda ref_id, name: {
            "__type": f"EntityReference:{CONTRACTS}",
            "Id": ref_id,
            "LogicalName": name,
            "Name": name,
        },
        st.uuids().map(str) | json_values,
        json_values,
    ),
    st.builds(lambda value: {"__type": f"Money:{CONTRACTS}", "Value": value}, json_values),
)
attributes = st.lists(
    st.builds(lambda key, value: {"key": key, "value": value}, _mapped_names | texts, typed_values),
    max_size=6,
)
entities = st.builds(
    lambda attrs, formatted: {
        "__type": f"Entity:{CONTRACTS}",
        "Attributes": attrs,
        "FormattedValues": formatted,
    },
    attributes,
    st.just([]) | json_values,
)
images = st.lists(
    st.builds(lambda name, image: {"key": name, "value": image}, texts, entities | json_values),
    max_size=2,
)
dataverse_contexts = st.fixed_dictionaries(
    {
        "MessageName": st.sampled_from(
            ["Create", "Update", "Delete", "SetState", "SetStateDynamicEntity", "Assign"]
        )
        | json_values,
        "PrimaryEntityName": st.sampled_from(["contact", "hlf_courseenrollment", "account"])
        | texts,
        "OrganizationId": st.just("00aa00aa-bb11-cc22-dd33-44ee44ee44ee"),
    },
    optional={
        "PrimaryEntityId": st.uuids().map(str) | json_values,
        "OperationCreatedOn": dataverse_dates | json_values,
        "InputParameters": st.lists(
            st.builds(
                lambda key, value: {"key": key, "value": value},
                st.sampled_from(["Target", "State", "Status"]) | texts,
                entities | typed_values,
            ),
            max_size=3,
        )
        | json_values,
        "PreEntityImages": images | json_values,
        "PostEntityImages": images | json_values,
        "OutputParameters": st.lists(
            st.builds(lambda value: {"key": "id", "value": value}, json_values), max_size=1
        ),
    },
)

# (a) the HLF envelope, fields present or not, of the right type or not.
envelope_data = st.fixed_dictionaries(
    {},
    optional={
        "member_id": st.uuids().map(str) | texts | json_values,
        "enrollment_id": st.uuids().map(str) | texts,
        "first_name": texts | json_values,
        "last_name": texts,
        "email": texts,
        "phone": texts,
        "role": st.sampled_from(["member", "peer_mentor", "boss"]) | json_values,
        "joined_on": st.dates().map(str) | iso_times,
        "reason": texts | json_values,
        "status": st.sampled_from(["enrolled", "cancelled"]) | texts,
        "starts_on": st.dates().map(str) | texts,
    },
)
envelopes = st.fixed_dictionaries(
    {},
    optional={
        "type": st.sampled_from(
            [
                "membership.created",
                "membership.updated",
                "role.updated",
                "membership.deactivated",
                "membership.reactivated",
                "course_enrollment.created",
                "course_enrollment.cancelled",
                "webhook.test",
            ]
        )
        | texts
        | json_values,
        "source": st.just("hlf-alpha") | texts | json_values,
        "occurred_at": iso_times | json_values,
        "data": envelope_data | json_values,
    },
)


def to_body(value, *, ensure_ascii: bool = True) -> bytes:
    """JSON bytes the way a sender writes them; lone surrogates become \\ud800 escapes."""
    return json.dumps(value, ensure_ascii=ensure_ascii).encode("utf-8", "surrogatepass")


raw_bodies = st.one_of(
    st.binary(max_size=200),
    json_values.map(to_body),
    envelopes.map(to_body),
    dataverse_contexts.map(to_body),
    st.integers(min_value=0, max_value=800).map(lambda n: nested(n, "\x00").encode()),
    st.sampled_from(
        [
            b"1e400",
            b'{"a": -1e400}',
            b'{"a": NaN}',
            b'{"a": Infinity}',
            b'{"a": 1' + b"0" * 400 + b"}",
        ]
    ),
)
