"""DJANGO_ENV=production: refuses to start half-configured, passes `check --deploy`."""

import json
import os
import secrets
import subprocess
import sys

import pytest
from cryptography.fernet import Fernet

from tests.support.servers import REPO_ROOT

REQUIRED = [
    "DATABASE_URL",
    "CELERY_BROKER_URL",
    "ALLOWED_HOSTS",
    "SECRET_KEY",
    "FIELD_ENCRYPTION_KEYS",
]
# Variables of this test run that must not leak into the profile under test.
_INHERITED = [
    *REQUIRED,
    "DJANGO_ENV",
    "DATA_DIR",
    "DEBUG",
    "CACHE_URL",
    "DJANGO_ALLOW_ASYNC_UNSAFE",
]


def production_env(tmp_path, **changes) -> dict[str, str]:
    env = {key: value for key, value in os.environ.items() if key not in _INHERITED}
    env.update(
        DJANGO_ENV="production",
        DATABASE_URL="postgres://minside@127.0.0.1:54329/minside",
        CELERY_BROKER_URL="redis://127.0.0.1:63799/0",
        ALLOWED_HOSTS="bridge.example.org",
        SECRET_KEY=secrets.token_urlsafe(50),
        FIELD_ENCRYPTION_KEYS=Fernet.generate_key().decode(),
        DATA_DIR=str(tmp_path / "data"),
    )
    for key, value in changes.items():
        if value is None:
            env.pop(key, None)
        else:
            env[key] = value
    return env


def run(args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, *args], cwd=REPO_ROOT, env=env, capture_output=True, text=True, timeout=120
    )


IMPORT_SETTINGS = ["-c", "import config.settings"]


@pytest.mark.parametrize("missing", REQUIRED)
def test_production_refuses_to_start_without(tmp_path, missing):
    result = run(IMPORT_SETTINGS, production_env(tmp_path, **{missing: None}))
    assert result.returncode != 0
    assert "ImproperlyConfigured" in result.stderr
    assert missing in result.stderr.splitlines()[-1]
    # No development default was created in its place.
    assert not (tmp_path / "data").exists()


def test_production_names_everything_missing_at_once(tmp_path):
    result = run(IMPORT_SETTINGS, production_env(tmp_path, **dict.fromkeys(REQUIRED)))
    last_line = result.stderr.splitlines()[-1]
    assert all(name in last_line for name in REQUIRED), last_line


def test_an_empty_value_counts_as_missing(tmp_path):
    result = run(IMPORT_SETTINGS, production_env(tmp_path, CELERY_BROKER_URL=" "))
    assert result.returncode != 0
    assert "CELERY_BROKER_URL" in result.stderr.splitlines()[-1]


def test_check_deploy_is_clean_under_the_production_profile(tmp_path):
    result = run(
        ["manage.py", "check", "--deploy", "--fail-level", "WARNING"], production_env(tmp_path)
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


@pytest.mark.parametrize("profile", ["production", "development"])
def test_importing_settings_creates_no_directory(tmp_path, profile):
    # Development is given what it would otherwise generate under DATA_DIR.
    env = production_env(tmp_path, DJANGO_ENV=profile)
    result = run(IMPORT_SETTINGS, env)
    assert result.returncode == 0, result.stderr
    assert not (tmp_path / "data").exists()


def test_security_settings_of_the_production_profile(tmp_path):
    script = (
        "import json; from django.conf import settings as s; import django; django.setup();"
        "print(json.dumps({k: getattr(s, k) for k in ("
        "'DEBUG','SECURE_HSTS_SECONDS','SESSION_COOKIE_SECURE','CSRF_COOKIE_SECURE',"
        "'SECURE_SSL_REDIRECT','SECURE_PROXY_SSL_HEADER')}))"
    )
    env = production_env(tmp_path, DJANGO_SETTINGS_MODULE="config.settings")
    result = run(["-c", script], env)
    assert result.returncode == 0, result.stderr
    values = json.loads(result.stdout.strip().splitlines()[-1])
    assert values["DEBUG"] is False
    assert values["SECURE_HSTS_SECONDS"] >= 31536000
    assert values["SESSION_COOKIE_SECURE"] and values["CSRF_COOKIE_SECURE"]
    assert values["SECURE_SSL_REDIRECT"] is True
    assert values["SECURE_PROXY_SSL_HEADER"] == ["HTTP_X_FORWARDED_PROTO", "https"]
