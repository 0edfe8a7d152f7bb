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
