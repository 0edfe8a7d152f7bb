"""The admin flows of issue 10 in headless Chromium: no dead end can be published, drafts
are previewed as a member, the history restores, every form error shows at once, styled
403/404 pages, and no list or config page scrolls sideways at 1280 or 1920 px."""

import uuid
from datetime import timedelta

import pytest
from django.utils import timezone

from portal_integration.models import DeepLink, PortalConfiguration
from portal_integration.services import FeatureSetting, portal_configuration_update
from sync.models import InboundEvent
from tests.conftest import PASSWORD
from tests.factories import MemberFactory

pytestmark = [pytest.mark.server, pytest.mark.browser]

LINK = "https://minside.hlf.no/kurs?m={member_id}"
OTHER_LINK = "https://minside.hlf.no/kurs/ny?m={member_id}"
# How far the page, or a scrolling box inside it (Django lists sit in one), scrolls sideways.
SIDEWAYS_SCROLL = """() => {
  const root = document.documentElement;
  let worst = root.scrollWidth - root.clientWidth;
  for (const element of document.querySelectorAll("body *")) {
    const overflow = getComputedStyle(element).overflowX;
    if ((overflow === "auto" || overflow === "scroll") && element.clientWidth > 0) {
      worst = Math.max(worst, element.scrollWidth - element.clientWidth);
    }
  }
  return worst;
}"""


def _login(browser, base: str, user, *, width: int = 1280, locale: str = "en-GB"):
    page = browser.new_page(viewport={"width": width, "height": 900}, locale=locale)
    page.goto(f"{base}/admin/login/")
    page.fill("#id_username", user.username)
    page.fill("#id_password", PASSWORD)
    page.click("input[type=submit]")
    page.wait_for_url(f"{base}/admin/")
    return page


def _config_url(base: str, organization) -> str:
    configuration = PortalConfiguration.objects.get(organization=organization)
    return f"{base}/admin/portal_integration/portalconfiguration/{configuration.pk}/change/"


def test_a_dead_end_cannot_be_published(live_http_server, browser, org_admin_a, org_a):
    org_a.portal_base_url = ""
    org_a.save()
    url = _config_url(live_http_server.base_url, org_a)
    page = _login(browser, live_http_server.base_url, org_admin_a)
    page.goto(url)
    page.check("input[name=owner__course_enrollment][value=portal]")
    page.fill("input[name=link__course_enrollment]", "")
    with page.expect_navigation():
        page.click("#pi-publish")
    row = page.locator("#feature-course_enrollment")
    assert "add a deep link" in row.locator(".errorlist").inner_text()
    assert "Nothing was saved" in page.inner_text(".messagelist")
    assert page.inner_text("#pi-version") == "1"
    # A stray brace is refused with its position, next to the same field.
    page.fill("input[name=link__course_enrollment]", "https://minside.hlf.no/kurs?m=member_id}")
    with page.expect_navigation():
        page.click("#pi-publish")
    assert "character 40" in row.locator(".errorlist").inner_text()
    assert PortalConfiguration.objects.get(organization=org_a).version == 1
    page.close()


def test_a_draft_is_previewed_as_a_member_then_published(
    live_http_server, browser, org_admin_a, org_a, member_a
):
    base = live_http_server.base_url
    page = _login(browser, base, org_admin_a)
    page.goto(_config_url(base, org_a))
    page.check("input[name=owner__course_enrollment][value=portal]")
    page.fill("input[name=link__course_enrollment]", LINK)
    with page.expect_navigation():
        page.click("#pi-preview-draft")
    page.wait_for_selector("#pi-draft-preview")
    card = page.locator('#pi-app-features li[data-feature="course_enrollment"]')
    assert card.get_attribute("data-owner") == "portal"
    assert card.locator("a").get_attribute("href") == (
        f"https://minside.hlf.no/kurs?m={member_a.portal_member_id}"
    )
    # Not live yet.
    assert PortalConfiguration.objects.get(organization=org_a).version == 1
    with page.expect_navigation():
        page.click("#pi-publish-draft")
    page.wait_for_selector(".messagelist .success")
    assert page.inner_text("#pi-version") == "2"
    assert (
        DeepLink.objects.get(organization=org_a, feature__key="course_enrollment").url_template
        == LINK
    )
    page.close()


def test_the_history_restores_an_earlier_value(live_http_server, browser, org_admin_a, org_a):
    for link in (LINK, OTHER_LINK):
        portal_configuration_update(
            organization=org_a,
            changes={"course_enrollment": FeatureSetting(owner="portal", url_template=link)},
            user=org_admin_a,
        )
    page = _login(browser, live_http_server.base_url, org_admin_a)
    page.goto(_config_url(live_http_server.base_url, org_a))
    row = page.locator("#pi-history-table tbody tr", has_text=OTHER_LINK).first
    with page.expect_navigation():
        row.locator("button").click()
    page.wait_for_selector(".messagelist .success")
    assert "version 4" in page.inner_text(".messagelist")
    assert page.locator("input[name=link__course_enrollment]").input_value() == LINK
    newest = page.locator("#pi-history-table tbody tr").first.inner_text()
    assert "Restored the value from before the change of" in newest
    page.close()


