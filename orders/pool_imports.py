"""Bulk import of pool numbers from CSV or XLSX: checking the upload, reading its rows, and the import run.

The upload is checked at once (type, size, header row) and stored as a ``NumberImport``;
``orders.tasks.pool_import_run`` then reads it in batches of ``BATCH_SIZE`` rows. Each batch
is one transaction that inserts its valid rows and adds to the progress counts, so a run
that dies resumes after the last committed batch, and a run that finds the import done
does nothing. Rows are never read into memory all at once: CSV is read line by line and
XLSX with openpyxl's read-only mode.
"""
import csv
import codecs
import io
import logging
import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import IntegrityError, OperationalError, transaction
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from .models import NumberClass, NumberImport, PoolNumber
from .services import POOL_DEFAULT_FEES, pool_number_class_for, pool_number_normalize

logger = logging.getLogger(__name__)

MAX_UPLOAD_BYTES = 20 * 1024 * 1024  # 100,000 rows are about 3 MB as CSV and 2 MB as XLSX
MAX_ROWS = 200_000
BATCH_SIZE = 1000
MAX_ERRORS_KEPT = 1000
MAX_FEE = Decimal("99999999.99")  # what the fee column holds (10 digits, 2 decimals)
NOTE_LENGTH = 200

# Header names in either language; matched after trimming and lower-casing.
COLUMNS = {
    "number": {"number", "mobile", "号码", "手机号", "手机号码"},
    "class": {"class", "number_class", "类别", "等级", "号码等级", "号码类别"},
    "fee": {"fee", "price", "费用", "选号费", "号码费"},
    "note": {"note", "notes", "备注"},
}
CLASS_NAMES = {
    NumberClass.ORDINARY: {"ordinary", "普通", "普通号"},
    NumberClass.LUCKY: {"lucky", "吉祥", "吉祥号", "靓号"},
    NumberClass.PREMIUM: {"premium", "精品", "精品号", "特级"},
}
EXTENSIONS = {".csv": "csv", ".xlsx": "xlsx"}
XLSX_MAGIC = b"PK\x03\x04"
OLE_MAGIC = b"\xd0\xcf\x11\xe0"  # the old binary .xls


class ImportFileError(Exception):
    """The file as a whole cannot be imported; the message says why, for the uploader."""


# --- reading the file -----------------------------------------------------------

@dataclass
class Table:
    columns: dict[str, int]  # "number" -> index of its column, and so on for those present
    rows: Iterator[tuple[int, tuple]]  # (row number in the file, cells), header excluded
    total_rows: int | None  # data rows, blank ones included; None when unknown


def _csv_encoding(stream) -> str:
    """UTF-8 (with or without BOM) when the whole file decodes as such, else GB18030 (Excel's CSV on Chinese Windows)."""
    decoder = codecs.getincrementaldecoder("utf-8")()
    try:
        while chunk := stream.read(256 * 1024):
            decoder.decode(chunk)
        decoder.decode(b"", final=True)
        encoding = "utf-8-sig"
    except UnicodeDecodeError:
        encoding = "gb18030"
    stream.seek(0)
    return encoding


def _csv_rows(stream) -> Iterator[tuple[int, tuple]]:
    text = io.TextIOWrapper(stream, encoding=_csv_encoding(stream), errors="replace", newline="")
    first_line = text.readline()
    text.seek(0)
    # Comma as a rule; a header split by semicolons or tabs says the file was saved that way.
    delimiter = max(",;\t", key=lambda d: (first_line.count(d), d == ","))
    line = 0
    try:
        for line, cells in enumerate(csv.reader(text, delimiter=delimiter), start=1):
            yield line, tuple(cells)
    except csv.Error as exc:
        raise ImportFileError(_("Row %(row)s of the file could not be read as CSV.") % {"row": line + 1}) from exc
    finally:
        if not text.closed:
            text.detach()  # the stream belongs to the caller: leave it open


def _xlsx_rows(stream) -> tuple[Iterator[tuple[int, tuple]], int | None, object]:
    from openpyxl import load_workbook

    try:
        workbook = load_workbook(stream, read_only=True, data_only=True)
        sheet = workbook.worksheets[0]
    except Exception as exc:  # noqa: BLE001 - openpyxl raises many kinds for a damaged file
        raise ImportFileError(_("The file could not be read as an Excel workbook (.xlsx).")) from exc
    rows = enumerate(sheet.iter_rows(values_only=True), start=1)
    return rows, (sheet.max_row - 1 if sheet.max_row else None), workbook


