"""The demo seed is idempotent, prints the logins and onboards both organisations."""

from io import StringIO

import pytest
from django.core.management import call_command

from organizations.models import CourseEnrollment, Member, Organization
from portal_integration.models import FeatureOwnership, PortalConfiguration
from portal_integration.selectors import deep_link_resolve
from tests.sync.conftest import wakeups  # noqa: F401 - shared fixture
from webhooks.models import WebhookSource
from webhooks.selectors import webhook_source_active_secrets

DEMO_SECRET = "whsec_ZGVtby1zZWNyZXQtZm9yLWhsZi1vc2xvLTMyYnl0ZXM="


def _state() -> tuple:
    return (
        Organization.objects.count(),
        Member.objects.count(),
        CourseEnrollment.objects.count(),
        WebhookSource.objects.count(),
        FeatureOwnership.objects.count(),
        tuple(PortalConfiguration.objects.order_by("pk").values_list("version", flat=True)),
    )


@pytest.mark.django_db
def test_seed_demo_twice_gives_the_same_data():
    first = StringIO()
    call_command("seed_demo", stdout=first)
    state = _state()
    second = StringIO()
    call_command("seed_demo", stdout=second)
    assert state == _state()
    assert state[0] == 2
    assert state[3] == 3  # hlf-oslo, hlf-bergen and the shared hlf-dynamics
    assert "admin / admin" in first.getvalue()
    assert "orgadmin / orgadmin" in first.getvalue()
    assert DEMO_SECRET in first.getvalue() and DEMO_SECRET in second.getvalue()
    # Bergen's generated secret is shown once, when it is created.
    assert "hlf-bergen secret" in first.getvalue()
    assert "hlf-bergen secret" not in second.getvalue()


@pytest.mark.django_db
def test_seed_demo_onboards_oslo_with_a_portal_owned_feature():
    call_command("seed_demo", stdout=StringIO())
    oslo = Organization.objects.get(slug="hlf-oslo")
    source = WebhookSource.objects.get(identifier="hlf-oslo")
    assert source.organization == oslo
    assert WebhookSource.objects.get(identifier="hlf-bergen").organization.slug == "hlf-bergen"
    assert webhook_source_active_secrets(source=source) == [DEMO_SECRET]
    assert (
        FeatureOwnership.objects.get(organization=oslo, feature__key="course_enrollment").owner
        == "portal"
    )
    kari = Member.objects.get(organization=oslo, portal_member_id__endswith="0001")
    url = deep_link_resolve(
        organization=oslo, feature_key="course_enrollment", member=kari, locale="nb"
    )
    assert url == (
        f"https://minside.hlf.no/kurs?medlem={kari.portal_member_id}&org=hlf-oslo&lang=nb"
    )


@pytest.mark.django_db
def test_seed_demo_puts_both_organisations_on_a_connected_shared_source():
    from dataverse.models import DataverseConnection
    from portal_integration.management.commands.seed_demo import (
        DEMO_DATAVERSE,
        DEMO_ROUTING_VALUES,
        DEMO_SHARED_SECRET,
    )
    from webhooks.routing import source_organizations

    out = StringIO()
    call_command("seed_demo", stdout=out)
    call_command("seed_demo", stdout=StringIO())  # a second run changes nothing

    source = WebhookSource.objects.get(identifier="hlf-dynamics")
    assert source.shared
    routes = {value: org.slug for value, org in source_organizations(source).items()}
    assert routes == {value: slug for slug, value in DEMO_ROUTING_VALUES.items()}
    assert webhook_source_active_secrets(source=source) == [DEMO_SHARED_SECRET]
    connection = DataverseConnection.objects.get(source=source)
    assert (
        connection.environment_url == DEMO_DATAVERSE["environment_url"] == ("http://127.0.0.1:8899")
    )
    assert connection.client_secret_ciphertext != DEMO_DATAVERSE["client_secret"]
    printed = out.getvalue()
    assert DEMO_SHARED_SECRET in printed
    assert all(value in printed for value in DEMO_ROUTING_VALUES.values())
    assert DEMO_DATAVERSE["client_secret"] not in printed
    # Each organisation keeps its own source too (the webhook docs' examples).
    assert WebhookSource.objects.get(identifier="hlf-oslo").organization.slug == "hlf-oslo"


@pytest.mark.django_db
@pytest.mark.usefixtures("wakeups")
def test_the_demo_shared_source_routes_and_heals_from_the_fake_dataverse():
    """The walkthrough of docs/dataverse.md, against the fake Dataverse on a free port."""
    from dataverse.client import token_cache_clear
    from dataverse.fake_server import FakeDataverse
    from dataverse.models import DataverseConnection
    from dataverse.services import reconcile_pass_run
    from portal_integration.management.commands.seed_demo import (
        DEMO_DATAVERSE,
        DEMO_ROUTING_VALUES,
    )
    from tests.dataverse.conftest import inbox_apply

    call_command("seed_demo", stdout=StringIO())
    token_cache_clear()
    fake = FakeDataverse(client_secret=DEMO_DATAVERSE["client_secret"]).start()
    try:
        DataverseConnection.objects.update(environment_url=fake.url, authority_url=fake.url)
        oslo, bergen = DEMO_ROUTING_VALUES["hlf-oslo"], DEMO_ROUTING_VALUES["hlf-bergen"]
        ids = fake.seed_contacts(4, accounts=[oslo, bergen])
        source = WebhookSource.objects.get(identifier="hlf-dynamics")

        assert reconcile_pass_run(source=source).events_recorded == 4
        assert set(inbox_apply()) == {"succeeded"}
        where = dict(
            Member.objects.filter(portal_member_id__in=ids).values_list(
                "portal_member_id", "organization__slug"
            )
        )
        assert where == dict(zip(ids, ["hlf-oslo", "hlf-bergen"] * 2, strict=True))

        fake.upsert("contacts", {"contactid": ids[0], "_parentcustomerid_value": bergen})
        reconcile_pass_run(source=source)
        assert inbox_apply() == ["succeeded"]
        moved = Member.objects.get(organization__slug="hlf-oslo", portal_member_id=ids[0])
        assert (moved.is_active, moved.deactivation_reason) == (False, "moved to HLF Bergen")
        assert Member.objects.get(
            organization__slug="hlf-bergen", portal_member_id=ids[0]
        ).is_active
    finally:
        fake.stop()
        token_cache_clear()
