"""A fake Dataverse for tests and demos: a token endpoint and the Web API reconciliation reads.

    .venv/bin/python -m dataverse.fake_server --port 8899 --contacts 20 --account acc-1

Serves, on loopback only:

* `POST /{tenant}/oauth2/v2.0/token` — client credentials; tokens expire after `--token-ttl`.
* `GET /api/data/v9.2/{entity set}?$select=…` with `Prefer: odata.track-changes,
  odata.maxpagesize=N` — pages with `@odata.nextLink`, the last one with
  `@odata.deltaLink`; the delta link answers changed rows and
  `{"@odata.context": "…$deletedEntity", "id": …, "reason": "deleted"}` for deleted ones.
* Faults on demand: 429 with `Retry-After`, expired tokens (401), expired delta links (400).
* `/_fake/…` control endpoints (no authentication; loopback only) to change rows and
  inject faults from a shell or a test: see docs/dataverse.md.

Also importable: `FakeDataverse(...).start()` runs it in a thread (what the tests do).
"""

from __future__ import annotations

import argparse
import base64
import json
import secrets
import threading
import time
import uuid
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, quote, urlsplit

API = "/api/data/v9.2/"
DEFAULT_TABLES = {"contacts": "contactid", "hlf_courseenrollments": "hlf_courseenrollmentid"}
EXPIRED_DELTA = {
    "code": "0x80044352",
    "message": "Version stamp associated with the client has expired. Please perform a full sync.",
}


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _encode(state: dict) -> str:
    return base64.urlsafe_b64encode(json.dumps(state).encode()).decode().rstrip("=")


def _decode(token: str) -> dict:
    padded = token + "=" * (-len(token) % 4)
    return json.loads(base64.urlsafe_b64decode(padded.encode()))


class _Table:
    def __init__(self, key: str):
        self.key = key
        self.rows: dict[str, dict] = {}
        self.versions: dict[str, int] = {}  # id → version of its last change
        self.deleted: dict[str, int] = {}  # id → version of its deletion


