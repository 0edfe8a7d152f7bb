"""Per-type appliers: one normalised event (SPEC §4.2) becomes changes in one organisation.

Every applier takes the event's organisation, its portal time (`occurred_at`, may be None)
and its `data`, runs inside the caller's transaction and returns an `Applied`. Problems
are raised: `EventInvalid` (the payload is wrong; fail at once) or `TargetUnknown` (the
member or enrollment may still be on its way; retry for a while). Lookups are always
filtered by the event's organisation, so colliding portal ids never cross organisations.
"""

import reprlib
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import DataError, models
from django.db.models import Q, QuerySet
from django.utils import timezone
from django.utils.dateparse import parse_date, parse_datetime
from rest_framework.authtoken.models import Token

from organizations.messages import Message, field_name, message, moment, role
from organizations.models import CourseEnrollment, Member, Organization
from organizations.permissions import user_holds_admin_rights
from organizations.values import text_storable, text_storable_or_replaced
from sync import messages as _catalogue  # noqa: F401 - registers the codes used below at import

ROLES = tuple(Member.Role.values)
ENROLLMENT_STATUSES = tuple(CourseEnrollment.Status.values)
_REASON_MAX_LENGTH = Member._meta.get_field("deactivation_reason").max_length
MEMBER_TEXT_FIELDS = ("first_name", "last_name", "email", "phone")
ENROLLMENT_TEXT_FIELDS = ("course_id", "course_name")
_ID_MAX_LENGTH = {
    "member_id": Member._meta.get_field("portal_member_id").max_length,
    "enrollment_id": CourseEnrollment._meta.get_field("portal_enrollment_id").max_length,
}
# Values quoted in outcomes stay short and flat, however deep or long they came.
_repr = reprlib.Repr()
_repr.maxlevel, _repr.maxstring, _repr.maxother, _repr.maxlist, _repr.maxdict = 2, 60, 60, 4, 4
_quote = _repr.repr


class _MessageError(Exception):
    """Carries the outcome as a message (sync/messages.py); str() is its text."""

    def __init__(self, outcome: Message):
        super().__init__(outcome)
        self.outcome = outcome

    def __str__(self) -> str:
        return self.outcome.render()


class EventInvalid(_MessageError):
    """The event cannot be applied as sent; retrying will not help."""


class TargetUnknown(_MessageError):
    """The member or enrollment is not (yet) known in the organisation."""


@dataclass(frozen=True)
class Applied:
    message: Message
    skipped: bool = False
    # Applied, but the state already was so: a reconciliation event like this healed
    # nothing (a webhook brought the change first), so it is not counted (SPEC §5.1).
    unchanged: bool = False


def _joined(parts: list[Message]) -> Message:
    return parts[0] if len(parts) == 1 else message("sync.parts", parts=parts)


Applier = Callable[..., Applied]


# --- reading and checking `data` ---------------------------------------------------------


def _unstorable(subject: Message, key: str) -> EventInvalid:
    return EventInvalid(message("sync.field_unstorable", subject=subject, field=field_name(key)))


def _required_id(data: dict, key: str, *, subject: Message) -> str:
    value = data.get(key)
    if not isinstance(value, str) or not value.strip():
        raise EventInvalid(message("sync.field_missing", subject=subject, field=field_name(key)))
    value = value.strip()
    if not text_storable(value):
        raise _unstorable(subject, key)
    max_length = _ID_MAX_LENGTH.get(key)
    if max_length and len(value) > max_length:
        # Never truncated: a cut id would name another (or no) member.
        raise EventInvalid(
            message(
                "sync.id_too_long",
                subject=subject,
                field=field_name(key),
                length=len(value),
                max=max_length,
            )
        )
    return value


def _text(model: type[models.Model], data: dict, key: str, *, subject: Message) -> str:
    value = data[key]
    if value is None:
        return ""
    if not isinstance(value, str):
        raise EventInvalid(
            message("sync.not_text", subject=subject, field=field_name(key), value=_quote(value))
        )
    if not text_storable(value):
        raise _unstorable(subject, key)
    value = value.strip()
    max_length = getattr(model._meta.get_field(key), "max_length", None)
    if max_length and len(value) > max_length:
        raise EventInvalid(
            message("sync.too_long", subject=subject, field=field_name(key), max=max_length)
        )
    if key == "email" and value:
        try:
            validate_email(value)
        except ValidationError as exc:
            raise EventInvalid(
                message("sync.email_invalid", subject=subject, value=_quote(value))
            ) from exc
    return value


