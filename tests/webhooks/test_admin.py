"""Admin for sources, secrets and rejections: masking, one-time display, actions, isolation."""

import logging
import re

import pytest
from django.test import override_settings
from django.urls import reverse

from tests.conftest import PASSWORD
from tests.support.isolation import admin_url, assert_admin_hidden, isolation_test
from tests.webhooks.factories import (
    OTHER_SECRET,
    TEST_SECRET,
    WebhookRejectionFactory,
    WebhookSourceFactory,
    deliver,
    envelope,
    signed,
)
from webhooks.models import WebhookHealth, WebhookRejection, WebhookSecret, WebhookSource
from webhooks.selectors import webhook_source_active_secrets
from webhooks.services import webhook_source_create

pytestmark = pytest.mark.django_db

CHANGELIST = "admin:webhooks_webhooksource_changelist"
SECRET_RE = re.compile(r"whsec_[A-Za-z0-9+/=]{20,}")


def full_secrets_in(html: str) -> list[str]:
    return SECRET_RE.findall(html)


def action(client, name: str, *sources, confirmed: bool = False, follow: bool = False):
    data = {"action": name, "_selected_action": [str(s.pk) for s in sources]}
    if confirmed:
        data["confirmed"] = "yes"
    return client.post(reverse(CHANGELIST), data, follow=follow)


# --- masking and one-time display ------------------------------------------------------


def test_changelist_and_change_page_show_secrets_masked_only(as_global_admin, source_a):
    masked = WebhookSecret.objects.get(source=source_a).masked
    assert masked == "whsec_\u2026" + TEST_SECRET[-4:]

    for url in (reverse(CHANGELIST), admin_url(source_a), admin_url(source_a, "history")):
        html = as_global_admin.get(url).content.decode()
        assert masked in html or "history" in url
        assert TEST_SECRET not in html
        assert full_secrets_in(html) == []


def test_adding_a_source_shows_its_secret_once(as_global_admin, org_a):
    response = as_global_admin.post(
        reverse("admin:webhooks_webhooksource_add"),
        {
            "organization": org_a.pk,
            "identifier": "hlf-new",
            "is_active": "on",
            "tolerance_seconds": "300",
            "dataverse_mapping": "{}",
            "secrets-TOTAL_FORMS": "0",
            "secrets-INITIAL_FORMS": "0",
        },
    )
    assert response.status_code == 200, response.content[:2000]
    assert "no-store" in response["Cache-Control"]
    shown = full_secrets_in(response.content.decode())
    source = WebhookSource.objects.get(identifier="hlf-new")
    assert shown == webhook_source_active_secrets(source=source)

    for url in (reverse(CHANGELIST), admin_url(source)):
        assert shown[0] not in as_global_admin.get(url).content.decode()


def test_rotate_asks_for_confirmation_first(as_global_admin, source_a):
    response = action(as_global_admin, "rotate_secret", source_a)

    assert response.status_code == 200
    assert "Are you sure" in response.content.decode() or "hlf-alpha" in response.content.decode()
    assert WebhookSecret.objects.filter(source=source_a).count() == 1


def test_rotate_shows_the_new_secret_once_and_keeps_the_old_for_the_overlap(
    as_global_admin, source_a
):
    response = action(as_global_admin, "rotate_secret", source_a, confirmed=True)

    assert response.status_code == 200
    shown = full_secrets_in(response.content.decode())
    assert len(shown) == 1 and shown[0] != TEST_SECRET
    assert webhook_source_active_secrets(source=source_a) == [shown[0], TEST_SECRET]
    assert "Rotated the secret of 1 source." in response.content.decode()
    assert full_secrets_in(as_global_admin.get(reverse(CHANGELIST)).content.decode()) == []


def test_generate_on_a_source_without_secret(as_global_admin, org_a):
    source = WebhookSourceFactory(organization=org_a, identifier="hlf-empty")
    assert "none" in as_global_admin.get(reverse(CHANGELIST)).content.decode()

    response = action(as_global_admin, "generate_secret", source, confirmed=True)

    shown = full_secrets_in(response.content.decode())
    assert webhook_source_active_secrets(source=source) == shown


def test_generate_on_a_source_with_secret_is_refused_with_a_message(as_global_admin, source_a):
    response = action(as_global_admin, "generate_secret", source_a, confirmed=True, follow=True)
    assert "rotate it instead" in response.content.decode()
    assert WebhookSecret.objects.filter(source=source_a).count() == 1


def test_disable_after_confirmation(as_global_admin, source_a):
    action(as_global_admin, "disable_sources", source_a)
    source_a.refresh_from_db()
    assert source_a.is_active is True

    response = action(as_global_admin, "disable_sources", source_a, confirmed=True, follow=True)
    source_a.refresh_from_db()
    assert source_a.is_active is False
    assert "Disabled 1 source." in response.content.decode()


def test_rejections_are_read_only(as_global_admin, source_a):
    rejection = WebhookRejectionFactory(source=source_a, headers={"webhook-id": "msg_x"})
    page = as_global_admin.get(admin_url(rejection))
    assert page.status_code == 200
    assert "msg_x" in page.content.decode()
    assert as_global_admin.get(reverse("admin:webhooks_webhookrejection_add")).status_code == 403
    assert as_global_admin.post(admin_url(rejection), {"reason": "unknown_source"}).status_code in (
        403,
        200,
    )
    rejection.refresh_from_db()
    assert rejection.reason == "invalid_signature"
    assert as_global_admin.get(admin_url(rejection, "delete")).status_code == 403
    filtered = as_global_admin.get(
        reverse("admin:webhooks_webhookrejection_changelist") + "?reason__exact=invalid_signature"
    )
    assert filtered.status_code == 200


