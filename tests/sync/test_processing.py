"""Processing rules: ordering, idempotency, failures, retries, reprocessing, sweeping."""

from datetime import timedelta

import pytest
from django.conf import settings
from django.db import OperationalError
from django.test import override_settings
from django_celery_beat.models import IntervalSchedule, PeriodicTask

from organizations.models import Member
from sync import appliers, services
from sync.models import InboundEvent
from sync.periodic import PERIODIC_TASKS, periodic_tasks_install
from sync.selectors import inbound_event_queue_depth, sync_status_for_organization
from sync.tasks import inbox_drain
from tests.factories import MemberFactory, UserFactory
from tests.sync import payloads as p
from tests.sync.conftest import event_apply, event_store

Status = InboundEvent.Status
T1 = p.T0 + timedelta(minutes=5)


@pytest.fixture
def kari(org_a):
    return MemberFactory(
        organization=org_a, portal_member_id=p.MEMBER_ID, role=Member.Role.MEMBER, first_name="Kari"
    )


def role_event(org, role, *, occurred_at=p.T0, member_id=p.MEMBER_ID):
    return event_store(
        org,
        p.envelope("role.updated", {"member_id": member_id, "role": role}, occurred_at=occurred_at),
    )


@pytest.fixture
def retries(monkeypatch) -> list[float]:
    """Countdowns the drain asked to be woken again after (retries falling due)."""
    countdowns: list[float] = []
    monkeypatch.setattr(
        services.dispatch, "inbox_wake_later", lambda seconds: countdowns.append(seconds)
    )
    return countdowns


def run_task(event) -> str | None:
    """Run the drain task once; the event's final status, or None while it waits."""
    inbox_drain.run()
    event.refresh_from_db()
    return event.status if event.is_finished else None


# --- ordering and idempotency ---------------------------------------------------------------------


def test_the_same_event_applied_twice_changes_nothing(kari, org_a):
    first = role_event(org_a, "coordinator")
    duplicate = event_store(org_a, first.normalized)  # same content, another delivery

    event_apply(first)
    kari.refresh_from_db()
    state = (kari.role, kari.source_updated_at, kari.updated_at)
    event_apply(duplicate)
    again = services.inbound_event_apply(event_id=first.id)  # a redelivered message

    kari.refresh_from_db()
    assert (kari.role, kari.source_updated_at, kari.updated_at) == state
    assert duplicate.status == Status.SUCCEEDED
    assert duplicate.outcome == f"Member {p.MEMBER_ID}: role already Coordinator"
    first.refresh_from_db()
    assert (again.status, first.attempts) == (Status.SUCCEEDED, 1)  # finished: not re-run


def test_an_older_event_after_a_newer_one_is_skipped_as_stale(kari, org_a):
    newer = role_event(org_a, "coordinator", occurred_at=T1)
    older = event_store(
        org_a,
        p.envelope(
            "membership.updated",
            {"member_id": p.MEMBER_ID, "first_name": "Old", "role": "member"},
            occurred_at=p.T0,
        ),
    )

    event_apply(newer)
    event_apply(older)

    kari.refresh_from_db()
    assert (kari.role, kari.first_name, kari.source_updated_at) == ("coordinator", "Kari", T1)
    assert older.status == Status.SKIPPED
    assert older.outcome.startswith(f"Member {p.MEMBER_ID}: stale membership.updated from")
    assert "newer change" in older.outcome


def test_event_without_portal_time_is_applied_and_keeps_source_time(kari, org_a):
    kari.source_updated_at = T1
    kari.save()
    events = [
        {
            "type": "role.updated",
            "occurred_at": None,
            "data": {"member_id": p.MEMBER_ID, "role": "peer_mentor"},
        }
    ]

    event = event_store(org_a, events)
    event_apply(event)

    kari.refresh_from_db()
    assert (event.status, kari.role, kari.source_updated_at) == (
        Status.SUCCEEDED,
        "peer_mentor",
        T1,
    )


# --- validation failures --------------------------------------------------------------------------


