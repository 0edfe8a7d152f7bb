"""Shared fixtures: two organisations and their admins, and real processes on demand."""

import os
import shutil
import uuid
from pathlib import Path

import pytest
from django.conf import settings
from django.db import connections
from django.utils import translation

from organizations.models import Member
from tests.factories import (
    MemberFactory,
    OrganizationAdministratorFactory,
    OrganizationFactory,
    UserFactory,
)
from tests.support import servers

PASSWORD = "pw-for-tests-1"


def pytest_sessionstart(session):
    # Messages left by an earlier run in the embedded broker would reach this run's worker.
    broker_dir = getattr(settings, "BROKER_DIR", None)
    if broker_dir is not None:
        shutil.rmtree(broker_dir / "queue", ignore_errors=True)
        (broker_dir / "queue").mkdir(parents=True, exist_ok=True)


@pytest.fixture(autouse=True)
def english_by_default(settings):
    """Tests read English source strings; Norwegian is tested on its own (test_i18n)."""
    settings.LANGUAGE_CODE = "en"
    with translation.override("en"):
        yield


@pytest.fixture
def org_a(db):
    return OrganizationFactory(slug="hlf-alpha", name="HLF Alpha")


@pytest.fixture
def org_b(db):
    return OrganizationFactory(slug="hlf-beta", name="HLF Beta")


@pytest.fixture
def global_admin(db):
    return UserFactory(username="global-admin", is_staff=True, is_superuser=True)


@pytest.fixture
def org_admin_a(org_a):
    return OrganizationAdministratorFactory(
        user=UserFactory(username="admin-alpha", is_staff=True), organization=org_a
    ).user


@pytest.fixture
def as_org_admin_a(client, org_admin_a):
    """The Django test client logged in as organisation A's administrator."""
    client.login(username=org_admin_a.username, password=PASSWORD)
    return client


@pytest.fixture
def as_global_admin(client, global_admin):
    client.login(username=global_admin.username, password=PASSWORD)
    return client


@pytest.fixture
def member_a(org_a):
    # Distinct, fixed names: isolation tests look for them in rendered pages.
    return MemberFactory(
        organization=org_a, role=Member.Role.PEER_MENTOR, first_name="Kari", last_name="Alphasen"
    )


@pytest.fixture
def member_b(org_b):
    return MemberFactory(
        organization=org_b, role=Member.Role.COORDINATOR, first_name="Per", last_name="Betasen"
    )


@pytest.fixture
def artifacts_dir(tmp_path) -> Path:
    return tmp_path


@pytest.fixture
def celery_worker_process(transactional_db, tmp_path):
    """A real `celery worker` process on the configured broker and the test database."""
    log_path = tmp_path / "worker.log"
    with servers.running_process(
        servers.celery_worker_args(), env=servers.child_env(), log_path=log_path
    ) as process:
        ready = servers.wait_until(
            lambda: "ready" in log_path.read_text(errors="replace") or process.poll() is not None,
            timeout=60,
        )
        if not ready or process.poll() is not None:
            pytest.fail(f"celery worker did not start:\n{servers.log_tail(log_path)}")
        process.log_path = log_path
        yield process


@pytest.fixture
def live_http_server(transactional_db, tmp_path):
    """gunicorn serving the project on a free loopback port, on the test database."""
    import requests

    port = servers.free_port()
    log_path = tmp_path / "gunicorn.log"
    base_url = f"http://127.0.0.1:{port}"

    def answering():
        try:
            return requests.get(f"{base_url}/healthz", timeout=1).status_code == 200
        except requests.RequestException:
            return False

    with servers.running_process(
        servers.gunicorn_args(port=port), env=servers.child_env(), log_path=log_path
    ) as process:
        if not servers.wait_until(answering, timeout=60):
            pytest.fail(f"gunicorn did not start:\n{servers.log_tail(log_path)}")
        process.base_url = base_url
        process.log_path = log_path
        yield process


@pytest.fixture
def browser():
    """Headless Debian Chromium driven by Playwright (never a downloaded browser)."""
    chromium_path = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")
    if not Path(chromium_path).exists():
        servers.unavailable(f"Chromium not found at {chromium_path}")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        servers.unavailable("playwright is not installed")
    # Playwright's sync API runs an event loop; Django refuses ORM calls from such a thread
    # unless told otherwise. Tests touch the ORM only outside browser interactions.
    os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    with sync_playwright() as playwright:
        instance = playwright.chromium.launch(
            executable_path=chromium_path,
            headless=True,
            args=[
                "--no-sandbox",
                "--disable-gpu",
                "--disable-quic",
                "--no-first-run",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
            ],
        )
        try:
            yield instance
        finally:
            instance.close()
            # ORM calls made while Playwright's loop was current opened a connection in
            # another context; close it so the test database can be dropped.
            connections.close_all()


@pytest.fixture
def unique_id() -> str:
    return str(uuid.uuid4())
