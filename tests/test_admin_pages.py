"""No dead ends in the admin: styled 403/404 pages, the source page's own buttons, no
"view site", search by name and e-mail, scoped CSV exports (issue 10, items 5 and 8)."""

import csv
import io
import uuid

import pytest
from django.urls import reverse
from django.utils import timezone

from organizations.models import Member
from portal_integration.models import PortalConfiguration
from sync.models import InboundEvent
from tests.factories import MemberFactory
from tests.portal_integration.factories import WebhookSourceFactory
from tests.support.isolation import isolation_test
from webhooks.models import WebhookSecret, WebhookSource


def _event(organization, *subject_ids, outcome="Applied.") -> InboundEvent:
    return InboundEvent.objects.create(
        organization=organization,
        source_identifier=f"src-{organization.slug}",
        webhook_id=f"msg_{uuid.uuid4().hex}",
        event_type="member.updated",
        payload_format="envelope",
        payload={},
        status=InboundEvent.Status.SUCCEEDED,
        outcome=outcome,
        subject_ids=" ".join(subject_ids),
        finished_at=timezone.now(),
    )


# --- styled 403 / 404 --------------------------------------------------------------------


@pytest.mark.parametrize(
    "url_name",
    [
        "admin:webhooks_webhooksource_changelist",
        "admin:webhooks_webhookrejection_changelist",
        "admin:organizations_organizationadministrator_changelist",
        "admin:portal_integration_onboard",
        "admin:django_celery_beat_periodictask_changelist",
    ],
)
def test_global_only_pages_answer_a_styled_403_for_org_admins(as_org_admin_a, org_a, url_name):
    response = as_org_admin_a.get(reverse(url_name))
    assert response.status_code == 403
    body = response.content.decode()
    assert 'class="admin-error-page"' in body
    assert "global administrators only" in body
    assert org_a.name in body  # what they do administer
    assert 'id="admin-error-home"' in body
    assert 'id="nav-sidebar"' in body or 'id="header"' in body
    assert "403 Forbidden" not in body


def test_global_only_object_pages_answer_403_too(as_org_admin_a, org_a):
    source = WebhookSourceFactory(organization=org_a, identifier="hlf-alpha-src")
    url = reverse("admin:webhooks_webhooksource_change", args=[source.pk])
    response = as_org_admin_a.get(url)
    assert response.status_code == 403
    assert "admin-error-page" in response.content.decode()


def test_another_organisations_object_is_a_styled_404_even_with_debug(
    as_org_admin_a, org_b, member_b, settings
):
    settings.DEBUG = True  # the demo: no technical page listing every URL
    for url in (
        reverse("admin:organizations_member_change", args=[member_b.pk]),
        reverse(
            "admin:portal_integration_portalconfiguration_change",
            args=[PortalConfiguration.objects.get(organization=org_b).pk],
        ),
        reverse("admin:organizations_organization_change", args=[org_b.pk]),
    ):
        response = as_org_admin_a.get(url, HTTP_REFERER="http://testserver/admin/")
        assert response.status_code == 404, url
        body = response.content.decode()
        assert "admin-error-page" in body
        assert "belongs to an organisation you do not administer" in body
        assert "Using the URLconf" not in body
        assert member_b.last_name not in body and org_b.name not in body
        assert 'href="http://testserver/admin/" id="admin-error-back"' in body


def test_the_error_pages_speak_bokmal(as_org_admin_a, settings):
    settings.LANGUAGE_CODE = "nb"
    response = as_org_admin_a.get(
        reverse("admin:webhooks_webhooksource_changelist"), HTTP_ACCEPT_LANGUAGE="nb"
    )
    body = response.content.decode()
    assert response.status_code == 403
    assert "globale administratorer" in body
    assert "Gå til startsiden" in body


def test_there_is_no_view_site_link(as_global_admin):
    body = as_global_admin.get(reverse("admin:index")).content.decode()
    assert "View site" not in body
    assert 'href="/"' not in body


# --- the webhook source's own buttons ---------------------------------------------------


def test_the_source_page_has_its_own_buttons(as_global_admin, org_a):
    source = WebhookSourceFactory(organization=org_a, identifier="hlf-alpha-src")
    body = as_global_admin.get(
        reverse("admin:webhooks_webhooksource_change", args=[source.pk])
    ).content.decode()
    for action in ("send_test_payload", "rotate_secret", "disable_sources"):
        assert reverse("admin:webhooks_webhooksource_run", args=[source.pk, action]) in body


def test_rotating_from_the_source_page_asks_first_then_shows_the_secret(as_global_admin, org_a):
    source = WebhookSourceFactory(organization=org_a, identifier="hlf-alpha-src")
    url = reverse("admin:webhooks_webhooksource_run", args=[source.pk, "rotate_secret"])
    change_url = reverse("admin:webhooks_webhooksource_change", args=[source.pk])
    before = WebhookSecret.objects.filter(source=source).count()
    confirmation = as_global_admin.get(url)
    assert confirmation.status_code == 200
    body = confirmation.content.decode()
    assert "Rotate the secret" in body
    assert f'href="{change_url}" class="button cancel-link"' in body
    assert WebhookSecret.objects.filter(source=source).count() == before
    done = as_global_admin.post(url, {"confirmed": "yes"})
    assert done.status_code == 200
    assert "no-store" in done["Cache-Control"]
    assert WebhookSecret.objects.filter(source=source).count() == before + 1