def test_a_bad_role_fails_at_once_with_a_readable_outcome(kari, org_a, retries):
    event = role_event(org_a, "boss")

    status = run_task(event)

    assert status == Status.FAILED
    assert retries == []
    assert event.status == Status.FAILED
    # In HLF's words: the role names people use, and who must correct it.
    assert event.outcome == (
        f"Member {p.MEMBER_ID}: Min Side sent the role 'boss', which the Likeperson app does "
        "not have (it knows Member, Peer mentor, Coordinator, Organisation administrator)"
    )
    assert event.outcome_code == "sync.role_invalid"
    assert event.outcome_retryable is False
    assert event.outcome_advice.startswith("Correct the role in Min Side")
    assert (event.attempts, event.next_attempt_at) == (1, None)
    kari.refresh_from_db()
    assert kari.role == Member.Role.MEMBER


@pytest.mark.parametrize(
    ("event_type", "data", "needle"),
    [
        (
            "membership.created",
            {"first_name": "Kari"},
            "Member: the event has no Min Side member id",
        ),
        ("role.updated", {"member_id": p.MEMBER_ID}, "the event has no role"),
        (
            "membership.created",
            {"member_id": p.MEMBER_ID, "joined_on": "2026-02-30"},
            "joined on '2026-02-30' is not a date",
        ),
        (
            "membership.created",
            {"member_id": p.MEMBER_ID, "email": "not-an-email"},
            "the e-mail address 'not-an-email' is not valid",
        ),
        (
            "membership.created",
            {"member_id": p.MEMBER_ID, "phone": 4740000000},
            "phone must be text",
        ),
        (
            "course_enrollment.created",
            {"enrollment_id": p.ENROLLMENT_ID},
            "has no Min Side member id",
        ),
        (
            "course_enrollment.updated",
            {"enrollment_id": p.ENROLLMENT_ID, "member_id": p.MEMBER_ID, "status": "7"},
            "status '7' is not one of enrolled, waitlisted, completed, cancelled",
        ),
    ],
)
def test_invalid_payloads_fail_without_retry(kari, org_a, event_type, data, needle):
    event = event_store(org_a, p.envelope(event_type, data))

    result = event_apply(event)

    assert (event.status, result.retry_in) == (Status.FAILED, None)
    assert needle in event.outcome


def test_a_failure_in_one_part_undoes_the_parts_before_it(kari, org_a):
    events = p.envelope("membership.updated", {"member_id": p.MEMBER_ID, "first_name": "New"})
    events += p.envelope("role.updated", {"member_id": p.MEMBER_ID, "role": "boss"})

    event = event_store(org_a, events)
    event_apply(event)

    kari.refresh_from_db()
    assert event.status == Status.FAILED
    assert kari.first_name == "Kari"


def test_an_event_stored_without_normalised_events_fails(org_a):
    event = event_store(org_a, [])

    event_apply(event)

    assert (event.status, event.outcome) == (Status.FAILED, "the payload holds no events to apply")


# --- retries --------------------------------------------------------------------------------------


def test_a_transient_error_retries_with_backoff_then_succeeds(kari, org_a, monkeypatch, retries):
    real = appliers.APPLIERS["role.updated"]
    calls = []

    def flaky(**kwargs):
        calls.append(1)
        if len(calls) == 1:
            raise OperationalError("server closed the connection unexpectedly")
        return real(**kwargs)

    monkeypatch.setitem(appliers.APPLIERS, "role.updated", flaky)
    event = role_event(org_a, "coordinator")

    assert run_task(event) is None
    assert retries == [2]
    assert event.status == Status.PENDING
    assert "Temporary error (OperationalError" in event.outcome
    assert event.next_attempt_at is not None

    event.next_attempt_at = None  # the countdown has passed
    event.save()
    assert run_task(event) == Status.SUCCEEDED
    kari.refresh_from_db()
    assert (kari.role, event.attempts) == ("coordinator", 2)


