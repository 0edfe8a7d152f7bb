"""Template filters for the portal integration admin pages."""

from django import template

from organizations.formatting import duration_text

register = template.Library()
# The one duration format of the admin (also `{% load formatting %}`).
register.filter("duration", duration_text)
