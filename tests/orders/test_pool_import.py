"""Bulk import of pool numbers: reading CSV and XLSX, per-row errors, progress, idempotent and resumable runs."""
import csv
import io
from decimal import Decimal
from unittest import mock

import pytest
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import OperationalError
from openpyxl import Workbook

from orders import pool_imports, tasks
from orders.models import NumberClass, NumberImport, PoolNumber
from tests.factories import PoolNumberFactory, UserFactory

pytestmark = pytest.mark.django_db

HEADER = ["number", "class", "fee", "note"]


@pytest.fixture(autouse=True)
def _media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path


@pytest.fixture
def clerk():
    return UserFactory(roles=["back_office"])


def csv_upload(rows, *, name="numbers.csv", encoding="utf-8", delimiter=","):
    text = io.StringIO()
    csv.writer(text, delimiter=delimiter).writerows(rows)
    return SimpleUploadedFile(name, text.getvalue().encode(encoding), content_type="text/csv")


def xlsx_upload(rows, *, name="numbers.xlsx"):
    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet()
    for row in rows:
        sheet.append(row)
    buffer = io.BytesIO()
    workbook.save(buffer)
    return SimpleUploadedFile(name, buffer.getvalue(), content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")


UPLOADS = {"csv": csv_upload, "xlsx": xlsx_upload}


def run_import(upload, by, django_capture_on_commit_callbacks) -> NumberImport:
    with django_capture_on_commit_callbacks(execute=True):
        started = pool_imports.number_import_start(by=by, upload=upload, language="en")
    started.refresh_from_db()
    return started


def numbers(n, start=0, prefix="1391"):
    return [f"{prefix}{i:07d}" for i in range(start, start + n)]


# --- broken rows ------------------------------------------------------------------

@pytest.mark.parametrize("kind", ["csv", "xlsx"])
def test_valid_rows_are_kept_and_each_bad_row_is_reported_with_its_row_number_and_reason(kind, clerk, django_capture_on_commit_callbacks):
    # given a pool that already holds one number, and a file mixing good and bad rows
    PoolNumberFactory(number="13900000009")
    rows = [
        HEADER,
        ["13900000001", "ordinary", "0", "first"],       # row 2: fine
        ["139-0000-0002", "lucky", "¥88.00", ""],         # row 3: fine, separators and a currency sign
        ["1390000", "", "", ""],                          # row 4: too short
        ["02223456789", "", "", ""],                      # row 5: a fixed line, not a mobile
        ["13900000003", "golden", "", ""],                # row 6: unknown class
        ["13900000004", "", "-5", ""],                    # row 7: negative fee
        ["13900000005", "", "lots", ""],                  # row 8: fee not an amount
        ["+86 139 0000 0001", "", "", ""],                # row 9: same as row 2
        ["13900000009", "", "", ""],                      # row 10: already in the pool
        ["", "", "", "a note without a number"],          # row 11: number missing
        ["", "", "", ""],                                 # row 12: blank, skipped silently
        ["13900008888", "", "", ""],                      # row 13: fine; class from the pattern
        ["13900000006", "premium", "1.005", ""],          # row 14: fee with three decimals
        ["13900000007", "", "", "x" * 201],               # row 15: note too long
    ]

    # when it is imported
    result = run_import(UPLOADS[kind](rows), clerk, django_capture_on_commit_callbacks)

    # then the valid rows are in the pool, and every bad row is listed with its row and reason
    assert result.status == NumberImport.Status.DONE
    assert set(PoolNumber.objects.values_list("number", flat=True)) == {"13900000001", "13900000002", "13900000009", "13900008888"}
    assert (result.created_count, result.error_count, result.processed_rows, result.total_rows) == (3, 10, 14, 14)
    reasons = {row: (number, message) for row, number, message in result.errors}
    assert sorted(reasons) == [4, 5, 6, 7, 8, 9, 10, 11, 14, 15]
    assert reasons[4] == ("1390000", "1390000 is not a valid mainland China service number.")
    assert "fixed line" in reasons[5][1]
    assert reasons[6] == ("13900000003", "Unknown class “golden”: use ordinary, lucky or premium.")
    assert reasons[7][1] == "The fee cannot be negative."
    assert reasons[8][1] == "The fee “lots” is not an amount."
    assert reasons[9] == ("13900000001", "Duplicate of row 2 in this file.")
    assert reasons[10] == ("13900000009", "Already in the pool.")
    assert reasons[11] == ("", "The number is missing.")
    assert "at most two decimals" in reasons[14][1]
    assert reasons[15][1] == "The note is longer than 200 characters."
    assert result.message == "Added: 3; refused: 10."


def test_rows_take_their_class_and_fee_or_the_defaults(clerk, django_capture_on_commit_callbacks):
    rows = [HEADER, ["13900000001", "Lucky", "66.6", "vip"], ["13900006666", "", "", ""], ["13900077777", "", "", ""], ["13900001357", "", "", ""]]

    run_import(csv_upload(rows), clerk, django_capture_on_commit_callbacks)

    got = {n.number: (n.number_class, n.price, n.note) for n in PoolNumber.objects.all()}
    assert got == {
        "13900000001": (NumberClass.LUCKY, Decimal("66.60"), "vip"),
        "13900006666": (NumberClass.LUCKY, Decimal("100.00"), ""),
        "13900077777": (NumberClass.PREMIUM, Decimal("500.00"), ""),
        "13900001357": (NumberClass.ORDINARY, Decimal("0.00"), ""),
    }


def test_xlsx_cells_typed_as_numbers_are_read_as_numbers(clerk, django_capture_on_commit_callbacks):
    # given Excel cells holding the number as an integer or a float and the fee as a float
    rows = [HEADER, [13900000001, None, 12.5, None], [13900000002.0, "premium", 300, None], [13900000003.5, None, None, None]]

    result = run_import(xlsx_upload(rows), clerk, django_capture_on_commit_callbacks)

    assert dict(PoolNumber.objects.values_list("number", "price")) == {"13900000001": Decimal("12.50"), "13900000002": Decimal("300.00")}
    assert [row for row, _n, _m in result.errors] == [4]


def test_a_gbk_csv_with_chinese_headers_and_semicolons_is_read(clerk, django_capture_on_commit_callbacks):
    # given a CSV as Excel on Chinese Windows saves it: GB18030, Chinese column names, semicolons
    rows = [["号码", "类别", "选号费", "备注"], ["13900000001", "靓号", "88", "新号段"], ["13900000002", "普通", "", ""]]

    result = run_import(csv_upload(rows, encoding="gb18030", delimiter=";"), clerk, django_capture_on_commit_callbacks)

    assert result.error_count == 0
    assert PoolNumber.objects.get(number="13900000001").number_class == NumberClass.LUCKY
    assert PoolNumber.objects.get(number="13900000001").note == "新号段"
    assert PoolNumber.objects.get(number="13900000002").number_class == NumberClass.ORDINARY


def test_a_utf8_csv_with_bom_and_only_a_number_column_is_read(clerk, django_capture_on_commit_callbacks):
    upload = SimpleUploadedFile("n.csv", "\ufeffnumber\r\n13900000001\r\n13900000002\r\n".encode())

    result = run_import(upload, clerk, django_capture_on_commit_callbacks)

    assert (result.created_count, result.error_count) == (2, 0)


# --- volume, progress -----------------------------------------------------------------

@pytest.mark.parametrize("kind", ["csv", "xlsx"])
def test_two_thousand_rows_are_imported_in_batches_with_progress_after_each(kind, clerk, django_capture_on_commit_callbacks, monkeypatch):
    # given 2,000 rows, every 100th one malformed, read in batches of 500
    monkeypatch.setattr(pool_imports, "BATCH_SIZE", 500)
    good = numbers(2000)
    rows = [["number"]] + [[n if i % 100 else "bad"] for i, n in enumerate(good)]
    progress = []
    commit_batch = pool_imports._commit_batch

    def spy(import_id, *args):
        commit_batch(import_id, *args)
        progress.append(NumberImport.objects.values_list("processed_rows", "created_count", "error_count").get(pk=import_id))

    monkeypatch.setattr(pool_imports, "_commit_batch", spy)

    # when it is imported
    result = run_import(UPLOADS[kind](rows), clerk, django_capture_on_commit_callbacks)

    # then each batch added to the counts as it committed, and the totals add up
    assert progress == [(500, 495, 5), (1000, 990, 10), (1500, 1485, 15), (2000, 1980, 20)]
    assert (result.status, result.total_rows, result.processed_rows) == (NumberImport.Status.DONE, 2000, 2000)
    assert PoolNumber.objects.count() == 1980
    assert [row for row, _n, _m in result.errors] == [2 + i for i in range(0, 2000, 100)]


def test_the_total_is_known_before_the_first_batch(clerk, django_capture_on_commit_callbacks, monkeypatch):
    monkeypatch.setattr(pool_imports, "BATCH_SIZE", 100)
    totals = []
    commit_batch = pool_imports._commit_batch

    def spy(import_id, *args):
        totals.append(NumberImport.objects.get(pk=import_id).total_rows)
        commit_batch(import_id, *args)

    monkeypatch.setattr(pool_imports, "_commit_batch", spy)

    run_import(xlsx_upload([["number"]] + [[n] for n in numbers(250)]), clerk, django_capture_on_commit_callbacks)

    assert totals == [250, 250, 250]


def test_only_the_first_thousand_errors_are_kept_but_all_are_counted(clerk, django_capture_on_commit_callbacks):
    rows = [["number"]] + [["12345"]] * 1200 + [["13900000001"]]

    result = run_import(csv_upload(rows), clerk, django_capture_on_commit_callbacks)

    assert (result.error_count, len(result.errors), result.created_count) == (1200, 1000, 1)
    assert result.errors[0][0] == 2 and result.errors[-1][0] == 1001


# --- idempotent, resumable --------------------------------------------------------------

def test_running_a_finished_import_again_does_nothing(clerk, django_capture_on_commit_callbacks):
    # given a finished import
    PoolNumberFactory(number="13900000000")
    result = run_import(csv_upload([["number"]] + [[n] for n in numbers(30, prefix="1390")]), clerk, django_capture_on_commit_callbacks)
    before = NumberImport.objects.values().get(pk=result.pk)

    # when its task runs again, as a re-delivered message would
    tasks.pool_import_run.delay(result.pk, "en")
    pool_imports.number_import_run(import_id=result.pk)

    # then nothing changes: no numbers added, no errors added
    assert NumberImport.objects.values().get(pk=result.pk) == before
    assert PoolNumber.objects.count() == 30
    assert before["created_count"] == 29 and before["errors"] == [[2, "13900000000", "Already in the pool."]]


def test_a_run_that_died_mid_way_resumes_after_its_last_committed_batch(clerk, django_capture_on_commit_callbacks, monkeypatch):
    # given an import of 250 rows in batches of 100, where row 252 repeats row 2 (the first batch)
    monkeypatch.setattr(pool_imports, "BATCH_SIZE", 100)
    good = numbers(249)
    rows = [["number"]] + [[n] for n in good] + [[good[0]]]
    commit_batch = pool_imports._commit_batch
    calls = []

    def dies_on_the_third_batch(*args):
        calls.append(1)
        if len(calls) == 3:
            raise OperationalError("server closed the connection unexpectedly")
        commit_batch(*args)

    # when the first run loses its database connection in the third batch
    with mock.patch.object(pool_imports, "_commit_batch", dies_on_the_third_batch), pytest.raises(OperationalError):
        with django_capture_on_commit_callbacks(execute=False) as callbacks:
            started = pool_imports.number_import_start(by=clerk, upload=csv_upload(rows), language="en")
        pool_imports.number_import_run(import_id=started.pk, language="en")
    started.refresh_from_db()
    assert (started.status, started.processed_rows, PoolNumber.objects.count()) == (NumberImport.Status.RUNNING, 200, 200)
    assert len(callbacks) == 1

    # and the task runs again (the retry)
    result = pool_imports.number_import_run(import_id=started.pk, language="en")

    # then it went on from row 202: every number once, the late repeat reported as a duplicate of row 2
    assert (result.status, result.processed_rows, result.created_count) == (NumberImport.Status.DONE, 250, 249)
    assert PoolNumber.objects.count() == 249
    assert result.errors == [[251, good[0], "Duplicate of row 2 in this file."]]


def test_a_run_that_finds_another_run_ahead_stops_without_writing(clerk, django_capture_on_commit_callbacks, monkeypatch):
    # given an import whose first batch another worker has already committed
    monkeypatch.setattr(pool_imports, "BATCH_SIZE", 10)
    with django_capture_on_commit_callbacks(execute=False):
        started = pool_imports.number_import_start(by=clerk, upload=csv_upload([["number"]] + [[n] for n in numbers(20)]), language="en")
    NumberImport.objects.filter(pk=started.pk).update(status=NumberImport.Status.RUNNING)

    # when this run commits its first batch only after the other run moved on
    commit_batch = pool_imports._commit_batch

    def other_run_ahead(import_id, offset, *args):
        if offset == 0:
            NumberImport.objects.filter(pk=import_id).update(processed_rows=10)
        commit_batch(import_id, offset, *args)

    monkeypatch.setattr(pool_imports, "_commit_batch", other_run_ahead)
    pool_imports.number_import_run(import_id=started.pk, language="en")

    # then it wrote nothing and left the import to the run that is ahead
    assert PoolNumber.objects.count() == 0
    assert NumberImport.objects.get(pk=started.pk).status == NumberImport.Status.RUNNING


def test_an_import_whose_file_is_gone_fails_with_a_message(clerk, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=False):
        started = pool_imports.number_import_start(by=clerk, upload=csv_upload([["number"], ["13900000001"]]), language="en")
    started.file.storage.delete(started.file.name)

    result = pool_imports.number_import_run(import_id=started.pk, language="en")

    assert result.status == NumberImport.Status.FAILED
    assert result.message == "The uploaded file is no longer there; upload it again."
    assert PoolNumber.objects.count() == 0


# --- refused uploads --------------------------------------------------------------------

OLD_XLS = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 100


@pytest.mark.parametrize(("name", "content", "message"), [
    ("numbers.csv", b"", "The file is empty."),
    ("numbers.txt", b"number\n13900000001\n", "Upload a CSV (.csv) or Excel (.xlsx) file."),
    ("numbers.xlsx", OLD_XLS, "This is not an .xlsx workbook."),
    ("numbers.xls", OLD_XLS, "Upload a CSV (.csv) or Excel (.xlsx) file."),
    ("numbers.csv", OLD_XLS, "This is an Excel file, not CSV."),
    ("numbers.xlsx", b"PK\x03\x04 not really a zip", "could not be read as an Excel workbook"),
    ("numbers.csv", b"13900000001\n13900000002\n", "The first row must name the columns"),
    ("numbers.csv", b"number,class\n", "The file has a header row but no numbers."),
    ("numbers.csv", b"number\n\n,\n", "The file has a header row but no numbers."),
])
def test_unusable_files_are_refused_at_upload_with_a_message(clerk, name, content, message):
    with pytest.raises(ValidationError) as refused:
        pool_imports.number_import_start(by=clerk, upload=SimpleUploadedFile(name, content), language="en")

    assert message in " ".join(refused.value.messages)
    assert not NumberImport.objects.exists()


def test_a_file_over_the_size_limit_is_refused(clerk, monkeypatch):
    monkeypatch.setattr(pool_imports, "MAX_UPLOAD_BYTES", 1024 * 1024)
    upload = csv_upload([["number"]] + [[n] for n in numbers(100_000)])

    with pytest.raises(ValidationError) as refused:
        pool_imports.number_import_start(by=clerk, upload=upload, language="en")

    assert "the limit is 1 MB" in refused.value.messages[0]


def test_a_file_with_too_many_rows_fails_before_writing_anything(clerk, django_capture_on_commit_callbacks, monkeypatch):
    monkeypatch.setattr(pool_imports, "MAX_ROWS", 50)

    result = run_import(csv_upload([["number"]] + [[n] for n in numbers(51)]), clerk, django_capture_on_commit_callbacks)

    assert result.status == NumberImport.Status.FAILED
    assert "the limit is 50" in result.message
    assert PoolNumber.objects.count() == 0



def test_an_import_that_stopped_on_an_unexpected_error_goes_on_when_started_again(clerk, django_capture_on_commit_callbacks, monkeypatch):
    # given an import of 30 rows in batches of 10 that hits a bug on row 25
    monkeypatch.setattr(pool_imports, "BATCH_SIZE", 10)
    good = numbers(30)
    check_row = pool_imports.check_row

    def buggy(cells, columns):
        if cells[0] == good[23]:
            raise RuntimeError("a bug")
        return check_row(cells, columns)

    monkeypatch.setattr(pool_imports, "check_row", buggy)
    stopped = run_import(csv_upload([["number"]] + [[n] for n in good]), clerk, django_capture_on_commit_callbacks)
    assert (stopped.status, stopped.processed_rows, PoolNumber.objects.count()) == (NumberImport.Status.FAILED, 20, 20)
    assert stopped.message.startswith("The import stopped unexpectedly.")

    # when the bug is fixed and the import is started again
    monkeypatch.setattr(pool_imports, "check_row", check_row)
    with django_capture_on_commit_callbacks(execute=True):
        pool_imports.number_import_restart(import_id=stopped.pk, language="en")

    # then it went on after row 21 and finished with every number once
    stopped.refresh_from_db()
    assert (stopped.status, stopped.processed_rows, stopped.created_count, stopped.error_count) == (NumberImport.Status.DONE, 30, 30, 0)
    assert PoolNumber.objects.count() == 30


def test_restarting_a_finished_import_does_nothing(clerk, django_capture_on_commit_callbacks):
    done = run_import(csv_upload([["number"], ["13900000001"]]), clerk, django_capture_on_commit_callbacks)

    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        pool_imports.number_import_restart(import_id=done.pk, language="en")

    assert callbacks == []
    assert NumberImport.objects.get(pk=done.pk).status == NumberImport.Status.DONE


@pytest.mark.parametrize(("number", "expected"), [
    ("13912345670", NumberClass.ORDINARY),
    ("13912345678", NumberClass.LUCKY),   # 5678
    ("13900001357", NumberClass.ORDINARY),
    ("13900008889", NumberClass.ORDINARY),
    ("13900008888", NumberClass.LUCKY),   # AAAA
    ("13900006688", NumberClass.LUCKY),   # AABB
    ("13900001818", NumberClass.LUCKY),   # ABAB
    ("13900001234", NumberClass.LUCKY),   # a rising run
    ("13900006789", NumberClass.LUCKY),
    ("13900088888", NumberClass.PREMIUM),  # five alike
    ("13966666666", NumberClass.PREMIUM),
])
def test_the_class_a_number_suggests_comes_from_its_tail(number, expected):
    from orders.services import pool_number_class_for

    assert pool_number_class_for(number) == expected
