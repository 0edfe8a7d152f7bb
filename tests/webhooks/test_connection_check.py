"""A reused database connection is checked by the intake's own statements (PostgreSQL).

Django's CONN_HEALTH_CHECKS would spend a round trip (SELECT 1) on it first; the view
folds that check into the intake and keeps its promise: a connection that died while
idle is replaced, the delivery is stored (or the refusal recorded), never a 503.
"""

from unittest import mock

import psycopg
import pytest
from django.db import connection, connections

from sync.models import InboundEvent
from tests.support import servers
from tests.webhooks.factories import ENDPOINT, deliver, envelope
from webhooks.models import WebhookRejection

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def reused_connection(source_a):
    if connection.vendor != "postgresql":
        servers.unavailable("connection health checks are on for PostgreSQL (set DATABASE_URL)")
    assert connection.health_check_enabled
    yield


def _next_request_reuses_the_connection() -> None:
    # What request_started does in production (the test client leaves it out).
    connection.close_if_unusable_or_obsolete()
    assert not connection.health_check_done


def _kill_the_connection_while_idle() -> None:
    params = connection.get_connection_params()
    pid = connection.connection.info.backend_pid
    with psycopg.connect(**{**params, "autocommit": True}) as other:
        other.execute("SELECT pg_terminate_backend(%s)", [pid])


def test_a_healthy_reused_connection_gets_no_separate_check(client, reused_connection):
    assert deliver(client, envelope()).status_code == 202
    _next_request_reuses_the_connection()
    wrapper = type(connections["default"])
    with mock.patch.object(wrapper, "is_usable", side_effect=AssertionError("checked first")):
        response = deliver(client, envelope())

    assert response.status_code == 202
    assert InboundEvent.objects.count() == 2


def test_a_connection_that_died_while_idle_costs_no_delivery(client, reused_connection):
    assert deliver(client, envelope()).status_code == 202
    _next_request_reuses_the_connection()
    _kill_the_connection_while_idle()

    response = deliver(client, envelope())

    assert response.status_code == 202, response.content
    assert InboundEvent.objects.count() == 2


def test_a_refusal_on_a_connection_that_died_is_still_recorded(client, reused_connection):
    assert deliver(client, envelope()).status_code == 202
    _next_request_reuses_the_connection()
    _kill_the_connection_while_idle()

    response = client.post(ENDPOINT, data=b"{}", content_type="text/plain")

    assert response.status_code == 415
    assert WebhookRejection.objects.filter(reason="unsupported_media_type").count() == 1
