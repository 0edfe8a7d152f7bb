"""Repair members (and enrollments) frozen by an event dated far in the future (issue 12)."""

from django.core.management.base import BaseCommand, CommandError

from organizations.selectors import organization_get_by_slug
from sync.repair import source_times_unfreeze


class Command(BaseCommand):
    help = (
        "Reset source times that lie in the future, which make every later change of a "
        "member or enrollment look stale, to the newest change its applied events vouch "
        "for. Global admins only: it may touch every organisation."
    )

    def add_arguments(self, parser):
        parser.add_argument("--organization", help="Slug; default: every organisation.")
        parser.add_argument(
            "--member",
            action="append",
            dest="portal_ids",
            help="Min Side member or enrollment id; repeat for more. Default: all frozen.",
        )
        parser.add_argument(
            "--dry-run", action="store_true", help="Only list what would be changed."
        )

    def handle(self, *args, **options):
        organization = None
        if options["organization"]:
            organization = organization_get_by_slug(slug=options["organization"])
            if organization is None:
                raise CommandError(f"No organisation with the slug {options['organization']!r}.")
        changed = source_times_unfreeze(
            organization=organization,
            portal_ids=options["portal_ids"],
            dry_run=options["dry_run"],
        )
        verb = "would reset" if options["dry_run"] else "reset"
        for item in changed:
            target = item.now.isoformat() if item.now else "none (the next event applies)"
            self.stdout.write(
                f"{item.organization} {item.kind} {item.portal_id}: {verb} source time "
                f"{item.was.isoformat()} -> {target}"
            )
        self.stdout.write(
            self.style.SUCCESS(f"{len(changed)} frozen row(s) {verb.split()[-1]}.")
            if changed
            else "Nothing is frozen."
        )
