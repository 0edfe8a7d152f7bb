"""Two-organisation isolation for the screens and routes no app-specific test covered.

The app API's four routes, the global-only custom admin URLs and the third-party admin
screens: requested as the administrator of organisation A, organisation B's data is
absent or answers 404/403, while A's own (or, for a global admin, everything) works — so
each test fails if the scoping broke and also if the screen simply stopped answering.
"""

import pytest
from django.contrib.auth.models import Group
from django.urls import reverse
from django.utils import timezone
from django_celery_beat.models import (
    ClockedSchedule,
    CrontabSchedule,
    IntervalSchedule,
    PeriodicTask,
    SolarSchedule,
)
from rest_framework.authtoken.models import Token

from dataverse.models import DataverseConnection
from sync.models import InboundEvent
from tests.conftest import PASSWORD
from tests.portal_integration.conftest import member_login, token_client
from tests.support.isolation import isolation_test
from webhooks.services import webhook_source_create

# --- the app API --------------------------------------------------------------------------


def _api(organization, endpoint: str = "members/", member: str = "") -> str:
    return f"/api/v1/organizations/{organization.slug}/{endpoint}".format(member=member)


def _event(organization, webhook_id: str) -> InboundEvent:
    return InboundEvent.objects.create(
        organization=organization,
        source_identifier=organization.slug,
        webhook_id=webhook_id,
        event_type="membership.updated",
        payload_format="envelope",
        payload={},
    )


@isolation_test(
    "api-organization-members",
    "api-organization-member",
    "api-organization-sync-status",
)
def test_api_organisation_routes_show_an_org_admin_only_their_organisation(
    org_a, org_b, org_admin_a, member_a, member_b
):
    _event(org_a, "alpha-event")
    _event(org_b, "beta-event")
    client = token_client(org_admin_a)

    listing = client.get(_api(org_a))
    assert listing.status_code == 200
    ids = [row["portal_member_id"] for row in listing.json()["results"]]
    assert ids == [member_a.portal_member_id]
    assert client.get(_api(org_a, "members/{member}/", member_a.portal_member_id)).json()[
        "last_name"
    ] == (member_a.last_name)
    status = client.get(_api(org_a, "sync-status/"))
    assert status.status_code == 200
    # A's one pending event, not B's: the figures are counted within the organisation.
    assert status.json()["pending"] == 1
    assert len(status.json()["recent_events"]) == 1

    # B's member, asked for through A's URL: not A's, so missing.
    crossed = client.get(_api(org_a, "members/{member}/", member_b.portal_member_id))
    assert crossed.status_code == 404
    # B's own URLs: the same 404 as an organisation that does not exist.
    for endpoint in ("members/", "members/{member}/", "sync-status/"):
        response = client.get(_api(org_b, endpoint, member_b.portal_member_id))
        assert response.status_code == 404, endpoint
        assert member_b.last_name not in response.content.decode()
        assert "pending" not in response.json()


@isolation_test("api-portal-config")
def test_portal_config_preview_and_own_view_stay_within_the_organisation(
    org_a, org_b, org_admin_a, member_a, member_b
):
    url = reverse("api-portal-config")
    admin_client = token_client(org_admin_a)
    own = admin_client.get(url, {"organization": org_a.slug, "member": member_a.portal_member_id})
    assert own.status_code == 200
    assert own.json()["member_id"] == member_a.portal_member_id
    # Another organisation, or its member through the admin's own organisation: 404.
    other = admin_client.get(url, {"organization": org_b.slug, "member": member_b.portal_member_id})
    crossed = admin_client.get(
        url, {"organization": org_a.slug, "member": member_b.portal_member_id}
    )
    assert other.status_code == crossed.status_code == 404
    assert member_b.portal_member_id not in other.content.decode() + crossed.content.decode()

    # A member sees their own organisation's configuration and cannot preview another.
    member_client = member_login(member_a, "member-a-login")
    mine = member_client.get(url)
    assert mine.status_code == 200
    assert mine.json()["member_id"] == member_a.portal_member_id
    assert org_b.slug not in mine.content.decode()
    assert (
        member_client.get(
            url, {"organization": org_b.slug, "member": member_b.portal_member_id}
        ).status_code
        == 404
    )


# --- custom admin URLs for global administrators only ---------------------------------------


@pytest.fixture
def sources(org_a, org_b):
    source_a, _ = webhook_source_create(organization=org_a, identifier="hlf-alpha")
    source_b, _ = webhook_source_create(organization=org_b, identifier="hlf-beta")
    return source_a, source_b


def _assert_global_only(response) -> None:
    assert response.status_code == 403
    # The styled page of the admin, saying why (not a bare 403 or another org's data).
    body = response.content.decode()
    assert "global administrators only" in body
    assert "HLF Beta" not in body