def test_transient_errors_give_up_after_the_attempt_limit(kari, org_a, monkeypatch):
    def broken(**kwargs):
        raise OperationalError("database is down")

    monkeypatch.setitem(appliers.APPLIERS, "role.updated", broken)
    event = role_event(org_a, "coordinator")
    InboundEvent.objects.filter(pk=event.pk).update(attempts=9)

    with override_settings(SYNC_MAX_ATTEMPTS=10):
        result = event_apply(event)

    assert (result.status, result.retry_in, event.status) == (Status.FAILED, None, Status.FAILED)
    assert event.outcome.startswith("Gave up after 10 attempts: OperationalError")


@pytest.mark.parametrize(
    ("attempt", "visibility", "expected"),
    [(1, 3600, 2), (2, 3600, 4), (5, 3600, 32), (20, 3600, 300), (20, 400, 100), (20, None, 300)],
)
def test_backoff_is_exponential_and_capped_below_the_visibility_timeout(
    attempt, visibility, expected
):
    options = {"visibility_timeout": visibility} if visibility else {}
    with override_settings(
        SYNC_RETRY_BACKOFF_SECONDS=2,
        SYNC_RETRY_BACKOFF_MAX_SECONDS=300,
        CELERY_BROKER_TRANSPORT_OPTIONS=options,
    ):
        assert services.retry_backoff_seconds(attempt=attempt) == expected


def test_a_database_error_while_claiming_leaves_the_event_due_for_the_sweeper(
    org_a, monkeypatch, retries
):
    def down(**kwargs):
        raise OperationalError("could not connect to server")

    event = role_event(org_a, "coordinator")
    monkeypatch.setattr(services, "_inbox_claim", down)

    with pytest.raises(OperationalError):
        inbox_drain.run()
    monkeypatch.undo()

    event.refresh_from_db()
    assert (event.status, event.attempts) == (Status.PENDING, 0)
    assert services.inbound_events_due_count() == 1


def test_an_unknown_member_waits_then_fails_after_the_window(org_a, clock, retries):
    event = role_event(org_a, "coordinator")

    assert run_task(event) is None
    assert event.status == Status.PENDING
    assert event.outcome.startswith(f"Waiting: member {p.MEMBER_ID} is not known in HLF Alpha")
    assert retries == [2]

    clock.advance(300)
    assert run_task(event) is None  # still inside the 10-minute window
    assert retries[-1] == 4

    clock.advance(301)
    assert run_task(event) == Status.FAILED
    assert event.outcome == f"member {p.MEMBER_ID} is not known in HLF Alpha"
    assert event.attempts == 3


def test_the_retry_before_the_deadline_is_shortened_to_the_deadline(org_a, clock, retries):
    event = role_event(org_a, "coordinator")
    with override_settings(SYNC_UNKNOWN_TARGET_WINDOW_SECONDS=60, SYNC_RETRY_BACKOFF_SECONDS=50):
        run_task(event)
        clock.advance(55)
        run_task(event)

    assert retries[0] == 50
    assert 1 <= retries[1] <= 6


def test_the_create_arriving_late_lets_the_waiting_event_succeed(org_a, clock):
    waiting = role_event(org_a, "coordinator", occurred_at=T1)
    event_apply(waiting)
    create = event_store(org_a, p.envelope("membership.created", {"member_id": p.MEMBER_ID}))
    event_apply(create)

    clock.advance(10)
    event_apply(waiting)

    assert waiting.status == Status.SUCCEEDED
    assert Member.objects.get(portal_member_id=p.MEMBER_ID).role == "coordinator"


# --- claiming -------------------------------------------------------------------------------------


def test_an_event_another_worker_is_processing_is_left_alone_and_looked_at_later(
    kari, org_a, clock
):
    event = role_event(org_a, "coordinator")
    InboundEvent.objects.filter(pk=event.pk).update(
        status=Status.PROCESSING, attempts=1, started_at=clock.now
    )
    clock.advance(20)

    with override_settings(SYNC_PROCESSING_STUCK_SECONDS=120):
        result = event_apply(event)

    assert (result.status, result.retry_in) == (Status.PROCESSING, None)
    assert event.attempts == 1
    kari.refresh_from_db()
    assert kari.role == "member"


