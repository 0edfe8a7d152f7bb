"""The signing example in docs/ produces requests the endpoint accepts."""

import importlib.util
import json
import shlex
from pathlib import Path

import pytest

from tests.webhooks.factories import ENDPOINT
from webhooks import signing
from webhooks.services import webhook_source_create

EXAMPLE = Path(__file__).resolve().parents[2] / "docs" / "sign_example.py"


def load_example():
    spec = importlib.util.spec_from_file_location("sign_example", EXAMPLE)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_example_signature_matches_the_standard_webhooks_vector():
    example = load_example()
    assert (
        example.sign(
            secret="whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
            msg_id="msg_p5jXN8AQM9LWM0D4loKWxJek",
            timestamp=1614265330,
            body=b'{"test": 2432232314}',
        )
        == "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="
    )


@pytest.mark.django_db
def test_printed_curl_command_is_accepted(client, org_a, capsys, monkeypatch):
    example = load_example()
    webhook_source_create(organization=org_a, identifier="hlf-oslo", secret=example.DEMO_SECRET)
    monkeypatch.setattr("sys.argv", ["sign_example.py"])
    example.main()
    words = shlex.split(capsys.readouterr().out)
    headers = dict(words[i + 1].split(": ", 1) for i, word in enumerate(words) if word == "-H")
    body = words[words.index("--data-binary") + 1].encode()
    assert json.loads(body)["source"] == "hlf-oslo"
    assert signing.signature_verify(
        secrets=[example.DEMO_SECRET],
        msg_id=headers["webhook-id"],
        timestamp=headers["webhook-timestamp"],
        body=body,
        signature_header=headers["webhook-signature"],
    )

    response = client.post(
        ENDPOINT,
        data=body,
        content_type=headers.pop("Content-Type"),
        headers=headers,
    )
    assert response.status_code == 202, response.content


def test_the_printed_url_follows_port_and_host(capsys, monkeypatch):
    example = load_example()
    monkeypatch.setenv("PORT", "9000")
    monkeypatch.delenv("HOST", raising=False)
    monkeypatch.setattr("sys.argv", ["sign_example.py"])
    example.main()
    assert " http://127.0.0.1:9000/webhooks/dynamics/ " in capsys.readouterr().out
    monkeypatch.setattr(
        "sys.argv", ["sign_example.py", "--url", "https://bro.hlf.no/webhooks/dynamics/"]
    )
    example.main()
    assert " https://bro.hlf.no/webhooks/dynamics/ " in capsys.readouterr().out
