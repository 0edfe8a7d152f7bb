"""An organisation admin logs in through a real browser and sees only their organisation."""

import pytest

from tests.conftest import PASSWORD

pytestmark = [pytest.mark.server, pytest.mark.browser]


def test_org_admin_sees_only_own_members_in_browser(
    live_http_server, browser, org_admin_a, member_a, member_b
):
    page = browser.new_page(locale="en-GB")
    page.goto(f"{live_http_server.base_url}/admin/login/")
    page.fill("#id_username", org_admin_a.username)
    page.fill("#id_password", PASSWORD)
    page.click("input[type=submit]")
    page.wait_for_url(f"{live_http_server.base_url}/admin/")

    page.goto(f"{live_http_server.base_url}/admin/organizations/member/")
    listing = page.inner_text("#result_list")
    assert member_a.last_name in listing
    assert member_b.last_name not in listing

    response = page.goto(
        f"{live_http_server.base_url}/admin/organizations/member/{member_b.pk}/change/"
    )
    assert response.status in (403, 404)
    assert member_b.last_name not in page.content()
