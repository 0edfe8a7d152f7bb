"""Template filters for the portal integration admin pages."""

from datetime import timedelta

from django import template
from django.utils.translation import gettext as _

register = template.Library()


@register.filter
def duration(value: timedelta | None) -> str:
    """A short human duration: `0.8 s`, `12 s`, `3 min 4 s`, `2 h 5 min`; `—` for none."""
    if value is None:
        return "—"
    seconds = value.total_seconds()
    if seconds < 10:
        return _("%(seconds).1f s") % {"seconds": seconds}
    seconds = int(seconds)
    if seconds < 60:
        return _("%(seconds)d s") % {"seconds": seconds}
    if seconds < 3600:
        return _("%(minutes)d min %(seconds)d s") % {
            "minutes": seconds // 60,
            "seconds": seconds % 60,
        }
    return _("%(hours)d h %(minutes)d min") % {
        "hours": seconds // 3600,
        "minutes": seconds % 3600 // 60,
    }
