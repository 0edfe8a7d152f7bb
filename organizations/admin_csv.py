"""CSV export of an admin list exactly as filtered on screen (and scoped like it)."""

import csv
from typing import TYPE_CHECKING, Any

from django.http import StreamingHttpResponse
from django.urls import path
from django.utils import timezone

from organizations.admin_scoping import org_scoped
from organizations.requests import AuthenticatedHttpRequest

# A spreadsheet runs a cell starting with one of these as a formula (CSV injection).
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


class _Echo:
    def write(self, value):
        return value


def csv_cell(value) -> str:
    if value is None:
        return ""
    text = str(value)
    return "'" + text if text.startswith(_FORMULA_START) else text


# The mixin is only ever mixed into a ModelAdmin; tell mypy so (at runtime: object).
_AdminBase: Any = object
if TYPE_CHECKING:
    from django.contrib.admin import ModelAdmin

    _AdminBase = ModelAdmin


class CsvExportMixin(_AdminBase):
    """Adds `<changelist>/export.csv` (same filters and search as the list) and a button.

    Subclasses set `csv_columns`: (header, function of the row) pairs. The rows come from
    the admin's own ChangeList, so scoping, filters and search are the list's.
    """

    csv_columns: tuple = ()
    csv_filename = "export"

    def get_urls(self):
        opts = self.model._meta
        return [
            path(
                "export.csv",
                org_scoped(self, self.csv_export_view, per_object=False),
                name=f"{opts.app_label}_{opts.model_name}_export",
            ),
            *super().get_urls(),
        ]

    def csv_export_view(self, request: AuthenticatedHttpRequest):
        changelist = self.get_changelist_instance(request)
        rows = changelist.get_queryset(request)
        columns = [(str(header), value) for header, value in self.csv_columns]
        writer = csv.writer(_Echo())

        def lines():
            yield "\ufeff"  # so spreadsheet programs read the file as UTF-8 (æøå)
            yield writer.writerow([header for header, _value in columns])
            for row in rows.iterator(chunk_size=500):
                yield writer.writerow([csv_cell(value(row)) for _header, value in columns])

        stamp = timezone.localtime().strftime("%Y%m%d-%H%M")
        response = StreamingHttpResponse(lines(), content_type="text/csv; charset=utf-8")
        response["Content-Disposition"] = f'attachment; filename="{self.csv_filename}-{stamp}.csv"'
        response["Cache-Control"] = "no-store"  # personal data
        return response

    def changelist_view(self, request, extra_context=None):
        opts = self.model._meta
        extra_context = {
            **(extra_context or {}),
            "csv_export_url_name": f"admin:{opts.app_label}_{opts.model_name}_export",
        }
        return super().changelist_view(request, extra_context)
