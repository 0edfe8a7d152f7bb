"""Database use in a process that forks children (the Celery worker's main process).

The prefork pool forks its processes from the worker's main process, where the health
loop thread and the worker_ready handler use the database. SQLite keeps the lock state
of a process's open files in process memory, and a child forked while another thread
of the parent was inside a transaction inherits that state without the locks
themselves: its own write transactions then wait for a lock nobody holds, for ever
("database is locked" every 30 s; the embedded default stopped applying events). So
database work in such a process runs inside `database_use_outside_forks()`, a fork waits
for it to finish, and the work closes its connections before it lets a fork happen.
"""

import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager

from django.db import connections

_in_use = threading.Lock()


@contextmanager
def database_use_outside_forks() -> Iterator[None]:
    """Use the database with no fork in between; the connections are closed after."""
    with _in_use:
        try:
            yield
        finally:
            # Connections of this thread only; a fork then inherits no open SQLite file.
            connections.close_all()


os.register_at_fork(
    before=_in_use.acquire, after_in_parent=_in_use.release, after_in_child=_in_use.release
)
