"""App API output shapes (SPEC §7); the admin preview renders the same data."""

from rest_framework import serializers

from organizations.models import CourseEnrollment, Member


class OrganizationRefSerializer(serializers.Serializer):
    slug = serializers.CharField()
    name = serializers.CharField()


class FeatureStateSerializer(serializers.Serializer):
    key = serializers.CharField()
    name = serializers.CharField()
    owner = serializers.ChoiceField(choices=["app", "portal"])
    handoff_url = serializers.CharField(
        allow_null=True, help_text="The Min Side URL for a portal-owned feature, else null."
    )


class PortalConfigSerializer(serializers.Serializer):
    organization = OrganizationRefSerializer()
    version = serializers.IntegerField(min_value=1)
    locale = serializers.CharField()
    member_id = serializers.SerializerMethodField()
    features = FeatureStateSerializer(many=True)

    def get_member_id(self, view) -> str | None:
        return view.member.portal_member_id if view.member is not None else None


class CourseEnrollmentSerializer(serializers.ModelSerializer):
    class Meta:
        model = CourseEnrollment
        fields = (
            "portal_enrollment_id",
            "course_id",
            "course_name",
            "status",
            "starts_on",
            "source_updated_at",
        )


class MemberSerializer(serializers.ModelSerializer):
    enrollments = CourseEnrollmentSerializer(many=True, read_only=True)

    class Meta:
        model = Member
        fields = (
            "portal_member_id",
            "first_name",
            "last_name",
            "email",
            "phone",
            "role",
            "is_active",
            "deactivated_at",
            "source_updated_at",
            "enrollments",
        )


class SyncEventSerializer(serializers.Serializer):
    id = serializers.UUIDField()
    event_type = serializers.CharField()
    status = serializers.CharField()
    received_at = serializers.DateTimeField()
    occurred_at = serializers.DateTimeField(allow_null=True)
    started_at = serializers.DateTimeField(allow_null=True)
    finished_at = serializers.DateTimeField(allow_null=True)
    attempts = serializers.IntegerField()
    # In the request's language; `outcome_code` is the stable code (sync/messages.py).
    outcome = serializers.CharField()
    outcome_code = serializers.CharField()


def _seconds(value) -> float | None:
    return round(value.total_seconds(), 3) if value is not None else None


class SyncStatusSerializer(serializers.Serializer):
    last_succeeded_at = serializers.DateTimeField(allow_null=True)
    pending = serializers.IntegerField()
    processing = serializers.IntegerField()
    failed = serializers.IntegerField()
    oldest_pending_age_seconds = serializers.SerializerMethodField()
    lag_median_seconds = serializers.SerializerMethodField(
        help_text="Received → processed, median over the recent finished events."
    )
    lag_max_seconds = serializers.SerializerMethodField()
    recent_events = SyncEventSerializer(many=True)

    def get_oldest_pending_age_seconds(self, status: dict) -> int:
        return int(status["oldest_pending_age"].total_seconds())

    def get_lag_median_seconds(self, status: dict) -> float | None:
        return _seconds(status.get("lag_median"))

    def get_lag_max_seconds(self, status: dict) -> float | None:
        return _seconds(status.get("lag_max"))