def _date(data: dict, key: str, *, subject: Message) -> date | None:
    value = data[key]
    if value is None or value == "":
        return None
    parsed = None
    if isinstance(value, str):
        try:
            parsed = parse_date(value)
            if parsed is None and (moment := parse_datetime(value)) is not None:
                parsed = moment.date()
        except ValueError:  # well-formed but impossible, e.g. 2026-02-30
            parsed = None
    if parsed is None:
        raise EventInvalid(
            message(
                "sync.date_invalid", subject=subject, field=field_name(key), value=_quote(value)
            )
        )
    return parsed


def _choice(data: dict, key: str, choices: tuple[str, ...], *, subject: Message) -> str:
    value = data[key]
    if not isinstance(value, str) or value not in choices:
        if key == "role":
            # In HLF's words: the role names people use, and that Min Side must correct it.
            raise EventInvalid(
                message(
                    "sync.role_invalid",
                    subject=subject,
                    value=_quote(value),
                    choices=[role(choice) for choice in choices],
                )
            )
        raise EventInvalid(
            message(
                "sync.choice_invalid",
                subject=subject,
                field=field_name(key),
                value=_quote(value),
                choices=list(choices),
            )
        )
    return value


def _member_values(data: dict, *, subject: Message) -> dict[str, Any]:
    """The member fields present in `data`, checked; absent fields are left alone."""
    values: dict[str, Any] = {
        key: _text(Member, data, key, subject=subject) for key in MEMBER_TEXT_FIELDS if key in data
    }
    if "joined_on" in data:
        values["joined_on"] = _date(data, "joined_on", subject=subject)
    if "role" in data:
        values["role"] = _choice(data, "role", ROLES, subject=subject)
    return values


# --- shared steps ---------------------------------------------------------------------------


def _member_subject(member_id: str) -> Message:
    return message("sync.subject.member", id=member_id)


_MEMBER = message("sync.subject.member_unnamed")
_ENROLLMENT = message("sync.subject.enrollment_unnamed")


# The members of the batch the drain is applying, locked up front in one query, keyed by
# (organisation id, portal member id); None marks one known to be absent. Set only for
# the drain's fast pass, which is undone as a whole on any error, so an instance changed
# in memory can never outlive a rolled-back write.
_prelocked: ContextVar[dict[tuple[int, str], Member | None] | None] = ContextVar(
    "prelocked_members", default=None
)


@contextmanager
def members_prelocked(*, keys: Iterable[tuple[int, str]]) -> Iterator[None]:
    """Lock the named members for the caller's transaction and serve lookups from them."""
    wanted = set(keys)
    by_organization: dict[int, set[str]] = {}
    for organization_id, member_id in wanted:
        by_organization.setdefault(organization_id, set()).add(member_id)
    found: dict[tuple[int, str], Member | None] = dict.fromkeys(wanted)
    if by_organization:
        for member in _members_in_lock_order(by_organization):
            found[(member.organization_id, member.portal_member_id)] = member
    token = _prelocked.set(found)
    try:
        yield
    finally:
        _prelocked.reset(token)


def _members_in_lock_order(by_organization: dict[int, set[str]]) -> QuerySet[Member]:
    condition = Q()
    for organization_id, member_ids in by_organization.items():
        condition |= Q(organization_id=organization_id, portal_member_id__in=member_ids)
    # In primary-key order, so two drains lock shared members in the same order.
    return Member.objects.select_for_update().filter(condition).order_by("pk")


def _member_locked(*, organization: Organization, member_id: str) -> Member | None:
    prelocked = _prelocked.get()
    if prelocked is not None and (organization.pk, member_id) in prelocked:
        return prelocked[(organization.pk, member_id)]
    # The row lock serialises two workers applying events for the same member, so the
    # staleness check below compares against committed state.
    # A unique lookup: `.get()` adds no ORDER BY, unlike `.first()`.
    try:
        return Member.objects.select_for_update().get(
            organization=organization, portal_member_id=member_id
        )
    except Member.DoesNotExist:
        return None


