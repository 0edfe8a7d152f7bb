"""The embedded broker writes each message under a name no consumer takes until it is whole."""

import os

from kombu import Connection

from config import broker


def test_a_message_appears_in_the_queue_only_once_written_whole(tmp_path, monkeypatch):
    seen_during_write = []
    real_replace = os.replace

    def replace(src, dst):
        seen_during_write.extend(os.listdir(tmp_path))
        real_replace(src, dst)

    monkeypatch.setattr(broker.os, "replace", replace)
    options = {
        "data_folder_in": str(tmp_path),
        "data_folder_out": str(tmp_path),
        "control_folder": str(tmp_path / "control"),
    }
    with Connection("filesystem://", transport=broker.Transport, transport_options=options) as conn:
        channel = conn.default_channel
        channel._put("celery", {"hello": "world"})
        queued = [name for name in os.listdir(tmp_path) if name.endswith(".celery.msg")]
        message = channel._get("celery")

    assert message == {"hello": "world"}
    assert len(queued) == 1
    # While the bytes were written, nothing carried the name a consumer looks for.
    assert seen_during_write and not [n for n in seen_during_write if n.endswith(".celery.msg")]


def _channel_options(tmp_path, **extra) -> dict:
    return {
        "data_folder_in": str(tmp_path),
        "data_folder_out": str(tmp_path),
        "control_folder": str(tmp_path / "control"),
        "coalesce_tasks": ["sync.inbox_drain"],
        **extra,
    }


def _task(name: str, *, eta: str | None = None) -> dict:
    return {"body": "", "headers": {"task": name, "eta": eta}, "properties": {}}


def _queued(tmp_path) -> list[str]:
    return sorted(name for name in os.listdir(tmp_path) if name.endswith(".celery.msg"))


def test_a_wake_up_is_not_written_while_another_is_still_waiting(tmp_path):
    options = _channel_options(tmp_path)
    with Connection("filesystem://", transport=broker.Transport, transport_options=options) as conn:
        channel = conn.default_channel
        for _ in range(5):
            channel._put("celery", _task("sync.inbox_drain"))
        assert len(_queued(tmp_path)) == 1
        # Other tasks, and a wake-up for later (a retry falling due), are always written.
        channel._put("celery", _task("sync.inbound_events_sweep"))
        channel._put("celery", _task("sync.inbox_drain", eta="2026-12-02T05:00:00+00:00"))
        assert len(_queued(tmp_path)) == 3
        # Once the waiting wake-up is taken, the next one is written again.
        taken = [channel._get("celery") for _ in range(3)]
        assert [m["headers"]["task"] for m in taken].count("sync.inbox_drain") == 2
        assert _queued(tmp_path) == []
        channel._put("celery", _task("sync.inbox_drain"))
        assert len(_queued(tmp_path)) == 1


def test_without_the_option_every_wake_up_is_written(tmp_path):
    options = _channel_options(tmp_path, coalesce_tasks=[])
    with Connection("filesystem://", transport=broker.Transport, transport_options=options) as conn:
        for _ in range(3):
            conn.default_channel._put("celery", _task("sync.inbox_drain"))
    assert len(_queued(tmp_path)) == 3


def test_celery_drain_wake_ups_are_what_the_settings_coalesce(tmp_path):
    """The real message Celery sends for the drain, through the transport options make run uses."""
    from config.celery import app
    from sync.dispatch import DRAIN_TASK

    options = _channel_options(tmp_path, coalesce_tasks=[DRAIN_TASK])
    with Connection("filesystem://", transport=broker.Transport, transport_options=options) as conn:
        for _ in range(3):
            app.send_task(DRAIN_TASK, connection=conn, ignore_result=True)
        app.send_task(DRAIN_TASK, connection=conn, countdown=30, ignore_result=True)
    assert len(_queued(tmp_path)) == 2
