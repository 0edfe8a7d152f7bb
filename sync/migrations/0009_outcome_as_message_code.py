"""Outcomes become a message code plus parameters, rendered in the reader's language.

Old outcome texts (written in the writer's language, Bokmål or English) are mapped to
their code where the text is recognised; any other text is kept as a `legacy` message
and shown exactly as it was written.
"""

import re

from django.db import migrations, models

_ROLES = ["member", "peer_mentor", "coordinator", "org_admin"]
_SUBJECT = r"(?:Member|Medlem) (?P<id>\S+)"


def _subject(groups):
    return {"code": "sync.subject.member", "params": {"id": groups["id"]}}


def _role(value):
    return {"role": value}


# (pattern, code, parameters from the match): the old texts, in English and Bokmål.
_KNOWN = [
    (
        rf"{_SUBJECT}: (?:created|opprettet) \((?P<name>.*), (?:role|rolle) (?P<role>\w+)\)",
        "sync.member_created",
        lambda g: {"subject": _subject(g), "name": g["name"], "role": _role(g["role"])},
    ),
    (
        rf"{_SUBJECT}: (?:no change \(already up to date\)|ingen endring \(allerede oppdatert\))",
        "sync.no_change",
        lambda g: {"subject": _subject(g)},
    ),
    (
        rf"{_SUBJECT}: (?:role changed from|rollen er endret fra) (?P<old>\w+) (?:to|til) "
        r"(?P<new>\w+)",
        "sync.role_changed",
        lambda g: {"subject": _subject(g), "old": _role(g["old"]), "new": _role(g["new"])},
    ),
    (
        rf"{_SUBJECT}: role (?P<value>.+) (?:is not one of|er ikke en av) "
        r"member, peer_mentor, coordinator, org_admin",
        "sync.role_invalid",
        lambda g: {
            "subject": _subject(g),
            "value": g["value"],
            "choices": [_role(r) for r in _ROLES],
        },
    ),
    (
        r"(?:member|medlem) (?P<id>\S+) (?:is not known in|er ukjent i) (?P<organization>.+)",
        "sync.member_unknown",
        lambda g: {"id": g["id"], "organization": g["organization"]},
    ),
    (rf"{_SUBJECT}: (?:deactivated|deaktivert)", "sync.deactivated", lambda g: {"subject": _subject(g)}),
    (
        rf"{_SUBJECT}: (?:reactivated|aktivert igjen)",
        "sync.reactivated",
        lambda g: {"subject": _subject(g)},
    ),
    (r"(?:test event|testhendelse)", "sync.test_event", lambda g: {}),
    (
        r"(?:Reprocessing requested by|Ny behandling bestilt av) (?P<user>.+)",
        "sync.reprocess_requested",
        lambda g: {"user": g["user"]},
    ),
    (
        r"(?:unsupported event type (?P<a>\S+)|hendelsestypen (?P<b>\S+) støttes ikke)",
        "sync.unsupported_type",
        lambda g: {"type": g["a"] or g["b"]},
    ),
]
_COMPILED = [(re.compile(pattern, re.DOTALL), code, build) for pattern, code, build in _KNOWN]


def outcome_message(text: str) -> tuple[str, dict]:
    """(code, params) for an old outcome text: its code if recognised, else `legacy`."""
    if not text:
        return "", {}
    for pattern, code, build in _COMPILED:
        match = pattern.fullmatch(text.strip())
        if match:
            return code, build(match.groupdict())
    return "legacy", {"text": text}


def _forward(apps, schema_editor):
    InboundEvent = apps.get_model("sync", "InboundEvent")
    batch = []
    rows = InboundEvent.objects.exclude(outcome="").only("pk", "outcome").order_by()
    for event in rows.iterator(chunk_size=2000):
        event.outcome_code, event.outcome_params = outcome_message(event.outcome)
        batch.append(event)
        if len(batch) >= 2000:
            InboundEvent.objects.bulk_update(batch, ["outcome_code", "outcome_params"])
            batch = []
    if batch:
        InboundEvent.objects.bulk_update(batch, ["outcome_code", "outcome_params"])


class Migration(migrations.Migration):
    dependencies = [("sync", "0008_event_self_test_purge_and_indexes")]

    operations = [
        migrations.AddField(
            model_name="inboundevent",
            name="outcome_code",
            field=models.CharField(blank=True, max_length=60, verbose_name="outcome code"),
        ),
        migrations.AddField(
            model_name="inboundevent",
            name="outcome_params",
            field=models.JSONField(blank=True, default=dict, verbose_name="outcome parameters"),
        ),
        # Not reversible: the old texts were in one language, the codes are in none.
        migrations.RunPython(_forward, migrations.RunPython.noop, elidable=False),
        migrations.RemoveField(model_name="inboundevent", name="outcome"),
    ]