def _member_remember(member: Member) -> None:
    prelocked = _prelocked.get()
    if prelocked is not None:
        prelocked[(member.organization_id, member.portal_member_id)] = member


def _member_required(*, organization: Organization, member_id: str) -> Member:
    member = _member_locked(organization=organization, member_id=member_id)
    if member is None:
        raise TargetUnknown(
            message("sync.member_unknown", id=member_id, organization=organization.name)
        )
    return member


def _stale(
    row: Member | CourseEnrollment,
    occurred_at: datetime | None,
    *,
    subject: Message,
    event_type: str,
) -> Applied | None:
    """A skip result when `row` already holds a newer portal change than this event."""
    if occurred_at is None or row.source_updated_at is None:
        return None
    if occurred_at >= row.source_updated_at:
        return None
    return Applied(
        message(
            "sync.stale",
            subject=subject,
            type=event_type,
            occurred=moment(occurred_at),
            applied=moment(row.source_updated_at),
        ),
        skipped=True,
    )


def _save(row: models.Model, **kwargs) -> None:
    """Save; a value the database still refuses fails the event at once.

    The checks above should leave nothing for the database to refuse; this is the net
    under them, so a refused value is a readable `failed`, never a retry loop or a crash.
    No savepoint of its own (the drain's hot path): the caller's transaction or savepoint
    is undone by the EventInvalid, as for any other.
    """
    try:
        row.save(**kwargs)
    except (DataError, ValueError) as exc:  # psycopg refuses NUL and surrogates as ValueError
        raise EventInvalid(message("sync.database_refused", error=type(exc).__name__)) from exc


def _source_updated_at(member: Member) -> datetime:
    # Only called on members that have one (the callers filter); typed for max().
    return member.source_updated_at or datetime.min.replace(tzinfo=UTC)


def _assign(
    row: Member | CourseEnrollment, values: dict[str, Any], occurred_at: datetime | None
) -> list[str]:
    """Set changed values on `row` and advance its source time; return the changed fields."""
    changed = [key for key, value in values.items() if row.pk is None or getattr(row, key) != value]
    for key in changed:
        setattr(row, key, values[key])
    fields = list(changed)
    if occurred_at is not None and (
        row.source_updated_at is None or occurred_at > row.source_updated_at
    ):
        row.source_updated_at = occurred_at
        fields.append("source_updated_at")
    if fields and row.pk is not None:
        _save(row, update_fields=[*fields, "updated_at"])
    return changed


def _changes_applied(subject: Message, changed: list[str]) -> Applied:
    return Applied(_changes_text(subject, changed), unchanged=not changed)


def _changes_text(subject: Message, changed: list[str]) -> Message:
    if not changed:
        return message("sync.no_change", subject=subject)
    return message("sync.updated", subject=subject, fields=[field_name(key) for key in changed])


# --- membership -------------------------------------------------------------------------------


def membership_created(*, organization: Organization, occurred_at, data: dict) -> Applied:
    member_id = _required_id(data, "member_id", subject=_MEMBER)
    subject = _member_subject(member_id)
    values = _member_values(data, subject=subject)
    member = _member_locked(organization=organization, member_id=member_id)
    if member is None:
        member = Member(organization=organization, portal_member_id=member_id)
        values.setdefault("role", Member.Role.MEMBER)
        _assign(member, values, occurred_at)
        _save(member)
        _member_remember(member)
        return Applied(
            message(
                "sync.member_created", subject=subject, name=str(member), role=role(member.role)
            )
        )
    if stale := _stale(member, occurred_at, subject=subject, event_type="membership.created"):
        return stale
    return _changes_applied(subject, _assign(member, values, occurred_at))


def membership_updated(*, organization: Organization, occurred_at, data: dict) -> Applied:
    member_id = _required_id(data, "member_id", subject=_MEMBER)
    subject = _member_subject(member_id)
    values = _member_values(data, subject=subject)
    member = _member_required(organization=organization, member_id=member_id)
    if stale := _stale(member, occurred_at, subject=subject, event_type="membership.updated"):
        return stale
    return _changes_applied(subject, _assign(member, values, occurred_at))


