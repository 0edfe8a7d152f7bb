"""Monitoring's periodic tasks, declared in code and installed like the sync's (migration,
`manage.py setup_monitoring_tasks`). Heartbeats and probes are not here: they run in
beat's and the workers' own processes (monitoring/loop.py)."""

from django.utils.translation import gettext_lazy as _

from sync.periodic import PERIODIC_TASK_LABELS, periodic_tasks_install

PERIODIC_TASKS = (
    (
        "Monitoring: roll up webhook traffic per hour",
        "monitoring.traffic_rollup",
        "MONITORING_ROLLUP_INTERVAL_SECONDS",
    ),
    (
        "Monitoring: purge old payloads and rejections (retention)",
        "monitoring.retention_run",
        "RETENTION_INTERVAL_SECONDS",
    ),
)


PERIODIC_TASK_LABELS.update(
    {
        "Monitoring: roll up webhook traffic per hour": _(
            "Monitoring: roll up webhook traffic per hour"
        ),
        "Monitoring: purge old payloads and rejections (retention)": _(
            "Monitoring: purge old payloads and rejections (retention)"
        ),
    }
)


def monitoring_tasks_install(*, interval_model, task_model, update_intervals: bool = False) -> int:
    return periodic_tasks_install(
        interval_model=interval_model,
        task_model=task_model,
        update_intervals=update_intervals,
        tasks=PERIODIC_TASKS,
    )
