"""Fixtures of the fault-injection tests: PostgreSQL only, a source, a write counter."""

import pytest
from django.db import connection

from tests.faults import stack
from tests.support import servers
from tests.webhooks.factories import TEST_SECRET

SOURCE = "hlf-fault"


@pytest.fixture
def shared_stack(transactional_db, settings, tmp_path):
    """The test database on the shared PostgreSQL, a source, beat's sweeper every 2 s."""
    if connection.vendor != "postgresql":
        servers.unavailable("fault-injection tests need PostgreSQL (set DATABASE_URL)")
    from django_celery_beat.models import IntervalSchedule, PeriodicTask

    from organizations.models import Organization
    from sync.periodic import periodic_tasks_install
    from webhooks.services import webhook_source_create

    organization = Organization.objects.create(slug=SOURCE, name="HLF Fault")
    webhook_source_create(organization=organization, identifier=SOURCE, secret=TEST_SECRET)
    settings.SYNC_SWEEP_INTERVAL_SECONDS = stack.SWEEP_EVERY_SECONDS
    periodic_tasks_install(
        interval_model=IntervalSchedule, task_model=PeriodicTask, update_intervals=True
    )
    database = stack.Database(stack.django_url_of(connection.settings_dict))
    database.install_write_counter()
    try:
        yield database
    finally:
        database.remove_write_counter()
