"""Fixtures for the portal integration tests: logged-in clients and API clients."""

import pytest
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from portal_integration.services import FeatureSetting, portal_configuration_update
from tests.factories import UserFactory


@pytest.fixture
def api_client():
    return APIClient()


def token_client(user) -> APIClient:
    client = APIClient()
    token, _ = Token.objects.get_or_create(user=user)
    client.credentials(HTTP_AUTHORIZATION=f"Token {token.key}")
    return client


def member_login(member, username: str | None = None):
    """Link a login user to a member (as an admin would) and return an API client for it."""
    member.user = UserFactory(username=username or f"login-{member.portal_member_id[:8]}")
    member.save(update_fields=["user"])
    return token_client(member.user)


@pytest.fixture
def member_a_api(member_a):
    return member_login(member_a, "member-a-login")


@pytest.fixture
def member_b_api(member_b):
    return member_login(member_b, "member-b-login")


def hand_to_portal(organization, key: str, url_template: str = "", *, user=None):
    return portal_configuration_update(
        organization=organization,
        changes={key: FeatureSetting(owner="portal", url_template=url_template)},
        user=user,
    )


@pytest.fixture(autouse=True)
def english():
    """Assertions read English source strings, whatever translations exist."""
    from django.utils import translation

    with translation.override("en"):
        yield
