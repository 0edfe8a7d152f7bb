"""The duration filter of the sync status panel."""

from datetime import timedelta

import pytest

from portal_integration.templatetags.portal_integration import duration


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (None, "—"),
        (timedelta(seconds=0.84), "0.8 s"),
        (timedelta(seconds=42), "42 s"),
        (timedelta(minutes=3, seconds=4), "3 min 4 s"),
        (timedelta(hours=2, minutes=5, seconds=9), "2 h 5 min"),
    ],
)
def test_duration(value, text):
    assert duration(value) == text
