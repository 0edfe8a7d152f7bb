"""Outcomes stored as a code plus parameters, rendered in the reader's language (issue 10.4)."""

import importlib

import pytest
from django.urls import reverse
from django.utils import translation

from organizations.messages import LEGACY, Message, message, registered_codes, role
from sync import services
from sync.models import InboundEvent
from tests.factories import MemberFactory
from tests.sync import payloads as p
from tests.sync.conftest import event_store
from tests.sync.test_processing import role_event

pytestmark = pytest.mark.django_db


@pytest.fixture
def kari(org_a):
    return MemberFactory(organization=org_a, portal_member_id=p.MEMBER_ID, first_name="Kari")


Status = InboundEvent.Status
# Structural codes: their text is only the parameters (a list of parts, an old text).
UNTRANSLATED = {LEGACY, "sync.parts"}


def test_every_message_code_has_a_bokmal_text_and_advice():
    codes = registered_codes()
    assert any(code.startswith("sync.") for code in codes)
    assert any(code.startswith("webhooks.") for code in codes)
    missing = []
    with translation.override("nb"):
        for code, entry in codes.items():
            if code in UNTRANSLATED:
                continue
            texts = [entry.text] + ([entry.advice] if entry.advice is not None else [])
            for text in texts:
                with translation.override("en"):
                    english = str(text)
                if str(text) == english:
                    missing.append(f"{code}: {english}")
    assert missing == []


def test_every_failure_code_says_whether_reprocessing_helps_and_who_acts():
    for code, entry in registered_codes().items():
        if entry.retryable is not None:
            assert entry.advice is not None, code


def test_the_same_stored_outcome_reads_in_english_and_bokmal(kari, org_a):
    event = role_event(org_a, "boss")
    services.inbound_event_apply(event_id=event.pk)
    event.refresh_from_db()

    # Stored as a code and parameters, never as text in the writer's language.
    assert event.outcome_code == "sync.role_invalid"
    assert event.outcome_params["value"] == "'boss'"
    assert "Likeperson" not in str(event.outcome_params)
    with translation.override("en"):
        english, english_advice = event.outcome, event.outcome_advice
    with translation.override("nb"):
        bokmal, bokmal_advice = event.outcome, event.outcome_advice
    assert english == (
        f"Member {p.MEMBER_ID}: Min Side sent the role 'boss', which the Likeperson app does "
        "not have (it knows Member, Peer mentor, Coordinator, Organisation administrator)"
    )
    assert bokmal.startswith(f"Medlem {p.MEMBER_ID}: ")
    assert "Likeperson, Koordinator, Organisasjonsadministrator" in bokmal
    assert "peer_mentor" not in bokmal and "role" not in bokmal
    assert english_advice.startswith("Correct the role in Min Side")
    assert "Rett rollen i Min Side" in bokmal_advice
    assert event.outcome_retryable is False


def test_nested_parts_and_tags_render_at_read_time():
    outcome = message(
        "sync.parts",
        parts=[
            message(
                "sync.role_changed",
                subject=message("sync.subject.member", id="m-1"),
                old=role("member"),
                new=role("peer_mentor"),
            ),
            message("sync.token_revoked"),
        ],
    )
    stored = outcome.to_json()
    again = Message(stored["code"], stored["params"])
    with translation.override("en"):
        assert again.render() == (
            "Member m-1: role changed from Member to Peer mentor; API token revoked"
        )
    with translation.override("nb"):
        assert again.render().startswith("Medlem m-1: ")
        assert "Likeperson" in again.render()


def test_an_unknown_code_or_wrong_parameters_never_break_a_page():
    assert (
        Message("sync.from_a_newer_release", {"x": "1"}).render() == "sync.from_a_newer_release 1"
    )
    # A template asking for a parameter the row does not have: what is there is shown.
    assert "m-1" in Message("sync.role_changed", {"subject": "m-1"}).render()
    assert Message.from_json("plain old text").render() == "plain old text"


def test_a_plain_text_outcome_is_kept_as_a_legacy_message(org_a):
    event = event_store(org_a, p.envelope("role.updated", {"member_id": "m-1", "role": "x"}))
    event.outcome = "Medlem m-1: skrevet før kodene"
    event.save()
    event.refresh_from_db()
    assert (event.outcome_code, event.outcome_params) == (
        LEGACY,
        {"text": "Medlem m-1: skrevet før kodene"},
    )
    with translation.override("en"):
        assert event.outcome == "Medlem m-1: skrevet før kodene"
    assert event.outcome_retryable is None


