"""Request guards that apply before any view runs."""

import re

from django.http import HttpResponseBadRequest, JsonResponse

# C0 controls (NUL first of all) and DEL never belong in a path or a query, and
# PostgreSQL refuses NUL outright; lone surrogates cannot be encoded to be stored.
_UNSAFE = re.compile("[\x00-\x1f\x7f\ud800-\udfff]")
_JSON_PREFIXES = ("/api/", "/webhooks/")


class HostileRequestMiddleware:
    """Refuse paths and query strings holding control characters with a 400.

    Without this, `/api/v1/organizations/hlf-oslo/members/abc%00def/` reaches the
    database as a lookup value and fails there (a 500 on PostgreSQL). Checked on the
    decoded path and on every decoded query key and value, so every view, the admin's
    search box included, is covered in one place.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if self._unsafe(request):
            return self._refused(request)
        return self.get_response(request)

    @staticmethod
    def _unsafe(request) -> bool:
        if _UNSAFE.search(request.path_info) or _UNSAFE.search(request.path):
            return True
        try:
            query = request.GET
        except Exception:  # noqa: BLE001 -- an unparseable query is as bad as a NUL
            return True
        return any(
            _UNSAFE.search(key) or any(_UNSAFE.search(value) for value in values)
            for key, values in query.lists()
        )

    @staticmethod
    def _refused(request):
        detail = "The path or query contains control characters."
        if request.path_info.startswith(_JSON_PREFIXES):
            return JsonResponse({"error": "malformed_request", "detail": detail}, status=400)
        return HttpResponseBadRequest(detail, content_type="text/plain; charset=utf-8")
