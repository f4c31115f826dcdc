"""How fast does a 100,000-row number import run, and how much memory does it take?

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/sd_bench_pool \\
        .venv/bin/python bench/pool_import.py --rows 100000

Generates a CSV and an XLSX file of --rows rows each (about 1 % malformed numbers,
0.2 % repeated within the file, 10 % with a class, fee and note), then, for each
file, in a fresh child process so that its memory is its own:

  check    the upload check the web request does (type, header, encoding)
  import   ``number_import_run``, the work of the Celery task, in-process
  export   the export of the numbers just imported, CSV (streamed) and XLSX (``--export``)

and prints seconds, rows per second and the child's peak resident memory above
its baseline after Django start-up (``ru_maxrss``), plus the import's counts.
It prints; it does not assert. It adds numbers with its own prefixes (166 for
the CSV, 199 for the XLSX) and removes them again unless --keep; use a database
of its own all the same (migrated first: ``manage.py migrate``).
"""
import argparse
import csv
import json
import os
import random
import resource
import subprocess
import sys
import tempfile
import time
import warnings
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "servicedesk.settings")

PREFIXES = {"csv": "166", "xlsx": "199"}
HEADER = ["number", "class", "fee", "note"]


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=100_000, help="Rows per file (default 100000).")
    parser.add_argument("--formats", default="csv,xlsx", help="Which files to import (default csv,xlsx).")
    parser.add_argument("--export", action="store_true", help="Also time the CSV and XLSX exports of the imported numbers.")
    parser.add_argument("--keep", action="store_true", help="Leave the imported numbers in the database.")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--child", nargs=2, metavar=("MODE", "FILE"), help=argparse.SUPPRESS)
    return parser.parse_args()


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # kilobytes on Linux


# --- the files -----------------------------------------------------------------------

def rows_for(prefix: str, count: int, rng: random.Random):
    previous = None
    for i in range(count):
        number = f"{prefix}{i:08d}"
        if i and i % 500 == 0:
            number = previous  # a repeat within the file
        elif i % 100 == 1:
            number = f"{prefix}{i:05d}"  # too short
        previous = number
        if i % 10 == 3:
            yield [number, rng.choice(["lucky", "premium", "ordinary"]), f"{rng.randint(0, 999)}.00", "批量导入"]
        else:
            yield [number, "", "", ""]


def write_files(directory: Path, count: int, formats: list[str], seed: int) -> dict[str, Path]:
    from openpyxl import Workbook

    files = {}
    if "csv" in formats:
        files["csv"] = directory / "numbers.csv"
        with open(files["csv"], "w", newline="", encoding="utf-8") as out:
            writer = csv.writer(out)
            writer.writerow(HEADER)
            writer.writerows(rows_for(PREFIXES["csv"], count, random.Random(seed)))
    if "xlsx" in formats:
        files["xlsx"] = directory / "numbers.xlsx"
        workbook = Workbook(write_only=True)
        sheet = workbook.create_sheet("numbers")
        sheet.append(HEADER)
        for row in rows_for(PREFIXES["xlsx"], count, random.Random(seed)):
            sheet.append(row)
        workbook.save(files["xlsx"])
    return files


# --- one measurement, in a child process ----------------------------------------------------

