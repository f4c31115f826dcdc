"""How many carrier tracking events a second does the API accept, how fast, and are replays ignored?

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/sd_carrier_bench \\
        .venv/bin/python bench/carrier_events.py --events 3000 --concurrency 32 --duplicates 0.2

Seeds the database (reference data and customers as ``manage.py seed_demo``, a hall store,
a carrier with a signing key, and one shipment handed to that carrier per three events:
its order handed to delivery, its SIM shipped), starts a real gunicorn on a free local port
as bench/order_submit.py does, then from a pool of client threads, each with its own
keep-alive HTTP connection, sends signed single-event requests to
``POST /api/v1/carrier/events/``:

  in_transit, out_for_delivery, delivered     for every shipment, shipments interleaved
  the same request again                       for a share (--duplicates) of them, later in
                                               the run (so sometimes while the first is
                                               still in flight)

It prints events accepted per second and p50/p99/max latency in ms per concurrency level,
the answers (applied / stored / duplicate), and then checks in the database that each
duplicated event is stored once and that exactly one of its two answers was "duplicate",
and that every shipment ended delivered after exactly one delivery. It prints; it does
not assert. Meaningful only on PostgreSQL (see bench/README.md).

The outbox work an event causes (the SMS before delivery, billing's activation after it)
is queued in the same transaction as always, but by default not run inside the server's
requests (``CELERY_TASK_ALWAYS_EAGER=0`` with the in-memory broker): in production a Celery
worker runs it elsewhere. ``--eager-outbox`` runs it in the request instead.
"""
import argparse
import json
import os
import random
import sys
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "servicedesk.settings")

from order_submit import Client, free_port, percentile, start_server, stop_server  # noqa: E402  (the same server and client)

EVENTS_PATH = "/api/v1/carrier/events/"
CARRIER_CODE = "BENCH-EXPRESS"
KEY_ID = "bench-carrier-key"
EVENTS_PER_SHIPMENT = 3


def parse_args():
    cpus = os.cpu_count() or 1
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--events", type=int, default=3000, help="Timed requests per concurrency level, duplicates included (default 3000).")
    parser.add_argument("--duplicates", type=float, default=0.2, help="Share of the requests that repeat an earlier one (default 0.2).")
    parser.add_argument("--concurrency", default="32", help="Client threads per level, comma-separated (default 32).")
    parser.add_argument("--warmup", type=int, default=60, help="Untimed events before measuring (default 60).")
    parser.add_argument("--customers", type=int, default=500, help="Customers to have in the database (seeded if fewer).")
    parser.add_argument("--workers", type=int, default=2 * cpus, help=f"gunicorn worker processes (default 2 x CPUs = {2 * cpus}).")
    parser.add_argument("--threads", type=int, default=1, help="Threads per worker (gthread worker class; 1 = sync workers). Default 1.")
    parser.add_argument("--port", type=int, default=0, help="Port for gunicorn (default: a free one).")
    parser.add_argument("--eager-outbox", action="store_true", help="Run the outbox work (SMS, billing) inside the requests.")
    parser.add_argument("--seed", type=int, default=7, help="Random seed of the event order.")
    return parser.parse_args()


# --- Data -------------------------------------------------------------------------------------