def test_a_stuck_event_is_taken_over_and_the_old_attempt_cannot_finish_it(kari, org_a, clock):
    event = role_event(org_a, "coordinator")
    first_claim = clock.now
    InboundEvent.objects.filter(pk=event.pk).update(
        status=Status.PROCESSING, attempts=1, started_at=first_claim
    )
    old_claim = InboundEvent.objects.select_related("organization").get(pk=event.pk)
    clock.advance(121)

    with override_settings(SYNC_PROCESSING_STUCK_SECONDS=120):
        result = event_apply(event)
    late = services._batch_apply([old_claim], careful=False)

    assert (result.status, event.attempts) == (Status.SUCCEEDED, 2)
    assert late == {}  # the old claim no longer holds the event: nothing applied again
    event.refresh_from_db()
    assert (event.status, event.attempts) == (Status.SUCCEEDED, 2)


def test_a_duplicate_message_does_not_jump_a_scheduled_retry(org_a, clock):
    event = role_event(org_a, "coordinator")
    event_apply(event)  # unknown member: waits, retry scheduled
    clock.advance(0.5)

    result = event_apply(event)

    assert (result.status, result.retry_in, event.attempts) == (Status.PENDING, None, 1)


def test_a_missing_event_is_reported_not_raised(db):
    assert services.inbound_event_apply(event_id="00000000-0000-0000-0000-000000000000").status == (
        "missing"
    )


# --- organisations --------------------------------------------------------------------------------


def test_events_for_one_organisation_never_touch_another(org_a, org_b):
    a = MemberFactory(organization=org_a, portal_member_id="same-id", first_name="Alpha")
    b = MemberFactory(organization=org_b, portal_member_id="same-id", first_name="Beta")

    event_apply(
        event_store(
            org_a,
            p.envelope("membership.updated", {"member_id": "same-id", "first_name": "Changed"}),
        )
    )
    event_apply(event_store(org_a, p.envelope("membership.deactivated", {"member_id": "same-id"})))
    created = event_store(org_a, p.envelope("membership.created", {"member_id": "only-in-b"}))
    MemberFactory(organization=org_b, portal_member_id="only-in-b")
    event_apply(created)
    waiting = event_store(
        org_a, p.envelope("role.updated", {"member_id": "b-only", "role": "member"})
    )
    MemberFactory(organization=org_b, portal_member_id="b-only")
    event_apply(waiting)

    a.refresh_from_db()
    b.refresh_from_db()
    assert (a.first_name, a.is_active) == ("Changed", False)
    assert (b.first_name, b.is_active, b.source_updated_at) == ("Beta", True, None)
    assert Member.objects.filter(portal_member_id="only-in-b", organization=org_a).exists()
    assert waiting.status == Status.PENDING
    assert "is not known in HLF Alpha" in waiting.outcome


# --- reprocessing ---------------------------------------------------------------------------------


def test_reprocess_turns_a_fixed_failure_into_success(
    org_a, clock, wakeups, django_capture_on_commit_callbacks
):
    event = role_event(org_a, "coordinator")
    event_apply(event)
    clock.advance(601)
    event_apply(event)
    assert event.status == Status.FAILED
    # The fix: the member arrives.
    event_apply(event_store(org_a, p.envelope("membership.created", {"member_id": p.MEMBER_ID})))
    ok = event_store(org_a, p.envelope("webhook.test", {}))
    event_apply(ok)
    admin = UserFactory(username="reprocessor")

    with django_capture_on_commit_callbacks(execute=True):
        count = services.inbound_event_reprocess(
            events=InboundEvent.objects.filter(pk__in=[event.pk, ok.pk]), user=admin
        )

    event.refresh_from_db()
    assert (count, wakeups) == (1, ["commit"])
    assert (event.status, event.attempts, event.reprocessed_by) == (
        Status.PENDING,
        0,
        "reprocessor",
    )
    assert event.outcome == "Reprocessing requested by reprocessor"
    event_apply(event)
    assert event.status == Status.SUCCEEDED
    assert Member.objects.get(portal_member_id=p.MEMBER_ID).role == "coordinator"