@isolation_test(
    "admin:webhooks_webhooksource_run",
    "admin:dataverse_dataverseconnection_reconcile",
)
def test_source_buttons_and_reconcile_are_closed_to_org_admins(
    client, as_org_admin_a, global_admin, sources
):
    source_a, source_b = sources
    connection = DataverseConnection.objects.create(
        source=source_a,
        environment_url="https://hlf.crm4.dynamics.com",
        tenant_id="tenant",
        client_id="client",
    )
    for source in (source_a, source_b):
        url = reverse("admin:webhooks_webhooksource_run", args=[source.pk, "disable_sources"])
        assert as_org_admin_a.post(url, {"confirmed": "yes"}).status_code in (403, 404)
        source.refresh_from_db()
        assert source.is_active
    reconcile = reverse("admin:dataverse_dataverseconnection_reconcile", args=[connection.pk])
    _assert_global_only(as_org_admin_a.post(reconcile))

    # The same buttons work for a global admin: the wrapper refuses by user, not always.
    client.force_login(global_admin)
    url = reverse("admin:webhooks_webhooksource_run", args=[source_b.pk, "disable_sources"])
    assert client.post(url, {"confirmed": "yes"}).status_code == 302
    source_b.refresh_from_db()
    assert not source_b.is_active
    assert client.post(reconcile).status_code == 302


@isolation_test("admin:monitoring_health", "admin:monitoring_health_reprocess")
def test_health_and_reprocess_all_are_closed_to_org_admins(
    client, as_org_admin_a, global_admin, org_b
):
    failed = _event(org_b, "beta-failed")
    InboundEvent.objects.filter(pk=failed.pk).update(status=InboundEvent.Status.FAILED)
    _assert_global_only(as_org_admin_a.get(reverse("admin:monitoring_health")))
    _assert_global_only(
        as_org_admin_a.post(reverse("admin:monitoring_health_reprocess"), {"confirmed": "yes"})
    )
    failed.refresh_from_db()
    assert failed.status == InboundEvent.Status.FAILED  # B's event was not touched

    client.force_login(global_admin)
    assert client.get(reverse("admin:monitoring_health")).status_code == 200
    assert client.get(reverse("admin:monitoring_health_reprocess")).status_code == 200


@isolation_test("admin:portal_integration_onboard", "admin:portal_integration_onboard_checklist")
def test_onboarding_pages_are_closed_to_org_admins(client, as_org_admin_a, global_admin, org_b):
    _assert_global_only(as_org_admin_a.get(reverse("admin:portal_integration_onboard")))
    checklist = reverse("admin:portal_integration_onboard_checklist", args=[org_b.pk])
    _assert_global_only(as_org_admin_a.get(checklist))

    client.force_login(global_admin)
    assert client.get(reverse("admin:portal_integration_onboard")).status_code == 200
    page = client.get(checklist)
    assert page.status_code == 200
    assert "HLF Beta" in page.content.decode()


# --- third-party admin screens ----------------------------------------------------------------


@isolation_test(
    "admin:auth_group_changelist",
    "admin:auth_user_changelist",
    "admin:auth_user_password_change",
    "admin:authtoken_tokenproxy_changelist",
    "admin:django_celery_beat_periodictask_changelist",
    "admin:django_celery_beat_clockedschedule_changelist",
    "admin:django_celery_beat_crontabschedule_changelist",
    "admin:django_celery_beat_solarschedule_changelist",
    "admin:django_celery_beat_intervalschedule_changelist",
)
def test_third_party_screens_are_closed_to_org_admins(
    client, as_org_admin_a, global_admin, member_b
):
    member_login(member_b, "member-b-login")
    token = Token.objects.get(user=member_b.user)
    schedule = IntervalSchedule.objects.create(every=5, period=IntervalSchedule.MINUTES)
    objects = {
        "auth_group": Group.objects.create(name="Beta helpers"),
        "auth_user": member_b.user,
        "authtoken_tokenproxy": token,
        "django_celery_beat_periodictask": PeriodicTask.objects.create(
            name="beta-task", task="sync.tasks.x", interval=schedule
        ),
        "django_celery_beat_clockedschedule": ClockedSchedule.objects.create(
            clocked_time=timezone.now()
        ),
        "django_celery_beat_crontabschedule": CrontabSchedule.objects.create(minute="7"),
        "django_celery_beat_solarschedule": SolarSchedule.objects.create(
            event="sunrise", latitude=60, longitude=10
        ),
        "django_celery_beat_intervalschedule": schedule,
    }
    for prefix, obj in objects.items():
        changelist = as_org_admin_a.get(reverse(f"admin:{prefix}_changelist"))
        assert changelist.status_code == 403, prefix
        change = as_org_admin_a.get(reverse(f"admin:{prefix}_change", args=[obj.pk]))
        assert change.status_code in (403, 404), prefix
        assert "member-b-login" not in change.content.decode()
    password = reverse("admin:auth_user_password_change", args=[member_b.user.pk])
    assert as_org_admin_a.post(password, {"password1": "x", "password2": "x"}).status_code in (
        403,
        404,
    )
    member_b.user.refresh_from_db()
    assert member_b.user.check_password(PASSWORD)  # unchanged

    client.force_login(global_admin)
    for prefix in objects:
        assert client.get(reverse(f"admin:{prefix}_changelist")).status_code == 200, prefix
