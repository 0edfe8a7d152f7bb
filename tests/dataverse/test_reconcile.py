"""Reconciliation passes against the fake Dataverse on loopback (SPEC §5.1)."""

import logging
from datetime import UTC, datetime, timedelta

import pytest

from dataverse.client import token_cache_clear
from dataverse.models import DataverseDeltaLink, ReconcilePass
from dataverse.selectors import reconcile_metrics_figures, reconcile_pass_outcome
from dataverse.services import ReconcileBusy, _lease_acquire, reconcile_pass_run
from organizations.models import CourseEnrollment, Member
from sync.models import InboundEvent
from sync.selectors import inbound_event_healed_count
from tests.dataverse.conftest import CLIENT_SECRET, contact, inbox_apply
from tests.factories import MemberFactory
from tests.sync.conftest import event_store

pytestmark = pytest.mark.usefixtures("wakeups")

KARI, OLA, PER = (
    "0b7c59aa-0000-4000-8000-00000000000a",
    "0b7c59aa-0000-4000-8000-00000000000b",
    "0b7c59aa-0000-4000-8000-00000000000c",
)
ENROLLMENT = "e0000000-0000-4000-8000-000000000001"


def enrollment_row(enrollment_id=ENROLLMENT, member_id=KARI, **columns):
    row = {
        "hlf_courseenrollmentid": enrollment_id,
        "_hlf_contactid_value": member_id,
        "_hlf_courseid_value": "c0ffee00-0000-4000-8000-000000000001",
        "hlf_coursename": "Likepersonkurs",
        "hlf_status": 100000000,
        "hlf_startdate": "2026-02-01",
    }
    row.update(columns)
    return row


@pytest.fixture
def three_contacts(fake_dataverse):
    fake_dataverse.upsert("contacts", contact(KARI))
    fake_dataverse.upsert("contacts", contact(OLA, firstname="Ola", hlf_approle=100000002))
    fake_dataverse.upsert("contacts", contact(PER, firstname="Per", statecode=1))
    fake_dataverse.upsert("hlf_courseenrollments", enrollment_row())


def _pass(source, **kwargs) -> ReconcilePass:
    record = reconcile_pass_run(source=source, **kwargs)
    assert record.status == ReconcilePass.Status.SUCCEEDED, record.error
    return record


def test_first_full_pass_heals_every_member_no_webhook_brought(
    connection_a, source_a, org_a, three_contacts, fake_dataverse
):
    record = _pass(source_a)

    assert (record.rows_read, record.events_recorded, record.deleted) == (4, 4, 0)
    assert [table["mode"] for table in record.tables] == ["full", "full"]
    assert all(table["delta_saved"] for table in record.tables)
    # One token, one page per table: the cost a full pass of a small table has.
    assert (fake_dataverse.stats["token"], fake_dataverse.stats["api"]) == (1, 2)
    prefer = fake_dataverse.requests_log[0]["prefer"]
    assert prefer == "odata.track-changes, odata.maxpagesize=5000"
    assert "$select=" in fake_dataverse.requests_log[0]["query"]

    events = InboundEvent.objects.order_by("received_at")
    assert {event.origin for event in events} == {"reconciliation"}
    assert {event.payload_format for event in events} == {"dataverse_row"}
    assert set(inbox_apply()) == {"succeeded"}

    kari = Member.objects.get(organization=org_a, portal_member_id=KARI)
    assert (kari.first_name, kari.email, kari.role, kari.is_active) == (
        "Kari",
        "kari@example.no",
        "peer_mentor",
        True,
    )
    assert str(kari.joined_on) == "2024-03-01"
    assert kari.source_updated_at is not None  # the row's modifiedon
    assert Member.objects.get(portal_member_id=OLA).role == "coordinator"
    assert Member.objects.get(portal_member_id=PER).is_active is False
    enrollment = CourseEnrollment.objects.get(portal_enrollment_id=ENROLLMENT)
    assert (enrollment.member, enrollment.status, str(enrollment.starts_on)) == (
        kari,
        "enrolled",
        "2026-02-01",
    )
    outcome = reconcile_pass_outcome(record=record)
    assert (outcome.healed, outcome.queued) == (4, 0)
    assert inbound_event_healed_count(source_identifier="hlf-alpha") == 4
    [figures] = reconcile_metrics_figures()
    assert (figures.source_identifier, figures.healed_total) == ("hlf-alpha", 4)
    assert figures.last_success_at == record.finished_at


