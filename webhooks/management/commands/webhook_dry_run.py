"""Show how a payload would be normalised, routed and applied, writing nothing (SPEC §6)."""

import json
import sys

from django.core.management.base import BaseCommand, CommandError

from webhooks.dry_run import webhook_payload_dry_run
from webhooks.selectors import webhook_source_get_by_identifier


class Command(BaseCommand):
    help = (
        "Dry-run a webhook body from FILE ('-' for stdin) as if the source had sent it: "
        "prints JSON with the normalised events, the organisation and each field's "
        "before → after. Nothing is written."
    )

    def add_arguments(self, parser):
        parser.add_argument("--source", required=True, help="The webhook source identifier.")
        parser.add_argument(
            "--header",
            action="append",
            default=[],
            help="A request header as 'name: value' (e.g. x-ms-dynamics-msg-size-exceeded: 1).",
        )
        parser.add_argument("file", help="The JSON body; '-' reads stdin.")

    def handle(self, *args, **options):
        source = webhook_source_get_by_identifier(identifier=options["source"])
        if source is None:
            raise CommandError(f"No webhook source with the identifier {options['source']!r}.")
        if options["file"] == "-":
            body = sys.stdin.buffer.read()
        else:
            try:
                with open(options["file"], "rb") as handle:
                    body = handle.read()
            except OSError as exc:
                raise CommandError(f"Cannot read {options['file']}: {exc.strerror}") from exc
        headers = {}
        for raw in options["header"]:
            name, _, value = raw.partition(":")
            headers[name.strip()] = value.strip()
        result = webhook_payload_dry_run(source=source, body=body, headers=headers)
        self.stdout.write(json.dumps(result.to_json(), indent=2, ensure_ascii=False, default=str))