class FakeDataverse:
    """The fake environment; every public method is thread-safe."""

    def __init__(
        self,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        tenant: str = "fake-tenant",
        client_id: str = "fake-client",
        client_secret: str = "fake-secret-value",  # noqa: S107 - a fake's well-known demo value
        token_ttl: int = 3600,
        tables: dict[str, str] | None = None,
    ):
        if host not in ("127.0.0.1", "localhost", "::1"):
            raise ValueError("The fake Dataverse listens on loopback only.")
        self.host, self.port = host, port
        self.tenant, self.client_id, self.client_secret = tenant, client_id, client_secret
        self.token_ttl = token_ttl
        self.tables = {name: _Table(key) for name, key in (tables or DEFAULT_TABLES).items()}
        self.version = 0
        self.min_delta_version = 0  # delta tokens older than this are expired
        self.tokens: dict[str, float] = {}  # token → expiry (time.time())
        self.throttle_remaining = 0
        self.throttle_retry_after = 1
        self.throttle_every = 0
        self.fail_remaining = 0  # answer 500 to this many Web API requests
        self.stats = {"token": 0, "api": 0, "throttled": 0, "unauthorized": 0, "rows": 0}
        self.requests_log: list[dict] = []
        # Tests: when set, Web API answers wait until it is released (a pass "in flight").
        self.hold: threading.Event | None = None
        self.held = threading.Event()
        self.lock = threading.RLock()
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # --- lifecycle --------------------------------------------------------------------------
    @property
    def url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"

    def start(self) -> FakeDataverse:
        fake = self

        class Handler(_Handler):
            server_fake = fake

        self._server = ThreadingHTTPServer((self.host, self.port), Handler)
        self._server.daemon_threads = True
        self.port = self._server.server_address[1]
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    # --- data -------------------------------------------------------------------------------
    def upsert(self, entity_set: str, row: dict, *, modified_on: datetime | None = None) -> dict:
        """Create or change a row (merged with its current columns); returns the stored row."""
        with self.lock:
            table = self.tables[entity_set]
            row_id = str(row.get(table.key) or uuid.uuid4())
            self.version += 1
            stored = {**table.rows.get(row_id, {}), **row, table.key: row_id}
            stored["modifiedon"] = _iso(modified_on or datetime.now(UTC))
            stored["versionnumber"] = self.version
            table.rows[row_id] = stored
            table.versions[row_id] = self.version
            table.deleted.pop(row_id, None)
            return dict(stored)

    def delete(self, entity_set: str, row_id: str) -> None:
        with self.lock:
            table = self.tables[entity_set]
            if table.rows.pop(row_id, None) is not None:
                self.version += 1
                table.versions.pop(row_id, None)
                table.deleted[row_id] = self.version

    def seed_contacts(self, count: int, *, accounts: list[str] | None = None) -> list[str]:
        """`count` active contacts with HLF's columns, spread over `accounts`."""
        ids = []
        with self.lock:
            for n in range(count):
                row = {
                    "contactid": str(uuid.UUID(int=0xC0 << 120 | n)),
                    "firstname": f"Fake{n:06d}",
                    "lastname": "Kontakt",
                    "emailaddress1": f"fake{n}@example.no",
                    "mobilephone": None,
                    "hlf_approle": 100000000,
                    "hlf_joinedon": "2024-01-15",
                    "statecode": 0,
                }
                if accounts:
                    row["_parentcustomerid_value"] = accounts[n % len(accounts)]
                ids.append(self.upsert("contacts", row)["contactid"])
        return ids

    # --- faults -----------------------------------------------------------------------------
    def throttle(self, count: int = 1, *, retry_after: int = 1) -> None:
        """Answer the next `count` Web API requests with 429 and `Retry-After`."""
        with self.lock:
            self.throttle_remaining, self.throttle_retry_after = count, retry_after

    def fail(self, count: int = 1) -> None:
        """Answer the next `count` Web API requests with 500."""
        with self.lock:
            self.fail_remaining = count

    def expire_tokens(self) -> None:
        with self.lock:
            for token in self.tokens:
                self.tokens[token] = 0

    def expire_delta_links(self) -> None:
        with self.lock:
            self.min_delta_version = self.version + 1

    # --- answers ----------------------------------------------------------------------------
    def token_answer(self, path: str, form: dict[str, list[str]]) -> tuple[int, dict]:
        with self.lock:
            self.stats["token"] += 1
            if path != f"/{self.tenant}/oauth2/v2.0/token":
                return 400, {"error": "invalid_request", "error_description": "AADSTS90002: tenant"}
            if form.get("grant_type") != ["client_credentials"]:
                return 400, {"error": "unsupported_grant_type"}
            if form.get("client_id") != [self.client_id] or form.get("client_secret") != [
                self.client_secret
            ]:
                return 401, {
                    "error": "invalid_client",
                    "error_description": "AADSTS7000215: Invalid client secret provided.",
                }
            scope = (form.get("scope") or [""])[0]
            if not scope.endswith("/.default"):
                return 400, {"error": "invalid_scope"}
            token = secrets.token_urlsafe(24)
            self.tokens[token] = time.time() + self.token_ttl
            return 200, {
                "token_type": "Bearer",
                "expires_in": self.token_ttl,
                "access_token": token,
            }

    def api_answer(self, path: str, query: str, headers) -> tuple[int, dict, dict]:
        hold = self.hold
        if hold is not None:
            self.held.set()
            hold.wait(timeout=60)
        with self.lock:
            self.stats["api"] += 1
            self.requests_log.append(
                {"path": path, "query": query, "prefer": headers.get("Prefer")}
            )
            token = (headers.get("Authorization") or "").removeprefix("Bearer ").strip()
            if self.tokens.get(token, 0) <= time.time():
                self.stats["unauthorized"] += 1
                return (
                    401,
                    {"error": {"code": "0x80072560", "message": "The access token expired"}},
                    {"WWW-Authenticate": 'Bearer error="invalid_token"'},
                )
            api_count = self.stats["api"]
            if self.throttle_remaining > 0 or (
                self.throttle_every and api_count % self.throttle_every == 0
            ):
                self.throttle_remaining = max(self.throttle_remaining - 1, 0)
                self.stats["throttled"] += 1
                return (
                    429,
                    {"error": {"code": "0x80072322", "message": "Number of requests exceeded"}},
                    {"Retry-After": str(self.throttle_retry_after)},
                )
            if self.fail_remaining > 0:
                self.fail_remaining -= 1
                return 500, {"error": {"code": "0x80040216", "message": "Generic SQL error"}}, {}
            entity_set = path[len(API) :]
            table = self.tables.get(entity_set)
            if table is None:
                return 404, {"error": {"code": "0x80060888", "message": "Resource not found"}}, {}
            params = {key: values[0] for key, values in parse_qs(query).items()}
            select = [c for c in params.get("$select", "").split(",") if c]
            page_size = _page_size(headers.get("Prefer") or "")
            if "$skiptoken" in params:
                state = _decode(params["$skiptoken"])
            elif "$deltatoken" in params:
                since = int(params["$deltatoken"].split("!", 1)[0])
                if since < self.min_delta_version:
                    return 400, {"error": EXPIRED_DELTA}, {}
                state = {"since": since, "at": self.version, "offset": 0}
            else:
                if "odata.track-changes" not in (headers.get("Prefer") or ""):
                    state = {"since": None, "at": self.version, "offset": 0, "plain": True}
                else:
                    state = {"since": None, "at": self.version, "offset": 0}
            return 200, self._page(entity_set, table, select, page_size, state), {}

    def _page(self, entity_set, table: _Table, select, page_size, state) -> dict:
        since = state["since"]
        changed = sorted(
            (version, row_id)
            for row_id, version in table.versions.items()
            if since is None or version > since
        )
        entries: list[tuple[int, str, bool]] = [(v, i, False) for v, i in changed]
        if since is not None:
            entries += [(v, i, True) for i, v in table.deleted.items() if v > since]
            entries.sort()
        offset = state["offset"]
        chunk = entries[offset : offset + page_size]
        context = f"{self.url}{API}$metadata#{entity_set}"
        value = []
        for _version, row_id, deleted in chunk:
            if deleted:
                value.append(
                    {
                        "@odata.context": f"{context}/$deletedEntity",
                        "id": row_id,
                        "reason": "deleted",
                    }
                )
                continue
            row = table.rows[row_id]
            shown: dict[str, Any] = (
                {column: row.get(column) for column in select} if select else dict(row)
            )
            shown[table.key] = row_id
            value.append({"@odata.etag": f'W/"{row["versionnumber"]}"', **shown})
        self.stats["rows"] += len(value)
        body: dict[str, Any] = {"@odata.context": context, "value": value}
        base = f"{self.url}{API}{entity_set}?$select={quote(','.join(select), safe=',_')}"
        if offset + page_size < len(entries):
            next_state = {**state, "offset": offset + page_size}
            body["@odata.nextLink"] = f"{base}&$skiptoken={_encode(next_state)}"
        elif not state.get("plain"):
            stamp = datetime.now(UTC).strftime("%m/%d/%Y %H:%M:%S")
            body["@odata.deltaLink"] = f"{base}&$deltatoken={state['at']}!{quote(stamp, safe='')}"
        return body

    def control(self, method: str, path: str, body: Any) -> tuple[int, dict]:
        parts = [part for part in path.split("/") if part][1:]  # after "_fake"
        if method == "GET" and parts == ["stats"]:
            with self.lock:
                return 200, {**self.stats, "version": self.version}
        if method == "POST" and parts == ["expire-tokens"]:
            self.expire_tokens()
            return 200, {"ok": True}
        if method == "POST" and parts == ["expire-delta-links"]:
            self.expire_delta_links()
            return 200, {"ok": True}
        if method == "POST" and parts == ["throttle"]:
            body = body if isinstance(body, dict) else {}
            self.throttle(int(body.get("count", 1)), retry_after=int(body.get("retry_after", 1)))
            return 200, {"ok": True}
        if method == "POST" and len(parts) == 1 and parts[0] in self.tables:
            if not isinstance(body, dict):
                return 400, {"error": "send a JSON object (the row's columns)"}
            return 200, self.upsert(parts[0], body)
        if method == "DELETE" and len(parts) == 2 and parts[0] in self.tables:
            self.delete(parts[0], parts[1])
            return 200, {"ok": True}
        return 404, {"error": "unknown control endpoint"}


