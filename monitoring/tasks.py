"""Celery tasks of monitoring: thin wrappers around services."""

from celery import shared_task

from monitoring import services


@shared_task(name="monitoring.traffic_rollup")
def traffic_rollup() -> int:
    return services.traffic_rollup()


@shared_task(name="monitoring.retention_run")
def retention_run() -> str:
    return str(services.retention_run())
