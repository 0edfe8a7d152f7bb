"""Hypothesis profiles for the fuzz tests (issue 12).

* `bounded` (`make test`): 15 examples per property, derandomised: a few hundred in all,
  the same every run, so a failure reproduces.
* `ci` (the second fuzz run in `.ci/run`): `FUZZ_MAX_EXAMPLES` per property, still
  derandomised, so CI runs exactly what a developer can run before pushing.
* `fuzz` (`make fuzz`): `FUZZ_MAX_EXAMPLES` per property (default 2000), fresh random
  inputs each run; failing examples are kept under `$DATA_DIR/hypothesis` and tried first
  next time.
"""

import os

import pytest
from hypothesis import HealthCheck, settings
from hypothesis.database import DirectoryBasedExampleDatabase

from tests.webhooks.conftest import source_a  # noqa: F401 -- fixture
from webhooks.services import webhook_rejection_rollup_reset

# Examples per property (schemathesis: per API operation, plus its own edge cases).
BOUNDED_EXAMPLES = int(os.environ.get("FUZZ_BOUNDED_EXAMPLES", "15"))
FUZZ_EXAMPLES = int(os.environ.get("FUZZ_MAX_EXAMPLES", "2000"))
_COMMON = {
    "deadline": None,  # a loaded CI machine must not turn slowness into a failure
    "suppress_health_check": [HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
}

settings.register_profile(
    "bounded", max_examples=BOUNDED_EXAMPLES, derandomize=True, database=None, **_COMMON
)
settings.register_profile(
    "ci", max_examples=FUZZ_EXAMPLES, derandomize=True, database=None, **_COMMON
)
settings.register_profile(
    "fuzz",
    max_examples=FUZZ_EXAMPLES,
    database=DirectoryBasedExampleDatabase(
        os.path.join(os.environ.get("DATA_DIR", "var"), "hypothesis")
    ),
    **_COMMON,
)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "bounded"))


@pytest.fixture(autouse=True)
def clean_rollup_buffer():
    webhook_rejection_rollup_reset()
    yield
    webhook_rejection_rollup_reset()
