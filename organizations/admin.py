"""Admin screens for organisations, members and enrollments, scoped per organisation."""

from django import forms
from django.contrib import admin
from django.urls import NoReverseMatch, reverse
from django.utils.translation import gettext_lazy as _

from organizations.admin_csv import CsvExportMixin
from organizations.admin_scoping import (
    GlobalAdminOnlyAdmin,
    OrganizationScopedAdmin,
    OrganizationScopedInline,
)
from organizations.models import (
    CourseEnrollment,
    Member,
    Organization,
    OrganizationAdministrator,
    allowed_hosts_parse,
)

admin.site.site_header = _("Min Side integration")
admin.site.site_title = _("Min Side integration")
admin.site.index_title = _("Administration")
# There is no public site behind the admin: no "View site" link to a 404.
admin.site.site_url = None
# One sign for "nothing" in every list and detail page (Django's default is "-").
admin.site.empty_value_display = "—"

# Filled in from Min Side by the sync; editing them here would be overwritten.
PORTAL_OWNED_MEMBER_FIELDS = (
    "organization",
    "portal_member_id",
    "first_name",
    "last_name",
    "email",
    "phone",
    "role",
    "joined_on",
    "is_active",
    "deactivated_at",
    "deactivation_reason",
    "source_updated_at",
)


# Checks other apps add (organizations imports none of them): each is called as
# check(organization=, portal_base_url=, allowed_hosts=) and returns problems to show.
ORGANIZATION_LINK_CHECKS: list = []


class OrganizationForm(forms.ModelForm):
    """Refuses a base URL / host change that would leave members without a working link."""

    class Meta:
        model = Organization
        fields = ("slug", "name", "parent", "is_active", "portal_base_url", "allowed_portal_hosts")

    def clean(self):
        data = super().clean() or {}
        if self.instance.pk is None or self.errors:
            return data
        base_url = data.get("portal_base_url") or ""
        hosts = allowed_hosts_parse(data.get("allowed_portal_hosts") or "")
        field = (
            "portal_base_url"
            if base_url != self.instance.portal_base_url
            else "allowed_portal_hosts"
        )
        for check in ORGANIZATION_LINK_CHECKS:
            for problem in check(
                organization=self.instance, portal_base_url=base_url, allowed_hosts=hosts
            ):
                self.add_error(field, problem)
        return data


@admin.register(Organization)
class OrganizationAdmin(OrganizationScopedAdmin):
    form = OrganizationForm
    organization_lookup = ""
    org_admin_permissions = frozenset({"view"})
    list_display = ("name", "slug", "parent", "is_active", "portal_base_url")
    list_filter = ("is_active",)
    search_fields = ("name", "slug")
    prepopulated_fields = {"slug": ("name",)}
    list_select_related = ("parent",)

    def _onboarding_context(self, request, extra_context) -> dict:
        # A URL name, not an import: organizations depends on no other app.
        try:
            url = reverse("admin:portal_integration_onboard")
        except NoReverseMatch:
            url = ""
        return {
            **(extra_context or {}),
            "onboarding_url": url if self.has_add_permission(request) else "",
        }

    def add_view(self, request, form_url="", extra_context=None):
        return super().add_view(request, form_url, self._onboarding_context(request, extra_context))

    def changelist_view(self, request, extra_context=None):
        return super().changelist_view(request, self._onboarding_context(request, extra_context))


class CourseEnrollmentInline(OrganizationScopedInline):
    model = CourseEnrollment
    fields = ("course_name", "course_id", "status", "starts_on", "portal_enrollment_id")
    readonly_fields = fields
    extra = 0
    can_delete = False
    show_change_link = True

    def has_add_permission(self, request, obj=None) -> bool:
        return False


