"""The Content-Security-Policy every response carries (django-csp), in every environment.

Scripts only from our own origin: no inline script, no eval, nothing from elsewhere, so
an injected value in an admin page cannot run. Inline *styles* stay allowed: a few admin
templates size chart bars with `style=` attributes, and a style cannot run code. Pages
cannot be framed, and forms only post back to us. Django's admin works under this
policy (tests/browser/test_csp.py drives it in Chromium and listens for violations).
"""

from csp.constants import NONE, SELF, UNSAFE_INLINE


def content_security_policy() -> dict:
    return {
        "DIRECTIVES": {
            "default-src": [SELF],
            "script-src": [SELF],
            "style-src": [SELF, UNSAFE_INLINE],
            "img-src": [SELF, "data:"],
            "font-src": [SELF],
            "connect-src": [SELF],
            "object-src": [NONE],
            "base-uri": [SELF],
            "form-action": [SELF],
            "frame-ancestors": [NONE],
        }
    }
