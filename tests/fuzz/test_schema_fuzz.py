"""Schemathesis against `/api/schema/`: the webhook endpoint and the app API (issue 12).

Every generated request (valid and invalid, authenticated as an organisation's
coordinator) must get no 5xx and, for each documented status, the documented content type
and a body that matches the schema. Examples per operation come from the Hypothesis profile in
`conftest.py` (bounded in `make test`, many more in `make fuzz`).
"""

import pytest
import schemathesis
from django.core import signals
from django.db import close_old_connections
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
)

from config.wsgi import application
from organizations.models import Member
from tests.factories import MemberFactory
from tests.portal_integration.conftest import member_login
from webhooks.services import webhook_rejection_rollup_reset

pytestmark = [pytest.mark.fuzz, pytest.mark.django_db]

CHECKS = [not_a_server_error, content_type_conformance, response_schema_conformance]


# Loaded once at collection: the schema view reads no database.
schema = schemathesis.openapi.from_wsgi("/api/schema/", application)


@pytest.fixture
def wsgi_keeps_the_test_connection(db):
    """The real WSGI handler closes the database connection after each request, which
    would end the test's transaction; Django's test client suspends that, so do we."""
    signals.request_started.disconnect(close_old_connections)
    signals.request_finished.disconnect(close_old_connections)
    try:
        yield
    finally:
        signals.request_started.connect(close_old_connections)
        signals.request_finished.connect(close_old_connections)


@pytest.fixture
def coordinator_token(org_a):
    coordinator = MemberFactory(organization=org_a, role=Member.Role.COORDINATOR)
    MemberFactory(organization=org_a, portal_member_id="kari-1", first_name="Kari")
    client = member_login(coordinator, "fuzz-coordinator")
    return client._credentials["HTTP_AUTHORIZATION"]


@schema.parametrize()
def test_every_operation_answers_within_its_schema(
    case, wsgi_keeps_the_test_connection, org_a, source_a, coordinator_token
):
    webhook_rejection_rollup_reset()
    if "slug" in (case.path_parameters or {}):
        # Random slugs only ever meet a 404; the organisation's own reach the queries.
        case.path_parameters["slug"] = org_a.slug
    response = case.call(headers={"Authorization": coordinator_token})
    case.validate_response(response, checks=CHECKS)
