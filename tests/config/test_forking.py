"""config/forking.py: a fork never happens while another thread is inside an SQLite transaction."""

import os
import sqlite3
import threading

import pytest

from config.forking import database_use_outside_forks


def _child_can_write(path, *, after=None) -> bool:
    """Fork; in the child, open the database afresh and take the write lock (1 s wait).

    `after`: called in the parent right after the fork; the child starts only then.
    """
    ready_read, ready_write = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: report through the exit code only
        code = 1
        try:
            os.close(ready_write)
            os.read(ready_read, 1)
            db = sqlite3.connect(path, timeout=1, isolation_level=None)
            db.execute("BEGIN IMMEDIATE")
            db.execute("INSERT INTO t VALUES (1)")
            db.execute("COMMIT")
            code = 0
        finally:
            os._exit(code)
    os.close(ready_read)
    if after is not None:
        after()
    os.write(ready_write, b"x")
    os.close(ready_write)
    _pid, status = os.waitpid(pid, 0)
    return os.waitstatus_to_exitcode(status) == 0


@pytest.fixture
def database(tmp_path):
    path = tmp_path / "db.sqlite3"
    with sqlite3.connect(path) as db:
        db.execute("PRAGMA journal_mode=WAL")
        db.execute("CREATE TABLE t (x)")
    return path


def test_a_fork_waits_for_a_thread_inside_a_transaction(database):
    inside, leave = threading.Event(), threading.Event()

    def transaction_in_another_thread():
        with database_use_outside_forks():
            db = sqlite3.connect(database, isolation_level=None)
            db.execute("BEGIN IMMEDIATE")
            inside.set()
            leave.wait(timeout=30)
            db.execute("COMMIT")
            db.close()

    thread = threading.Thread(target=transaction_in_another_thread)
    thread.start()
    assert inside.wait(timeout=30)
    result = {}
    forking = threading.Thread(target=lambda: result.update(ok=_child_can_write(database)))
    forking.start()
    forking.join(timeout=0.5)
    assert forking.is_alive(), "the fork did not wait for the transaction to end"
    leave.set()
    forking.join(timeout=60)
    thread.join(timeout=60)
    # Forked only after the transaction: the child's own write goes through.
    assert result == {"ok": True}


def test_without_the_guard_a_child_forked_mid_transaction_cannot_write(database):
    # What the guard prevents: SQLite's in-process lock state is copied into the child
    # without the locks, so even after the parent committed and closed (nobody holds a
    # lock any more), the child's write transaction waits for a lock nobody holds.
    db = sqlite3.connect(database, isolation_level=None)
    db.execute("BEGIN IMMEDIATE")

    def commit_and_close():
        db.execute("COMMIT")
        db.close()

    assert _child_can_write(database, after=commit_and_close) is False
