"""Settings for the intake benchmark's baseline: the project as configured, other URLs."""

from config.settings import *  # noqa: F403 - the same stack, only the URLconf differs

ROOT_URLCONF = "bench.baseline_urls"