def test_reprocessing_restarts_the_wait_for_an_unknown_member(org_a, clock):
    event = role_event(org_a, "coordinator")
    InboundEvent.objects.filter(pk=event.pk).update(
        status=Status.FAILED, received_at=clock.now - timedelta(hours=2)
    )

    services.inbound_event_reprocess(events=InboundEvent.objects.all(), user=UserFactory())
    result = event_apply(event)

    assert (event.status, bool(result.retry_in)) == (Status.PENDING, True)


# --- sweeping -------------------------------------------------------------------------------------


@override_settings(SYNC_PROCESSING_STUCK_SECONDS=120)
def test_the_sweeper_wakes_the_drain_only_while_events_are_due(org_a, clock, wakeups):
    now = clock.now
    lost = role_event(org_a, "member")
    stuck = role_event(org_a, "member", member_id="stuck")
    busy = role_event(org_a, "member", member_id="busy")
    waiting = role_event(org_a, "member", member_id="waiting")
    done = role_event(org_a, "member", member_id="done")
    InboundEvent.objects.filter(pk=stuck.pk).update(
        status=Status.PROCESSING, started_at=now - timedelta(seconds=121)
    )
    InboundEvent.objects.filter(pk=busy.pk).update(
        status=Status.PROCESSING, started_at=now - timedelta(seconds=60)
    )
    InboundEvent.objects.filter(pk=waiting.pk).update(next_attempt_at=now + timedelta(seconds=60))
    InboundEvent.objects.filter(pk=done.pk).update(status=Status.SUCCEEDED)

    assert services.inbound_events_sweep() == 2  # the lost message and the dead claim
    assert wakeups == ["in 0s"]

    InboundEvent.objects.filter(pk__in=[lost.pk, stuck.pk]).update(status=Status.SUCCEEDED)
    wakeups.clear()
    assert services.inbound_events_sweep() == 0
    assert wakeups == []

    clock.advance(61)  # the retry falls due, the busy claim now counts as dead
    assert services.inbound_events_sweep() == 2
    assert wakeups == ["in 0s"]


# --- selectors and periodic tasks -----------------------------------------------------------------


def test_sync_status_reports_counts_ages_and_lag(kari, org_a, org_b, clock):
    ok = role_event(org_a, "coordinator")
    event_apply(ok)
    InboundEvent.objects.filter(pk=ok.pk).update(received_at=clock.now - timedelta(seconds=3))
    failed = role_event(org_a, "boss")
    event_apply(failed)
    InboundEvent.objects.filter(pk=failed.pk).update(received_at=clock.now - timedelta(seconds=1))
    pending = role_event(org_a, "member")
    InboundEvent.objects.filter(pk=pending.pk).update(received_at=clock.now - timedelta(seconds=40))
    role_event(org_b, "member")

    status = sync_status_for_organization(organization=org_a)

    assert (status["pending"], status["failed"], status["processing"]) == (1, 1, 0)
    assert status["last_succeeded_at"] == clock.now
    assert status["oldest_pending_age"] == timedelta(seconds=40)
    assert {e.id for e in status["recent_events"]} == {ok.id, failed.id, pending.id}
    assert (status["lag_median"], status["lag_max"]) == (timedelta(seconds=2), timedelta(seconds=3))


def test_queue_depth_counts_pending_and_processing_everywhere(org_a, org_b, clock):
    role_event(org_a, "member")
    old = role_event(org_b, "member")
    InboundEvent.objects.filter(pk=old.pk).update(
        status=Status.PROCESSING, received_at=clock.now - timedelta(seconds=90)
    )

    depth = inbound_event_queue_depth()

    assert (depth["pending"], depth["processing"], depth["total"]) == (1, 1, 2)
    assert depth["oldest_age"] == timedelta(seconds=90)
    assert depth["oldest_processing_age"] == timedelta(seconds=90)


