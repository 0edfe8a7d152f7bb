"""One way to show a duration in every admin screen, in the reader's number format."""

from datetime import timedelta

from django.utils.formats import number_format
from django.utils.translation import gettext as _


def duration_text(value: timedelta | float | None) -> str:
    """`0,8 s` / `0.8 s`, `12 s`, `3 min 4 s`, `2 t 5 min`; `—` for none."""
    if value is None:
        return "—"
    seconds = value.total_seconds() if isinstance(value, timedelta) else float(value)
    if seconds < 10:
        return _("%(seconds)s s") % {"seconds": number_format(round(seconds, 1), 1)}
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
