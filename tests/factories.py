"""factory_boy factories shared by the whole suite."""

import factory
from django.contrib.auth import get_user_model

from organizations.models import CourseEnrollment, Member, Organization, OrganizationAdministrator


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = get_user_model()
        django_get_or_create = ("username",)
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"user{n}")
    email = factory.LazyAttribute(lambda user: f"{user.username}@example.no")
    password = factory.PostGenerationMethodCall("set_password", "pw-for-tests-1")

    @factory.post_generation
    def _save(obj, create, extracted, **kwargs):
        if create:
            obj.save()


class OrganizationFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Organization
        django_get_or_create = ("slug",)

    slug = factory.Sequence(lambda n: f"org-{n}")
    name = factory.LazyAttribute(lambda org: f"HLF {org.slug.title()}")
    portal_base_url = factory.LazyAttribute(lambda org: f"https://minside.hlf.no/{org.slug}")
    allowed_portal_hosts = "minside.hlf.no"


class MemberFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Member

    organization = factory.SubFactory(OrganizationFactory)
    portal_member_id = factory.Faker("uuid4")
    first_name = factory.Sequence(lambda n: f"Fornavn{n:05d}")
    last_name = factory.Sequence(lambda n: f"Etternavn{n:05d}")
    email = factory.Faker("email")
    role = Member.Role.MEMBER


class CourseEnrollmentFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = CourseEnrollment

    member = factory.SubFactory(MemberFactory)
    organization = factory.SelfAttribute("member.organization")
    portal_enrollment_id = factory.Faker("uuid4")
    course_id = "likeperson-basic"
    course_name = "Likepersonkurs"


class OrganizationAdministratorFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = OrganizationAdministrator

    user = factory.SubFactory(UserFactory, is_staff=True)
    organization = factory.SubFactory(OrganizationFactory)