def test_the_migration_installed_the_periodic_tasks_and_reinstalling_keeps_admin_choices(db):
    names = {name for name, _task, _setting in PERIODIC_TASKS}
    installed = PeriodicTask.objects.filter(name__in=names)
    assert {t.task for t in installed} == {"sync.inbound_events_sweep", "sync.worker_heartbeat"}
    assert {(t.task, t.interval.every) for t in installed} == {
        ("sync.inbound_events_sweep", settings.SYNC_SWEEP_INTERVAL_SECONDS),
        ("sync.worker_heartbeat", settings.SYNC_HEARTBEAT_INTERVAL_SECONDS),
    }
    assert all(t.enabled for t in installed)
    PeriodicTask.objects.filter(task="sync.worker_heartbeat").update(enabled=False)

    created = periodic_tasks_install(
        interval_model=IntervalSchedule, task_model=PeriodicTask, update_intervals=True
    )

    assert created == 0
    assert PeriodicTask.objects.filter(name__in=names).count() == 2
    assert not PeriodicTask.objects.get(task="sync.worker_heartbeat").enabled


# --- batches --------------------------------------------------------------------------------------


def test_a_subjects_events_are_applied_in_portal_order_within_a_batch(org_a, retries):
    created = p.envelope("membership.created", {"member_id": p.MEMBER_ID, "first_name": "A"})
    second = p.envelope(
        "membership.updated", {"member_id": p.MEMBER_ID, "first_name": "B"}, occurred_at=T1
    )
    third = p.envelope(
        "membership.updated",
        {"member_id": p.MEMBER_ID, "first_name": "C"},
        occurred_at=T1 + timedelta(minutes=1),
    )
    # Received newest first: applied in that order the updates would wait for the create
    # and the older update would then be skipped as stale.
    stored = [event_store(org_a, events) for events in (third, second, created)]

    report = services.inbox_drain()

    assert (report.batches, report.statuses) == (1, {Status.SUCCEEDED: 3})
    assert Member.objects.get(portal_member_id=p.MEMBER_ID).first_name == "C"
    for event in stored:
        event.refresh_from_db()
        assert (event.status, event.attempts) == (Status.SUCCEEDED, 1)
    assert retries == []


def test_one_bad_event_fails_alone_and_the_rest_of_its_batch_is_applied(kari, org_a):
    good = [role_event(org_a, "coordinator", occurred_at=p.T0)]
    bad = role_event(org_a, "boss", occurred_at=T1)
    good.append(
        event_store(
            org_a, p.envelope("membership.created", {"member_id": "other", "first_name": "Ola"})
        )
    )

    report = services.inbox_drain()

    assert report.statuses == {Status.SUCCEEDED: 2, Status.FAILED: 1}
    bad.refresh_from_db()
    assert bad.status == Status.FAILED
    kari.refresh_from_db()
    assert kari.role == "coordinator"
    assert Member.objects.filter(portal_member_id="other", organization=org_a).exists()


def test_an_unexpected_error_fails_the_event_at_once_instead_of_leaving_it_processing(
    kari, org_a, monkeypatch
):
    def crash(**kwargs):
        raise ValueError("surrogates not allowed: Kari\ud800")

    monkeypatch.setitem(appliers.APPLIERS, "role.updated", crash)
    event = role_event(org_a, "coordinator")

    services.inbox_drain()

    event.refresh_from_db()
    assert (event.status, event.attempts, event.next_attempt_at) == (Status.FAILED, 1, None)
    assert "ValueError" in event.outcome
    assert "Kari" not in event.outcome  # the exception text can hold payload values


def test_an_event_that_killed_the_worker_every_time_fails_after_the_attempt_limit(
    kari, org_a, clock
):
    event = role_event(org_a, "coordinator")
    InboundEvent.objects.filter(pk=event.pk).update(
        status=Status.PROCESSING, attempts=10, started_at=clock.now - timedelta(seconds=121)
    )

    with override_settings(SYNC_MAX_ATTEMPTS=10, SYNC_PROCESSING_STUCK_SECONDS=120):
        services.inbox_drain()

    event.refresh_from_db()
    assert (event.status, event.attempts) == (Status.FAILED, 11)
    assert event.outcome.startswith("Gave up after 10 attempts")
    kari.refresh_from_db()
    assert kari.role == "member"  # not applied a last time