def role_updated(*, organization: Organization, occurred_at, data: dict) -> Applied:
    """Change the app access level only; admin rights (is_staff, groups) are never touched."""
    member_id = _required_id(data, "member_id", subject=_MEMBER)
    subject = _member_subject(member_id)
    if "role" not in data:
        raise EventInvalid(message("sync.field_missing", subject=subject, field=field_name("role")))
    new_role = _choice(data, "role", ROLES, subject=subject)
    member = _member_required(organization=organization, member_id=member_id)
    if stale := _stale(member, occurred_at, subject=subject, event_type="role.updated"):
        return stale
    previous = member.role
    if not _assign(member, {"role": new_role}, occurred_at):
        return Applied(
            message("sync.role_unchanged", subject=subject, role=role(new_role)), unchanged=True
        )
    return Applied(
        message("sync.role_changed", subject=subject, old=role(previous), new=role(new_role))
    )


def _login_user_set_active(member: Member, *, active: bool) -> Message | None:
    """Enable or disable the member's app login; administrators' accounts are left alone."""
    user = member.user
    if user is None:
        return None
    if user_holds_admin_rights(user):
        # Admin rights are never changed by an event (SPEC §1); only app tokens go.
        return message("sync.login_admin_untouched")
    if user.is_active != active:
        user.is_active = active
        user.save(update_fields=["is_active"])
    return message("sync.login_enabled" if active else "sync.login_disabled")


def membership_deactivated(*, organization: Organization, occurred_at, data: dict) -> Applied:
    member_id = _required_id(data, "member_id", subject=_MEMBER)
    subject = _member_subject(member_id)
    # A long or odd reason must never stop a deactivation: keep what fits, and what can
    # be stored (a NUL or lone surrogate becomes U+FFFD).
    raw_reason = data.get("reason")
    reason = raw_reason if isinstance(raw_reason, str) else ""
    reason = text_storable_or_replaced(reason.strip()[:_REASON_MAX_LENGTH])
    member = _member_required(organization=organization, member_id=member_id)
    if stale := _stale(member, occurred_at, subject=subject, event_type="membership.deactivated"):
        return stale
    values: dict[str, Any] = {"is_active": False}
    if reason or member.is_active:
        values["deactivation_reason"] = reason
    if member.is_active:
        values["deactivated_at"] = occurred_at or timezone.now()
    changed = bool(_assign(member, values, occurred_at))
    if changed:
        parts = [message("sync.deactivated", subject=subject)]
    else:
        parts = [message("sync.already_inactive", subject=subject)]
    if reason:
        parts.append(message("sync.reason", reason=reason))
    if login := _login_user_set_active(member, active=False):
        parts.append(login)
    if member.user_id is not None:
        revoked, _detail = Token.objects.filter(user_id=member.user_id).delete()
        if revoked:
            parts.append(message("sync.token_revoked"))
    return Applied(_joined(parts), unchanged=not changed)


def membership_reactivated(*, organization: Organization, occurred_at, data: dict) -> Applied:
    member_id = _required_id(data, "member_id", subject=_MEMBER)
    subject = _member_subject(member_id)
    member = _member_required(organization=organization, member_id=member_id)
    if stale := _stale(member, occurred_at, subject=subject, event_type="membership.reactivated"):
        return stale
    values = {"is_active": True, "deactivated_at": None, "deactivation_reason": ""}
    changed = bool(_assign(member, values, occurred_at))
    if changed:
        parts = [message("sync.reactivated", subject=subject)]
    else:
        parts = [message("sync.already_active", subject=subject)]
    if login := _login_user_set_active(member, active=True):
        parts.append(login)
    return Applied(_joined(parts), unchanged=not changed)


def _organization_ids(data: dict, key: str, *, subject: Message) -> list[int]:
    value = data.get(key)
    if not isinstance(value, list) or not all(
        isinstance(item, int) and not isinstance(item, bool) for item in value
    ):
        raise EventInvalid(
            message("sync.organization_ids_invalid", subject=subject, field=field_name(key))
        )
    return value


