"""The OpenAPI schema documents the app API."""

import pytest

pytestmark = pytest.mark.django_db


def test_schema_lists_the_app_api_paths(client):
    response = client.get("/api/schema/", HTTP_ACCEPT="application/json")
    assert response.status_code == 200
    text = response.content.decode()
    for path in (
        "/api/v1/portal-config/",
        "/api/v1/organizations/{slug}/members/",
        "/api/v1/organizations/{slug}/members/{portal_member_id}/",
        "/api/v1/organizations/{slug}/sync-status/",
        "/webhooks/dynamics/",
    ):
        assert path in text, path
    assert "handoff_url" in text
