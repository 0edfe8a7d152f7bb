"""Celery beat's scheduler with a health loop: beat's heartbeat and the endpoint probe.

Set as CELERY_BEAT_SCHEDULER. The loop runs in a thread of the beat process, so a slow
endpoint never delays the schedule and no queue stands between beat and its heartbeat.
"""

from django_celery_beat.schedulers import DatabaseScheduler

from monitoring.loop import HealthLoop


class MonitoredDatabaseScheduler(DatabaseScheduler):
    _health_loop: HealthLoop | None = None

    def setup_schedule(self):
        super().setup_schedule()
        if self._health_loop is None:
            self._health_loop = HealthLoop(role="scheduler").start()

    def close(self):
        if self._health_loop is not None:
            self._health_loop.stop()
        super().close()
