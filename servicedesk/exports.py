"""A table as a download: CSV streamed row by row, or XLSX written to a temporary file.

Every page that offers "CSV" and "XLSX" of a table calls ``table_response``; the
rows are any iterable (a generator over a queryset's ``iterator()`` keeps memory
flat). Numbers stay numbers (numeric cells in XLSX); text that a spreadsheet
would run as a formula gets a leading apostrophe; ``None`` is an empty cell.
"""
import csv
import re
import tempfile
from collections.abc import Iterable, Sequence
from datetime import date, datetime
from decimal import Decimal

from django.http import FileResponse, HttpResponse, StreamingHttpResponse
from django.utils import timezone, translation

FORMATS = ("csv", "xlsx")
XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
# A cell starting with one of these is a formula to Excel or LibreOffice (CSV injection).
_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
_NUMBER = re.compile(r"^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$")
_SHEET_FORBIDDEN = re.compile(r"[\[\]:*?/\\]")
_FILENAME_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")


def export_format(params) -> str | None:
    """``?format=csv`` or ``?format=xlsx`` from a QueryDict; anything else is None (show the page)."""
    fmt = params.get("format", "")
    return fmt if fmt in FORMATS else None


def safe_text(text: str) -> str:
    """Text a spreadsheet shows as text: a leading apostrophe before a formula start, unless it is a number."""
    if text[:1] in _FORMULA_STARTS and not _NUMBER.match(text):
        return "'" + text
    return text


def _xlsx_value(value):
    if value is None or isinstance(value, bool):
        return value
    if isinstance(value, (int, float, Decimal)):
        return value
    if isinstance(value, datetime):
        # openpyxl refuses aware datetimes: the local wall-clock time is what the page shows.
        return timezone.localtime(value).replace(tzinfo=None) if timezone.is_aware(value) else value
    if isinstance(value, date):
        return value
    return safe_text(str(value))


def _csv_value(value) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, (int, float, Decimal)):
        return str(value)
    if isinstance(value, datetime):
        return (timezone.localtime(value) if timezone.is_aware(value) else value).strftime("%Y-%m-%d %H:%M:%S")
    if isinstance(value, date):
        return value.isoformat()
    return safe_text(str(value))


class _Echo:
    """csv.writer writes into this and gets the line back, so each row can be streamed."""

    def write(self, value):
        return value


def _filename(name: str, fmt: str) -> str:
    return f"{_FILENAME_UNSAFE.sub('-', name) or 'export'}-{timezone.localtime():%Y%m%d-%H%M}.{fmt}"


def table_response(*, name: str, header: Sequence[str], rows: Iterable[Sequence], fmt: str, sheet: str = "") -> HttpResponse:
    """The table as an attachment ``<name>-<local time>.<fmt>``: ``fmt`` is "csv" or "xlsx".

    CSV is UTF-8 with a BOM (Excel on Chinese Windows then reads it as UTF-8), streamed in
    the request's language; XLSX is written row by row (openpyxl's write-only mode) to a
    temporary file, never held whole in memory. ``sheet`` names the XLSX sheet (default ``name``)."""
    if fmt not in FORMATS:
        raise ValueError(f"unknown export format {fmt!r}")
    if fmt == "xlsx":
        return _xlsx(name, header, rows, sheet or name)
    writer = csv.writer(_Echo())
    language = translation.get_language()

    def lines():
        # The response is consumed after the view returns: keep the language the page had.
        with translation.override(language):
            yield "\ufeff" + writer.writerow([_csv_value(h) for h in header])
            for row in rows:
                yield writer.writerow([_csv_value(value) for value in row])

    response = StreamingHttpResponse(lines(), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{_filename(name, "csv")}"'
    return response


def _xlsx(name: str, header: Sequence[str], rows: Iterable[Sequence], sheet: str) -> FileResponse:
    from openpyxl import Workbook

    workbook = Workbook(write_only=True)
    worksheet = workbook.create_sheet(_SHEET_FORBIDDEN.sub("-", str(sheet))[:31] or "Sheet1")
    worksheet.append([_xlsx_value(h) for h in header])
    for row in rows:
        worksheet.append([_xlsx_value(value) for value in row])
    spool = tempfile.TemporaryFile()
    workbook.save(spool)
    spool.seek(0)
    return FileResponse(spool, as_attachment=True, filename=_filename(name, "xlsx"), content_type=XLSX_TYPE)
