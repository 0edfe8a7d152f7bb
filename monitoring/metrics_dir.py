"""Where this process writes its Prometheus figures (multiprocess mode), and cleaning it.

Every web and worker process of a machine writes memory-mapped files into one shared
PROMETHEUS_MULTIPROC_DIR; /metrics adds them all up. File names carry the process tree
(`web-<bind>` for a gunicorn master and its workers, `worker-<nodename>` for a Celery
worker and its pool) and the pid. At the start of a tree — once, in the gunicorn master
or the worker's main process, never per forked child — that tree's old files are
removed, so its counters restart from zero (Prometheus reads that as a reset) while
the other trees' counts stay.
"""

import os
import re
from pathlib import Path

TREE_VARIABLE = "MINSIDE_METRICS_TREE"
DEFAULT_TREE = "proc"


def metrics_dir() -> Path:
    configured = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
    if configured:
        return Path(configured)
    from django.conf import settings

    return Path(settings.PROMETHEUS_MULTIPROC_DIR)


def _safe(name: str) -> str:
    # "_" separates type, tree and pid in the file name; keep the tree free of it.
    return re.sub(r"[^A-Za-z0-9.@-]+", "-", name).strip("-") or DEFAULT_TREE


def process_identifier() -> str:
    """The per-process part of a file name: `<tree>-<pid>` (read anew after a fork)."""
    return f"{os.environ.get(TREE_VARIABLE, DEFAULT_TREE)}-{os.getpid()}"


def process_tree_prepare(*, tree: str) -> Path:
    """Name this process tree and remove its files from an earlier start."""
    tree = _safe(tree)
    directory = metrics_dir()
    directory.mkdir(parents=True, exist_ok=True)
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = str(directory)
    os.environ[TREE_VARIABLE] = tree
    for path in directory.glob(f"*_{tree}-*.db"):
        path.unlink(missing_ok=True)
    return directory
