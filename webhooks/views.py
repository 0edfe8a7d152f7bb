"""The webhook endpoint `POST /webhooks/dynamics/` (SPEC §4): read bounded, hand to the service."""

import json
import logging
import time

from django.conf import settings
from django.db import connection
from django.http import HttpRequest, HttpResponse
from django.utils import translation
from django.views.decorators.csrf import csrf_exempt
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import (
    OpenApiParameter,
    OpenApiResponse,
    extend_schema,
    inline_serializer,
)
from rest_framework import serializers
from rest_framework.negotiation import BaseContentNegotiation
from rest_framework.permissions import AllowAny
from rest_framework.renderers import JSONRenderer
from rest_framework.response import Response
from rest_framework.views import APIView

from config.logging import log_event
from webhooks import signing
from webhooks.models import WebhookRejection
from webhooks.services import (
    DATABASE_DOWN_ERRORS,
    RATE_LIMITED,
    IntakeRequest,
    media_type_is_json,
    webhook_id_is_self_test,
    webhook_intake,
)
from webhooks.signals import webhook_request_handled

logger = logging.getLogger(__name__)

_READ_CHUNK = 64 * 1024


class _AlwaysJson(BaseContentNegotiation):
    """Answer JSON whatever the sender's Accept header says (no 406 before authentication)."""

    def select_parser(self, request, parsers):
        return None

    def select_renderer(self, request, renderers, format_suffix=None):
        return renderers[0], renderers[0].media_type


def _declared_length(meta) -> int | None:
    raw = meta.get("CONTENT_LENGTH")
    if raw in (None, ""):
        return None
    try:
        return max(int(raw), 0)
    except ValueError:
        return None


def _body_read(django_request, *, limit: int) -> tuple[bytes | None, bool]:
    """Read at most limit+1 bytes; return (body, too_large). Never reads an unbounded body."""
    declared = _declared_length(django_request.META)
    if declared is not None and declared > limit:
        return None, True  # refused before reading a byte
    if declared is not None:
        # Django's stream stops at Content-Length, whatever the client sends after it.
        stream, budget = django_request, declared
    else:
        # Chunked (no Content-Length): Django would see an empty body, so read the WSGI
        # input itself, and stop one byte past the limit.
        stream, budget = django_request.META["wsgi.input"], limit + 1
    chunks, size = [], 0
    while size < budget:
        chunk = stream.read(min(_READ_CHUNK, budget - size))
        if not chunk:
            break
        chunks.append(chunk)
        size += len(chunk)
    body = b"".join(chunks)
    return (None, True) if len(body) > limit else (body, False)


def _headers_of(meta) -> dict[str, str]:
    headers = {
        key[5:].replace("_", "-").lower(): value
        for key, value in meta.items()
        if key.startswith("HTTP_")
    }
    for key in ("CONTENT_TYPE", "CONTENT_LENGTH"):
        if meta.get(key):
            headers[key.replace("_", "-").lower()] = meta[key]
    return headers


_ERROR = inline_serializer(
    name="WebhookError",
    fields={
        "error": serializers.ChoiceField(
            choices=[*WebhookRejection.Reason.values, RATE_LIMITED, "storage_unavailable"]
        ),
        "detail": serializers.CharField(),
    },
)


def _error_shape(code: str, description: str) -> OpenApiResponse:
    return OpenApiResponse(response=_ERROR, description=f"{description} Reason code(s): {code}.")


_ACK = inline_serializer(
    name="WebhookAcknowledgement",
    fields={
        "status": serializers.ChoiceField(choices=["accepted", "duplicate"]),
        "event_id": serializers.UUIDField(),
    },
)


# --- the endpoint: a plain Django view ------------------------------------------------

_ALLOW = "POST, OPTIONS"
# What DRF's APIView answered to OPTIONS, kept so the endpoint answers as it always did.
_OPTIONS_BODY = {
    "name": "Dynamics Webhook",
    "description": "Receives signed Min Side / Dataverse events; authentication is the "
    "signature alone.",
    "renders": ["application/json"],
    "parses": [],
}


def _json_response(body: dict, *, status: int, headers: dict | None = None) -> HttpResponse:
    """The bytes DRF's JSONRenderer wrote: compact, UTF-8, U+2028/U+2029 escaped."""
    content = (
        json.dumps(body, ensure_ascii=False, separators=(",", ":"), allow_nan=False)
        .replace("\u2028", "\\u2028")
        .replace("\u2029", "\\u2029")
        .encode()
    )
    response = HttpResponse(content, status=status, content_type="application/json")
    response.headers["Allow"] = _ALLOW
    # The contract is English for every sender (the body is rendered under "en").
    response.headers["Content-Language"] = "en"
    for name, value in (headers or {}).items():
        response.headers[name] = value
    return response


