"""The demo seed is idempotent, prints the logins and onboards both organisations."""

from io import StringIO

import pytest
from django.core.management import call_command

from organizations.models import CourseEnrollment, Member, Organization
from portal_integration.models import FeatureOwnership, PortalConfiguration
from portal_integration.selectors import deep_link_resolve
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
    assert state[3] == 2
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
