"""The benchmark baseline: a bare Django view that inserts one row (production URLs stay clean)."""

import uuid

from django.http import JsonResponse
from django.urls import path
from django.views.decorators.csrf import csrf_exempt

from sync.models import WorkerHeartbeat


@csrf_exempt
def insert_one_row(request):
    request.body  # read the body like the intake does  # noqa: B018
    row = WorkerHeartbeat.objects.create(hostname=f"bench-{uuid.uuid4().hex}")
    return JsonResponse({"id": row.pk}, status=202)


urlpatterns = [path("bench/insert/", insert_one_row)]
