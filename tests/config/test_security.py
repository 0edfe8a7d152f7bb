"""Brakes and shields: login lockout, API throttling, CSP, secrets kept out of error pages."""

import base64
from datetime import timedelta

import pytest
from axes.models import AccessAttempt
from django.core.cache import cache
from django.urls import reverse
from django.utils import timezone

from config.throttling import ApiAnonymousRateThrottle, ApiTokenRateThrottle
from tests.conftest import PASSWORD
from tests.factories import UserFactory
from tests.portal_integration.conftest import member_login
from tests.portal_integration.test_onboarding import _onboarding_post
from tests.webhooks.factories import TEST_SECRET, deliver, envelope, signed
from webhooks.services import webhook_source_create
from webhooks.signing import secret_generate

pytestmark = pytest.mark.django_db

LOGIN = "/admin/login/"


@pytest.fixture(autouse=True)
def fresh_counters():
    cache.clear()
    yield
    cache.clear()


def _login(client, password, *, address="10.0.0.1", language="en"):
    return client.post(
        LOGIN,
        {"username": "global-admin", "password": password, "next": "/admin/"},
        REMOTE_ADDR=address,
        HTTP_ACCEPT_LANGUAGE=language,
    )


# --- login lockout ------------------------------------------------------------------


def test_admin_login_locks_after_repeated_failures_then_cools_off(client, global_admin, settings):
    for _ in range(settings.AXES_FAILURE_LIMIT - 1):
        assert _login(client, "wrong").status_code == 200  # the form again, with its error
    locked = _login(client, "wrong")
    assert locked.status_code == 429
    # Even the right password is refused while locked.
    refused = _login(client, PASSWORD)
    assert refused.status_code == 429
    assert "Too many failed login attempts" in refused.content.decode()
    assert "_auth_user_id" not in client.session

    # After the cool-off the right password logs in again.
    AccessAttempt.objects.update(attempt_time=timezone.now() - timedelta(hours=1))
    assert _login(client, PASSWORD).status_code == 302
    assert client.session["_auth_user_id"] == str(global_admin.pk)


def test_the_lockout_message_is_in_bokmal_and_english(client, global_admin, settings):
    for _ in range(settings.AXES_FAILURE_LIMIT):
        _login(client, "wrong")
    norwegian = _login(client, PASSWORD, language="nb").content.decode()
    english = _login(client, PASSWORD, language="en").content.decode()
    assert "For mange mislykkede innloggingsforsøk" in norwegian
    assert "Too many failed login attempts" in english


def test_a_lockout_is_per_username_and_address(client, global_admin, settings):
    for _ in range(settings.AXES_FAILURE_LIMIT):
        _login(client, "wrong", address="10.0.0.66")
    assert _login(client, PASSWORD, address="10.0.0.66").status_code == 429
    # The administrator, logging in from elsewhere, is not locked out by that attacker.
    assert _login(client, PASSWORD, address="10.0.0.7").status_code == 302


# --- API throttling -------------------------------------------------------------------


@pytest.fixture
def low_rates(monkeypatch):
    rates = {"api_token": "3/min", "api_anonymous": "2/min"}
    monkeypatch.setattr(ApiTokenRateThrottle, "THROTTLE_RATES", rates)
    monkeypatch.setattr(ApiAnonymousRateThrottle, "THROTTLE_RATES", rates)


def test_the_app_api_is_throttled_per_token(low_rates, member_a, member_b):
    first, second = member_login(member_a, "one"), member_login(member_b, "two")
    url = reverse("api-portal-config")
    assert [first.get(url).status_code for _ in range(3)] == [200] * 3
    throttled = first.get(url)
    assert throttled.status_code == 429
    assert "Retry-After" in throttled.headers
    # Another token has its own budget.
    assert second.get(url).status_code == 200