def test_rows_the_local_state_reflects_record_nothing(connection_a, source_a, three_contacts):
    _pass(source_a)
    inbox_apply()

    again = _pass(source_a, full=True)

    assert again.rows_read == 4
    assert again.events_recorded == 0
    assert InboundEvent.objects.count() == 4


def test_delta_pass_with_a_change_and_a_deletion(
    connection_a, source_a, three_contacts, fake_dataverse
):
    _pass(source_a)
    inbox_apply()
    fake_dataverse.upsert("contacts", {"contactid": KARI, "lastname": "Hansen"})
    fake_dataverse.delete("contacts", OLA)
    fake_dataverse.delete("hlf_courseenrollments", ENROLLMENT)

    record = _pass(source_a)

    assert [table["mode"] for table in record.tables] == ["delta", "delta"]
    assert (record.rows_read, record.deleted, record.events_recorded) == (3, 2, 3)
    changed = InboundEvent.objects.get(subject_ids=KARI, received_at__gte=record.started_at)
    # Only what differs from the local state.
    assert changed.normalized[0]["type"] == "membership.updated"
    assert changed.normalized[0]["data"] == {"member_id": KARI, "last_name": "Hansen"}
    assert set(inbox_apply()) == {"succeeded"}
    ola = Member.objects.get(portal_member_id=OLA)
    assert (ola.is_active, ola.deactivation_reason) == (False, "deleted in Dynamics")
    assert Member.objects.get(portal_member_id=KARI).last_name == "Hansen"
    enrollment = CourseEnrollment.objects.get(portal_enrollment_id=ENROLLMENT)
    assert enrollment.status == "cancelled"
    assert reconcile_pass_outcome(record=record).healed == 3


def test_a_delta_pass_with_nothing_changed_costs_one_request_per_table(
    connection_a, source_a, three_contacts, fake_dataverse
):
    _pass(source_a)
    before = fake_dataverse.stats["api"]

    record = _pass(source_a)

    assert fake_dataverse.stats["api"] - before == 2
    assert fake_dataverse.stats["token"] == 1  # the cached token
    assert (record.rows_read, record.events_recorded, record.requests) == (0, 0, 2)


def test_paging_follows_next_links_and_saves_the_delta_link_after_the_last_page(
    connection_a, source_a, fake_dataverse, monkeypatch
):
    import dataverse.client

    fake_dataverse.seed_contacts(7)
    monkeypatch.setattr(dataverse.client, "PREFER", "odata.track-changes, odata.maxpagesize=3")

    record = _pass(source_a)

    assert record.tables[0]["pages"] == 3
    assert record.tables[0]["rows"] == 7
    assert record.events_recorded == 7
    assert "$skiptoken=" in fake_dataverse.requests_log[1]["query"]
    link = DataverseDeltaLink.objects.get(entity_set="contacts").link
    assert "$deltatoken=" in link


def test_429_is_waited_out_as_retry_after_asks(
    connection_a, source_a, three_contacts, fake_dataverse, no_sleep
):
    fake_dataverse.throttle(2, retry_after=7)

    record = _pass(source_a)

    assert no_sleep == [7, 7]
    assert record.throttled == 2
    assert record.events_recorded == 4


def test_an_expired_delta_link_falls_back_to_a_full_pass_logged_and_shown(
    connection_a, source_a, three_contacts, fake_dataverse, caplog
):
    _pass(source_a)
    inbox_apply()
    fake_dataverse.expire_delta_links()
    fake_dataverse.upsert("contacts", {"contactid": PER, "statecode": 0})

    with caplog.at_level(logging.WARNING, logger="dataverse"):
        record = _pass(source_a)

    contacts = record.tables[0]
    assert contacts["mode"] == "full"
    assert "refused" in contacts["reset"] and "full sync" in contacts["reset"]
    assert record.delta_resets
    assert "reading it in full" in caplog.text
    assert record.rows_read == 4  # everything, again
    assert record.events_recorded == 1  # only what the local state lacks
    inbox_apply()
    assert Member.objects.get(portal_member_id=PER).is_active is True


def test_a_failed_pass_keeps_the_previous_delta_link(
    connection_a, source_a, three_contacts, fake_dataverse
):
    _pass(source_a)
    inbox_apply()
    saved = {link.entity_set: link.link for link in DataverseDeltaLink.objects.all()}
    fake_dataverse.upsert("contacts", {"contactid": KARI, "lastname": "Hansen"})
    fake_dataverse.fail(1)

    failed = reconcile_pass_run(source=source_a)

    assert failed.status == ReconcilePass.Status.FAILED
    assert "HTTP 500" in failed.error
    assert {link.entity_set: link.link for link in DataverseDeltaLink.objects.all()} == saved
    # The next pass starts from the kept link and finds the change.
    record = _pass(source_a)
    assert record.tables[0]["mode"] == "delta"
    assert record.events_recorded == 1


