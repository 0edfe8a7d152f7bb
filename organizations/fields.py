"""Model fields shared by the apps."""

from datetime import datetime

from django.db import models

from organizations.values import EARLIEST_EVENT_TIME, LATEST_REPRESENTABLE_TIME


def datetime_displayable(value):
    """`value` moved into the range every UTC offset can show (±1 day inside datetime's).

    A time written before the intake refused such values (`9999-12-31T23:30Z` is year
    10000 in Europe/Oslo) would otherwise make every page and API answer that shows it
    overflow. Only the extremes move; every real time comes back as stored.
    """
    if not isinstance(value, datetime) or value.tzinfo is None:
        return value
    if value > LATEST_REPRESENTABLE_TIME:
        return LATEST_REPRESENTABLE_TIME
    if value < EARLIEST_EVENT_TIME:
        return EARLIEST_EVENT_TIME
    return value


class DisplaySafeDateTimeField(models.DateTimeField):
    """A DateTimeField for times that come from outside (portal event times).

    Values read from the database are clamped by `datetime_displayable`, so the admin,
    templates and the API can convert them to any zone. Migrations see a plain
    DateTimeField: the column is the same.
    """

    def from_db_value(self, value, expression, connection):
        return datetime_displayable(value)

    def deconstruct(self):
        name, _path, args, kwargs = super().deconstruct()
        return name, "django.db.models.DateTimeField", args, kwargs
