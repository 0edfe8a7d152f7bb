"""The admin's one duration format (sync status panel, sync log, health page)."""

from datetime import timedelta

import pytest
from django.template import Context, Template
from django.utils import translation

from organizations.formatting import duration_text


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
    assert duration_text(value) == text


def test_bokmal_uses_a_decimal_comma_and_its_own_units():
    with translation.override("nb"):
        assert duration_text(timedelta(seconds=1.5)) == "1,5 s"
        assert duration_text(timedelta(hours=2, minutes=5)) == "2 t 5 min"


def test_both_template_libraries_offer_the_same_filter():
    template = Template(
        "{% load portal_integration %}{{ a|duration }}|{% load formatting %}{{ a|duration }}"
    )
    assert template.render(Context({"a": timedelta(seconds=1.5)})) == "1.5 s|1.5 s"


def test_dates_and_numbers_follow_one_format_per_language():
    from datetime import UTC, datetime

    from django.utils.formats import date_format, number_format

    moment = datetime(2026, 12, 1, 20, 48, tzinfo=UTC)
    with translation.override("nb"):
        assert date_format(moment, "SHORT_DATETIME_FORMAT") == "01.12.2026 20:48"
        assert date_format(moment, "DATETIME_FORMAT") == "01.12.2026 20:48"
        assert number_format(60.5, 1) == "60,5"
    with translation.override("en"):
        assert date_format(moment, "DATETIME_FORMAT") == "2026-12-01 20:48"