def test_the_webhook_endpoint_is_never_throttled(low_rates, client, org_a):
    webhook_source_create(organization=org_a, identifier="hlf-alpha", secret=TEST_SECRET)
    statuses = []
    for _ in range(8):
        statuses.append(deliver(client, envelope()).status_code)
    assert 429 not in statuses
    assert statuses.count(202) == 8 or statuses.count(200) + statuses.count(202) == 8


# --- Content-Security-Policy ----------------------------------------------------------


@pytest.mark.parametrize("path", ["/healthz", LOGIN, "/api/schema/"])
def test_every_response_carries_a_content_security_policy(client, path):
    policy = client.get(path).headers["Content-Security-Policy"]
    assert "script-src 'self'" in policy
    assert "frame-ancestors 'none'" in policy
    assert "unsafe-eval" not in policy


# --- secrets never in error pages -----------------------------------------------------


def _key_text(secret: str) -> str:
    return secret.removeprefix("whsec_")


def test_debug_page_of_a_crash_in_signature_checking_shows_no_secret(
    rf, org_a, settings, monkeypatch
):
    # The intake now answers an unexpected error with a recorded 400, so the debug page
    # is rendered here from a crash in the real secret-handling frames.
    import sys

    from django.views.debug import technical_500_response

    from webhooks import services
    from webhooks.selectors import webhook_source_active_secrets

    settings.DEBUG = True
    source, _ = webhook_source_create(
        organization=org_a, identifier="hlf-alpha", secret=TEST_SECRET
    )

    def crash(**kwargs):
        raise RuntimeError("crash while verifying")

    monkeypatch.setattr("webhooks.signing.signature_verify", crash)
    body = envelope()
    headers = signed(body)
    request = rf.post("/webhooks/dynamics/", data=body, content_type="application/json")
    loaded = webhook_source_active_secrets(source=source)  # a local not named "secret"
    try:
        services._authenticate(
            source=source,
            secrets=loaded,
            sig=services._SignatureHeaders(
                headers["webhook-id"],
                int(headers["webhook-timestamp"]),
                headers["webhook-signature"],
            ),
            body=body,
        )
    except RuntimeError:
        page = technical_500_response(request, *sys.exc_info()).content.decode()
    else:
        pytest.fail("the crash did not happen")
    assert "crash while verifying" in page  # it is the debug page, with frame locals
    assert "loaded" in page
    assert _key_text(TEST_SECRET) not in page
    assert base64.b64decode(_key_text(TEST_SECRET)).decode() not in page


def test_debug_page_of_a_crash_in_onboarding_shows_no_secret(
    as_global_admin, settings, monkeypatch
):
    settings.DEBUG = True
    secret = secret_generate()  # not a literal: the page shows this file's source lines

    def crash(**kwargs):
        raise RuntimeError("crash while onboarding")

    monkeypatch.setattr("portal_integration.admin.organization_onboard", crash)
    as_global_admin.raise_request_exception = False
    response = as_global_admin.post(
        reverse("admin:portal_integration_onboard"), _onboarding_post(secret=secret)
    )
    assert response.status_code == 500
    page = response.content.decode()
    assert "crash while onboarding" in page
    assert _key_text(secret) not in page


def test_non_secret_locals_stay_readable_on_the_debug_page():
    from config.error_reports import SecretSafeExceptionReporterFilter

    reporter = SecretSafeExceptionReporterFilter()
    assert reporter._cleansed("identifier", "hlf-alpha") == "hlf-alpha"
    assert reporter._cleansed("headers", {"webhook-signature": "v1,x", "a": "b"}) == {
        "webhook-signature": reporter.cleansed_substitute,
        "a": "b",
    }
    assert reporter._cleansed("result", [TEST_SECRET]) == reporter.cleansed_substitute


def test_login_without_a_request_is_left_to_the_next_backend(global_admin, client):
    # The test client's login() has no request; the lockout check must not break it.
    assert client.login(username="global-admin", password=PASSWORD)
    assert UserFactory  # factories stay importable alongside axes
