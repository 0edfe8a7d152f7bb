"""Property-based fuzzing of everything that reads what a sender controls (issue 12).

Each property: never an unexpected exception (only the documented refusal), and what is
accepted is safe for every later step (storable, in range, bounded depth); URLs carry
every value encoded.
"""

import json
import math
import string
from datetime import UTC, datetime, timedelta
from urllib.parse import unquote, urlsplit

import pytest
from django.core.exceptions import ValidationError
from hypothesis import assume, example, given
from hypothesis import strategies as st

from portal_integration.deep_links import PLACEHOLDERS, deep_link_fill, deep_link_validate
from tests.fuzz import strategies as fz
from webhooks import signing
from webhooks.normalize import (
    DataverseMapping,
    MalformedPayload,
    NormalizationFailed,
    dataverse_normalize,
    payload_normalize,
)
from webhooks.validation import (
    EARLIEST_EVENT_TIME,
    LATEST_REPRESENTABLE_TIME,
    MAX_NESTING_DEPTH,
    InputRefused,
    json_body_parse,
    normalized_events_check,
    text_storable,
)

pytestmark = pytest.mark.fuzz


def assert_safe(value) -> None:
    """Storable strings (keys too), finite numbers, nesting within the limit: iteratively."""
    stack = [(value, 0)]
    while stack:
        item, depth = stack.pop()
        assert depth <= MAX_NESTING_DEPTH
        if isinstance(item, str):
            assert text_storable(item)
        elif isinstance(item, bool) or item is None:
            pass
        elif isinstance(item, float):
            assert math.isfinite(item)
        elif isinstance(item, int):
            assert abs(item) <= 1.8e308
        elif isinstance(item, dict):
            stack.extend((key, depth) for key in item)
            stack.extend((child, depth + 1) for child in item.values())
        else:
            assert isinstance(item, list)
            stack.extend((child, depth + 1) for child in item)


# --- the validation step -------------------------------------------------------------------


@given(body=fz.raw_bodies)
@example(body=b'{"source": "\\ud800"}')
@example(body=b"[" * 600 + b'"\\u0000"' + b"]" * 600)
@example(body=b'{"a": 1e400}')
def test_json_body_parse_refuses_or_returns_something_safe(body):
    try:
        value = json_body_parse(body)
    except InputRefused as exc:
        assert str(exc)
        return
    assert_safe(value)


@given(value=fz.json_values)
def test_json_body_parse_accepts_every_safe_value_unchanged(value):
    try:
        assert_safe(value)
    except AssertionError:
        assume(False)
    assert json_body_parse(fz.to_body(value)) == value


@given(
    events=st.lists(
        st.fixed_dictionaries(
            {"type": fz.json_values, "occurred_at": fz.iso_times, "data": fz.json_values}
        ),
        max_size=3,
    ),
    occurred_at=st.none() | st.datetimes(timezones=fz.offsets),
    event_type=st.none() | fz.texts,
)
def test_normalized_events_check_refuses_only_with_its_own_error(events, occurred_at, event_type):
    try:
        normalized_events_check(
            events, now=datetime.now(UTC), occurred_at=occurred_at, event_type=event_type
        )
    except InputRefused:
        pass


# --- the normalisers --------------------------------------------------------------------------


def assert_normalized_usable(events) -> None:
    for event in events:
        encoded = event.to_json()
        json.dumps(encoded, allow_nan=False)  # storable as JSON
        if event.occurred_at is not None:
            assert EARLIEST_EVENT_TIME <= event.occurred_at <= LATEST_REPRESENTABLE_TIME
            event.occurred_at.astimezone(UTC)
        try:
            normalized_events_check([encoded], now=datetime.now(UTC))
        except InputRefused:
            pass


@given(body=fz.envelopes)
@example(body={"type": "x", "source": "s", "occurred_at": "9999-12-31T23:00:00-05:00", "data": {}})
@example(body={"type": "x", "source": "s", "occurred_at": "0001-01-01T00:00:00+01:00", "data": {}})
def test_envelope_parser_refuses_only_with_its_own_errors(body):
    try:
        events = payload_normalize(body=body)
    except (MalformedPayload, NormalizationFailed):
        return
    assert_normalized_usable(events)


@given(body=fz.dataverse_contexts, size_exceeded=st.booleans())
def test_dataverse_normaliser_refuses_only_with_its_own_errors(body, size_exceeded):
    try:
        events = dataverse_normalize(body, mapping=DataverseMapping(), size_exceeded=size_exceeded)
    except (MalformedPayload, NormalizationFailed):
        return
    assert_normalized_usable(events)


