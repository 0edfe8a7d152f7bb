"""Run one reconciliation pass of a source now and print its summary (SPEC §5.1)."""

import time

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from dataverse.models import ReconcilePass
from dataverse.selectors import reconcile_pass_outcome
from dataverse.services import ReconcileBusy, reconcile_pass_run
from webhooks.selectors import webhook_source_get_by_identifier


class Command(BaseCommand):
    help = (
        "Pull what changed in Dataverse since the last pass (or everything with --full), "
        "record what the local state lacks, and print rows read, events recorded, healed, "
        "deleted, pages, duration and the delta state."
    )

    def add_arguments(self, parser):
        parser.add_argument("--source", required=True, help="The webhook source identifier.")
        parser.add_argument(
            "--full", action="store_true", help="Read every row, ignoring the delta links."
        )
        parser.add_argument(
            "--wait",
            type=float,
            default=60,
            help="Seconds to wait for the workers to apply the recorded events before "
            "counting what was healed (default 60; 0: do not wait).",
        )

    def handle(self, *args, **options):
        source = webhook_source_get_by_identifier(identifier=options["source"])
        if source is None:
            raise CommandError(f"No webhook source with the identifier {options['source']!r}.")
        try:
            record = reconcile_pass_run(
                source=source, full=options["full"], trigger=ReconcilePass.Trigger.COMMAND
            )
        except ReconcileBusy as busy:
            raise CommandError(
                f"A pass of {source.identifier} is already running; try again when it ends."
            ) from busy
        except ValidationError as error:
            raise CommandError(" ".join(error.messages)) from error
        outcome = self._outcome_after_wait(record, options["wait"])
        self._print(record, outcome)
        if record.status == ReconcilePass.Status.FAILED:
            raise CommandError(f"The pass failed: {record.error}")

    def _outcome_after_wait(self, record, wait_seconds: float):
        deadline = time.monotonic() + max(wait_seconds, 0)
        outcome = reconcile_pass_outcome(record=record)
        while outcome.queued and time.monotonic() < deadline:
            time.sleep(0.5)
            outcome = reconcile_pass_outcome(record=record)
        return outcome

    def _print(self, record, outcome) -> None:
        style = self.style.SUCCESS if record.status == "succeeded" else self.style.ERROR
        self.stdout.write(
            style(f"Reconciliation pass of {record.source_identifier}: {record.status}")
        )
        rows = [
            ("rows read", record.rows_read),
            ("events recorded", record.events_recorded),
            ("healed", outcome.healed),
            ("deleted rows", record.deleted),
            ("pages", record.pages),
            ("requests", record.requests),
            ("429 waits", record.throttled),
            ("duration", f"{record.duration.total_seconds():.1f} s" if record.duration else "–"),
        ]
        if outcome.skipped or outcome.failed or outcome.queued:
            rows.append(
                (
                    "of the events",
                    f"{outcome.skipped} skipped, {outcome.failed} failed, "
                    f"{outcome.queued} still queued",
                )
            )
        for label, value in rows:
            self.stdout.write(f"  {label + ':':17}{value}")
        for table in record.tables:
            state = "delta link saved" if table.get("delta_saved") else "delta link kept"
            line = (
                f"  {table['entity_set']}: {table['mode']} pass, {table['rows']} rows, "
                f"{table['pages']} pages, {state}"
            )
            self.stdout.write(line)
            if table.get("reset"):
                self.stdout.write(self.style.WARNING(f"    {table['reset']}"))
        if record.error:
            self.stdout.write(self.style.ERROR(f"  error: {record.error}"))
