"""How many complaints a second does the API take, and how fast does it answer?

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/sd_complaint_bench \\
        .venv/bin/python bench/complaint_create.py --requests 300 --concurrency 1,8,32

Seeds the database (reference data and api1 as ``manage.py seed_demo``, --customers
customers, a complaint category routed to a department), starts a real gunicorn on a
free port against it (the same server handling as bench/order_submit.py), then from
client threads with keep-alive connections sends ``POST /api/v1/complaints/`` (each with
its own Idempotency-Key; each complaint is routed at once: deadline, work order) at
each concurrency level, and prints throughput and p50/p99/max latency in ms. It checks
that one complaint exists per 201. It prints; it does not assert.
"""
import argparse
import os
import random
import sys
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(Path(__file__).resolve().parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "servicedesk.settings")

from order_submit import free_port, run_level, start_server, stop_server  # noqa: E402  (the same server and clients)

CATEGORY_CODE = "BENCH-NETWORK"


def parse_args():
    cpus = os.cpu_count() or 1
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--requests", type=int, default=300, help="Timed complaints per concurrency level (default 300).")
    parser.add_argument("--concurrency", default="1,8,32", help="Client threads per level (default 1,8,32).")
    parser.add_argument("--customers", type=int, default=500, help="Customers to have in the database (seeded if fewer).")
    parser.add_argument("--workers", type=int, default=2 * cpus, help="gunicorn worker processes (default 2 x CPUs).")
    parser.add_argument("--threads", type=int, default=1, help="Threads per worker (1 = sync workers, the default).")
    return parser.parse_args()


def seed(args) -> dict:
    import django

    django.setup()
    from django.db import connection

    from complaints.models import ComplaintCategory
    from servicedesk import demo
    from servicedesk.models import Customer, Department

    if connection.vendor != "postgresql":
        print("Warning: not PostgreSQL; the figures say little about production.")
    result = demo.seed_reference(log=lambda line: None)
    demo.seed_customers(args.customers, log=lambda line: None, result=demo.SeedResult())
    department = Department.objects.order_by("code").first()
    ComplaintCategory.objects.update_or_create(code=CATEGORY_CODE, defaults={"name": "Bench network", "department": department, "time_limit_hours": 48})
    from complaints.models import Complaint

    customers = list(Customer.objects.order_by("id").values_list("id", flat=True)[: args.customers])
    before = Complaint.objects.filter(category__code=CATEGORY_CODE).count()
    connection.close()
    return {"token": result.api_token, "customers": customers, "before": before}


def main():
    args = parse_args()
    data = seed(args)
    rng = random.Random(7)
    port = free_port()
    server = start_server(args, port)
    print(f"gunicorn on 127.0.0.1:{port}: {args.workers} workers x {args.threads} threads")
    print(f"{'endpoint':<8} {'clients':>7} {'n':>6} {'req/s':>9} {'p50':>8} {'p99':>8} {'max':>8}  statuses")
    created = 0
    try:
        for clients in [int(c) for c in args.concurrency.split(",")]:
            jobs = [
                ("POST", "/api/v1/complaints/", {
                    "customer": rng.choice(data["customers"]), "category": CATEGORY_CODE, "severity": "normal",
                    "description": "Bench: no signal in the evening.", "channel": "web_hall",
                }, {"Idempotency-Key": uuid.uuid4().hex})
                for _ in range(args.requests)
            ]
            level = run_level("complain", clients, jobs, port, data["token"], expected=201)
            created += len(level.created)
            print(level.row())
            if level.note:
                print("  first unexpected answer:", level.note)
    finally:
        stop_server(server)
    from complaints.models import Complaint

    stored = Complaint.objects.filter(category__code=CATEGORY_CODE).count() - data["before"]
    print(f"Complaints answered 201: {created}; new complaints stored: {stored} (must be equal: one per 201)")


if __name__ == "__main__":
    main()