def membership_moved(*, organization: Organization, occurred_at, data: dict) -> Applied:
    """A transfer on a shared source (SPEC §4.4): leave the other organisations, join this one.

    `from_organization_ids` are the source's other organisations; `is_active` false: the
    same change deactivated the contact (with `reason`). The newest change to the
    member in any of them decides: an older transfer (A→B arriving after B→C) is skipped,
    so the member ends where the newest event put it. In the old organisation the record
    is deactivated ("moved to …") and keeps its enrollments; here it is created, or the
    earlier record (a move back) is reactivated. All in the caller's transaction.
    """
    member_id = _required_id(data, "member_id", subject=_MEMBER)
    subject = _member_subject(member_id)
    values = _member_values(data, subject=subject)
    others = _organization_ids(data, "from_organization_ids", subject=subject)
    records = list(
        Member.objects.select_for_update()
        .filter(portal_member_id=member_id, organization_id__in=[organization.pk, *others])
        .exclude(organization_id__isnull=True)
        .order_by("pk")
    )
    # The drain may hold some of these rows locked already: use its instances, so a later
    # event of the batch sees what this one changed.
    prelocked = _prelocked.get() or {}
    records = [prelocked.get((m.organization_id, m.portal_member_id)) or m for m in records]
    here = next((m for m in records if m.organization_id == organization.pk), None)
    elsewhere = [m for m in records if m.organization_id != organization.pk]
    newest = max((m for m in records if m.source_updated_at), key=_source_updated_at, default=None)
    if newest is not None and (
        stale := _stale(newest, occurred_at, subject=subject, event_type="membership.moved")
    ):
        return Applied(stale.message, skipped=True)
    moment = occurred_at or timezone.now()
    # Stored text, like a reason from Dynamics; the spec's wording (SPEC §4.4).
    reason = f"moved to {organization.name}"[:_REASON_MAX_LENGTH]
    login_user = None
    left = 0
    for member in elsewhere:
        if member.user_id is not None and login_user is None:
            login_user, member.user = member.user, None
            member.save(update_fields=["user", "updated_at"])
        if member.is_active:
            left += 1
        _assign(
            member,
            {"is_active": False, "deactivated_at": member.deactivated_at or moment}
            if not member.is_active
            else {"is_active": False, "deactivated_at": moment, "deactivation_reason": reason},
            occurred_at,
        )
    values.update({"is_active": True, "deactivated_at": None, "deactivation_reason": ""})
    # An Update carries only what changed: the rest comes along from where the member was.
    previous = next((m for m in elsewhere if m.is_active), None) or (
        elsewhere[-1] if elsewhere else None
    )
    if here is None and previous is not None:
        for key in (*MEMBER_TEXT_FIELDS, "role", "joined_on"):
            values.setdefault(key, getattr(previous, key))
    if here is None:
        here = Member(organization=organization, portal_member_id=member_id)
        values.setdefault("role", Member.Role.MEMBER)
        _assign(here, values, occurred_at)
        here.user = login_user
        here.save()
        _member_remember(here)
        outcome = "sync.moved_created"
    else:
        changed = _assign(here, values, occurred_at)
        if login_user is not None and here.user_id is None:
            here.user = login_user
            here.save(update_fields=["user", "updated_at"])
        outcome = "sync.moved_back" if "is_active" in changed else "sync.moved_already_here"
    if login_user is not None:
        _login_user_set_active(here, active=True)
    parts = [message(outcome, subject=subject, name=str(here))]
    if left:
        parts.append(message("sync.moved_left_previous"))
    if data.get("is_active") is False:
        # The same change deactivated the contact: applied here, with the transfer, so
        # a stale transfer skips it too instead of leaving it waiting for a member.
        deactivated = membership_deactivated(
            organization=organization,
            occurred_at=occurred_at,
            data={"member_id": member_id, "reason": data.get("reason")},
        )
        parts.append(deactivated.message)
    return Applied(_joined(parts))


# --- course enrollments ---------------------------------------------------------------------