def _page_size(prefer: str) -> int:
    for part in prefer.split(","):
        name, _, value = part.strip().partition("=")
        if name == "odata.maxpagesize" and value.isdigit():
            return max(1, min(int(value), 5000))
    return 5000


class _Handler(BaseHTTPRequestHandler):
    server_fake: FakeDataverse
    protocol_version = "HTTP/1.1"

    def log_message(self, format, *args):  # noqa: A002 - the base class's name
        pass

    def _send(self, status: int, body: dict, headers: dict | None = None) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json; odata.metadata=minimal")
        self.send_header("Content-Length", str(len(data)))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(data)

    def _body(self) -> bytes:
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length else b""

    def do_GET(self):  # noqa: N802 - http.server's naming
        parts = urlsplit(self.path)
        if parts.path.startswith("/_fake/"):
            self._send(*self.server_fake.control("GET", parts.path, None))
        elif parts.path.startswith(API):
            self._send(*self.server_fake.api_answer(parts.path, parts.query, self.headers))
        else:
            self._send(404, {"error": "not found"})

    def do_POST(self):  # noqa: N802
        parts = urlsplit(self.path)
        raw = self._body()
        if parts.path.startswith("/_fake/"):
            try:
                body = json.loads(raw or b"{}")
            except ValueError:
                body = None
            self._send(*self.server_fake.control("POST", parts.path, body))
            return
        if parts.path.endswith("/oauth2/v2.0/token"):
            form = parse_qs(raw.decode("utf-8", "replace"))
            self._send(*self.server_fake.token_answer(parts.path, form))
            return
        self._send(404, {"error": "not found"})

    def do_DELETE(self):  # noqa: N802
        parts = urlsplit(self.path)
        self._send(*self.server_fake.control("DELETE", parts.path, None))


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--host", default="127.0.0.1", help="A loopback address.")
    parser.add_argument("--port", type=int, default=8899)
    parser.add_argument("--tenant", default="fake-tenant")
    parser.add_argument("--client-id", default="fake-client")
    parser.add_argument("--client-secret", default="fake-secret-value")  # noqa: S106
    parser.add_argument("--token-ttl", type=int, default=3600, help="Token lifetime, seconds.")
    parser.add_argument("--contacts", type=int, default=0, help="Seed this many contacts.")
    parser.add_argument(
        "--account",
        action="append",
        dest="accounts",
        help="Parent account id for seeded contacts (repeat: spread over several).",
    )
    parser.add_argument("--seed-file", help="JSON {entity set: [rows]} to load at start.")
    parser.add_argument(
        "--throttle-every", type=int, default=0, help="Answer every Nth API request with 429."
    )
    parser.add_argument("--retry-after", type=int, default=1)
    args = parser.parse_args(argv)
    fake = FakeDataverse(
        host=args.host,
        port=args.port,
        tenant=args.tenant,
        client_id=args.client_id,
        client_secret=args.client_secret,
        token_ttl=args.token_ttl,
    )
    fake.throttle_every, fake.throttle_retry_after = args.throttle_every, args.retry_after
    if args.contacts:
        fake.seed_contacts(args.contacts, accounts=args.accounts)
    if args.seed_file:
        with open(args.seed_file, encoding="utf-8") as handle:
            for entity_set, rows in json.load(handle).items():
                for row in rows:
                    fake.upsert(entity_set, row)
    fake.start()
    print(f"Fake Dataverse on {fake.url}", flush=True)  # noqa: T201 - a CLI
    print(
        f"  dataverse_connect --url {fake.url} --authority {fake.url} --tenant {fake.tenant} "
        f"--client-id {fake.client_id} --client-secret {fake.client_secret}",
        flush=True,
    )
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        fake.stop()


if __name__ == "__main__":
    main()
