"""An organisation admin hands a feature to Min Side in a real browser and previews it."""

import pytest
import requests
from rest_framework.authtoken.models import Token

from portal_integration.models import PortalConfiguration
from tests.conftest import PASSWORD
from tests.factories import UserFactory

pytestmark = [pytest.mark.server, pytest.mark.browser]

LINK = "https://minside.hlf.no/kurs?medlem={member_id}&org={organization}&lang={locale}"


def test_org_admin_hands_a_feature_to_min_side_and_previews_it(
    live_http_server, browser, org_admin_a, org_a, org_b, member_a, member_b
):
    base = live_http_server.base_url
    member_b.user = UserFactory(username="member-b-app")
    member_b.save(update_fields=["user"])
    token = Token.objects.create(user=member_b.user)
    config_a = PortalConfiguration.objects.get(organization=org_a)

    def org_b_api() -> dict:
        response = requests.get(
            f"{base}/api/v1/portal-config/",
            headers={"Authorization": f"Token {token.key}", "Accept-Language": "en"},
            timeout=30,
        )
        assert response.status_code == 200
        return response.json()

    before_b = org_b_api()

    page = browser.new_page(locale="en-GB")
    page.goto(f"{base}/admin/login/")
    page.fill("#id_username", org_admin_a.username)
    page.fill("#id_password", PASSWORD)
    page.click("input[type=submit]")
    page.wait_for_url(f"{base}/admin/")

    page.goto(f"{base}/admin/portal_integration/portalconfiguration/{config_a.pk}/change/")
    page.check("input[name=owner__course_enrollment][value=portal]")
    page.fill("input[name=link__course_enrollment]", LINK)
    page.click("#pi-config-form input[type=submit]")
    page.wait_for_selector(".messagelist .success")
    assert page.inner_text("#pi-version") == "2"

    page.click("#pi-preview-link")
    card = page.locator('#pi-app-features li[data-feature="course_enrollment"]')
    assert card.get_attribute("data-owner") == "portal"
    assert "This is done in Min Side" in card.inner_text()
    button = card.locator("a")
    assert button.get_attribute("target") == "_blank"
    assert button.get_attribute("rel") == "noopener noreferrer"
    assert button.get_attribute("href") == (
        f"https://minside.hlf.no/kurs?medlem={member_a.portal_member_id}&org={org_a.slug}&lang=en"
    )
    entry = page.locator('#pi-app-features li[data-feature="membership_profile"]')
    assert entry.get_attribute("data-owner") == "app"
    assert page.locator("#pi-app-features [disabled]").count() == 0

    # The other organisation is untouched: same version, same features.
    assert org_b_api() == before_b
    assert before_b["version"] == 1
    page.close()