def test_disabling_from_the_source_page(as_global_admin, org_a):
    source = WebhookSourceFactory(organization=org_a, identifier="hlf-alpha-src")
    url = reverse("admin:webhooks_webhooksource_run", args=[source.pk, "disable_sources"])
    assert as_global_admin.post(url).status_code == 200  # not confirmed yet: asks
    assert WebhookSource.objects.get(pk=source.pk).is_active
    response = as_global_admin.post(url, {"confirmed": "yes"})
    assert response.status_code == 302
    assert not WebhookSource.objects.get(pk=source.pk).is_active


def test_source_page_actions_are_for_global_admins_only(as_org_admin_a, org_a):
    source = WebhookSourceFactory(organization=org_a, identifier="hlf-alpha-src")
    url = reverse("admin:webhooks_webhooksource_run", args=[source.pk, "disable_sources"])
    assert as_org_admin_a.post(url, {"confirmed": "yes"}).status_code == 403
    assert WebhookSource.objects.get(pk=source.pk).is_active


def test_an_unknown_source_page_action_is_404(as_global_admin, org_a):
    source = WebhookSourceFactory(organization=org_a, identifier="hlf-alpha-src")
    url = reverse("admin:webhooks_webhooksource_run", args=[source.pk, "delete_selected"])
    assert as_global_admin.post(url, {"confirmed": "yes"}).status_code == 404
    assert WebhookSource.objects.filter(pk=source.pk).exists()


# --- add organisation points to onboarding --------------------------------------------


def test_add_organisation_points_to_onboarding(as_global_admin):
    onboard = reverse("admin:portal_integration_onboard")
    add = as_global_admin.get(reverse("admin:organizations_organization_add")).content.decode()
    assert f'href="{onboard}" id="onboarding-pointer-link"' in add
    listing = as_global_admin.get(
        reverse("admin:organizations_organization_changelist")
    ).content.decode()
    assert f'href="{onboard}"' in listing


# --- search and CSV export ----------------------------------------------------------------


def test_sync_log_finds_events_by_member_name_and_email(
    as_org_admin_a, org_a, org_b, member_a, member_b
):
    mine = _event(org_a, member_a.portal_member_id)
    other = _event(org_a, str(uuid.uuid4()))
    theirs = _event(org_b, member_b.portal_member_id)
    url = reverse("admin:sync_inboundevent_changelist")
    for term in ("Kari Alphasen", member_a.email, "alphasen", member_a.portal_member_id):
        found = list(as_org_admin_a.get(url, {"q": term}).context["cl"].result_list)
        assert found == [mine], term
    # Another organisation's member is not found, not even by exact name or id.
    for term in ("Per Betasen", member_b.email, member_b.portal_member_id):
        assert list(as_org_admin_a.get(url, {"q": term}).context["cl"].result_list) == [], term
    assert other and theirs


def test_global_admins_find_members_of_every_organisation(
    as_global_admin, org_a, org_b, member_a, member_b
):
    theirs = _event(org_b, member_b.portal_member_id)
    url = reverse("admin:sync_inboundevent_changelist")
    assert list(as_global_admin.get(url, {"q": "Betasen"}).context["cl"].result_list) == [theirs]


def test_members_search_by_name_and_email_within_scope(as_org_admin_a, member_a, member_b):
    url = reverse("admin:organizations_member_changelist")
    assert list(as_org_admin_a.get(url, {"q": "Kari Alphasen"}).context["cl"].result_list) == [
        member_a
    ]
    assert list(as_org_admin_a.get(url, {"q": member_b.email}).context["cl"].result_list) == []


def _csv(response) -> list[dict]:
    content = b"".join(response.streaming_content).decode("utf-8-sig")
    return list(csv.DictReader(io.StringIO(content)))


@isolation_test("admin:sync_inboundevent_export")
def test_sync_log_csv_is_filtered_and_scoped(as_org_admin_a, org_a, org_b, member_a, member_b):
    _event(org_a, member_a.portal_member_id, outcome="=HYPERLINK(evil)")
    failed = _event(org_a, member_a.portal_member_id)
    failed.status = InboundEvent.Status.FAILED
    failed.save()
    _event(org_b, member_b.portal_member_id)
    url = reverse("admin:sync_inboundevent_export")
    response = as_org_admin_a.get(url)
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    rows = _csv(response)
    assert len(rows) == 2
    assert {row["organisation"] for row in rows} == {org_a.name}
    assert "'=HYPERLINK(evil)" in [row["outcome"] for row in rows]
    only_failed = _csv(as_org_admin_a.get(url, {"status__exact": "failed"}))
    assert [row["webhook id"] for row in only_failed] == [failed.webhook_id]
    by_name = _csv(as_org_admin_a.get(url, {"q": "Betasen"}))
    assert by_name == []
    # The list offers the export with its current filters.
    listing = as_org_admin_a.get(
        reverse("admin:sync_inboundevent_changelist"), {"status__exact": "failed"}
    ).content.decode()
    assert f"{url}?status__exact=failed" in listing


@isolation_test("admin:organizations_member_export")
def test_member_csv_is_scoped(as_org_admin_a, org_a, org_b, member_a, member_b):
    MemberFactory(organization=org_a, first_name="Åse", last_name="Ødegård")
    rows = _csv(as_org_admin_a.get(reverse("admin:organizations_member_export")))
    assert sorted(row["last name"] for row in rows) == ["Alphasen", "Ødegård"]
    assert member_b.email not in str(rows)
    assert Member.objects.count() == 3


def test_csv_export_needs_a_login(client, member_a):
    response = client.get(reverse("admin:organizations_member_export"))
    assert response.status_code == 302