def test_two_concurrent_passes_one_runs(connection_a, source_a, three_contacts, monkeypatch):
    import dataverse.services as services

    attempts = []
    original = services._page_record

    def page_record_while_another_pass_starts(**kwargs):
        try:
            reconcile_pass_run(source=source_a)
        except ReconcileBusy:
            attempts.append("busy")
        return original(**kwargs)

    monkeypatch.setattr(services, "_page_record", page_record_while_another_pass_starts)
    record = _pass(source_a)

    assert attempts == ["busy", "busy"]  # once per table
    assert ReconcilePass.objects.count() == 1
    assert record.events_recorded == 4
    # The lease is released at the end: the next pass runs.
    monkeypatch.setattr(services, "_page_record", original)
    _pass(source_a)


def test_a_pass_whose_worker_died_is_taken_over_after_the_lease(
    connection_a, source_a, three_contacts, settings
):
    assert _lease_acquire(connection_a) is not None  # a pass that never finished
    with pytest.raises(ReconcileBusy):
        reconcile_pass_run(source=source_a)

    connection_a.__class__.objects.filter(pk=connection_a.pk).update(
        lease_expires_at=datetime.now(UTC) - timedelta(seconds=1)
    )
    _pass(source_a)


def test_an_expired_token_is_renewed_once(connection_a, source_a, three_contacts, fake_dataverse):
    _pass(source_a)
    fake_dataverse.expire_tokens()

    _pass(source_a)

    assert fake_dataverse.stats["token"] == 2
    assert fake_dataverse.stats["unauthorized"] == 1


def test_a_webhook_already_applied_leaves_reconciliation_nothing_to_do(
    connection_a, source_a, org_a, fake_dataverse
):
    MemberFactory(organization=org_a, portal_member_id=KARI, first_name="Kari", last_name="N")
    fake_dataverse.upsert("contacts", contact(KARI, lastname="Nordmann"))
    row = fake_dataverse.tables["contacts"].rows[KARI]
    # The webhook brought the same change (its time a little after the row's modifiedon).
    webhook = event_store(
        org_a,
        [
            {
                "type": "membership.updated",
                "occurred_at": row["modifiedon"].replace("Z", ".250+00:00"),
                "data": {"member_id": KARI, "last_name": "Nordmann", "role": "peer_mentor"},
            }
        ],
    )
    webhook.source_identifier = "hlf-alpha"
    webhook.save(update_fields=["source_identifier"])
    inbox_apply()
    Member.objects.filter(portal_member_id=KARI).update(
        joined_on="2024-03-01", email="kari@example.no"
    )

    record = _pass(source_a)

    assert record.events_recorded == 0
    assert inbound_event_healed_count() == 0


def test_a_webhook_and_a_reconciliation_row_for_the_same_change_apply_once(
    connection_a, source_a, org_a, fake_dataverse
):
    member = MemberFactory(
        organization=org_a,
        portal_member_id=KARI,
        first_name="Kari",
        last_name="Old",
        email="kari@example.no",
        role="peer_mentor",
        joined_on="2024-03-01",
    )
    fake_dataverse.upsert("contacts", contact(KARI))
    row = fake_dataverse.tables["contacts"].rows[KARI]
    _pass(source_a)  # the reconciliation event is recorded first …
    # … then the webhook for the very change arrives before the workers got to either.
    event_store(
        org_a,
        [
            {
                "type": "membership.updated",
                "occurred_at": row["modifiedon"].replace("Z", "+00:00"),
                "data": {"member_id": KARI, "last_name": "Nordmann"},
            }
        ],
    )

    inbox_apply()

    member.refresh_from_db()
    assert member.last_name == "Nordmann"
    outcomes = [event.outcome for event in InboundEvent.objects.order_by("received_at")]
    assert "updated last name" in outcomes[0]
    assert "no change" in outcomes[1]


