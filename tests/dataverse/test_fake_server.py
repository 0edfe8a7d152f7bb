"""The fake Dataverse as `make run` users start it: a process on loopback."""

import subprocess
import sys

import requests

from tests.support import servers


def test_fake_server_runs_as_a_module_and_serves_the_documented_shapes(tmp_path):
    port = servers.free_port()
    base = f"http://127.0.0.1:{port}"
    args = [sys.executable, "-m", "dataverse.fake_server", f"--port={port}", "--contacts=3"]
    args += ["--account=acc-1"]
    with servers.running_process(args, env=servers.child_env(), log_path=tmp_path / "fake.log"):

        def answering():
            try:
                return requests.get(f"{base}/_fake/stats", timeout=1).status_code == 200
            except requests.RequestException:
                return False

        assert servers.wait_until(answering, timeout=30), servers.log_tail(tmp_path / "fake.log")
        token = requests.post(
            f"{base}/fake-tenant/oauth2/v2.0/token",
            data={
                "grant_type": "client_credentials",
                "client_id": "fake-client",
                "client_secret": "fake-secret-value",
                "scope": f"{base}/.default",
            },
            timeout=5,
        ).json()["access_token"]
        headers = {"Authorization": f"Bearer {token}", "Prefer": "odata.track-changes"}
        page = requests.get(
            f"{base}/api/data/v9.2/contacts?$select=contactid,_parentcustomerid_value",
            headers=headers,
            timeout=5,
        ).json()
        assert len(page["value"]) == 3
        assert page["value"][0]["_parentcustomerid_value"] == "acc-1"
        assert "$deltatoken=" in page["@odata.deltaLink"]
        assert requests.get(f"{base}/api/data/v9.2/contacts", timeout=5).status_code == 401


def test_fake_server_refuses_a_non_loopback_address():
    result = subprocess.run(
        [sys.executable, "-m", "dataverse.fake_server", "--host=0.0.0.0"],
        capture_output=True,
        timeout=30,
        check=False,
    )
    assert result.returncode != 0
    assert b"loopback" in result.stderr
