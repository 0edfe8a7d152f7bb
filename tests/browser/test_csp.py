"""The admin works under the Content-Security-Policy, in a real Chromium, with no violation."""

import pytest
from django.urls import reverse

from tests.conftest import PASSWORD

pytestmark = [pytest.mark.server, pytest.mark.browser]


def test_admin_pages_work_under_the_policy(live_http_server, browser, global_admin, member_a):
    base = live_http_server.base_url
    page = browser.new_page(locale="en-GB")
    violations: list[str] = []
    page.on(
        "console",
        lambda message: (
            violations.append(message.text) if "Content Security Policy" in message.text else None
        ),
    )
    page.goto(f"{base}/admin/login/")
    assert "script-src 'self'" in page.evaluate(
        "async () => (await fetch('/admin/login/')).headers.get('content-security-policy')"
    )
    page.fill("#id_username", global_admin.username)
    page.fill("#id_password", PASSWORD)
    page.click("input[type=submit]")
    page.wait_for_url(f"{base}/admin/")

    for url in (
        "/admin/",
        "/admin/organizations/member/",
        f"/admin/organizations/member/{member_a.pk}/change/",
        reverse("admin:monitoring_health"),
        reverse("admin:portal_integration_onboard"),
    ):
        response = page.goto(f"{base}{url}")
        assert response.status == 200, url
        page.wait_for_load_state("load")

    # The admin's own scripts run: the changelist's select-all box checks every row.
    page.goto(f"{base}/admin/organizations/member/")
    page.check("#action-toggle")
    assert page.locator("input.action-select:checked").count() >= 1
    assert violations == []