# --- the secret never leaks ------------------------------------------------------------


def test_secret_never_in_admin_pages_logs_or_rejections(as_global_admin, source_a, caplog):
    key_part = TEST_SECRET.removeprefix("whsec_")
    with caplog.at_level(logging.DEBUG):
        body = envelope()
        assert deliver(as_global_admin, body).status_code == 202
        deliver(as_global_admin, body, headers=signed(body, secret=OTHER_SECRET))
        deliver(as_global_admin, envelope(source="nobody"))
        rejection = WebhookRejection.objects.first()
        pages = [
            reverse(CHANGELIST),
            admin_url(source_a),
            admin_url(source_a, "history"),
            reverse("admin:webhooks_webhookrejection_changelist"),
            admin_url(rejection),
            reverse("admin:monitoring_health"),
            reverse("admin:index"),
        ]
        for url in pages:
            html = as_global_admin.get(url).content.decode()
            assert key_part not in html, url
            assert full_secrets_in(html) == [], url
    assert key_part not in caplog.text
    for rejection in WebhookRejection.objects.all():
        stored = str({f.name: getattr(rejection, f.name) for f in WebhookRejection._meta.fields})
        assert key_part not in stored


# --- isolation -----------------------------------------------------------------------


@isolation_test(
    "admin:webhooks_webhooksource_changelist",
    "admin:webhooks_webhookrejection_changelist",
    "admin:webhooks_webhookhealth_changelist",
    "admin:monitoring_health",
)
def test_organisation_admin_sees_no_sources_secrets_rejections_or_health(
    as_org_admin_a, source_a, org_a
):
    rejection = WebhookRejectionFactory(source=source_a, organization=org_a)
    assert_admin_hidden(as_org_admin_a, source_a)
    assert_admin_hidden(as_org_admin_a, rejection)
    assert as_org_admin_a.get(reverse("admin:monitoring_health")).status_code == 403
    health = WebhookHealth.objects.get(pk=source_a.pk)
    assert as_org_admin_a.get(admin_url(health, "changelist")).status_code == 403
    index = as_org_admin_a.get(reverse("admin:index")).content.decode()
    assert "webhooksource" not in index
    assert "webhookrejection" not in index
    assert "webhookhealth" not in index
    # Actions are not reachable either.
    response = action(as_org_admin_a, "rotate_secret", source_a, confirmed=True)
    assert response.status_code == 403
    assert WebhookSecret.objects.filter(source=source_a).count() == 1


def test_global_admin_group_member_sees_sources(client, source_a, source_b):
    from django.contrib.auth.models import Group

    from organizations.permissions import GLOBAL_ADMIN_GROUP
    from tests.factories import UserFactory

    user = UserFactory(username="group-global", is_staff=True)
    user.groups.add(Group.objects.get_or_create(name=GLOBAL_ADMIN_GROUP)[0])
    client.login(username=user.username, password=PASSWORD)
    html = client.get(reverse(CHANGELIST)).content.decode()
    assert "hlf-alpha" in html and "hlf-beta" in html


def test_admin_index_links_to_the_health_page(as_global_admin, source_a):
    index = as_global_admin.get(reverse("admin:index")).content.decode()
    assert "webhookhealth" in index
    response = as_global_admin.get(reverse("admin:webhooks_webhookhealth_changelist"))
    assert response.status_code == 302
    assert response["Location"] == reverse("admin:monitoring_health")


# --- self-test over real HTTP ----------------------------------------------------------


@pytest.mark.server
def test_self_test_action_reports_success_over_http(live_http_server, client, global_admin, org_a):
    webhook_source_create(organization=org_a, identifier="hlf-alpha", secret=TEST_SECRET)
    source = WebhookSource.objects.get(identifier="hlf-alpha")
    client.login(username=global_admin.username, password=PASSWORD)
    url = f"{live_http_server.base_url}/webhooks/dynamics/"

    with override_settings(WEBHOOK_PUBLIC_URL=url):
        response = action(client, "send_test_payload", source, follow=True)

    html = response.content.decode()
    assert "verification succeeded" in html
    assert "HTTP 202" in html
    assert re.search(r"in \d+ ms", html)
    from sync.models import InboundEvent

    assert InboundEvent.objects.get(source_identifier="hlf-alpha").event_type == "webhook.test"


@pytest.mark.server
def test_self_test_reports_failure_when_the_server_holds_another_secret(live_http_server, org_a):
    from unittest import mock

    from webhooks.services import webhook_self_test_send

    source, _ = webhook_source_create(
        organization=org_a, identifier="hlf-alpha", secret=TEST_SECRET
    )
    url = f"{live_http_server.base_url}/webhooks/dynamics/"
    # This side signs with a secret the server does not hold.
    with mock.patch("webhooks.services.webhook_source_active_secrets", return_value=[OTHER_SECRET]):
        result = webhook_self_test_send(source=source, endpoint_url=url)

    assert result.ok is False
    assert result.status_code == 401
    # The reason as people read it, not its code (stored as a code, rendered per reader).
    assert str(result.detail) == "refused: Invalid signature"
    assert result.detail.params == {"reason": {"rejection_reason": "invalid_signature"}}
    assert WebhookRejection.objects.get().reason == "invalid_signature"


def test_self_test_reports_an_unreachable_endpoint(org_a):
    from tests.support.servers import free_port
    from webhooks.services import webhook_self_test_send

    source, _ = webhook_source_create(organization=org_a, identifier="hlf-alpha")
    result = webhook_self_test_send(
        source=source, endpoint_url=f"http://127.0.0.1:{free_port()}/webhooks/dynamics/"
    )
    assert result.ok is False
    assert result.status_code is None
    assert "no answer" in str(result.detail)