@given(depth=st.integers(min_value=0, max_value=900))
def test_dataverse_normaliser_bounds_deep_attribute_lists(depth):
    body = {
        "MessageName": "Create",
        "PrimaryEntityName": "contact",
        "PrimaryEntityId": "6d81597f-0f9f-e711-8122-000d3aa2331c",
        "InputParameters": [
            {
                "key": "Target",
                "value": {
                    "Attributes": [{"key": "firstname", "value": json.loads(fz.nested(depth))}]
                },
            }
        ],
    }
    try:
        dataverse_normalize(body, mapping=DataverseMapping())
    except MalformedPayload as exc:
        assert depth > MAX_NESTING_DEPTH - 5, exc


# --- the signature verifier -----------------------------------------------------------------

secrets = st.binary(min_size=1, max_size=64).map(
    lambda key: signing.SECRET_PREFIX + __import__("base64").b64encode(key).decode()
)


@given(
    secret=secrets,
    msg_id=fz.texts,
    timestamp=st.integers(min_value=0, max_value=10**12) | st.text(max_size=12),
    body=st.binary(max_size=200),
    header=fz.texts | st.lists(fz.texts, max_size=30).map(" ".join),
)
def test_signature_verifier_answers_yes_or_no_for_any_input(
    secret, msg_id, timestamp, body, header
):
    result = signing.signature_verify(
        secrets=[secret], msg_id=msg_id, timestamp=timestamp, body=body, signature_header=header
    )
    assert result in (True, False)
    signing.signature_header_parse(header)


@given(
    secret=secrets,
    msg_id=st.text(alphabet=string.ascii_letters + string.digits + "_-", min_size=1),
    timestamp=st.integers(min_value=0, max_value=10**12),
    body=st.binary(max_size=200),
    flip=st.integers(min_value=0, max_value=199),
)
def test_signature_verifies_exactly_the_signed_bytes(secret, msg_id, timestamp, body, flip):
    headers = signing.signed_headers(secret=secret, msg_id=msg_id, timestamp=timestamp, body=body)
    kwargs = {"secrets": [secret], "msg_id": msg_id, "timestamp": timestamp}
    assert signing.signature_verify(
        **kwargs, body=body, signature_header=headers["webhook-signature"]
    )
    if body:
        index = flip % len(body)
        changed = body[:index] + bytes([body[index] ^ 1]) + body[index + 1 :]
        assert not signing.signature_verify(
            **kwargs, body=changed, signature_header=headers["webhook-signature"]
        )


# --- the deep-link resolver -----------------------------------------------------------------

# RFC 3986 unreserved + reserved + "%": everything else in a URL must be encoded.
URL_CHARACTERS = set(string.ascii_letters + string.digits + "-._~:/?#[]@!$&'()*+,;=%")
HOST = "minside.hlf.no"
template_parts = st.lists(
    st.sampled_from([f"{{{name}}}" for name in PLACEHOLDERS])
    | st.text(alphabet=string.ascii_letters + string.digits + "-_/", min_size=1, max_size=8),
    max_size=6,
)
templates = st.builds(
    lambda path, query: (
        f"https://{HOST}/{''.join(path)}" + (f"?q={''.join(query)}" if query else "")
    ),
    template_parts,
    template_parts,
)
placeholder_values = st.fixed_dictionaries({name: fz.texts for name in PLACEHOLDERS})


@given(url_template=templates, values=placeholder_values)
def test_deep_link_fill_encodes_every_value(url_template, values):
    deep_link_validate(url_template=url_template, allowed_hosts=[HOST])
    url = deep_link_fill(url_template=url_template, values=values)
    assert set(url) <= URL_CHARACTERS, url
    parts = urlsplit(url)
    assert (parts.scheme, parts.hostname) == ("https", HOST)
    # A value never adds a path segment, a query parameter or a fragment of its own.
    assert "#" not in url
    template_parts = urlsplit(url_template)
    assert parts.path.count("/") == template_parts.path.count("/")
    assert parts.query.count("&") == template_parts.query.count("&")


@given(value=fz.texts)
def test_deep_link_fill_round_trips_each_value(value):
    url = deep_link_fill(
        url_template=f"https://{HOST}/m/{{member_id}}", values={"member_id": value}
    )
    if text_storable(value):
        assert unquote(urlsplit(url).path.removeprefix("/m/")) == value


@given(url_template=fz.texts | templates, hosts=st.lists(fz.texts, max_size=3))
def test_deep_link_validate_refuses_only_with_a_validation_error(url_template, hosts):
    try:
        deep_link_validate(url_template=url_template, allowed_hosts=hosts)
    except ValidationError:
        pass
    else:
        assert urlsplit(url_template).scheme.lower() == "https"


@given(moment=st.datetimes(timezones=fz.offsets))
def test_every_accepted_event_time_can_be_shown_in_any_offset(moment):
    from webhooks.validation import event_time_check

    now = datetime.now(UTC)
    try:
        event_time_check(moment, now=now)
    except InputRefused:
        return
    for hours in (-24, -12, 0, 14, 24):
        moment.astimezone(UTC) + timedelta(hours=hours)
