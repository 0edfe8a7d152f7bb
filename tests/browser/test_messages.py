"""Issue 10.4 in headless Chromium: one stored outcome, read in Bokmål and in English, with
its failure highlighted and a warning before reprocessing what can only fail again."""

import uuid

import pytest
from django.utils import timezone

from organizations.messages import message, role
from sync.models import InboundEvent
from tests.browser.test_admin_flows import _login

pytestmark = [pytest.mark.server, pytest.mark.browser]


def _failed_role_event(organization) -> InboundEvent:
    outcome = message(
        "sync.role_invalid",
        subject=message("sync.subject.member", id="5b0b-kari"),
        value="'boss'",
        choices=[role(value) for value in ("member", "peer_mentor", "coordinator", "org_admin")],
    )
    return InboundEvent.objects.create(
        organization=organization,
        source_identifier="hlf-alpha",
        webhook_id=f"msg_{uuid.uuid4().hex}",
        event_type="role.updated",
        payload_format="envelope",
        payload={},
        status=InboundEvent.Status.FAILED,
        outcome=outcome,
        subject_ids="5b0b-kari",
        attempts=1,
        started_at=timezone.now(),
        finished_at=timezone.now(),
    )


def test_the_same_stored_outcome_reads_in_bokmal_and_english(
    live_http_server, browser, org_admin_a, org_a, org_b
):
    event = _failed_role_event(org_a)
    other = _failed_role_event(org_b)
    base = live_http_server.base_url
    change = f"{base}/admin/sync/inboundevent/{event.pk}/change/"

    page = _login(browser, base, org_admin_a, locale="nb-NO")
    page.goto(f"{base}/admin/sync/inboundevent/")
    cell = page.locator("#result_list td.field-outcome_preview span").first
    assert "Likeperson, Koordinator" in cell.get_attribute("title")
    assert page.locator("#result_list tbody tr").count() == 1  # not the other organisation's
    page.goto(change)
    box = page.locator(".sync-failure")
    assert box.is_visible()
    text = box.inner_text()
    assert "Medlem 5b0b-kari: Min Side sendte rollen 'boss'" in text
    assert "Rett rollen i Min Side" in text
    assert "Ny behandling hjelper ikke før kilden er rettet" in text
    # Reprocessing what can only fail again: offered, with the warning first.
    with page.expect_navigation():
        page.click("text=Behandle på nytt")
    assert page.locator("#reprocess-warning").is_visible()
    assert "Behandle på nytt likevel" in page.locator("input[type=submit]").get_attribute("value")
    page.close()

    page = _login(browser, base, org_admin_a, locale="en-GB")
    page.goto(change)
    text = page.locator(".sync-failure").inner_text()
    assert "Member 5b0b-kari: Min Side sent the role 'boss'" in text
    assert "Peer mentor, Coordinator" in text
    assert "Correct the role in Min Side" in text
    # Another organisation's event stays out of reach.
    response = page.goto(f"{base}/admin/sync/inboundevent/{other.pk}/change/")
    assert response.status == 404
    page.close()