# --- the migration of old rows ---------------------------------------------------------------

migration = importlib.import_module("sync.migrations.0009_outcome_as_message_code")


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("Medlem m-1: opprettet (Kari Nordmann, rolle member)", "sync.member_created"),
        ("Member m-1: created (Kari Nordmann, role peer_mentor)", "sync.member_created"),
        ("Medlem m-1: rollen er endret fra member til coordinator", "sync.role_changed"),
        (
            "Medlem m-1: role 'boss' er ikke en av member, peer_mentor, coordinator, org_admin",
            "sync.role_invalid",
        ),
        ("medlem m-1 er ukjent i HLF Oslo", "sync.member_unknown"),
        ("Ny behandling bestilt av admin", "sync.reprocess_requested"),
        ("testhendelse", "sync.test_event"),
        ("Medlem m-1: ingen endring (allerede oppdatert)", "sync.no_change"),
        ("Medlem m-1: oppdaterte first_name; noe mer", LEGACY),
    ],
)
def test_the_migration_maps_old_texts_to_codes(text, code):
    mapped_code, params = migration.outcome_message(text)
    assert mapped_code == code
    rendered = Message(mapped_code, params).render()
    if code == LEGACY:
        assert rendered == text
    else:
        assert "m-1" in rendered or code in {"sync.reprocess_requested", "sync.test_event"}


def test_the_migrated_role_failure_reads_in_hlfs_words():
    code, params = migration.outcome_message(
        "Medlem m-1: role 'boss' er ikke en av member, peer_mentor, coordinator, org_admin"
    )
    with translation.override("nb"):
        rendered = Message(code, params).render()
    assert "Likeperson" in rendered and "'boss'" in rendered
    assert Message(code, params).retryable is False


@pytest.mark.django_db(transaction=True)
def test_the_migration_converts_stored_rows():
    from django.db import connection
    from django.db.migrations.executor import MigrationExecutor

    before = [("sync", "0008_event_self_test_purge_and_indexes")]
    after = [("sync", "0009_outcome_as_message_code")]
    executor = MigrationExecutor(connection)
    executor.migrate(before)
    old_apps = executor.loader.project_state(before).apps
    OldEvent = old_apps.get_model("sync", "InboundEvent")
    rows = {
        "known": "Medlem m-1: rollen er endret fra member til coordinator",
        "unknown": "Member m-1: something nobody recognises",
        "empty": "",
    }
    for webhook_id, text in rows.items():
        OldEvent.objects.create(
            source_identifier="hlf-alpha",
            webhook_id=webhook_id,
            event_type="role.updated",
            payload_format="envelope",
            payload={},
            outcome=text,
        )
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(after)
    new_apps = executor.loader.project_state(after).apps
    NewEvent = new_apps.get_model("sync", "InboundEvent")
    stored = {
        event.webhook_id: (event.outcome_code, event.outcome_params)
        for event in NewEvent.objects.all()
    }
    # Back to the newest state, so the tests after this one see today's schema.
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(executor.loader.graph.leaf_nodes())
    assert stored["known"][0] == "sync.role_changed"
    with translation.override("en"):
        assert Message(*stored["known"]).render() == (
            "Member m-1: role changed from Member to Coordinator"
        )
    assert stored["unknown"] == (LEGACY, {"text": "Member m-1: something nobody recognises"})
    assert stored["empty"] == ("", {})


# --- the admin: highlighted failure, reprocess warning, two organisations --------------------


def _failed(org, role_value="boss"):
    event = role_event(org, role_value)
    services.inbound_event_apply(event_id=event.pk)
    event.refresh_from_db()
    assert event.status == Status.FAILED
    return event


def _change_url(event):
    return reverse("admin:sync_inboundevent_change", args=[event.pk])