def seed(args, shipments_needed: int, run_id: str) -> dict:
    """A hall, a carrier with a key, and ``shipments_needed`` shipments handed to it; returns what the clients need."""
    from django.core.management import call_command
    from django.db import connection, transaction
    from django.utils import timezone

    from delivery.models import (
        Carrier, CarrierCredential, CarrierService, SerialUnit, Shipment, ShipmentStatus, ShipmentTransition, Sku, StockReservation, Warehouse,
    )
    from orders.models import Flow, ItemKind, Order, OrderStatus, Product, ProductCategory
    from servicedesk import demo
    from servicedesk.models import Customer, TariffPlan

    call_command("migrate", verbosity=0)
    result = demo.seed_reference(log=lambda line: None)
    demo.seed_customers(args.customers, log=lambda line: None, result=result)
    now = timezone.now()
    with transaction.atomic():
        company, _ = Warehouse.objects.get_or_create(code="BENCH-CO", defaults={"name": "Bench company store", "level": 1})
        branch, _ = Warehouse.objects.get_or_create(code="BENCH-BR", defaults={"name": "Bench branch store", "level": 2, "parent": company})
        hall, _ = Warehouse.objects.get_or_create(code="BENCH-HALL", defaults={"name": "Bench hall store", "level": 3, "parent": branch})
        category, _ = ProductCategory.objects.update_or_create(
            code="BENCH-SIM", defaults={"name": "Bench SIM cards", "flow": Flow.BACK_OFFICE, "acceptance_limit_hours": 24}
        )
        product, _ = Product.objects.update_or_create(
            code="BENCH-SIM-5G",
            defaults={"name": "Bench 5G SIM", "category": category, "needs_number": True, "item_kind": ItemKind.SIM,
                      "item_model": "Bench USIM", "tariff_plan": TariffPlan.objects.order_by("code").first(), "active": True},
        )
        sku, _ = Sku.objects.get_or_create(item_model="Bench USIM", defaults={
            "code": "BENCH-USIM", "name": "Bench USIM", "item_kind": ItemKind.SIM, "tracking": Sku.Tracking.SERIALISED})
        carrier, _ = Carrier.objects.update_or_create(
            code=CARRIER_CODE, defaults={"name": "Bench Express", "kind": Carrier.Kind.EXPRESS, "promised_hours": 48, "active": True}
        )
        CarrierService.objects.get_or_create(carrier=carrier, item_kind=ItemKind.SIM)
        credential, _ = CarrierCredential.objects.update_or_create(
            key_id=KEY_ID, defaults={"carrier": carrier, "secret": uuid.uuid4().hex + uuid.uuid4().hex, "active": True}
        )
        customers = list(Customer.objects.order_by("id").values_list("id", flat=True)[: args.customers])
        # Orders handed to delivery, each SIM with the carrier, each shipment handed over: what the clerk's steps leave.
        orders = Order.objects.bulk_create([
            Order(customer_id=customers[n % len(customers)], product=product, flow=Flow.BACK_OFFICE, status=OrderStatus.HANDED_TO_DELIVERY,
                  price=product.price, delivery_address="天津市和平区南京路100号", appointment_date=timezone.localdate() + timedelta(days=1),
                  appointment_slot="morning", submitted_at=now, accepted_at=now)
            for n in range(shipments_needed)
        ], batch_size=1000)
        serial_base = 89860000000000000000 + SerialUnit.objects.filter(sku=sku).count()
        units = SerialUnit.objects.bulk_create([
            SerialUnit(sku=sku, serial=str(serial_base + n), warehouse=None, status=SerialUnit.Status.SHIPPED, order=order)
            for n, order in enumerate(orders)
        ], batch_size=1000)
        StockReservation.objects.bulk_create([
            StockReservation(order=order, warehouse=hall, sku=sku, unit=unit, status=StockReservation.Status.SHIPPED)
            for order, unit in zip(orders, units, strict=True)
        ], batch_size=1000)
        shipments = Shipment.objects.bulk_create([
            Shipment(order=order, warehouse=hall, carrier=carrier, tracking_number=f"B{run_id}{n:07d}", status=ShipmentStatus.HANDED_TO_CARRIER,
                     appointment_date=order.appointment_date, appointment_slot="morning", amount_due=order.price, created_at=now)
            for n, order in enumerate(orders)
        ], batch_size=1000)
        ShipmentTransition.objects.bulk_create([
            ShipmentTransition(shipment=s, from_state="picked", to_state="handed_to_carrier", transition="hand_to_carrier") for s in shipments
        ], batch_size=1000)
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE delivery_shipment, delivery_trackingevent, orders_order, delivery_stockreservation, delivery_serialunit")
    return {"secret": credential.secret, "shipments": [(s.pk, s.tracking_number) for s in shipments]}


def event_jobs(shipments: list, run_id: str, rng: random.Random, start) -> list[dict]:
    """in_transit, out_for_delivery, delivered per shipment, in occurrence order per shipment, shipments interleaved."""
    per_shipment = []
    for pk, tracking in shipments:
        t = start + timedelta(seconds=rng.randint(0, 600))
        per_shipment.append([
            {"event_id": f"{run_id}-{pk}-1", "tracking_number": tracking, "code": "in_transit", "occurred_at": t.isoformat()},
            {"event_id": f"{run_id}-{pk}-2", "tracking_number": tracking, "code": "out_for_delivery", "occurred_at": (t + timedelta(minutes=30)).isoformat()},
            {"event_id": f"{run_id}-{pk}-3", "tracking_number": tracking, "code": "delivered", "occurred_at": (t + timedelta(minutes=75)).isoformat(),
             "signed_by": "张三", "id_checked": True, "amount_collected": "50.00", "payment_method": "cash"},
        ])
    rng.shuffle(per_shipment)
    jobs = []
    # Round robin over a window of shipments: each shipment's events are some tens of requests apart.
    window = 40
    for first in range(0, len(per_shipment), window):
        group = per_shipment[first:first + window]
        for step in range(EVENTS_PER_SHIPMENT):
            jobs.extend(events[step] for events in group)
    return jobs


