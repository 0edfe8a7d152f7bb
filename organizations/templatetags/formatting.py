"""`{% load formatting %}`: the admin's one duration filter."""

from django import template

from organizations.formatting import duration_text

register = template.Library()
register.filter("duration", duration_text)