def test_a_drain_that_finds_a_backlog_asks_for_help_once(org_a, wakeups):
    for n in range(5):
        event_store(org_a, p.envelope("membership.created", {"member_id": f"m-{n}"}))

    report = services.inbox_drain(batch_size=2)

    assert (report.batches, report.processed) == (3, 5)
    assert wakeups == ["in 0s"]


def test_a_drain_stops_at_its_time_budget_and_hands_over_to_a_fresh_one(org_a, wakeups):
    for n in range(5):
        event_store(org_a, p.envelope("membership.created", {"member_id": f"m-{n}"}))

    report = services.inbox_drain(batch_size=2, time_budget=0)

    assert (report.batches, report.processed) == (1, 2)
    # A full first batch asks a second process to help; the budget hands over to a fresh one.
    assert wakeups == ["in 0s", "in 0s"]
    assert InboundEvent.objects.filter(status=Status.PENDING).count() == 3


def test_a_stored_time_past_the_representable_range_fails_the_event_readably(org_a):
    event = event_store(
        org_a,
        [
            {
                "type": "role.updated",
                "occurred_at": "9999-12-31T23:00:00-05:00",
                "data": {"member_id": p.MEMBER_ID, "role": "coordinator"},
            }
        ],
    )

    services.inbox_drain()

    event.refresh_from_db()
    assert event.status == Status.FAILED
    assert "out of range" in event.outcome


def test_each_applied_event_is_one_structured_log_line_without_payload_values(kari, org_a, caplog):
    import json as json_module
    import logging

    good = role_event(org_a, "coordinator")
    bad = event_store(
        org_a,
        p.envelope("membership.updated", {"member_id": p.MEMBER_ID, "email": "kari@@bad"}),
    )

    with caplog.at_level(logging.INFO, logger="sync.services"):
        services.inbox_drain()

    lines = [
        json_module.loads(record.getMessage())
        for record in caplog.records
        if record.getMessage().startswith('{"event":"sync.event_applied"')
    ]
    assert {(line["event_id"], line["status"]) for line in lines} == {
        (str(good.id), "succeeded"),
        (str(bad.id), "failed"),
    }
    assert all(line["source"] == f"src-{org_a.slug}" for line in lines)
    assert "kari@@bad" not in caplog.text


def test_after_a_partial_batch_the_drain_lingers_and_takes_what_arrived_meanwhile(
    org_a, monkeypatch, settings
):
    settings.SYNC_DRAIN_LINGER_SECONDS = 0.25
    event_store(org_a, p.envelope("membership.created", {"member_id": "first"}))
    pauses = []

    def linger(seconds):
        pauses.append(seconds)
        if len(pauses) == 1:  # an event arrives while the drain waits
            event_store(org_a, p.envelope("membership.created", {"member_id": "second"}))

    monkeypatch.setattr(services.time, "sleep", linger)

    report = services.inbox_drain(batch_size=10)

    # Two partial batches, each followed by the wait; the claim after the second finds
    # nothing and the drain ends.
    assert (report.batches, report.processed) == (2, 2)
    assert pauses == [0.25, 0.25]
    assert set(Member.objects.values_list("portal_member_id", flat=True)) == {"first", "second"}


def test_a_full_batch_is_followed_at_once_by_the_next_claim(org_a, monkeypatch, settings):
    settings.SYNC_DRAIN_LINGER_SECONDS = 0.25
    for n in range(4):
        event_store(org_a, p.envelope("membership.created", {"member_id": f"m-{n}"}))
    pauses = []
    monkeypatch.setattr(services.time, "sleep", pauses.append)

    report = services.inbox_drain(batch_size=2)

    # Full, full, then an empty claim: no batch was partial, so no wait at all.
    assert (report.batches, report.processed) == (2, 4)
    assert pauses == []