def _header(cells: tuple) -> dict[str, int]:
    columns: dict[str, int] = {}
    for index, cell in enumerate(cells):
        name = str(cell or "").strip().lstrip("\ufeff").lower()
        for column, names in COLUMNS.items():
            if name in names and column not in columns:
                columns[column] = index
    if "number" not in columns:
        raise ImportFileError(_("The first row must name the columns, and one of them must be “number” (also: class, fee, note)."))
    return columns


def _kind(file_name: str) -> str:
    kind = EXTENSIONS.get(os.path.splitext(file_name or "")[1].lower())
    if kind is None:
        raise ImportFileError(_("Upload a CSV (.csv) or Excel (.xlsx) file."))
    return kind


@contextmanager
def open_table(stream, file_name: str, *, count_rows: bool = True):
    """Open an uploaded file (a binary, seekable stream) as a ``Table``; ImportFileError if it is not one."""
    kind = _kind(file_name)
    head = stream.read(8)
    stream.seek(0)
    if not head:
        raise ImportFileError(_("The file is empty."))
    workbook = None
    if kind == "xlsx":
        if not head.startswith(XLSX_MAGIC):
            raise ImportFileError(_("This is not an .xlsx workbook. Save it from Excel as “Excel Workbook (.xlsx)” or as CSV."))
        rows, total, workbook = _xlsx_rows(stream)
    else:
        if head.startswith(XLSX_MAGIC) or head.startswith(OLE_MAGIC):
            raise ImportFileError(_("This is an Excel file, not CSV. Name it .xlsx (old .xls files: save them as .xlsx or CSV first)."))
        total = sum(1 for _line in _csv_rows(stream)) - 1 if count_rows else None
        stream.seek(0)
        rows = _csv_rows(stream)
    try:
        first = next(rows, None)
        if first is None:
            raise ImportFileError(_("The file is empty."))
        columns = _header(first[1])
        if total is None and count_rows and workbook is not None:
            # Workbooks written by streaming writers do not record their size: count once.
            stream.seek(0)
            counted, _w, counted_workbook = _xlsx_rows(io.BytesIO(stream.read()))
            total = sum(1 for _row in counted) - 1
            counted_workbook.close()
        yield Table(columns=columns, rows=rows, total_rows=max(total, 0) if total is not None else None)
    finally:
        if hasattr(rows, "close"):
            rows.close()  # the CSV reader lets go of the stream before the caller closes it
        if workbook is not None:
            workbook.close()


