"""Fixtures for the hostile-input tests: the webhook sources, a clean flood counter."""

import pytest

from tests.webhooks.conftest import dataverse_source, source_a  # noqa: F401 -- fixtures
from webhooks.services import webhook_rejection_rollup_reset


@pytest.fixture(autouse=True)
def clean_rollup_buffer():
    # Roll-up counts are buffered per process; one test's must not reach another's.
    webhook_rejection_rollup_reset()
    yield
    webhook_rejection_rollup_reset()
