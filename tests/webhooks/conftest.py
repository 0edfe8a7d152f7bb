"""Fixtures for the webhook tests: sources with a known secret."""

import pytest

from tests.webhooks.factories import TEST_SECRET
from webhooks.services import webhook_source_create

DATAVERSE_ORG_ID = "00aa00aa-bb11-cc22-dd33-44ee44ee44ee"


@pytest.fixture
def source_a(org_a):
    source, _ = webhook_source_create(
        organization=org_a, identifier="hlf-alpha", secret=TEST_SECRET
    )
    return source


@pytest.fixture
def source_b(org_b):
    source, _ = webhook_source_create(organization=org_b, identifier="hlf-beta")
    return source


@pytest.fixture
def dataverse_source(org_a):
    """The source the Dataverse sample payloads route to (their OrganizationId)."""
    source, _ = webhook_source_create(
        organization=org_a, identifier=DATAVERSE_ORG_ID, secret=TEST_SECRET
    )
    return source