def test_onboarding_shows_every_error_at_once(live_http_server, browser, global_admin, org_a):
    page = _login(browser, live_http_server.base_url, global_admin)
    page.goto(f"{live_http_server.base_url}/admin/portal_integration/portalconfiguration/onboard/")
    page.fill("#id_slug", "HLF Tromsø")
    page.fill("#id_name", org_a.name)
    page.fill("#id_portal_base_url", "http://minside.hlf.no/tromso")
    page.fill("#id_source_identifier", "hlf-tromso")
    page.fill("#id_secret", "whsec_<base64 key>")
    with page.expect_navigation():
        page.click("#pi-onboard-form input[type=submit]")
    for field in ("slug", "name", "portal_base_url", "secret"):
        assert page.locator(f".field-{field} .errorlist").count() == 1, field
    assert "Nothing was saved: correct the 4 errors below." in page.inner_text(".messagelist")
    page.close()


def test_org_admins_get_styled_403_and_404_pages_in_their_language(
    live_http_server, browser, org_admin_a, org_b
):
    base = live_http_server.base_url
    page = _login(browser, base, org_admin_a, locale="nb-NO")
    response = page.goto(f"{base}/admin/webhooks/webhooksource/")
    assert response.status == 403
    assert "bare for HLFs globale administratorer" in page.inner_text(".admin-error-page")
    assert page.locator("#header").count() == 1
    assert page.locator("#nav-sidebar").count() == 1
    with page.expect_navigation():
        page.click("#admin-error-home")
    page.wait_for_url(f"{base}/admin/")

    response = page.goto(_config_url(base, org_b))
    assert response.status == 404
    assert "hører til en organisasjon du ikke administrerer" in page.inner_text(".admin-error-page")
    assert org_b.name not in page.content()
    page.close()


LIST_PAGES = [
    "/admin/",
    "/admin/organizations/organization/",
    "/admin/organizations/member/",
    "/admin/organizations/courseenrollment/",
    "/admin/sync/inboundevent/",
    "/admin/webhooks/webhooksource/",
    "/admin/webhooks/webhookrejection/",
    "/admin/portal_integration/portalconfiguration/",
    "/admin/django_celery_beat/periodictask/",
    "/admin/authtoken/tokenproxy/",
    "/admin/auth/user/",
]


@pytest.mark.parametrize("width", [1280, 1920])
def test_lists_and_the_config_page_fit_without_sideways_scrolling(
    live_http_server, browser, global_admin, org_a, org_b, artifacts_dir, width
):
    member = MemberFactory(organization=org_a, first_name="Kari", last_name="Nordmann")
    for index in range(3):
        InboundEvent.objects.create(
            organization=org_a,
            source_identifier="hlf-alpha",
            webhook_id=f"msg_{uuid.uuid4().hex}",
            event_type="member.updated",
            payload_format="envelope",
            payload={},
            status=InboundEvent.Status.FAILED,
            outcome=f"Medlem {member.portal_member_id}: " + "role 'boss' is not known. " * 12,
            subject_ids=f"{member.portal_member_id} {uuid.uuid4()} {uuid.uuid4()}",
            received_at=timezone.now() - timedelta(minutes=index),
            started_at=timezone.now(),
            finished_at=timezone.now() + timedelta(seconds=1.5),
        )
    base = live_http_server.base_url
    page = _login(browser, base, global_admin, width=width)
    for path in [*LIST_PAGES, _config_url(base, org_a).removeprefix(base)]:
        page.goto(base + path)
        name = path.strip("/").replace("/", "-") or "root"
        page.screenshot(path=str(artifacts_dir / f"{width}-{name}.png"), full_page=True)
        assert page.evaluate(SIDEWAYS_SCROLL) <= 0, f"{path} scrolls sideways at {width} px"
    # The sync log's outcome column is on screen, its long text cut with the whole on hover.
    page.goto(f"{base}/admin/sync/inboundevent/")
    header = page.locator("#result_list th.column-outcome_preview").bounding_box()
    assert header is not None and header["x"] + header["width"] <= width
    cell = page.locator("#result_list td.field-outcome_preview span").first
    assert cell.get_attribute("title").startswith(f"Medlem {member.portal_member_id}")
    row_height = page.locator("#result_list tbody tr").first.bounding_box()["height"]
    assert row_height < 60
    page.close()
