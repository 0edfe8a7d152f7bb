"""GET /api/v1/portal-config/: members, the admin preview parameters, ETag/304 (SPEC §7)."""

import pytest
from django.urls import reverse
from django.utils import timezone

from organizations.models import Member
from portal_integration.catalog import CatalogFeature
from portal_integration.services import feature_catalog_reconcile
from tests.factories import MemberFactory, OrganizationAdministratorFactory, UserFactory
from tests.portal_integration.conftest import hand_to_portal, member_login, token_client
from tests.portal_integration.factories import WebhookSourceFactory
from webhooks.models import WebhookSource

URL = "/api/v1/portal-config/"
LINK = "https://minside.hlf.no/kurs?medlem={member_id}&org={organization}&lang={locale}"


def test_url_name_matches_the_contract():
    assert reverse("api-portal-config") == URL


def test_member_reads_own_configuration(org_a, member_a, member_a_api):
    hand_to_portal(org_a, "course_enrollment", LINK)
    response = member_a_api.get(URL, {"locale": "en"})
    assert response.status_code == 200
    body = response.json()
    assert body["organization"] == {"slug": "hlf-alpha", "name": "HLF Alpha"}
    assert body["version"] == 2
    assert body["member_id"] == member_a.portal_member_id
    features = {feature["key"]: feature for feature in body["features"]}
    assert len(features) == 8
    assert features["course_enrollment"] == {
        "key": "course_enrollment",
        "name": "Course enrollment",
        "owner": "portal",
        "handoff_url": "https://minside.hlf.no/kurs?medlem="
        f"{member_a.portal_member_id}&org=hlf-alpha&lang=en",
    }
    assert features["membership_profile"]["owner"] == "app"
    assert features["membership_profile"]["handoff_url"] is None


def test_portal_owned_feature_without_link_hands_off_to_the_base_url(org_a, member_a_api):
    hand_to_portal(org_a, "expense_claims")
    features = {f["key"]: f for f in member_a_api.get(URL).json()["features"]}
    assert features["expense_claims"]["handoff_url"] == org_a.portal_base_url


def test_locale_follows_accept_language(member_a_api):
    assert member_a_api.get(URL, HTTP_ACCEPT_LANGUAGE="en-GB").json()["locale"] == "en"
    assert member_a_api.get(URL, HTTP_ACCEPT_LANGUAGE="nb-NO").json()["locale"] == "nb"


def test_deactivated_member_is_refused(member_a, member_a_api):
    member_a.is_active = False
    member_a.deactivated_at = timezone.now()
    member_a.save()
    response = member_a_api.get(URL)
    assert response.status_code == 403
    assert "features" not in response.json()


def test_login_without_member_is_refused(db):
    assert token_client(UserFactory(username="lonely")).get(URL).status_code == 403


def test_anonymous_is_refused(api_client, db):
    assert api_client.get(URL).status_code in (401, 403)


def test_etag_round_trip(org_a, member_a_api, django_assert_num_queries):
    first = member_a_api.get(URL)
    assert first.status_code == 200
    etag = first["ETag"]
    assert etag and first["Cache-Control"] == "private, no-cache"

    # Token, member, version + source: the 304 is answered without building the body.
    with django_assert_num_queries(3):
        cached = member_a_api.get(URL, HTTP_IF_NONE_MATCH=etag)
    assert cached.status_code == 304
    assert cached["ETag"] == etag
    assert not cached.content

    hand_to_portal(org_a, "course_enrollment", LINK)
    changed = member_a_api.get(URL, HTTP_IF_NONE_MATCH=etag)
    assert changed.status_code == 200
    assert changed["ETag"] != etag
    assert changed.json()["version"] == 2
    assert member_a_api.get(URL, HTTP_IF_NONE_MATCH=changed["ETag"]).status_code == 304


def test_etag_differs_per_member_and_locale(org_a, member_a_api):
    other_api = member_login(MemberFactory(organization=org_a), "other-member")
    etag = member_a_api.get(URL, {"locale": "nb"})["ETag"]
    assert other_api.get(URL, {"locale": "nb"}, HTTP_IF_NONE_MATCH=etag).status_code == 200
    assert member_a_api.get(URL, {"locale": "en"}, HTTP_IF_NONE_MATCH=etag).status_code == 200


