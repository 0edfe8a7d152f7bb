"""Fewer indexes on the inbox, so each webhook insert maintains fewer (issue 8).

* organization_id's own index: inbound_org_received and inbound_org_status_finished
  start with the column and serve every query it did (the PROTECT check included).
* event_type's pair (btree + PostgreSQL's varchar_pattern_ops twin for LIKE, which no
  query runs): one named btree, inbound_event_type, for the sync log's type filter.
* inbound_status_received (status, received_at): pending/processing queries use
  inbound_unfinished_received; the failed-filtered sync log gets a partial index that a
  new (pending) event never enters. Checked with EXPLAIN ANALYZE at a million events
  (bench/scale.py's fixture): every sync log, panel, health, drain and retention query
  stays within a millisecond of what it took.

The single-column indexes are dropped by name instead of by AlterField, which would
remake the table on SQLite and drop and re-validate the foreign key on PostgreSQL.
"""

import django.db.models.deletion
from django.db import migrations, models

TABLE = "sync_inboundevent"
# Django's names for the db_index=True indexes (the same on every backend).
ORGANIZATION_INDEX = "sync_inboundevent_organization_id_f6a699f0"
EVENT_TYPE_INDEX = "sync_inboundevent_event_type_c5d0559e"


def single_column_indexes_drop(apps, schema_editor):
    for name in (ORGANIZATION_INDEX, EVENT_TYPE_INDEX, f"{EVENT_TYPE_INDEX}_like"):
        schema_editor.execute(f"DROP INDEX IF EXISTS {schema_editor.quote_name(name)}")


def single_column_indexes_create(apps, schema_editor):
    quote = schema_editor.quote_name
    schema_editor.execute(
        f"CREATE INDEX {quote(ORGANIZATION_INDEX)} ON {quote(TABLE)} ({quote('organization_id')})"
    )
    schema_editor.execute(
        f"CREATE INDEX {quote(EVENT_TYPE_INDEX)} ON {quote(TABLE)} ({quote('event_type')})"
    )
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(
            f"CREATE INDEX {quote(EVENT_TYPE_INDEX + '_like')} ON {quote(TABLE)} "
            f"({quote('event_type')} varchar_pattern_ops)"
        )


class Migration(migrations.Migration):
    dependencies = [
        ("organizations", "0002_portal_base_url_https"),
        ("sync", "0009_outcome_as_message_code"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            database_operations=[
                migrations.RunPython(single_column_indexes_drop, single_column_indexes_create)
            ],
            state_operations=[
                migrations.AlterField(
                    model_name="inboundevent",
                    name="event_type",
                    field=models.CharField(max_length=100, verbose_name="event type"),
                ),
                migrations.AlterField(
                    model_name="inboundevent",
                    name="organization",
                    field=models.ForeignKey(
                        blank=True,
                        db_index=False,
                        null=True,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="inbound_events",
                        to="organizations.organization",
                        verbose_name="organisation",
                    ),
                ),
            ],
        ),
        migrations.RemoveIndex(model_name="inboundevent", name="inbound_status_received"),
        migrations.AddIndex(
            model_name="inboundevent",
            index=models.Index(fields=["event_type"], name="inbound_event_type"),
        ),
        migrations.AddIndex(
            model_name="inboundevent",
            index=models.Index(
                condition=models.Q(status="failed"),
                fields=["received_at"],
                name="inbound_failed_received",
            ),
        ),
    ]