@csrf_exempt  # authentication is the signature; there is no session to protect
def dynamics_webhook(request: HttpRequest) -> HttpResponse:
    """Receives signed Min Side / Dataverse events; authentication is the signature alone.

    A plain Django view, not a DRF APIView: the endpoint reads the raw bytes (they are
    signed) and answers JSON whatever the Accept header says, so DRF's request wrapping,
    content negotiation, parsers, permissions, throttles and renderer did nothing for it
    and cost about as much Python per request as verifying and normalising the payload.
    Floods are answered by the service (`429 rate_limited`), never by a DRF throttle.
    """
    started = time.monotonic()
    # The contract is English for every sender, whatever the site's default language.
    with translation.override("en"):
        if request.method == "POST":
            status, body, headers, result = _receive(request)
        elif request.method == "OPTIONS":
            status, body, headers, result = 200, _OPTIONS_BODY, {}, None
        else:
            detail = f'Method "{request.method}" not allowed.'
            status, body, headers, result = 405, {"detail": detail}, {}, None
        response = _json_response(body, status=status, headers=headers)
    if request.method == "POST":
        # One structured line per delivery: ids and codes only, never a payload value.
        log_event(
            logger,
            "webhook.outcome",
            event_id=body.get("event_id"),
            source=getattr(result, "source", None),
            status=status,
            outcome=body.get("status") or "rejected",
            reason=body.get("error"),
            duration_ms=round((time.monotonic() - started) * 1000, 1),
        )
    return response


def _receive(django_request: HttpRequest):
    """(status, body, headers, IntakeResult or None) for one POST."""
    content_type_ok = media_type_is_json(django_request.META.get("CONTENT_TYPE"))
    body, too_large, unreadable = (None, False, False)
    if content_type_ok:
        try:
            body, too_large = _body_read(django_request, limit=settings.WEBHOOK_MAX_BODY_BYTES)
        except Exception as exc:  # noqa: BLE001 -- a broken read is the sender's, a 400
            logger.warning("webhook body could not be read: %s", type(exc).__name__)
            body, unreadable = b"", True
    intake = IntakeRequest(
        headers=_headers_of(django_request.META),
        client_address=django_request.META.get("REMOTE_ADDR"),
        body=body,
        body_too_large=too_large,
        content_type_ok=content_type_ok,
        body_unreadable=unreadable,
    )
    try:
        result = _intake_without_a_separate_connection_check(intake)
    except DATABASE_DOWN_ERRORS as exc:
        # The type only: a driver's message can quote the values it refused.
        logger.error("webhook could not be stored (%s); answering 503", type(exc).__name__)
        # Not a §4.3 rejection: nothing was decided about the request.
        _handled(intake, result="unavailable", reason=None)
        return (
            503,
            {
                "error": "storage_unavailable",
                "detail": "The event could not be stored; retry later.",
            },
            {"Retry-After": "30"},
            None,
        )
    _handled(intake, result=result.body.get("status", "rejected"), reason=result.reason)
    return result.status_code, result.body, result.headers, result


def _intake_without_a_separate_connection_check(intake: IntakeRequest):
    """webhook_intake(), with Django's per-request connection check folded into it.

    With CONN_HEALTH_CHECKS a reused connection is first checked with a round trip of
    its own (SELECT 1): half the database work of the intake's fast path. Here the
    intake's own statements are the check: if they failed because the reused
    connection had died (a PostgreSQL restart, an idle timeout), the connection is
    replaced and the intake runs once more, as it would have after a failed check —
    also when only a refusal's best-effort record failed, so every refusal is still
    recorded. A retry stores nothing twice: an insert that did commit is then the known
    webhook-id, answered 200 duplicate. A database that is really down fails the retry
    too: 503.
    """
    # Django's own flags (5.1+), missing from django-stubs.
    deferred = (
        connection.connection is not None
        and connection.health_check_enabled  # type: ignore[attr-defined]
        and not connection.health_check_done  # type: ignore[attr-defined]
    )
    if not deferred:
        return webhook_intake(request=intake)
    # The check Django would run before the first query (a flag missing from django-stubs).
    connection.health_check_done = True  # type: ignore[attr-defined]
    try:
        result = webhook_intake(request=intake)
    except DATABASE_DOWN_ERRORS:
        if connection.is_usable():
            raise
    else:
        # errors_occurred: a statement failed for a reason other than its values.
        if not connection.errors_occurred or connection.is_usable():
            return result
    logger.warning("webhook intake: the reused database connection was broken; reconnecting")
    connection.close()
    return webhook_intake(request=intake)


