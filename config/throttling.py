"""DRF throttling of the app API: one rate per API token (docs/api.md)."""

import hashlib

from rest_framework.throttling import SimpleRateThrottle


class ApiTokenRateThrottle(SimpleRateThrottle):
    """`API_THROTTLE_RATE` per token; a session counts per user, anonymous per address.

    The key is a digest of the token, never the token itself (cache keys may be logged
    or listed). Views that must never be throttled (the webhook endpoint) say so with an
    empty `throttle_classes`.
    """

    scope = "api_token"

    def get_cache_key(self, request, view):
        token = getattr(request.auth, "key", None)
        if token:
            ident = "token:" + hashlib.sha256(token.encode()).hexdigest()[:32]
        elif request.user and request.user.is_authenticated:
            ident = f"user:{request.user.pk}"
        else:
            return None  # anonymous requests are refused by authentication, not counted here
        return self.cache_format % {"scope": self.scope, "ident": ident}


class ApiAnonymousRateThrottle(SimpleRateThrottle):
    """`API_ANONYMOUS_THROTTLE_RATE` per client address for what anyone may read (the schema)."""

    scope = "api_anonymous"

    def get_cache_key(self, request, view):
        if request.user and request.user.is_authenticated:
            return None
        return self.cache_format % {"scope": self.scope, "ident": self.get_ident(request)}
