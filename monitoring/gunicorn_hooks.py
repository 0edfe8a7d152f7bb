"""gunicorn server hooks (called from config/gunicorn.py): prepare the metrics files once."""

import os


def on_starting(server) -> None:
    """In the master, before any worker forks: one clean start per gunicorn, not per worker."""
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    from monitoring.metrics_dir import process_tree_prepare

    bind = "-".join(server.cfg.bind or ["default"])
    process_tree_prepare(tree=f"web-{bind}")