@admin.register(Member)
class MemberAdmin(CsvExportMixin, OrganizationScopedAdmin):
    organization_lookup = "organization"
    org_admin_permissions = frozenset({"view", "change"})
    list_display = ("__str__", "organization", "role", "is_active", "email", "source_updated_at")
    list_filter = ("organization", "role", "is_active")
    search_fields = ("first_name", "last_name", "email", "portal_member_id")
    search_help_text = _("Search by name, e-mail or Min Side member id.")
    list_select_related = ("organization",)
    csv_filename = "members"
    csv_columns = (
        (_("Min Side member id"), lambda member: member.portal_member_id),
        (_("first name"), lambda member: member.first_name),
        (_("last name"), lambda member: member.last_name),
        (_("e-mail"), lambda member: member.email),
        (_("phone"), lambda member: member.phone),
        (_("role"), lambda member: member.get_role_display()),
        (_("organisation"), lambda member: member.organization),
        (_("active"), lambda member: _("yes") if member.is_active else _("no")),
        (_("joined"), lambda member: member.joined_on.isoformat() if member.joined_on else ""),
    )
    autocomplete_fields = ()
    inlines = (CourseEnrollmentInline,)

    def get_readonly_fields(self, request, obj=None):
        # On an existing member only the login-user link is edited here.
        return PORTAL_OWNED_MEMBER_FIELDS if obj is not None else ()


@admin.register(CourseEnrollment)
class CourseEnrollmentAdmin(OrganizationScopedAdmin):
    organization_lookup = "organization"
    org_admin_permissions = frozenset({"view"})
    list_display = ("course_name", "member", "organization", "status", "starts_on")
    list_filter = ("organization", "status")
    search_fields = ("course_name", "course_id", "portal_enrollment_id", "member__last_name")
    list_select_related = ("member", "organization")
    date_hierarchy = "starts_on"


@admin.register(OrganizationAdministrator)
class OrganizationAdministratorAdmin(GlobalAdminOnlyAdmin):
    list_display = ("user", "organization", "created_at")
    list_filter = ("organization",)
    search_fields = ("user__username", "organization__name")
    list_select_related = ("user", "organization")


# --- third-party screens: labels their apps leave untranslated ---------------------------
# django-celery-beat names some list columns with plain English strings ("Task Name", and
# "scheduler" / "human readable" from properties), which no catalogue can translate.
def _celery_beat_labels() -> None:
    from django_celery_beat.models import CrontabSchedule, PeriodicTask

    PeriodicTask._meta.get_field("task").verbose_name = _("task name")
    PeriodicTask.scheduler.fget.short_description = _("schedule")
    CrontabSchedule.human_readable.fget.short_description = _("schedule in words")


_celery_beat_labels()


def _celery_beat_task_names() -> None:
    """The periodic tasks list and form show each task's label in the reader's language.

    The rows keep their stable English `name` (migrations and beat find them by it); the
    label comes from the code that declares the task (sync/periodic.py, monitoring's).
    """
    from django_celery_beat.admin import PeriodicTaskAdmin
    from django_celery_beat.models import PeriodicTask

    import monitoring.periodic  # noqa: F401 - registers monitoring's labels
    from sync.periodic import periodic_task_label

    class TranslatedPeriodicTaskAdmin(PeriodicTaskAdmin):
        list_display = (
            "label_display",
            *(column for column in PeriodicTaskAdmin.list_display if column != "name"),
        )
        list_display_links = ("label_display",)
        readonly_fields = ("label_display", *PeriodicTaskAdmin.readonly_fields)
        fieldsets = (
            (
                PeriodicTaskAdmin.fieldsets[0][0],
                {
                    **PeriodicTaskAdmin.fieldsets[0][1],
                    "fields": ("label_display", *PeriodicTaskAdmin.fieldsets[0][1]["fields"]),
                },
            ),
            *PeriodicTaskAdmin.fieldsets[1:],
        )

        @admin.display(description=_("periodic task"), ordering="name")
        def label_display(self, obj) -> str:
            return periodic_task_label(obj.name) if obj is not None and obj.name else "—"

    if admin.site.is_registered(PeriodicTask):
        admin.site.unregister(PeriodicTask)
    admin.site.register(PeriodicTask, TranslatedPeriodicTaskAdmin)


_celery_beat_task_names()
