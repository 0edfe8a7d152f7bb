"""The drain's hot queries use their indexes on SQLite (the embedded default) as the inbox grows.

SQLite has no statistics unless someone runs ANALYZE, and it uses a partial index only
when a query states the index's condition literally. Both once made a query read every
row (the claim: all events; the member lookup: all of an organisation's members), so the
embedded default slowed down as a burst went on. The plans are read from an in-memory
SQLite database holding the real tables, whatever database the suite runs on.
"""

import uuid
from datetime import UTC, datetime

import pytest
from django.db import connections
from django.db.backends.sqlite3.base import DatabaseWrapper

from organizations.models import Member, Organization
from sync import appliers, services
from sync.models import InboundEvent


@pytest.fixture
def sqlite(django_db_blocker):
    # A connection of its own, not the suite's database: only pytest-django's guard is lifted.
    django_db_blocker.unblock()
    wrapper = DatabaseWrapper(
        {
            "NAME": ":memory:",
            "OPTIONS": {},
            "TIME_ZONE": None,
            "CONN_MAX_AGE": 0,
            "CONN_HEALTH_CHECKS": False,
            "AUTOCOMMIT": True,
            "ATOMIC_REQUESTS": False,
        },
        alias="sqlite_plans",
    )
    connections["sqlite_plans"] = wrapper  # schema_editor() looks its connection up by alias
    with wrapper.schema_editor() as editor:
        for model in (Organization, Member, InboundEvent):
            editor.create_model(model)
    yield wrapper
    wrapper.close()
    del connections["sqlite_plans"]
    django_db_blocker.restore()


def _plan(wrapper, queryset) -> str:
    sql, params = queryset.query.get_compiler(connection=wrapper).as_sql()
    with wrapper.cursor() as cursor:
        cursor.execute(f"EXPLAIN QUERY PLAN {sql}", params)
        return " | ".join(row[-1] for row in cursor.fetchall())


def test_the_claim_reads_only_the_unfinished_rows(sqlite):
    due = services._due_oldest_first(now=datetime(2026, 12, 2, tzinfo=UTC)).values("pk")[:100]

    plan = _plan(sqlite, due)

    assert "inbound_unfinished_received" in plan, plan


def test_the_claim_of_named_events_reads_only_the_unfinished_rows_too(sqlite):
    ids = [uuid.uuid4(), uuid.uuid4()]
    due = services._due_oldest_first(now=datetime(2026, 12, 2, tzinfo=UTC), event_ids=ids)

    plan = _plan(sqlite, due.values("pk"))

    # By primary key, or the unfinished rows; never a scan of the index of every row.
    assert "inbound_received " not in f"{plan} " and "SCAN sync_inboundevent |" not in plan, plan


@pytest.mark.parametrize(
    "wanted", [{1: {"m-1", "m-2"}}, {1: {"m-1", "m-2"}, 2: {"m-3"}}], ids=["one org", "two orgs"]
)
def test_the_member_lookup_of_a_batch_uses_the_unique_member_index(sqlite, wanted):
    query = appliers._members_in_lock_order(wanted)

    plan = _plan(sqlite, query)

    # (organization, portal member id): the members asked for, not the organisation's all.
    assert "portal_member_id=?" in plan, plan


def test_in_literally_refuses_anything_but_a_plain_code_constant():
    query = InboundEvent.objects.filter(status__in_literally=["pending", "x') OR 1=1 --"])

    with pytest.raises(ValueError, match="plain code constants"):
        str(query.query)