def with_duplicates(originals: list[dict], count: int, rng: random.Random) -> list[dict]:
    """Insert ``count`` repeats, each somewhere after its original (1 to 200 requests later)."""
    jobs = list(originals)
    for original_index in sorted(rng.sample(range(len(originals)), count), reverse=True):
        position = min(len(jobs), original_index + 1 + rng.randint(0, 200))
        jobs.insert(position, originals[original_index])
    return jobs


# --- Measuring ---------------------------------------------------------------------------------

class Level:
    def __init__(self, clients: int):
        self.clients = clients
        self.ms: list[float] = []
        self.statuses: dict[int, int] = {}
        self.results: dict[str, int] = {}
        self.answers: dict[str, list[str]] = {}  # event id -> the results its requests got
        self.seconds = 0.0
        self.note = ""

    @property
    def throughput(self) -> float:
        return len(self.ms) / self.seconds if self.seconds else 0.0

    def p(self, share: float) -> float:
        return percentile(sorted(self.ms), share)

    def row(self) -> str:
        statuses = " ".join(f"{code}x{count}" for code, count in sorted(self.statuses.items()))
        results = " ".join(f"{name}={count}" for name, count in sorted(self.results.items()))
        return (
            f"{self.clients:>7} {len(self.ms):>6} {self.throughput:>9.1f} {self.p(0.50):>8.1f} {self.p(0.99):>8.1f} "
            f"{max(self.ms, default=float('nan')):>8.1f}  {statuses}  {results}"
        )


def run_level(clients: int, jobs: list[dict], port: int, secret: str) -> Level:
    from delivery.carrier_auth import signed_headers

    level = Level(clients)
    lock = threading.Lock()
    queue = iter(jobs)
    pool = [Client(port) for _ in range(clients)]

    def work(client: Client):
        while True:
            with lock:
                job = next(queue, None)
            if job is None:
                return
            raw = json.dumps(job, ensure_ascii=False).encode()
            started = time.perf_counter()
            # Signed at sending, as a carrier's system does (the HMAC costs microseconds).
            headers = {"Content-Type": "application/json", "Accept": "application/json",
                       **signed_headers(key_id=KEY_ID, secret=secret, body=raw)}
            status, content = client.send("POST", EVENTS_PATH, headers=headers, raw=raw)
            elapsed = (time.perf_counter() - started) * 1000
            result = "?"
            if status == 200:
                result = json.loads(content)["results"][0]["result"]
            with lock:
                level.ms.append(elapsed)
                level.statuses[status] = level.statuses.get(status, 0) + 1
                level.results[result] = level.results.get(result, 0) + 1
                level.answers.setdefault(job["event_id"], []).append(result)
                if status != 200 and not level.note:
                    level.note = f"at {clients} clients: status {status}: {content[:300]!r}"

    started = time.perf_counter()
    with ThreadPoolExecutor(max_workers=clients) as executor:
        for future in [executor.submit(work, client) for client in pool]:
            future.result()
    level.seconds = time.perf_counter() - started
    for client in pool:
        client.close()
    return level


# --- Checking what was measured ------------------------------------------------------------------

def verify(level: Level, shipment_ids: list[int]) -> dict:
    """Against the database: every event id stored once; each duplicated id answered "duplicate" exactly once;
    every shipment delivered after exactly one attempt and one delivery."""
    from django.db.models import Count

    from delivery.models import Shipment, ShipmentStatus, ShipmentTransition, TrackingEvent

    ids = list(level.answers)
    stored = dict(
        TrackingEvent.objects.filter(event_id__in=ids).values("event_id").annotate(n=Count("id")).values_list("event_id", "n")
    )
    repeated = {event_id: answers for event_id, answers in level.answers.items() if len(answers) > 1}
    ignored = sum(
        1 for event_id, answers in repeated.items()
        if stored.get(event_id) == 1 and answers.count("duplicate") == len(answers) - 1 and "?" not in answers
    )
    shipments = Shipment.objects.filter(pk__in=shipment_ids)
    delivered_once = shipments.filter(status=ShipmentStatus.DELIVERED, attempts=1).count()
    deliveries = dict(
        ShipmentTransition.objects.filter(shipment_id__in=shipment_ids, transition="deliver")
        .values("shipment_id").annotate(n=Count("id")).values_list("shipment_id", "n")
    )
    return {
        "event_ids": len(ids),
        "stored_once": sum(1 for event_id in ids if stored.get(event_id) == 1),
        "repeated": len(repeated),
        "ignored": ignored,
        "shipments": len(shipment_ids),
        "delivered_once": delivered_once,
        "double_deliveries": sum(1 for n in deliveries.values() if n > 1),
    }