def child(mode: str, path: str) -> None:
    import django

    warnings.filterwarnings("ignore", message="No directory at")
    django.setup()
    from django.conf import settings
    from django.core.files import File
    from django.db import connection

    from orders import pool_imports
    from orders.models import NumberImport, PoolNumber
    from servicedesk.models import User

    settings.DEBUG = False  # no query log growing with every batch
    settings.MEDIA_ROOT = str(Path(path).parent / "media")
    kind = Path(path).suffix.lstrip(".")
    prefix = PREFIXES[kind]
    user, _created = User.objects.get_or_create(username="bench_pool_import")
    baseline = peak_rss_mb()
    result = {"mode": mode, "kind": kind, "database": connection.vendor}

    if mode == "import":
        PoolNumber.objects.filter(number__startswith=prefix).delete()
        with open(path, "rb") as handle:
            upload = File(handle, name=Path(path).name)
            started = time.perf_counter()
            pool_imports.check_upload(upload)
            result["check_seconds"] = time.perf_counter() - started
            pool_imports._enqueue = lambda import_id, language: None  # the bench runs the task's work itself, timed
            number_import = pool_imports.number_import_start(by=user, upload=upload, language="en")
        started = time.perf_counter()
        done = pool_imports.number_import_run(import_id=number_import.pk, language="en")
        result["seconds"] = time.perf_counter() - started
        result.update(rows=done.processed_rows, created=done.created_count, refused=done.error_count, status=done.status, message=done.message)
        NumberImport.objects.filter(pk=done.pk).delete()
    else:
        from django.test import Client

        client = Client()
        from django.contrib.auth.models import Group

        user.groups.add(Group.objects.get(name="back_office"))
        client.force_login(user)
        started = time.perf_counter()
        export_format = mode.split("-")[1]
        response = client.get("/numbers/export/", {"digits": prefix, "match": "prefix", "format": export_format})
        size = lines = 0
        for chunk in response.streaming_content:
            size += len(chunk)
            lines += chunk.count(b"\n")
        result["seconds"] = time.perf_counter() - started
        if export_format == "xlsx":
            lines = PoolNumber.objects.filter(number__startswith=prefix).count() + 1
        result.update(rows=lines - 1, megabytes=round(size / 1024 / 1024, 1), http=response.status_code)
    result["peak_mb_above_baseline"] = peak_rss_mb() - baseline
    print(json.dumps(result))


def run_child(mode: str, path: Path) -> dict:
    output = subprocess.run([sys.executable, __file__, "--child", mode, str(path)], capture_output=True, text=True, check=False)
    lines = [line for line in output.stdout.splitlines() if line.startswith("{")]
    if output.returncode or not lines:
        print(output.stdout[-2000:], output.stderr[-4000:], file=sys.stderr)
        raise SystemExit(f"the {mode} of {path.name} failed")
    return json.loads(lines[-1])


def cleanup(formats: list[str]) -> None:
    import django

    django.setup()
    from orders.models import PoolNumber

    for kind in formats:
        PoolNumber.objects.filter(number__startswith=PREFIXES[kind]).delete()


def main():
    args = parse_args()
    if args.child:
        child(*args.child)
        return
    formats = [f.strip() for f in args.formats.split(",") if f.strip() in PREFIXES]
    with tempfile.TemporaryDirectory(prefix="pool-import-bench-") as directory:
        started = time.perf_counter()
        files = write_files(Path(directory), args.rows, formats, args.seed)
        print(f"generated {args.rows:,} rows per file in {time.perf_counter() - started:.1f} s: "
              + ", ".join(f"{kind} {path.stat().st_size / 1024 / 1024:.1f} MB" for kind, path in files.items()))
        print(f"{'file':<6}{'step':<8}{'seconds':>9}{'rows/s':>10}{'peak MB':>9}  result")
        for kind, path in files.items():
            measured = run_child("import", path)
            if measured["database"] != "postgresql":
                print(f"  (on {measured['database']}: production runs on PostgreSQL, read these figures as indicative)")
            print(f"{kind:<6}{'check':<8}{measured['check_seconds']:>9.2f}{'':>10}{'':>9}  upload check in the web request")
            print(f"{kind:<6}{'import':<8}{measured['seconds']:>9.1f}{measured['rows'] / measured['seconds']:>10,.0f}"
                  f"{measured['peak_mb_above_baseline']:>9.1f}  {measured['status']}: {measured['created']:,} added, {measured['refused']:,} refused")
            for export_format in ("csv", "xlsx") if args.export else ():
                exported = run_child(f"export-{export_format}", path)
                print(f"{kind:<6}{'export':<8}{exported['seconds']:>9.1f}{exported['rows'] / exported['seconds']:>10,.0f}"
                      f"{exported['peak_mb_above_baseline']:>9.1f}  {exported['rows']:,} rows as {export_format}, {exported['megabytes']} MB sent (HTTP {exported['http']})")
    if not args.keep:
        cleanup(formats)


if __name__ == "__main__":
    main()
