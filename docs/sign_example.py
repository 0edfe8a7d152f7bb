"""Print a ready-to-run curl command with a freshly signed webhook (stdlib only; copy freely).

    .venv/bin/python docs/sign_example.py [--url URL] [--source ID] [--secret whsec_...]
        [--body FILE]

The defaults are the demo organisation `hlf-oslo` seeded by `make run`, on the host and
port `make run` uses (`HOST`, default 127.0.0.1, and `PORT`, default 8000, as there);
`--url` overrides both. `--body FILE` signs that JSON body instead of the example envelope
(e.g. a native Dataverse payload, docs/examples/dataverse-contact-create.json). The
signature is valid for ±300 seconds around the printed timestamp, so run the command soon.
"""

import argparse
import base64
import hashlib
import hmac
import json
import os
import shlex
import time
import uuid
from datetime import UTC, datetime

DEMO_SOURCE = "hlf-oslo"
DEMO_SECRET = "whsec_ZGVtby1zZWNyZXQtZm9yLWhsZi1vc2xvLTMyYnl0ZXM="  # noqa: S105 - public demo


def sign(*, secret: str, msg_id: str, timestamp: int, body: bytes) -> str:
    """Standard Webhooks v1: base64(HMAC-SHA256(key, "{id}.{timestamp}.{body}"))."""
    key = base64.b64decode(secret.removeprefix("whsec_"))
    content = f"{msg_id}.{timestamp}.".encode() + body
    digest = hmac.new(key, content, hashlib.sha256).digest()
    return "v1," + base64.b64encode(digest).decode()


def _example_body(source: str) -> bytes:
    return json.dumps(
        {
            "type": "membership.created",
            "source": source,
            "occurred_at": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "data": {
                "member_id": "5b0b7c59-0000-4000-8000-000000000099",
                "first_name": "Nora",
                "last_name": "Eksempel",
                "email": "nora@example.no",
                "phone": "+4790000000",
                "role": "peer_mentor",
            },
        },
        separators=(",", ":"),
    ).encode()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    host = os.environ.get("HOST", "127.0.0.1")
    port = os.environ.get("PORT", "8000")
    parser.add_argument("--url", default=f"http://{host}:{port}/webhooks/dynamics/")
    parser.add_argument("--source", default=DEMO_SOURCE)
    parser.add_argument("--secret", default=DEMO_SECRET)
    parser.add_argument("--body", help="a JSON file to sign and send (compacted) instead")
    args = parser.parse_args()

    if args.body:
        with open(args.body, "rb") as file:
            body = json.dumps(json.load(file), separators=(",", ":")).encode()
    else:
        body = _example_body(args.source)
    msg_id = f"msg_{uuid.uuid4().hex}"
    timestamp = int(time.time())
    signature = sign(secret=args.secret, msg_id=msg_id, timestamp=timestamp, body=body)
    command = [
        "curl", "-sS", "-i", "-X", "POST", args.url,
        "-H", "Content-Type: application/json",
        "-H", f"webhook-id: {msg_id}",
        "-H", f"webhook-timestamp: {timestamp}",
        "-H", f"webhook-signature: {signature}",
        "--data-binary", body.decode(),
    ]  # fmt: skip
    print(" ".join(shlex.quote(part) for part in command))


if __name__ == "__main__":
    main()
