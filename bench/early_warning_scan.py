"""How long does the early-warning scan take over a big complaints table?

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/sd_warning_bench \\
        .venv/bin/python bench/early_warning_scan.py --complaints 1000000 --runs 7

Migrates, then (unless the table already holds that many) seeds --complaints complaints with
PostgreSQL COPY in batches of --batch rows, spread over --categories categories, --areas service
areas and the last 30 days, plus a wave of 500 complaints of one category and area in the last
10 minutes. Loads the default ladder (30 / 100 / 300 in 10 minutes), ANALYZEs, and times
``early_warning_scan(now=...)`` at a fixed moment: the first run (raises and tells the wave) and
the p50 / max of the following runs (the steady state the beat sees every minute). Prints the
plan of the grouped window query too. It prints; it does not assert. PostgreSQL only.
"""
import argparse
import io
import os
import random
import statistics
import sys
import time
from datetime import timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "servicedesk.settings")


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--complaints", type=int, default=1_000_000)
    parser.add_argument("--categories", type=int, default=40)
    parser.add_argument("--areas", type=int, default=60)
    parser.add_argument("--batch", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--seed", type=int, default=7)
    return parser.parse_args()


def seed(args, now):
    from django.db import connection

    from complaints.models import Complaint, ComplaintCategory
    from servicedesk.models import Customer, Department, ServiceArea, User

    owner, _ = User.objects.get_or_create(username="bench_ew_agent")
    head, _ = User.objects.get_or_create(username="bench_ew_head", defaults={"mobile": "13900009999"})
    department, _ = Department.objects.get_or_create(code="BENCHEW", defaults={"name": "Bench department", "head": head})
    categories = [ComplaintCategory.objects.get_or_create(code=f"BEW{i:03d}", defaults={"name": f"Bench kind {i}", "department": department})[0].pk
                  for i in range(args.categories)]
    areas = [ServiceArea.objects.get_or_create(code=f"BEW{i:03d}", defaults={"name": f"Bench area {i}", "district": "Heping"})[0].pk
             for i in range(args.areas)]
    customer = Customer.objects.filter(name="Bench EW").first() or Customer.objects.create(
        name="Bench EW", id_type="resident_id", id_number="110101199003070000", address="-")
    have = Complaint.objects.filter(category_id__in=categories).count()
    wanted = args.complaints - have
    if wanted <= 0:
        print(f"{have} bench complaints already there")
        return
    rng = random.Random(args.seed)
    span = 30 * 24 * 3600
    columns = ("customer_id", "category_id", "severity", "service_number", "description", "channel", "status", "received_at", "due_at",
               "resolution", "escalated", "escalation_reason", "appeal", "reopen_count", "external_id", "area_id", "first_ask_owner_id")
    started = time.perf_counter()
    written = 0
    while written < wanted:
        n = min(args.batch, wanted - written)
        out = io.StringIO()
        for i in range(n):
            if written + i < 500:  # the wave: one category and area, the last 10 minutes
                at = now - timedelta(seconds=rng.uniform(1, 599))
                category, area = categories[0], areas[0]
            else:
                at = now - timedelta(seconds=rng.uniform(600, span))  # background, none in the current window
                category, area = rng.choice(categories), (rng.choice(areas) if rng.random() < 0.9 else None)
            out.write("\t".join(map(str, (
                customer.pk, category, "normal", "", "bench", "hotline", "closed", at.isoformat(), (at + timedelta(hours=48)).isoformat(),
                "", "f", "", "f", 0, "", area if area is not None else "\\N", owner.pk))) + "\n")
        out.seek(0)
        with connection.cursor() as cursor:
            cursor.cursor.copy_expert(f"COPY complaints_complaint ({', '.join(columns)}) FROM STDIN", out)
        written += n
        print(f"  seeded {have + written} complaints ({time.perf_counter() - started:.0f} s)", flush=True)
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE complaints_complaint")


def main():
    args = parse_args()
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection
    from django.utils import timezone

    if connection.vendor != "postgresql":
        sys.exit("Set DATABASE_URL to a PostgreSQL database.")
    call_command("migrate", verbosity=0)
    from complaints import demo_warning
    from complaints.models import Alert, AlertNotice, Complaint
    from complaints.services.early_warning import _window_counts, early_warning_scan

    now = timezone.now().replace(microsecond=0)
    seed(args, now)
    demo_warning.seed(log=lambda *_: None)
    AlertNotice.objects.all().delete()
    Alert.objects.all().delete()
    total = Complaint.objects.count()
    # The wave was seeded relative to the seeding time: scan at the newest complaint's moment.
    now = Complaint.objects.order_by("-received_at").values_list("received_at", flat=True).first() + timedelta(seconds=1)

    received = Complaint.objects.filter(received_at__gt=now - timedelta(minutes=10), received_at__lte=now)
    from django.db.models import Count

    for name, qs in (("by category", received.order_by().values("category_id").annotate(n=Count("id"))),
                     ("by category and area", received.filter(area__isnull=False).order_by().values("category_id", "area_id").annotate(n=Count("id")))):
        print(f"plan, {name}:\n  " + qs.explain(analyze=True).replace("\n", "\n  "))

    t = time.perf_counter()
    first = early_warning_scan(now=now)
    first_ms = (time.perf_counter() - t) * 1000
    times = []
    for i in range(args.runs):
        t = time.perf_counter()
        early_warning_scan(now=now + timedelta(seconds=i + 1))
        times.append((time.perf_counter() - t) * 1000)
    t = time.perf_counter()
    _window_counts(minutes=10, now=now)
    counts_ms = (time.perf_counter() - t) * 1000
    print(f"complaints in the table: {total}")
    print(f"first scan (raises the wave, tells 3 levels): {first_ms:.1f} ms  -> {first}")
    print(f"steady-state scan over {args.runs} runs: p50 {statistics.median(times):.1f} ms, max {max(times):.1f} ms")
    print(f"the two grouped window queries alone: {counts_ms:.1f} ms")


if __name__ == "__main__":
    main()