def test_a_webhook_waiting_for_the_workers_and_a_pass_for_the_same_change_heal_nothing(
    connection_a, source_a, org_a, fake_dataverse, wakeups, django_capture_on_commit_callbacks
):
    member = MemberFactory(
        organization=org_a,
        portal_member_id=KARI,
        first_name="Kari",
        last_name="Old",
        email="kari@example.no",
        role="peer_mentor",
        joined_on="2024-03-01",
    )
    fake_dataverse.upsert("contacts", contact(KARI))
    row = fake_dataverse.tables["contacts"].rows[KARI]
    # The webhook for the change is stored, not yet applied, when the pass reads the row.
    webhook = event_store(
        org_a,
        [
            {
                "type": "membership.updated",
                "occurred_at": row["modifiedon"].replace("Z", "+00:00"),
                "data": {"member_id": KARI, "last_name": "Nordmann"},
            }
        ],
    )
    wakeups.clear()

    with django_capture_on_commit_callbacks(execute=True):
        record = _pass(source_a)  # the page is recorded in bulk: one wake-up for all of it
    assert (record.events_recorded, wakeups) == (1, ["commit"])
    assert _pass(source_a, full=True).events_recorded == 0  # the same row state: known id

    assert inbox_apply() == ["succeeded", "skipped"]
    member.refresh_from_db()
    assert member.last_name == "Nordmann"
    webhook.refresh_from_db()
    assert "updated last name" in webhook.outcome
    healing = InboundEvent.objects.get(origin="reconciliation")
    assert "no change" in healing.outcome
    # The webhook brought the change: nothing was healed.
    assert inbound_event_healed_count() == 0
    assert reconcile_pass_outcome(record=record).healed == 0


def test_bulk_recording_skips_known_webhook_ids_and_stores_the_rest(
    org_a, wakeups, django_capture_on_commit_callbacks
):
    from sync.services import EventToRecord, inbound_events_record_bulk

    def item(webhook_id, failure=None):
        normalized = [
            {"type": "membership.created", "occurred_at": None, "data": {"member_id": webhook_id}}
        ]
        return EventToRecord(org_a, webhook_id, {"id": webhook_id}, normalized, failure=failure)

    with django_capture_on_commit_callbacks(execute=True):
        stored = inbound_events_record_bulk(
            source_identifier="hlf-alpha",
            payload_format="dataverse_row",
            origin="reconciliation",
            events=[item("a"), item("b", failure="unroutable")],
        )
        again = inbound_events_record_bulk(
            source_identifier="hlf-alpha",
            payload_format="dataverse_row",
            origin="reconciliation",
            events=[item("a"), item("c")],
        )

    assert (stored, again) == ({"a", "b"}, {"c"})
    assert wakeups == ["commit", "commit"]
    events = {e.webhook_id: e for e in InboundEvent.objects.all()}
    assert sorted(events) == ["a", "b", "c"]
    assert (events["b"].status, events["b"].outcome) == ("failed", "unroutable")
    assert events["a"].status == "pending"
    assert events["a"].subject_ids == "a"
    assert events["a"].event_type == "membership.created"


def test_the_same_row_read_by_two_passes_is_recorded_once(connection_a, source_a, three_contacts):
    first = _pass(source_a)  # recorded, not yet applied by the workers
    second = _pass(source_a, full=True)

    assert first.events_recorded == 4
    assert second.events_recorded == 0
    assert InboundEvent.objects.count() == 4


def test_a_refused_client_secret_fails_the_pass_without_showing_it(
    connection_a, source_a, three_contacts, fake_dataverse, caplog
):
    fake_dataverse.client_secret = "rotated-in-entra-id-meanwhile"
    token_cache_clear()

    with caplog.at_level(logging.DEBUG):
        record = reconcile_pass_run(source=source_a)

    assert record.status == ReconcilePass.Status.FAILED
    assert "invalid_client" in record.error
    assert CLIENT_SECRET not in record.error
    assert CLIENT_SECRET not in caplog.text
    assert DataverseDeltaLink.objects.count() == 0


def test_the_client_secret_is_stored_encrypted(connection_a):
    assert CLIENT_SECRET not in connection_a.client_secret_ciphertext
    assert connection_a.client_secret_masked == "…9f3k"


@pytest.mark.django_db(transaction=True)
def test_two_passes_started_at_once_from_two_threads_one_runs(
    connection_a, source_a, three_contacts, fake_dataverse
):
    import threading

    from django.db import connections

    fake_dataverse.hold = threading.Event()
    results = {}

    def first_pass():
        try:
            results["first"] = reconcile_pass_run(source=source_a).status
        finally:
            connections.close_all()

    thread = threading.Thread(target=first_pass)
    thread.start()
    assert fake_dataverse.held.wait(timeout=30)  # the first pass is reading its first page
    with pytest.raises(ReconcileBusy):
        reconcile_pass_run(source=source_a)
    fake_dataverse.hold.set()
    thread.join(timeout=60)

    assert results == {"first": "succeeded"}
    assert ReconcilePass.objects.count() == 1