def test_constant_number_of_queries_whatever_the_catalog_size(
    monkeypatch, org_a, member_a_api, django_assert_num_queries
):
    from portal_integration import catalog

    WebhookSourceFactory(organization=org_a, identifier="alpha")
    hand_to_portal(org_a, "course_enrollment", LINK + "&s={source}")
    # token, member, source, version, features, ownerships, deep links
    with django_assert_num_queries(7):
        assert member_a_api.get(URL).status_code == 200

    bigger = catalog.FEATURE_CATALOG + tuple(
        CatalogFeature(f"extra_{n}", f"Extra {n}") for n in range(30)
    )
    monkeypatch.setattr(catalog, "FEATURE_CATALOG", bigger)
    feature_catalog_reconcile()
    with django_assert_num_queries(7):
        response = member_a_api.get(URL)
    assert len(response.json()["features"]) == 38


def test_change_in_org_a_leaves_org_b_api_output_unchanged(org_a, member_b_api):
    before = member_b_api.get(URL)
    hand_to_portal(org_a, "course_enrollment", LINK)
    after = member_b_api.get(URL, HTTP_IF_NONE_MATCH=before["ETag"])
    assert after.status_code == 304
    assert member_b_api.get(URL).json() == before.json()


# --- the admin preview parameters -----------------------------------------------------


def test_org_admin_previews_a_member_of_own_organisation(org_a, org_admin_a, member_a):
    response = token_client(org_admin_a).get(
        URL, {"organization": org_a.slug, "member": member_a.portal_member_id}
    )
    assert response.status_code == 200
    assert response.json()["member_id"] == member_a.portal_member_id


def test_org_admin_cannot_preview_another_organisation(org_admin_a, org_b, member_b):
    client = token_client(org_admin_a)
    other = client.get(URL, {"organization": org_b.slug, "member": member_b.portal_member_id})
    missing = client.get(URL, {"organization": "no-such-org", "member": "x"})
    assert other.status_code == missing.status_code == 404
    assert other.json() == missing.json()


def test_colliding_member_ids_resolve_within_the_organisation(org_a, org_b, global_admin):
    MemberFactory(organization=org_a, portal_member_id="same-id", first_name="Alpha")
    MemberFactory(organization=org_b, portal_member_id="same-id", first_name="Beta")
    hand_to_portal(org_b, "course_enrollment", LINK)
    body = token_client(global_admin).get(URL, {"organization": org_a.slug, "member": "same-id"})
    features = {f["key"]: f for f in body.json()["features"]}
    assert features["course_enrollment"]["owner"] == "app"


def test_preview_of_unknown_member_is_404(org_a, org_admin_a):
    response = token_client(org_admin_a).get(URL, {"organization": org_a.slug, "member": "nope"})
    assert response.status_code == 404


def test_preview_parameters_come_together(org_a, org_admin_a):
    assert token_client(org_admin_a).get(URL, {"organization": org_a.slug}).status_code == 400


def test_member_cannot_use_preview_parameters(org_a, member_a_api, member_a):
    # A coordinator of A is no administrator: the preview path is for admins only.
    member_a.role = Member.Role.COORDINATOR
    member_a.save()
    response = member_a_api.get(
        URL, {"organization": org_a.slug, "member": member_a.portal_member_id}
    )
    assert response.status_code == 404


def test_admin_of_two_organisations_previews_both(org_a, org_b, member_a, member_b):
    user = UserFactory(username="both", is_staff=True)
    for org in (org_a, org_b):
        OrganizationAdministratorFactory(user=user, organization=org)
    client = token_client(user)
    for org, member in ((org_a, member_a), (org_b, member_b)):
        response = client.get(URL, {"organization": org.slug, "member": member.portal_member_id})
        assert response.status_code == 200


@pytest.mark.parametrize(
    "change",
    [
        pytest.param(
            lambda org: org.__class__.objects.filter(pk=org.pk).update(
                portal_base_url="https://minside.hlf.no/ny-side"
            ),
            id="base-url-fallback",
        ),
        pytest.param(
            lambda org: org.__class__.objects.filter(pk=org.pk).update(slug="hlf-alpha-ny"),
            id="organization-placeholder",
        ),
        pytest.param(
            lambda org: WebhookSource.objects.filter(organization=org).update(
                identifier="renamed-source"
            ),
            id="source-placeholder",
        ),
    ],
)
def test_etag_changes_with_what_fills_the_links(org_a, member_a_api, change):
    WebhookSourceFactory(organization=org_a, identifier="alpha-source")
    etag = member_a_api.get(URL)["ETag"]

    change(org_a)

    assert member_a_api.get(URL, HTTP_IF_NONE_MATCH=etag).status_code == 200
