"""The health loop beat and every worker run in their own process, beside (not behind) the queue.

Heartbeats and probes sent as Celery tasks would wait behind an event backlog, and a
busy worker would be reported dead (issue 12). So each process runs this in a thread of
its own: it proves the process alive, and evaluates the alerts, so a stopped worker is
reported by beat and a stopped beat by the workers.
"""

import logging
import socket
import threading

from django.conf import settings

from config.forking import database_use_outside_forks

logger = logging.getLogger(__name__)


def _tick(*, role: str) -> None:
    from monitoring import services
    from sync.services import worker_heartbeat_record

    hostname = socket.gethostname()
    if role == "scheduler":
        services.scheduler_heartbeat_record(hostname=hostname)
        services.endpoint_probe_run()
    else:
        worker_heartbeat_record(hostname=hostname)
    services.alerts_evaluate()


def tick_safely(*, role: str) -> None:
    # Never mid-transaction when the worker's pool forks (config/forking.py); the
    # connections are closed after, so a broken one is not reused next time either.
    with database_use_outside_forks():
        try:
            _tick(role=role)
        except Exception:  # noqa: BLE001 - the loop must outlive a database hiccup
            logger.exception("monitoring health loop (%s) failed; trying again next time", role)


class HealthLoop:
    """A daemon thread that ticks every MONITORING_HEARTBEAT_INTERVAL_SECONDS until stopped."""

    def __init__(self, *, role: str, interval: float | None = None):
        self.role = role
        self.interval = interval or settings.MONITORING_HEARTBEAT_INTERVAL_SECONDS
        self._stopped = threading.Event()
        self._thread = threading.Thread(target=self._run, name=f"monitoring-{role}", daemon=True)

    def start(self) -> "HealthLoop":
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stopped.set()

    def _run(self) -> None:
        while not self._stopped.is_set():
            tick_safely(role=self.role)
            self._stopped.wait(self.interval)
