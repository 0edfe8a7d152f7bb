"""The real stack for fault injection: gunicorn, a Celery worker and beat, started here.

The tests are black-box on purpose: they talk HTTP to gunicorn, read the database with
plain SQL and wait on counts with generous deadlines, so they hold whatever the worker
does inside (per-event tasks or an inbox drain).
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

import psycopg
import requests

from tests.support import servers
from webhooks import signing

# Short enough for a test, long enough not to take over live claims.
FAULT_ENV = {
    "SYNC_PROCESSING_STUCK_SECONDS": "8",
    "SYNC_RETRY_BACKOFF_SECONDS": "1",
    "SYNC_RETRY_BACKOFF_MAX_SECONDS": "5",
    "SYNC_SWEEP_INTERVAL_SECONDS": "2",
    "CONN_MAX_AGE": "0",
    "WEB_CONCURRENCY": "2",
}
SWEEP_EVERY_SECONDS = 2


class Process:
    """One child process (its own process group) that can be killed and started again."""

    def __init__(self, name: str, args: list[str], env: dict[str, str], log_dir: Path):
        self.name, self.args, self.env, self.log_dir = name, args, env, log_dir
        self.popen: subprocess.Popen | None = None
        self.starts = 0

    @property
    def log_path(self) -> Path:
        return self.log_dir / f"{self.name}-{self.starts}.log"

    def start(self) -> Process:
        self.starts += 1
        log = open(self.log_path, "wb")  # noqa: SIM115 - closed with the process
        self.popen = subprocess.Popen(
            self.args,
            cwd=servers.REPO_ROOT,
            env=self.env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        log.close()
        return self

    def kill(self) -> None:
        """SIGKILL the whole group: no chance to acknowledge, roll back or clean up."""
        if self.popen and self.popen.poll() is None:
            os.killpg(self.popen.pid, signal.SIGKILL)
            self.popen.wait(timeout=10)

    def stop(self) -> None:
        if self.popen:
            servers._stop(self.popen)

    def restart_if_exited(self) -> bool:
        """What a process supervisor (systemd, the platform running the Procfile) does."""
        if self.popen and self.popen.poll() is not None:
            self.start()
            return True
        return False

    def tail(self) -> str:
        return f"--- {self.name} ---\n{servers.log_tail(self.log_path)}"


def worker(env, log_dir) -> Process:
    return Process("worker", servers.celery_worker_args(concurrency=2), env, log_dir)


def beat(env, log_dir) -> Process:
    args = [sys.executable, "-m", "celery", "-A", "config", "beat", "--loglevel", "INFO"]
    return Process("beat", args, env, log_dir)


def web(env, log_dir, port: int) -> Process:
    return Process("web", servers.gunicorn_args(port=port), env, log_dir)


def wait_for_web(base_url: str, *, timeout: float = 60) -> bool:
    def answering():
        try:
            return requests.get(f"{base_url}/healthz", timeout=1).status_code == 200
        except requests.RequestException:
            return False

    return bool(servers.wait_until(answering, timeout=timeout))


def wait_for_log(process: Process, text: str, *, timeout: float = 60) -> bool:
    return bool(
        servers.wait_until(
            lambda: text in process.log_path.read_text(errors="replace"), timeout=timeout
        )
    )


# --- the sender ---------------------------------------------------------------------------


@dataclass
class Delivery:
    webhook_id: str
    body: bytes
    answers: list[int] = field(default_factory=list)  # HTTP status, 0 for no answer

    @property
    def acknowledged(self) -> bool:
        return any(200 <= status < 300 for status in self.answers)


def created_event(*, source: str, member_id: str, first_name: str, at: datetime) -> bytes:
    return envelope(
        source=source,
        event_type="membership.created",
        at=at,
        data={"member_id": member_id, "first_name": first_name, "last_name": "Fault"},
    )


def envelope(*, source: str, event_type: str, at: datetime, data: dict) -> bytes:
    return json.dumps(
        {
            "type": event_type,
            "source": source,
            "occurred_at": at.astimezone(UTC).isoformat().replace("+00:00", "Z"),
            "data": data,
        }
    ).encode()


def member_stream(*, source: str, count: int, prefix: str) -> list[Delivery]:
    """`count` signed creates of distinct members (one application each)."""
    at = datetime.now(UTC) - timedelta(minutes=30)
    return [
        Delivery(
            webhook_id=f"{prefix}-{n:04d}-{uuid.uuid4().hex[:8]}",
            body=created_event(
                source=source,
                member_id=f"{prefix}-member-{n:04d}",
                first_name=f"F{n}",
                at=at + timedelta(milliseconds=n),
            ),
        )
        for n in range(count)
    ]


class Sender:
    """Min Side as a careful sender: signs every attempt anew, retries until acknowledged."""

    def __init__(self, base_url: str, secret: str):
        self.url = f"{base_url}/webhooks/dynamics/"
        self.secret = secret
        self.session = requests.Session()
        self.attempts = 0

    def send(self, delivery: Delivery) -> int:
        self.attempts += 1
        headers = signing.signed_headers(
            secret=self.secret,
            msg_id=delivery.webhook_id,
            timestamp=int(time.time()),
            body=delivery.body,
        )
        headers["Content-Type"] = "application/json"
        try:
            status = self.session.post(
                self.url, data=delivery.body, headers=headers, timeout=15
            ).status_code
        except requests.RequestException:
            self.session = requests.Session()
            status = 0
        delivery.answers.append(status)
        return status

    def send_until_acknowledged(self, delivery: Delivery, *, timeout: float = 120) -> bool:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if 200 <= self.send(delivery) < 300:
                return True
            time.sleep(0.5)
        return False


# --- reading the database (plain SQL: black-box) ---------------------------------------------


class Database:
    def __init__(self, url: str):
        self.url = url

    def rows(self, sql: str, params=()) -> list[tuple]:
        with psycopg.connect(self.url, autocommit=True, connect_timeout=5) as conn:
            return conn.execute(sql, params).fetchall()

    def execute(self, sql: str, params=()) -> None:
        with psycopg.connect(self.url, autocommit=True, connect_timeout=5) as conn:
            conn.execute(sql, params)

    def install_write_counter(self) -> None:
        """A trigger row for every INSERT or UPDATE of a member: applications, counted."""
        self.execute(
            """
            DROP TABLE IF EXISTS fault_member_writes;
            CREATE TABLE fault_member_writes (
                portal_member_id text NOT NULL, operation text NOT NULL, first_name text
            );
            CREATE OR REPLACE FUNCTION fault_member_write() RETURNS trigger AS $$
            BEGIN
                INSERT INTO fault_member_writes
                VALUES (NEW.portal_member_id, TG_OP, NEW.first_name);
                RETURN NEW;
            END $$ LANGUAGE plpgsql;
            DROP TRIGGER IF EXISTS fault_member_write ON organizations_member;
            CREATE TRIGGER fault_member_write AFTER INSERT OR UPDATE ON organizations_member
                FOR EACH ROW EXECUTE FUNCTION fault_member_write();
            """
        )

    def remove_write_counter(self) -> None:
        self.execute(
            "DROP TRIGGER IF EXISTS fault_member_write ON organizations_member;"
            "DROP FUNCTION IF EXISTS fault_member_write();"
            "DROP TABLE IF EXISTS fault_member_writes;"
        )

    def events_by_status(self, source: str) -> dict[str, int]:
        return dict(
            self.rows(
                "SELECT status, count(*) FROM sync_inboundevent WHERE source_identifier = %s "
                "GROUP BY status",
                [source],
            )
        )

    def rows_per_webhook_id(self, source: str) -> dict[str, int]:
        return dict(
            self.rows(
                "SELECT webhook_id, count(*) FROM sync_inboundevent "
                "WHERE source_identifier = %s GROUP BY webhook_id",
                [source],
            )
        )

    def member_inserts(self) -> dict[str, int]:
        return dict(
            self.rows(
                "SELECT portal_member_id, count(*) FROM fault_member_writes "
                "WHERE operation = 'INSERT' GROUP BY portal_member_id"
            )
        )

    def writes(self) -> int:
        return self.rows("SELECT count(*) FROM fault_member_writes")[0][0]

    def wait_all_finished(
        self, source: str, expected: int, *, timeout: float, tick=lambda: None
    ) -> dict[str, int]:
        def finished():
            tick()
            counts = self.events_by_status(source)
            done = sum(counts.get(s, 0) for s in ("succeeded", "skipped", "failed"))
            return counts if done >= expected else None

        return servers.wait_until(finished, timeout=timeout, interval=1) or self.events_by_status(
            source
        )


def django_url_of(database_settings: dict) -> str:
    user = database_settings.get("USER") or ""
    password = f":{database_settings['PASSWORD']}" if database_settings.get("PASSWORD") else ""
    host = database_settings.get("HOST") or "127.0.0.1"
    port = database_settings.get("PORT") or 5432
    return f"postgresql://{user}{password}@{host}:{port}/{database_settings['NAME']}"


# --- private servers ------------------------------------------------------------------------


class PrivateRedis:
    """A redis-server of this test's own on a free loopback port (the shared one stays up)."""

    def __init__(self, workdir: Path):
        self.port = servers.free_port()
        self.workdir = workdir
        self.popen: subprocess.Popen | None = None
        self.url = f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        binary = shutil.which("redis-server")
        if binary is None:
            servers.unavailable("redis-server is not installed")
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.popen = subprocess.Popen(
            [
                binary,
                "--bind",
                "127.0.0.1",
                "--port",
                str(self.port),
                "--save",
                "",
                "--appendonly",
                "no",
                "--dir",
                str(self.workdir),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
        import redis

        client = redis.Redis(port=self.port, socket_connect_timeout=1)

        def up():
            try:
                return client.ping()
            except redis.RedisError:
                return False

        if not servers.wait_until(up, timeout=20):
            raise RuntimeError("private redis-server did not start")

    def stop(self) -> None:
        """Kill it: unacknowledged messages are lost with it (no persistence)."""
        if self.popen and self.popen.poll() is None:
            os.killpg(self.popen.pid, signal.SIGKILL)
            self.popen.wait(timeout=10)


def _pg_bindir() -> Path | None:
    candidates = sorted(Path("/usr/lib/postgresql").glob("*/bin/initdb"))
    return candidates[-1].parent if candidates else None


class PrivatePostgres:
    """A throw-away PostgreSQL cluster, run as the `postgres` user like .ci/services.sh."""

    def __init__(self):
        self.port = servers.free_port()
        # Not under pytest's tmp_path: that is private to root, and the server runs as
        # `postgres`.
        self.workdir = Path(tempfile.mkdtemp(prefix="minside-fault-pg-"))
        self.data = self.workdir / "pgdata"
        self.bindir = _pg_bindir()
        self.url = f"postgresql://postgres@127.0.0.1:{self.port}/minside_fault"

    def _as_postgres(self, *args: str, check: bool = True) -> subprocess.CompletedProcess:
        command = [str(self.bindir / args[0]), *args[1:]]
        if os.geteuid() == 0:
            command = ["runuser", "-u", "postgres", "--", *command]
        return subprocess.run(
            command, cwd=self.workdir, capture_output=True, text=True, timeout=120, check=check
        )

    def init(self) -> None:
        if self.bindir is None:
            servers.unavailable("PostgreSQL server binaries (initdb) are not installed")
        if os.geteuid() == 0:
            shutil.chown(self.workdir, "postgres", "postgres")
        self._as_postgres(
            "initdb",
            "-D",
            str(self.data),
            "-U",
            "postgres",
            "--auth=trust",
            "--encoding=UTF8",
            "--locale=C.UTF-8",
            "--no-sync",
        )
        with open(self.data / "postgresql.conf", "a") as conf:
            conf.write(
                f"\nlisten_addresses = '127.0.0.1'\nport = {self.port}\n"
                f"unix_socket_directories = '{self.workdir}'\nfsync = off\n"
                "max_connections = 100\n"
            )
        self.start()
        self._as_postgres(
            "createdb", "-h", "127.0.0.1", "-p", str(self.port), "-U", "postgres", "minside_fault"
        )

    def start(self) -> None:
        self._as_postgres(
            "pg_ctl",
            "-D",
            str(self.data),
            "-l",
            str(self.workdir / "postgres.log"),
            "-w",
            "-t",
            "60",
            "start",
        )

    def stop(self) -> None:
        self._as_postgres("pg_ctl", "-D", str(self.data), "-m", "fast", "-w", "stop", check=False)

    def destroy(self) -> None:
        self._as_postgres(
            "pg_ctl", "-D", str(self.data), "-m", "immediate", "-w", "stop", check=False
        )
        shutil.rmtree(self.workdir, ignore_errors=True)