def _handled(intake: IntakeRequest, *, result: str, reason: str | None) -> None:
    webhook_request_handled.send(
        sender=dynamics_webhook,
        result="rejected" if reason else result,
        reason=reason,
        is_self_test=webhook_id_is_self_test(intake.headers.get(signing.HEADER_ID)),
    )


class DynamicsWebhookSchema(APIView):
    """The endpoint as /api/schema/ documents it; it serves no request.

    drf-spectacular documents DRF views only, found by the `cls` attribute that
    `APIView.as_view()` puts on a URL's callback; `dynamics_webhook` carries this class
    there, so the plain view keeps its place in the schema (and Schemathesis keeps
    fuzzing it).
    """

    authentication_classes: list = []
    permission_classes = [AllowAny]
    renderer_classes = [JSONRenderer]
    parser_classes: list = []
    throttle_classes: list = []

    @extend_schema(
        operation_id="webhook_dynamics_receive",
        summary="Receive a signed Min Side event",
        description=(
            "Standard Webhooks signature over `{webhook-id}.{webhook-timestamp}.{raw body}` "
            "(HMAC-SHA256, `v1,<base64>`). The body is an HLF event envelope or a Dataverse "
            "RemoteExecutionContext. Never answers 2xx unless the event is committed."
        ),
        tags=["webhooks"],
        auth=[],
        request={"application/json": OpenApiTypes.OBJECT},
        parameters=[
            OpenApiParameter(
                "webhook-id",
                OpenApiTypes.STR,
                OpenApiParameter.HEADER,
                required=True,
                description="Unique message id; the deduplication key per source.",
            ),
            OpenApiParameter(
                "webhook-timestamp",
                OpenApiTypes.INT,
                OpenApiParameter.HEADER,
                required=True,
                description="Unix seconds when signed; must be within the source's tolerance.",
            ),
            OpenApiParameter(
                "webhook-signature",
                OpenApiTypes.STR,
                OpenApiParameter.HEADER,
                required=True,
                description="One or more space-separated `v1,<base64 signature>`.",
            ),
            OpenApiParameter(
                "x-ms-dynamics-msg-size-exceeded",
                OpenApiTypes.STR,
                OpenApiParameter.HEADER,
                required=False,
                description="Set by Dynamics on truncated messages; stored as failed.",
            ),
        ],
        responses={
            202: OpenApiResponse(_ACK, description="Authentic, new and durably stored."),
            200: OpenApiResponse(_ACK, description="Authentic; this webhook-id was received."),
            400: _error_shape(
                "malformed_payload, missing_signature_headers",
                "Body not a JSON object, envelope fields missing, headers malformed or "
                "absurd, or a value that cannot be stored (lone surrogates, NUL, numbers "
                "outside the float range, nesting deeper than 64, times out of range or "
                "more than 24 h ahead, ids longer than their columns).",
            ),
            401: _error_shape(
                "unknown_source, source_disabled, secret_not_configured, "
                "invalid_signature, timestamp_out_of_tolerance",
                "Not authenticated; the reason is not disclosed beyond the code.",
            ),
            413: _error_shape("payload_too_large", "Body larger than the limit."),
            415: _error_shape("unsupported_media_type", "Not application/json."),
            429: _error_shape(
                RATE_LIMITED,
                "This address keeps sending rejected requests; counted, not stored. "
                "Never the answer to a correctly signed request.",
            ),
            503: _error_shape("storage_unavailable", "Could not be stored; retry later."),
        },
    )
    def post(self, request):  # pragma: no cover - documentation only
        raise NotImplementedError("dynamics_webhook serves this endpoint")


# drf-spectacular documents a function view through the attributes DRF views carry.
dynamics_webhook.cls = DynamicsWebhookSchema  # type: ignore[attr-defined]
dynamics_webhook.initkwargs = {}  # type: ignore[attr-defined]


class WebhookHealthView(APIView):
    """`GET /webhooks/dynamics/health`: the endpoint answers; what the health probe reaches.

    Unauthenticated and touching neither the database nor the broker, so it tells only
    that this route is served (proxy, TLS, gunicorn and Django all up).
    """

    authentication_classes: list = []
    permission_classes = [AllowAny]
    renderer_classes = [JSONRenderer]
    throttle_classes: list = []
    content_negotiation_class = _AlwaysJson

    @extend_schema(
        operation_id="webhook_dynamics_health",
        summary="Is the webhook route served?",
        tags=["webhooks"],
        auth=[],
        responses={
            200: inline_serializer(
                name="WebhookRouteHealth", fields={"status": serializers.CharField()}
            )
        },
    )
    def get(self, request):
        return Response({"status": "ok"}, headers={"Cache-Control": "no-store"})
