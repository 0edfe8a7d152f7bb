"""A small Dataverse Web API client: client-credentials tokens, change-tracking pages, 429s.

Nothing here touches the database. Error messages are safe to store and show: they
never contain the client secret, a token or a row.
"""

from __future__ import annotations

import hashlib
import logging
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from email.utils import parsedate_to_datetime
from urllib.parse import quote, urlsplit

import requests
from django.utils import timezone

logger = logging.getLogger(__name__)

API_PATH = "/api/data/v9.2/"
MAX_PAGE_SIZE = 5000
PREFER = f"odata.track-changes, odata.maxpagesize={MAX_PAGE_SIZE}"
# A token is renewed this long before it expires, so no request is sent with a dying one.
TOKEN_MARGIN_SECONDS = 60
MAX_RETRY_AFTER_SECONDS = 300
DEFAULT_RETRY_AFTER_SECONDS = 5
MAX_THROTTLED_IN_A_ROW = 20
TIMEOUT = (10, 120)  # connect, read (a page of 5,000 rows can take a while)


class DataverseError(Exception):
    """A pass cannot go on; the message is readable and safe to show."""


class DeltaLinkRefused(DataverseError):
    """The saved delta link is expired or refused; a full pass is needed."""


@dataclass(frozen=True)
class Page:
    rows: list[dict]
    next_link: str | None
    delta_link: str | None


@dataclass
class Counters:
    requests: int = 0
    token_requests: int = 0
    throttled: int = 0


@dataclass
class _CachedToken:
    value: str
    expires_at: float  # time.monotonic()


_token_cache: dict[str, _CachedToken] = {}
_token_lock = threading.Lock()


def token_cache_clear() -> None:
    with _token_lock:
        _token_cache.clear()


def _error_text(response: requests.Response) -> str:
    """The server's own error code and message, bounded; the body is never echoed whole."""
    try:
        body = response.json()
    except ValueError:
        return f"HTTP {response.status_code}"
    if isinstance(body, dict):
        error = body.get("error")
        if isinstance(error, dict):  # OData
            text = f"{error.get('code', '')} {error.get('message', '')}".strip()
        else:  # OAuth: {"error": "invalid_client", "error_description": "AADSTS…"}
            text = f"{error or ''} {body.get('error_description', '')}".strip()
        if text:
            return f"HTTP {response.status_code}: {text[:300]}"
    return f"HTTP {response.status_code}"


def _retry_after_seconds(response: requests.Response) -> float:
    raw = (response.headers.get("Retry-After") or "").strip()
    seconds: float = DEFAULT_RETRY_AFTER_SECONDS
    if raw.isdigit():
        seconds = int(raw)
    elif raw:
        try:
            seconds = (parsedate_to_datetime(raw) - timezone.now()).total_seconds()
        except (TypeError, ValueError):
            seconds = DEFAULT_RETRY_AFTER_SECONDS
    return min(max(seconds, 0), MAX_RETRY_AFTER_SECONDS)