def test_the_failed_event_page_highlights_the_failure_and_advice(client, org_admin_a, kari, org_a):
    event = _failed(org_a)
    client.force_login(org_admin_a)
    page = client.get(_change_url(event), HTTP_ACCEPT_LANGUAGE="nb").content.decode()
    box = page.split('class="sync-failure"', 1)[1].split("</div>", 1)[0]
    assert "Likeperson" in box
    assert "Rett rollen i Min Side" in box
    # English for an English reader, from the same row.
    page = client.get(_change_url(event), HTTP_ACCEPT_LANGUAGE="en").content.decode()
    box = page.split('class="sync-failure"', 1)[1].split("</div>", 1)[0]
    assert "Peer mentor" in box and "Correct the role in Min Side" in box


def test_reprocessing_a_failure_that_can_only_fail_again_is_offered_with_a_warning(
    client, org_admin_a, kari, org_a
):
    event = _failed(org_a)
    client.force_login(org_admin_a)
    url = reverse("admin:sync_inboundevent_reprocess", args=[event.pk])
    page = client.get(url, HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert 'id="reprocess-warning"' in page
    assert "will not help for this event until the source is corrected" in page
    assert "Reprocess anyway" in page
    # The list's action asks the same.
    changelist = reverse("admin:sync_inboundevent_changelist")
    page = client.post(
        changelist,
        {"action": "reprocess_failed", "_selected_action": [event.pk]},
        HTTP_ACCEPT_LANGUAGE="en",
    ).content.decode()
    assert 'id="reprocess-warning"' in page
    event.refresh_from_db()
    assert event.status == Status.FAILED  # nothing queued before the confirmation


def test_a_failure_reprocessing_can_help_is_offered_without_the_warning(
    client, org_admin_a, org_a, settings
):
    settings.SYNC_UNKNOWN_TARGET_WINDOW_SECONDS = 0
    event = role_event(org_a, "coordinator")  # no such member yet: retryable
    services.inbound_event_apply(event_id=event.pk)
    event.refresh_from_db()
    assert (event.status, event.outcome_code) == (Status.FAILED, "sync.member_unknown")
    assert event.outcome_retryable is True
    client.force_login(org_admin_a)
    url = reverse("admin:sync_inboundevent_reprocess", args=[event.pk])
    page = client.get(url, HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert 'id="reprocess-warning"' not in page
    assert "Yes, reprocess" in page


def test_another_organisations_failed_event_and_its_reprocess_page_stay_hidden(
    client, org_admin_a, org_b
):
    event = _failed(org_b)
    client.force_login(org_admin_a)
    assert client.get(_change_url(event)).status_code == 404
    url = reverse("admin:sync_inboundevent_reprocess", args=[event.pk])
    assert client.get(url).status_code == 404


def test_the_csv_export_renders_the_outcome_in_the_readers_language(
    client, org_admin_a, kari, org_a
):
    _failed(org_a)
    client.force_login(org_admin_a)
    url = reverse("admin:sync_inboundevent_export")
    nb = b"".join(client.get(url, HTTP_ACCEPT_LANGUAGE="nb").streaming_content).decode()
    en = b"".join(client.get(url, HTTP_ACCEPT_LANGUAGE="en").streaming_content).decode()
    assert "Likeperson" in nb and "Peer mentor" in en


# --- periodic task names ---------------------------------------------------------------------


def test_periodic_tasks_keep_stable_names_and_show_a_label_in_the_readers_language(
    client, global_admin
):
    from django_celery_beat.models import PeriodicTask

    from sync.periodic import PERIODIC_TASK_LABELS, PERIODIC_TASKS

    names = set(PeriodicTask.objects.values_list("name", flat=True))
    assert {name for name, _task, _setting in PERIODIC_TASKS} <= names  # the English keys
    client.force_login(global_admin)
    url = reverse("admin:django_celery_beat_periodictask_changelist")
    nb = client.get(url, HTTP_ACCEPT_LANGUAGE="nb").content.decode()
    en = client.get(url, HTTP_ACCEPT_LANGUAGE="en").content.decode()
    with translation.override("nb"):
        labels = [str(label) for label in PERIODIC_TASK_LABELS.values()]
    assert all(label in nb for label in labels), labels
    assert "Synkronisering" in nb and "Sync: worker heartbeat" in en
    task = PeriodicTask.objects.get(name="Sync: worker heartbeat")
    change = reverse("admin:django_celery_beat_periodictask_change", args=[task.pk])
    assert labels[1] in client.get(change, HTTP_ACCEPT_LANGUAGE="nb").content.decode()
