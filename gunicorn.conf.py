"""gunicorn settings read from the repository root (gunicorn loads ./gunicorn.conf.py)."""

from monitoring.gunicorn_hooks import on_starting  # noqa: F401 - a gunicorn server hook
