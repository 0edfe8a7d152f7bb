"""A worker bootstep: the heartbeat thread, and this worker's own metrics files.

Added to the worker blueprint in config/celery.py. The heartbeat runs in the worker's
main process, not as a task, so a backlog of events cannot delay it.
"""

import socket

from celery import bootsteps

from monitoring.loop import HealthLoop
from monitoring.metrics_dir import process_tree_prepare


class HealthStep(bootsteps.StartStopStep):
    label = "monitoring health"

    def __init__(self, worker, **kwargs):
        super().__init__(worker, **kwargs)
        # Once per worker start, before the pool forks: this worker's old files go.
        process_tree_prepare(tree=f"worker-{worker.hostname or socket.gethostname()}")
        self.loop = None

    def start(self, worker):
        self.loop = HealthLoop(role="worker").start()

    def stop(self, worker):
        if self.loop is not None:
            self.loop.stop()