def main():
    args = parse_args()
    levels = [int(c) for c in args.concurrency.split(",") if c.strip()]
    if not 0 <= args.duplicates < 1:
        raise SystemExit("--duplicates is a share below 1, e.g. 0.2")
    if not args.eager_outbox:
        os.environ["CELERY_TASK_ALWAYS_EAGER"] = "0"  # read by the server's settings: queue outbox work, do not run it in the request

    import django

    django.setup()
    from django.conf import settings
    from django.db import connection
    from django.utils import timezone

    if connection.vendor != "postgresql":
        raise SystemExit("Run it against PostgreSQL (DATABASE_URL=postgres://...): SQLite serialises every write and says nothing about production.")
    print(f"Database: {connection.vendor} {settings.DATABASES['default']['NAME']}; {os.cpu_count()} CPUs here.")

    rng = random.Random(args.seed)
    run_id = uuid.uuid4().hex[:8]
    duplicates = round(args.events * args.duplicates)
    # Whole shipments: each gets all three of its events.
    shipments_per_level = max(1, round((args.events - duplicates) / EVENTS_PER_SHIPMENT))
    warm_shipments = -(-args.warmup // EVENTS_PER_SHIPMENT)
    started = time.perf_counter()
    data = seed(args, shipments_per_level * len(levels) + warm_shipments, run_id)
    print(f"Seeded in {time.perf_counter() - started:.1f} s: {len(data['shipments'])} shipments handed to carrier {CARRIER_CODE}.")
    connection.close()  # the server has the database to itself while measuring

    start = timezone.now() - timedelta(hours=3)
    shipments = data["shipments"]
    warm, rest = shipments[:warm_shipments], shipments[warm_shipments:]
    plans = []
    for n, clients in enumerate(levels):
        mine = rest[n * shipments_per_level:(n + 1) * shipments_per_level]
        originals = event_jobs(mine, run_id, rng, start)
        plans.append((clients, mine, with_duplicates(originals, min(duplicates, len(originals)), rng)))

    port = args.port or free_port()
    args.threads = max(1, args.threads)
    mode = f"{args.workers} gthread workers x {args.threads} threads" if args.threads > 1 else f"{args.workers} sync workers"
    print(f"Starting gunicorn on 127.0.0.1:{port} ({mode}); outbox work {'in the request' if args.eager_outbox else 'queued, not run'}.")
    server = start_server(args, port)
    results = []
    try:
        warmup = run_level(min(4, max(levels)), event_jobs(warm, run_id + "w", rng, start)[: args.warmup], port, data["secret"])
        if warmup.statuses.get(200, 0) == 0:
            raise SystemExit(f"No event was accepted while warming up: {warmup.note}")
        for clients, mine, jobs in plans:
            results.append((run_level(clients, jobs, port, data["secret"]), mine))
    finally:
        stop_server(server)

    print()
    print(f"Tracking events accepted per second, latency in ms client to server and back ({mode}, {os.cpu_count()} CPUs shared with the clients).")
    print(f"{'clients':>7} {'n':>6} {'events/s':>9} {'p50':>8} {'p99':>8} {'max':>8}  statuses  answers")
    for level, _mine in results:
        print(level.row())
    for level, _mine in results:
        if level.note:
            print("Unexpected response: " + level.note)
    print()
    for level, mine in results:
        check = verify(level, [pk for pk, _tracking in mine])
        share = check["ignored"] / check["repeated"] if check["repeated"] else float("nan")
        print(
            f"At {level.clients} clients: {check['event_ids']} distinct events, {check['stored_once']} stored exactly once; "
            f"{check['repeated']} sent twice, {check['ignored']} of them correctly ignored ({share:.1%}: stored once, "
            f"exactly one answer \"duplicate\"); {check['delivered_once']}/{check['shipments']} shipments delivered after one attempt, "
            f"{check['double_deliveries']} delivered twice."
        )


if __name__ == "__main__":
    main()