def check_upload(upload) -> None:
    """Refuse at once what cannot be imported: wrong type, too big, empty, no header; ValidationError for the form."""
    if upload.size > MAX_UPLOAD_BYTES:
        raise ValidationError(
            _("The file is %(size)s MB; the limit is %(limit)s MB. Split it into several files.")
            % {"size": round(upload.size / 1024 / 1024, 1), "limit": MAX_UPLOAD_BYTES // 1024 // 1024},
            code="too_large",
        )
    try:
        upload.seek(0)
        with open_table(upload, upload.name, count_rows=False) as table:
            if all(_blank(cells) for _line, cells in _first(table.rows, 50)):
                raise ImportFileError(_("The file has a header row but no numbers."))
    except ImportFileError as exc:
        raise ValidationError(str(exc), code="bad_file") from exc
    finally:
        upload.seek(0)


def _first(rows, n):
    for index, row in enumerate(rows):
        if index >= n:
            return
        yield row


# --- checking a row -------------------------------------------------------------

def _blank(cells: tuple) -> bool:
    return all(cell is None or str(cell).strip() == "" for cell in cells)


def _cell(cells: tuple, columns: dict[str, int], column: str):
    index = columns.get(column)
    if index is None or index >= len(cells):
        return None
    value = cells[index]
    if isinstance(value, str):
        value = value.strip()
        return value or None
    return value


def _number_text(value) -> str:
    # Excel stores 13800138000 typed into a cell as a number, sometimes as a float.
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _class(value, number: str) -> str:
    if value is None:
        return pool_number_class_for(number)
    name = str(value).strip().lower()
    for number_class, names in CLASS_NAMES.items():
        if name in names or name == str(number_class.label).lower():
            return number_class
    raise ValidationError(_("Unknown class “%(value)s”: use ordinary, lucky or premium.") % {"value": str(value)[:30]})


def _fee(value, number_class: str) -> Decimal:
    if value is None:
        return POOL_DEFAULT_FEES[number_class]
    text = str(value).strip().replace(",", "").lstrip("¥￥").strip()
    try:
        fee = Decimal(text)
    except InvalidOperation:
        fee = None
    if fee is None or not fee.is_finite():
        raise ValidationError(_("The fee “%(value)s” is not an amount.") % {"value": str(value)[:30]})
    if fee < 0:
        raise ValidationError(_("The fee cannot be negative."))
    if fee > MAX_FEE or fee != fee.quantize(Decimal("0.01")):
        raise ValidationError(_("The fee “%(value)s” must be at most %(max)s with at most two decimals.") % {"value": str(value)[:30], "max": MAX_FEE})
    return fee.quantize(Decimal("0.01"))


def check_row(cells: tuple, columns: dict[str, int]) -> PoolNumber:
    """The pool number a row describes, unsaved; ValidationError with one message for the first problem."""
    raw = _cell(cells, columns, "number")
    if raw is None:
        raise ValidationError(_("The number is missing."))
    number = pool_number_normalize(_number_text(raw))
    number_class = _class(_cell(cells, columns, "class"), number)
    fee = _fee(_cell(cells, columns, "fee"), number_class)
    note = str(_cell(cells, columns, "note") or "")
    if len(note) > NOTE_LENGTH:
        raise ValidationError(_("The note is longer than %(n)s characters.") % {"n": NOTE_LENGTH})
    return PoolNumber(number=number, number_class=number_class, price=fee, note=note)


def _shown(raw) -> str:
    return "" if raw is None else _number_text(raw)[:30]


# --- the import -------------------------------------------------------------------

@transaction.atomic
def number_import_start(*, by, upload, language: str = "") -> NumberImport:
    """Store a checked upload and have it imported once this transaction commits."""
    check_upload(upload)
    kind = _kind(upload.name)
    number_import = NumberImport(file_name=os.path.basename(upload.name)[:200], created_by=by)
    number_import.file.save(f"{timezone.localdate():%Y%m}/{uuid.uuid4().hex}.{kind}", upload, save=False)
    number_import.save()
    transaction.on_commit(lambda: _enqueue(number_import.pk, language or translation.get_language()))
    return number_import


def _enqueue(import_id: int, language: str) -> None:
    from .tasks import pool_import_run

    try:
        pool_import_run.delay(import_id, language)
    except Exception as exc:  # noqa: BLE001 - broker down: the status page offers to start it again
        logger.warning("pool import %s: could not enqueue (%s)", import_id, exc.__class__.__name__)


@transaction.atomic
def number_import_restart(*, import_id: int, language: str = "") -> NumberImport:
    """Queue again an import that no worker took, or that stopped: it resumes after its last committed batch."""
    number_import = NumberImport.objects.select_for_update().get(pk=import_id)
    if number_import.status == NumberImport.Status.DONE:
        return number_import
    if number_import.status == NumberImport.Status.FAILED:
        number_import.status, number_import.finished_at, number_import.message = NumberImport.Status.QUEUED, None, ""
        number_import.save(update_fields=["status", "finished_at", "message"])
    transaction.on_commit(lambda: _enqueue(number_import.pk, language or translation.get_language()))
    return number_import


class _Superseded(Exception):
    """Another run of the same import is ahead of this one: this one stops."""


def number_import_run(*, import_id: int, language: str = "") -> NumberImport | None:
    """Import the rows of a stored upload in batches, keeping the valid rows and reporting the others per row.

    Idempotent: a finished import is left alone; a started one resumes after its last committed batch.
    """
    with translation.override(language or settings.LANGUAGE_CODE):
        with transaction.atomic():
            number_import = NumberImport.objects.select_for_update().filter(pk=import_id).first()
            if number_import is None or number_import.status in (NumberImport.Status.DONE, NumberImport.Status.FAILED):
                return number_import
            if number_import.status == NumberImport.Status.QUEUED:
                number_import.status = NumberImport.Status.RUNNING
                number_import.save(update_fields=["status"])
        try:
            _run(number_import)
        except _Superseded:
            pass
        except ImportFileError as exc:
            _finish(number_import.pk, status=NumberImport.Status.FAILED, message=str(exc))
        except OperationalError:
            raise  # transient: the task retries, and resumes where the last batch ended
        except Exception:
            logger.exception("pool import %s stopped", import_id)
            _finish(number_import.pk, status=NumberImport.Status.FAILED, message=_(
                "The import stopped unexpectedly. The rows counted as processed were imported; start it again to go on from there."))
        number_import.refresh_from_db()
        return number_import


def _run(number_import: NumberImport) -> None:
    done_before = number_import.processed_rows
    try:
        stream = number_import.file.open("rb")
    except (OSError, ValueError) as exc:
        raise ImportFileError(_("The uploaded file is no longer there; upload it again.")) from exc
    with stream, open_table(stream, number_import.file_name) as table:
        if table.total_rows is not None and table.total_rows > MAX_ROWS:
            raise ImportFileError(_("The file has %(n)s rows; the limit is %(max)s. Split it into several files.") % {"n": table.total_rows, "max": MAX_ROWS})
        if table.total_rows is not None and not done_before:
            NumberImport.objects.filter(pk=number_import.pk).update(total_rows=table.total_rows)
        seen: dict[str, int] = {}  # number -> the first row that named it
        batch: list[tuple[int, tuple]] = []
        offset = 0  # data rows before the batch being gathered
        for line, cells in table.rows:
            if offset + len(batch) < done_before:
                # Committed by an earlier run: only remember its number, to report duplicates the same way.
                offset += 1
                _remember(cells, table.columns, line, seen)
                continue
            batch.append((line, cells))
            if len(batch) == BATCH_SIZE:
                _import_batch(number_import.pk, offset, batch, table.columns, seen)
                offset += len(batch)
                batch = []
        if batch:
            _import_batch(number_import.pk, offset, batch, table.columns, seen)
    _finish(number_import.pk, status=NumberImport.Status.DONE)


def _remember(cells, columns, line, seen) -> None:
    try:
        seen.setdefault(pool_number_normalize(_number_text(_cell(cells, columns, "number"))), line)
    except ValidationError:
        pass


def _import_batch(import_id: int, offset: int, batch: list[tuple[int, tuple]], columns: dict[str, int], seen: dict[str, int]) -> None:
    """Check a batch of rows, insert the valid new numbers and count it all, in one transaction."""
    errors: list[list] = []
    candidates: list[tuple[int, PoolNumber]] = []
    for line, cells in batch:
        if _blank(cells):
            continue
        try:
            pool_number = check_row(cells, columns)
        except ValidationError as exc:
            errors.append([line, _shown(_cell(cells, columns, "number")), " ".join(exc.messages)])
            continue
        first = seen.setdefault(pool_number.number, line)
        if first != line:
            errors.append([line, pool_number.number, _("Duplicate of row %(row)s in this file.") % {"row": first}])
            continue
        candidates.append((line, pool_number))
    for attempt in range(3):
        try:
            with transaction.atomic():
                _commit_batch(import_id, offset, len(batch), candidates, errors)
            return
        except IntegrityError:
            # Someone added one of these numbers between the check and the insert: check again.
            if attempt == 2:
                raise


def _commit_batch(import_id: int, offset: int, size: int, candidates: list[tuple[int, PoolNumber]], errors: list[list]) -> None:
    number_import = NumberImport.objects.select_for_update().get(pk=import_id)
    if number_import.status != NumberImport.Status.RUNNING or number_import.processed_rows != offset:
        raise _Superseded
    in_pool = set(PoolNumber.objects.filter(number__in=[p.number for _line, p in candidates]).values_list("number", flat=True))
    new = [p for _line, p in candidates if p.number not in in_pool]
    errors = sorted(errors + [[line, p.number, _("Already in the pool.")] for line, p in candidates if p.number in in_pool])
    PoolNumber.objects.bulk_create(new)
    room = MAX_ERRORS_KEPT - len(number_import.errors)
    if room > 0 and errors:
        number_import.errors = number_import.errors + errors[:room]
    number_import.processed_rows += size
    number_import.created_count += len(new)
    number_import.error_count += len(errors)
    number_import.total_rows = max(number_import.total_rows, number_import.processed_rows)
    number_import.save(update_fields=["errors", "processed_rows", "created_count", "error_count", "total_rows"])


def _finish(import_id: int, *, status: str, message: str = "") -> None:
    with transaction.atomic():
        number_import = NumberImport.objects.select_for_update().get(pk=import_id)
        if number_import.status != NumberImport.Status.RUNNING:
            return
        number_import.status = status
        number_import.finished_at = timezone.now()
        if status == NumberImport.Status.DONE:
            number_import.total_rows = number_import.processed_rows
        if status == NumberImport.Status.DONE or number_import.processed_rows:
            message += " " + _("Added: %(created)s; refused: %(errors)s.") % {
                "created": number_import.created_count, "errors": number_import.error_count}
        number_import.message = message.strip()[:300]
        number_import.save(update_fields=["status", "finished_at", "total_rows", "message"])