def _enrollment_applier(event_type: str) -> Applier:
    cancelled = event_type == "course_enrollment.cancelled"

    def apply(*, organization: Organization, occurred_at, data: dict) -> Applied:
        enrollment_id = _required_id(data, "enrollment_id", subject=_ENROLLMENT)
        subject = message("sync.subject.enrollment", id=enrollment_id)
        values: dict[str, Any] = {
            key: _text(CourseEnrollment, data, key, subject=subject)
            for key in ENROLLMENT_TEXT_FIELDS
            if key in data
        }
        if "starts_on" in data:
            values["starts_on"] = _date(data, "starts_on", subject=subject)
        if cancelled:
            values["status"] = CourseEnrollment.Status.CANCELLED
        elif "status" in data:
            values["status"] = _choice(data, "status", ENROLLMENT_STATUSES, subject=subject)
        member_id = data.get("member_id")
        if member_id is not None:
            member_id = _required_id(data, "member_id", subject=subject)

        enrollment = (
            CourseEnrollment.objects.select_for_update()
            .filter(organization=organization, portal_enrollment_id=enrollment_id)
            .first()
        )
        if enrollment is None and member_id is None:
            if event_type == "course_enrollment.created":
                raise EventInvalid(
                    message("sync.field_missing", subject=subject, field=field_name("member_id"))
                )
            # An update or cancel without the member: its create may still be on its way.
            raise TargetUnknown(
                message("sync.enrollment_unknown", id=enrollment_id, organization=organization.name)
            )
        if member_id is not None:
            member = _member_required(organization=organization, member_id=member_id)
            values["member_id"] = member.pk
            subject = message(
                "sync.subject.enrollment_of_member", id=enrollment_id, member=member_id
            )
        if enrollment is None:
            enrollment = CourseEnrollment(
                organization=organization, portal_enrollment_id=enrollment_id
            )
            _assign(enrollment, values, occurred_at)
            _save(enrollment)
            return Applied(
                message(
                    "sync.enrollment_created",
                    subject=subject,
                    course=enrollment.course_name or enrollment.course_id,
                    status=enrollment.status,
                )
            )
        if stale := _stale(enrollment, occurred_at, subject=subject, event_type=event_type):
            return stale
        return _changes_applied(subject, _assign(enrollment, values, occurred_at))

    return apply


# --- everything else ----------------------------------------------------------------------------


def _test_event(*, organization: Organization, occurred_at, data: dict) -> Applied:
    return Applied(message("sync.test_event"), skipped=True)


APPLIERS: dict[str, Applier] = {
    "membership.created": membership_created,
    "membership.updated": membership_updated,
    "role.updated": role_updated,
    "membership.deactivated": membership_deactivated,
    "membership.reactivated": membership_reactivated,
    "membership.moved": membership_moved,
    "course_enrollment.created": _enrollment_applier("course_enrollment.created"),
    "course_enrollment.updated": _enrollment_applier("course_enrollment.updated"),
    "course_enrollment.cancelled": _enrollment_applier("course_enrollment.cancelled"),
    "webhook.test": _test_event,
}


def event_apply(
    *,
    organization: Organization,
    event_type: str,
    occurred_at: datetime | None,
    data: dict,
    received_at: datetime | None = None,
) -> Applied:
    """Apply one normalised event; unknown types (e.g. `dataverse.*`) are skipped.

    `received_at` (when the intake stored the event; now if not given) caps the event's
    time: a member's or enrollment's source time never moves past the moment an event was
    received, so a sender's clock error, or an old event from before the intake refused
    far-future times, cannot make every later real change look stale.
    """
    applier = APPLIERS.get(event_type)
    if applier is None:
        return Applied(message("sync.unsupported_type", type=str(event_type)[:100]), skipped=True)
    if not isinstance(data, dict):
        raise EventInvalid(message("sync.data_not_object"))
    if occurred_at is not None:
        ceiling = received_at or timezone.now()
        occurred_at = min(occurred_at, ceiling)
    try:
        return applier(organization=organization, occurred_at=occurred_at, data=data)
    except TargetUnknown:
        if stale := _stale_elsewhere(occurred_at=occurred_at, data=data, event_type=event_type):
            return stale
        raise


def _stale_elsewhere(*, occurred_at, data: dict, event_type: str) -> Applied | None:
    """A shared source's change for a member not known here, older than where it is now.

    `other_organization_ids` (the source's other organisations, set by its router): the
    member moved on since this change, so it is stale rather than waiting for a member
    that will never come here (SPEC §4.4, out-of-order transfers).
    """
    others = data.get("other_organization_ids")
    member_id = data.get("member_id")
    if occurred_at is None or not isinstance(others, list) or not isinstance(member_id, str):
        return None
    newest = (
        Member.objects.filter(
            portal_member_id=member_id.strip(),
            organization_id__in=[pk for pk in others if isinstance(pk, int)],
            source_updated_at__gt=occurred_at,
        )
        .order_by("-source_updated_at")
        .first()
    )
    if newest is None:
        return None
    return _stale(newest, occurred_at, subject=_member_subject(member_id), event_type=event_type)
