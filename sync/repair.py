"""Repairs a global admin runs by hand: members and enrollments frozen by a bad event time.

Before the intake refused event times more than 24 h ahead (issue 12), one authentic event
dated e.g. 9999-12-31 set a member's source time so far ahead that every later real
change was skipped as stale, for ever. `source_times_unfreeze` puts such a source time
back to what the member's applied events can vouch for: each counts at the earlier of
its event time and its receipt (the rule the appliers now keep), so the bad event itself
counts as the moment it arrived. Kept apart from `sync.services`, the pipeline.
"""

from dataclasses import dataclass
from datetime import datetime

from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone

from organizations.models import CourseEnrollment, Member, Organization
from sync.models import InboundEvent


@dataclass(frozen=True)
class Unfrozen:
    kind: str  # "member" or "enrollment"
    organization: str
    portal_id: str
    was: datetime
    now: datetime | None


def _vouched_time(*, organization_id: int, portal_id: str, before: datetime) -> datetime | None:
    """The newest applied change for `portal_id`, each event counted at min(occurred, received)."""
    times = InboundEvent.objects.filter(
        organization_id=organization_id,
        status=InboundEvent.Status.SUCCEEDED,
        subject_ids__contains=portal_id,
        occurred_at__isnull=False,
    ).values_list("occurred_at", "received_at", "subject_ids")
    candidates = [
        min(occurred, received)
        for occurred, received, subject_ids in times
        if occurred is not None and portal_id in subject_ids.split()
    ]
    newest = max(candidates, default=None)
    return newest if newest is not None and newest <= before else None


def _frozen(queryset: QuerySet, *, now: datetime, id_field: str, portal_ids) -> QuerySet:
    queryset = queryset.filter(source_updated_at__gt=now)
    if portal_ids:
        queryset = queryset.filter(**{f"{id_field}__in": list(portal_ids)})
    return queryset.select_related("organization").order_by("organization__slug", id_field)


def source_times_unfreeze(
    *,
    organization: Organization | None = None,
    portal_ids: list[str] | None = None,
    dry_run: bool = False,
    now: datetime | None = None,
) -> list[Unfrozen]:
    """Reset every source time that lies in the future (in one organisation, or all).

    No real change can be dated after now (the appliers cap times at receipt), so such a
    time can only come from a bad event. Returns what was (or, with `dry_run`, would be)
    changed. Changes the skipped events carried are not replayed: have Min Side resend
    the member, or run a reconciliation pass (`dataverse_reconcile --full`).
    """
    now = now or timezone.now()
    changed: list[Unfrozen] = []
    with transaction.atomic():
        for model, kind, id_field in (
            (Member, "member", "portal_member_id"),
            (CourseEnrollment, "enrollment", "portal_enrollment_id"),
        ):
            rows = model.objects.select_for_update(of=("self",))
            if organization is not None:
                rows = rows.filter(organization=organization)
            for row in _frozen(rows, now=now, id_field=id_field, portal_ids=portal_ids):
                portal_id = getattr(row, id_field)
                vouched = _vouched_time(
                    organization_id=row.organization_id, portal_id=portal_id, before=now
                )
                changed.append(
                    Unfrozen(kind, row.organization.slug, portal_id, row.source_updated_at, vouched)
                )
                if not dry_run:
                    row.source_updated_at = vouched
                    row.save(update_fields=["source_updated_at", "updated_at"])
    return changed
