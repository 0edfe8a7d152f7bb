"""Login lockout (django-axes): the backend that checks it and the page a locked-out user sees."""

from axes.backends import AxesStandaloneBackend
from axes.helpers import get_cool_off
from django.shortcuts import render
from django.utils.translation import gettext as _


class LoginLockoutBackend(AxesStandaloneBackend):
    """django-axes' check, for logins that come with a request (every HTTP login does).

    A login without a request (`Client.login` in tests, the shell) has no client
    address to lock out; axes would raise, we let the next backend decide.
    """

    def authenticate(self, request, username=None, password=None, **kwargs):
        if request is None:
            return None
        return super().authenticate(request, username=username, password=password, **kwargs)


def lockout_response(request, original_response=None, credentials=None):
    """429 with a message in the reader's language (Bokmål by default, English on request)."""
    cool_off = get_cool_off(request)
    minutes = max(1, round(cool_off.total_seconds() / 60)) if cool_off else None
    if minutes:
        message = _("Too many failed login attempts. Wait %(minutes)d minutes and try again.") % {
            "minutes": minutes
        }
    else:
        message = _("Too many failed login attempts. Try again later.")
    return render(
        request,
        "admin/login_locked_out.html",
        {"title": _("Login locked"), "message": message},
        status=429,
    )
