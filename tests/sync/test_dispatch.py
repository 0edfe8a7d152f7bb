"""Wake-ups of the inbox drain: coalesced per process, after the commit, never fatal."""

import threading
import time

import pytest
from django.db import transaction

from sync import dispatch
from tests.support.servers import wait_until


class RecordingPublish:
    def __init__(self, fail_first: int = 0):
        self.calls: list[float] = []
        self.fail_first = fail_first
        self.lock = threading.Lock()

    def __call__(self):
        with self.lock:
            self.calls.append(time.monotonic())
            if len(self.calls) <= self.fail_first:
                raise ConnectionError("broker down")


def test_a_burst_of_requests_costs_a_few_publishes_and_the_last_comes_after_it(settings):
    settings.SYNC_WAKE_COALESCE_SECONDS = 0.2
    publish = RecordingPublish()
    waker = dispatch._Waker(publish)

    started = time.monotonic()
    for _ in range(200):
        waker.request()
        time.sleep(0.002)
    last_request = time.monotonic()

    assert wait_until(lambda: publish.calls and publish.calls[-1] >= last_request, timeout=5)
    # ~0.4 s of requests at one publish per 0.2 s: a handful, not 200.
    assert 2 <= len(publish.calls) <= 6
    assert publish.calls[0] >= started


def test_a_failing_publish_is_logged_and_the_next_request_still_publishes(settings, caplog):
    settings.SYNC_WAKE_COALESCE_SECONDS = 0.01
    publish = RecordingPublish(fail_first=1)
    waker = dispatch._Waker(publish)

    waker.request()
    assert wait_until(lambda: len(publish.calls) == 1, timeout=5)
    waker.request()

    assert wait_until(lambda: len(publish.calls) == 2, timeout=5)
    assert "could not wake the inbox drain" in caplog.text


@pytest.mark.django_db(transaction=True)
def test_the_wake_up_is_requested_only_when_the_transaction_commits(monkeypatch):
    requested = []
    monkeypatch.setattr(dispatch._waker, "request", lambda: requested.append(1))

    with transaction.atomic():
        dispatch.inbox_wake_on_commit()
        assert requested == []
    assert requested == [1]

    with pytest.raises(RuntimeError), transaction.atomic():
        dispatch.inbox_wake_on_commit()
        raise RuntimeError("rolled back")
    assert requested == [1]  # nothing was stored, nothing to wake for