@dataclass
class WebApiClient:
    environment_url: str
    tenant_id: str
    client_id: str
    client_secret: str = field(repr=False)
    authority_url: str
    session: requests.Session = field(default_factory=requests.Session, repr=False)
    # None: time.sleep, looked up at call time (tests replace it).
    sleep: Callable[[float], None] | None = None
    counters: Counters = field(default_factory=Counters)

    def __post_init__(self) -> None:
        self.environment_url = self.environment_url.rstrip("/")
        self.authority_url = self.authority_url.rstrip("/")
        origin = urlsplit(self.environment_url)
        self._origin = (origin.scheme, origin.netloc.lower())

    # --- token -----------------------------------------------------------------------
    @property
    def _token_key(self) -> str:
        # The secret is part of the key (a new secret gets a new token) but only hashed.
        raw = "\n".join((self.authority_url, self.tenant_id, self.client_id, self.environment_url))
        secret_hash = hashlib.sha256(self.client_secret.encode()).hexdigest()
        return f"{raw}\n{secret_hash}"

    def _token(self, *, renew: bool = False) -> str:
        key = self._token_key
        with _token_lock:
            cached = _token_cache.get(key)
            if cached and not renew and cached.expires_at - TOKEN_MARGIN_SECONDS > time.monotonic():
                return cached.value
        url = f"{self.authority_url}/{quote(self.tenant_id, safe='')}/oauth2/v2.0/token"
        data = {
            "grant_type": "client_credentials",
            "client_id": self.client_id,
            "client_secret": self.client_secret,
            "scope": f"{self.environment_url}/.default",
        }
        self.counters.token_requests += 1
        try:
            response = self.session.post(url, data=data, timeout=TIMEOUT)
        except requests.RequestException as exc:
            raise DataverseError(
                f"The token endpoint could not be reached ({type(exc).__name__})."
            ) from None
        if response.status_code != 200:
            raise DataverseError(f"The token endpoint refused: {_error_text(response)}")
        try:
            body = response.json()
            value = body["access_token"]
            expires_in = float(body.get("expires_in", 3599))
        except (ValueError, KeyError, TypeError):
            raise DataverseError("The token endpoint answered without an access token.") from None
        if not isinstance(value, str) or not value:
            raise DataverseError("The token endpoint answered without an access token.")
        with _token_lock:
            _token_cache[key] = _CachedToken(value, time.monotonic() + expires_in)
        return value

    # --- Web API ---------------------------------------------------------------------
    def _same_origin(self, url: str) -> bool:
        parts = urlsplit(url)
        return (parts.scheme, parts.netloc.lower()) == self._origin

    def table_url(self, *, entity_set: str, select: list[str]) -> str:
        return (
            f"{self.environment_url}{API_PATH}{quote(entity_set, safe='')}"
            f"?$select={quote(','.join(select), safe=',_')}"
        )

    def _get(self, url: str, *, delta: bool) -> requests.Response:
        if not self._same_origin(url):
            # The bearer token goes to the environment only, whatever a link says.
            raise DataverseError("A link in the answer points away from the environment.")
        renewed = False
        throttled_in_a_row = 0
        while True:
            headers = {
                "Authorization": f"Bearer {self._token(renew=renewed)}",
                "Accept": "application/json",
                "OData-MaxVersion": "4.0",
                "OData-Version": "4.0",
                "Prefer": PREFER,
            }
            self.counters.requests += 1
            try:
                response = self.session.get(url, headers=headers, timeout=TIMEOUT)
            except requests.RequestException as exc:
                raise DataverseError(
                    f"The Web API could not be reached ({type(exc).__name__})."
                ) from None
            if response.status_code == 200:
                return response
            if response.status_code == 429:
                throttled_in_a_row += 1
                self.counters.throttled += 1
                if throttled_in_a_row > MAX_THROTTLED_IN_A_ROW:
                    raise DataverseError("The Web API kept answering 429; the pass gave up.")
                wait = _retry_after_seconds(response)
                logger.info("Dataverse answered 429; waiting %.0f s as asked", wait)
                (self.sleep or time.sleep)(wait)
                continue
            if response.status_code == 401 and not renewed:
                # The cached token expired early or was revoked: one fresh try.
                renewed = True
                continue
            if delta and 400 <= response.status_code < 500 and response.status_code != 401:
                raise DeltaLinkRefused(_error_text(response))
            raise DataverseError(f"The Web API refused: {_error_text(response)}")

    def pages(self, *, url: str, delta: bool) -> Iterator[Page]:
        """Every page from `url` on (a table URL or a saved delta link), following nextLink."""
        first = True
        while url:
            response = self._get(url, delta=delta and first)
            first = False
            try:
                body = response.json()
                rows = body["value"]
            except (ValueError, KeyError, TypeError):
                raise DataverseError("The Web API answered a page without 'value'.") from None
            if not isinstance(rows, list):
                raise DataverseError("The Web API answered a page without 'value'.")
            next_link = body.get("@odata.nextLink")
            delta_link = body.get("@odata.deltaLink")
            yield Page(rows=rows, next_link=next_link, delta_link=delta_link)
            url = next_link
