"""Deep-link validation at save time and resolution with URL-encoded values (SPEC §3)."""

import pytest
from django.core.exceptions import ValidationError

from portal_integration.deep_links import deep_link_fill, deep_link_validate
from portal_integration.selectors import deep_link_resolve
from portal_integration.services import FeatureSetting, portal_configuration_update
from tests.factories import MemberFactory
from tests.portal_integration.factories import WebhookSourceFactory

HOSTS = ["minside.hlf.no"]


@pytest.mark.parametrize(
    "url_template",
    [
        "https://minside.hlf.no/kurs",
        "https://minside.hlf.no/kurs?medlem={member_id}&org={organization}&lang={locale}",
        "https://MINSIDE.hlf.no/{feature}/{source}",
        "https://minside.hlf.no:443/profil",
    ],
)
def test_valid_templates_pass(url_template):
    deep_link_validate(url_template=url_template, allowed_hosts=HOSTS)


@pytest.mark.parametrize(
    ("url_template", "code"),
    [
        ("http://minside.hlf.no/kurs", "not_https"),
        ("javascript:alert(1)", "not_https"),
        ("JavaScript://minside.hlf.no/%0aalert(1)", "not_https"),
        ("minside.hlf.no/kurs", "not_https"),
        ("ftp://minside.hlf.no/kurs", "not_https"),
        ("https://evil.example/kurs", "host_not_allowed"),
        ("https://minside.hlf.no.evil.example/kurs", "host_not_allowed"),
        ("https://minside.hlf.no:8443/kurs", "host_not_allowed"),
        ("https://minside.hlf.no@evil.example/", "invalid_host"),
        ("https://{organization}.hlf.no/", "invalid_host"),
        ("https:///kurs", "invalid_host"),
        ("https://minside.hlf.no/kurs?m={memberid}", "unknown_placeholder"),
        ("https://minside.hlf.no/{member_id}/{password}", "unknown_placeholder"),
        ("https://minside.hlf.no/kurs ?x=1", "invalid_characters"),
        ('https://minside.hlf.no/"><script>', "invalid_characters"),
    ],
)
def test_invalid_templates_are_refused_with_a_reason(url_template, code):
    with pytest.raises(ValidationError) as error:
        deep_link_validate(url_template=url_template, allowed_hosts=HOSTS)
    assert error.value.code == code
    assert error.value.messages[0]  # a message a person can read


def test_unknown_placeholder_message_names_it_and_the_known_ones():
    with pytest.raises(ValidationError) as error:
        deep_link_validate(url_template="https://minside.hlf.no/{memberid}", allowed_hosts=HOSTS)
    message = error.value.messages[0]
    assert "{memberid}" in message
    assert "{member_id}" in message


def test_no_allowed_hosts_explains_what_to_do():
    with pytest.raises(ValidationError) as error:
        deep_link_validate(url_template="https://minside.hlf.no/", allowed_hosts=[])
    assert error.value.code == "no_allowed_hosts"


def test_port_listed_with_host_is_allowed():
    deep_link_validate(
        url_template="https://portal.local:8443/x", allowed_hosts=["portal.local:8443"]
    )


@pytest.mark.parametrize(
    ("value", "encoded"),
    [
        ("Kari Nordmann", "Kari%20Nordmann"),
        ("a&b=c", "a%26b%3Dc"),
        ("Bjørn Ærø", "Bj%C3%B8rn%20%C3%86r%C3%B8"),
        ("x/../y?z#w", "x%2F..%2Fy%3Fz%23w"),
    ],
)
def test_fill_encodes_values(value, encoded):
    url = deep_link_fill(
        url_template="https://minside.hlf.no/p?m={member_id}&l={locale}",
        values={"member_id": value, "locale": "nb"},
    )
    assert url == f"https://minside.hlf.no/p?m={encoded}&l=nb"


def test_resolve_fills_every_placeholder_from_the_member_and_organisation(org_a):
    WebhookSourceFactory(organization=org_a, identifier="alpha:src")
    member = MemberFactory(organization=org_a, portal_member_id="id with space&more")
    portal_configuration_update(
        organization=org_a,
        changes={
            "course_enrollment": FeatureSetting(
                owner="portal",
                url_template="https://minside.hlf.no/{feature}?m={member_id}&o={organization}"
                "&s={source}&l={locale}",
            )
        },
        user=None,
    )
    url = deep_link_resolve(
        organization=org_a, feature_key="course_enrollment", member=member, locale="nb"
    )
    assert url == (
        "https://minside.hlf.no/course_enrollment?m=id%20with%20space%26more"
        "&o=hlf-alpha&s=alpha%3Asrc&l=nb"
    )


def test_resolve_without_link_falls_back_to_the_base_url(org_a, member_a):
    url = deep_link_resolve(
        organization=org_a, feature_key="expense_claims", member=member_a, locale="nb"
    )
    assert url == org_a.portal_base_url


def test_saved_change_is_used_by_the_next_resolution(org_a, member_a):
    for path in ("first", "second"):
        portal_configuration_update(
            organization=org_a,
            changes={"contact_list": FeatureSetting(url_template=f"https://minside.hlf.no/{path}")},
            user=None,
        )
        url = deep_link_resolve(
            organization=org_a, feature_key="contact_list", member=member_a, locale="nb"
        )
        assert url == f"https://minside.hlf.no/{path}"
