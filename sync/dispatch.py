"""Waking the inbox drain: the one way work is handed to the Celery workers.

The inbox table is the truth; a broker message only says "there is something to drain".
Wake-ups are coalesced per process: after a commit that stored or re-opened events, a
background thread publishes one `sync.inbox_drain` message, at most one per
`SYNC_WAKE_COALESCE_SECONDS`. A request never waits for the broker, a burst of 300
requests/s costs a handful of messages, and every commit is still followed by a
publish that happens *after* it, so the drain it starts sees the new rows. A message
that is lost (broker down, process killed before publishing) only delays events until
the sweeper's next run.
"""

from __future__ import annotations

import atexit
import logging
import os
import threading
import time
from collections.abc import Callable

from django.conf import settings
from django.db import transaction

logger = logging.getLogger(__name__)

DRAIN_TASK = "sync.inbox_drain"


_folders_ready_pid: int | None = None


def _publish(countdown: float | None = None) -> None:
    global _folders_ready_pid
    from config.celery import app, broker_folders_create

    if _folders_ready_pid != os.getpid():
        broker_folders_create()  # the embedded broker's folders; a no-op for Redis
        _folders_ready_pid = os.getpid()
    app.send_task(DRAIN_TASK, countdown=countdown, ignore_result=True)


class _Waker:
    """Publishes coalesced wake-ups from a daemon thread (one per process, started lazily)."""

    def __init__(self, publish: Callable[[], None]):
        self.publish = publish
        self._wanted = threading.Event()
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._pid: int | None = None

    def request(self) -> None:
        self._ensure_thread()
        self._wanted.set()

    def _ensure_thread(self) -> None:
        # After a fork (gunicorn, Celery prefork) the parent's thread does not exist here.
        if self._thread is not None and self._pid == os.getpid() and self._thread.is_alive():
            return
        with self._lock:
            if self._thread is None or self._pid != os.getpid() or not self._thread.is_alive():
                self._wanted = threading.Event()
                self._pid = os.getpid()
                self._thread = threading.Thread(
                    target=self._run, name="sync-inbox-waker", daemon=True
                )
                self._thread.start()

    def _run(self) -> None:
        while True:
            self._wanted.wait()
            # Cleared before publishing: a commit after this line sets it again and is
            # covered by the next publish.
            self._wanted.clear()
            try:
                self.publish()
            except Exception:  # noqa: BLE001 - broker down: the sweeper wakes the drain later
                logger.warning("could not wake the inbox drain; the sweeper will", exc_info=True)
            time.sleep(settings.SYNC_WAKE_COALESCE_SECONDS)

    def flush(self) -> None:
        """Publish a wake-up still wanted at interpreter exit (best effort)."""
        if self._pid == os.getpid() and self._wanted.is_set():
            self._wanted.clear()
            try:
                self.publish()
            except Exception:  # noqa: BLE001 - best effort at exit
                logger.warning("could not wake the inbox drain at exit", exc_info=True)


_waker = _Waker(_publish)
atexit.register(_waker.flush)


def inbox_wake_on_commit() -> None:
    """Wake the drain once the current transaction commits (at once outside one).

    `robust=True`: a failing wake-up never turns a committed event into an error.
    """
    transaction.on_commit(_waker.request, robust=True)


def inbox_wake_later(*, seconds: float) -> None:
    """Wake the drain when a retry falls due (a broker countdown; the sweeper backs it up)."""
    try:
        _publish(countdown=max(0.0, seconds))
    except Exception:  # noqa: BLE001 - broker down: the sweeper wakes the drain later
        logger.warning("could not schedule the inbox drain; the sweeper will", exc_info=True)
