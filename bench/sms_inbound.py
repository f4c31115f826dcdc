"""How many inbound SMS a second does the SMS hall answer, and how fast?

    createdb -h 127.0.0.1 -U postgres sd_smsbench
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/sd_smsbench \\
        .venv/bin/python bench/sms_inbound.py --messages 2000 --concurrency 1,32

Seeds the database (reference data and api1 as ``manage.py seed_demo``, --customers
customers with their lines; for the senders an order each, handed to delivery with a
shipment and an appointment tomorrow, and for one in three a complaint), starts a real
gunicorn on a free local port as bench/order_submit.py does, then from a pool of client
threads, each with its own keep-alive HTTP connection, posts inbound SMS from known
senders to ``POST /api/v1/sms/inbound/`` as the gateway (api1's token):

  free text       "我的宽带很慢，请回电" / "please call me about my bill": a contact for an agent
  ORDER           latest order; ORDER <id> the sender's own order
  SHIP            the sender's shipment, carrier, tracking, appointment
  CONFIRM         the appointment confirmed: a contact linked to the shipment
  COMPLAINT       latest complaint
  HELP / 帮助      the list of commands
  a repeat        the same message id again (--repeats share), 1 to 200 requests later

It prints messages answered per second and p50/p99/max latency in ms per concurrency
level with the outcomes seen, then checks in the database that every message id was
stored once, every repeat got the first answer, and each message sent exactly one reply.
The reply SMS is queued in the outbox in the same transaction but not sent inside the
request (``CELERY_TASK_ALWAYS_EAGER=0``, in-memory broker): a Celery worker sends it in
production. It prints; it does not assert. Meaningful only on PostgreSQL.
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

INBOUND_PATH = "/api/v1/sms/inbound/"
FREE_TEXTS = ["我的宽带很慢，请回电", "please call me about my bill", "手机没有信号怎么办", "I want to change my tariff plan"]
# (what to send, weight); "{order}" is the sender's own order id.
MIX = [
    ("free", 25), ("ORDER", 15), ("ORDER {order}", 10), ("SHIP", 15), ("CONFIRM", 10), ("COMPLAINT", 10), ("HELP", 8), ("帮助", 7),
]


def parse_args():
    cpus = os.cpu_count() or 1
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--messages", type=int, default=2000, help="Timed requests per concurrency level, repeats included (default 2000).")
    parser.add_argument("--repeats", type=float, default=0.05, help="Share of the requests that repeat an earlier message id (default 0.05).")
    parser.add_argument("--concurrency", default="1,32", help="Client threads per level, comma-separated (default 1,32).")
    parser.add_argument("--warmup", type=int, default=40, help="Untimed messages before measuring (default 40).")
    parser.add_argument("--customers", type=int, default=2000, help="Customers to have in the database (seeded if fewer).")
    parser.add_argument("--senders", type=int, default=500, help="Customers who text the hall (default 500).")
    parser.add_argument("--workers", type=int, default=2 * cpus, help=f"gunicorn worker processes (default 2 x CPUs = {2 * cpus}).")
    parser.add_argument("--threads", type=int, default=1, help="Threads per worker (gthread worker class; 1 = sync workers). Default 1.")
    parser.add_argument("--port", type=int, default=0, help="Port for gunicorn (default: a free one).")
    parser.add_argument("--seed", type=int, default=7, help="Random seed of the message mix.")
    return parser.parse_args()


# --- Data -------------------------------------------------------------------------------------

def seed(args, run_id: str) -> dict:
    """Senders with an order under delivery each (shipment, appointment tomorrow) and some complaints."""
    from django.core.management import call_command
    from django.db import connection, transaction
    from django.utils import timezone

    from complaints.models import Complaint, ComplaintCategory, ComplaintStatus
    from delivery.models import Carrier, Shipment, ShipmentStatus, Warehouse
    from orders.models import Flow, ItemKind, Order, OrderStatus, Product, ProductCategory
    from servicedesk import demo
    from servicedesk.models import Department, Subscription, TariffPlan, User

    call_command("migrate", verbosity=0)
    result = demo.seed_reference(log=lambda line: None)
    demo.seed_customers(args.customers, log=lambda line: None, result=result)
    now = timezone.now()
    senders = list(
        Subscription.objects.filter(status=Subscription.Status.ACTIVE).order_by("customer_id", "id")
        .distinct("customer_id").values_list("customer_id", "service_number")[: args.senders]
    )
    with transaction.atomic():
        company, _ = Warehouse.objects.get_or_create(code="BENCH-CO", defaults={"name": "Bench company store", "level": 1})
        branch, _ = Warehouse.objects.get_or_create(code="BENCH-BR", defaults={"name": "Bench branch store", "level": 2, "parent": company})
        hall, _ = Warehouse.objects.get_or_create(code="BENCH-HALL", defaults={"name": "Bench hall store", "level": 3, "parent": branch})
        carrier, _ = Carrier.objects.update_or_create(
            code="BENCH-SMS-EXPRESS", defaults={"name": "Bench Express", "kind": Carrier.Kind.EXPRESS, "promised_hours": 48, "active": True}
        )
        category, _ = ProductCategory.objects.update_or_create(
            code="BENCH-SIM", defaults={"name": "Bench SIM cards", "flow": Flow.BACK_OFFICE, "acceptance_limit_hours": 24}
        )
        product, _ = Product.objects.update_or_create(
            code="BENCH-SIM-5G",
            defaults={"name": "Bench 5G SIM", "category": category, "needs_number": True, "item_kind": ItemKind.SIM,
                      "item_model": "Bench USIM", "tariff_plan": TariffPlan.objects.order_by("code").first(), "active": True},
        )
        department = Department.objects.order_by("code").first()
        complaint_category, _ = ComplaintCategory.objects.get_or_create(
            code="BENCH-NET", defaults={"name": "Bench network", "department": department, "time_limit_hours": 48}
        )
        agent = User.objects.get(username="agent1")
        tomorrow = timezone.localdate() + timedelta(days=1)
        # Each run its own orders and shipments, handed to the carrier (an earlier run's stay as they are).
        orders = Order.objects.bulk_create([
            Order(customer_id=customer_id, product=product, flow=Flow.BACK_OFFICE, status=OrderStatus.HANDED_TO_DELIVERY,
                  price=product.price, delivery_address="天津市和平区南京路100号", appointment_date=tomorrow,
                  appointment_slot="morning", submitted_at=now, accepted_at=now, created_by=agent)
            for customer_id, _number in senders
        ], batch_size=1000)
        Shipment.objects.bulk_create([
            Shipment(order=order, warehouse=hall, carrier=carrier, tracking_number=f"S{run_id}{n:06d}", status=ShipmentStatus.HANDED_TO_CARRIER,
                     appointment_date=tomorrow, appointment_slot="morning", amount_due=order.price, created_at=now)
            for n, order in enumerate(orders)
        ], batch_size=1000)
        Complaint.objects.bulk_create([
            Complaint(customer_id=customer_id, category=complaint_category, description="No signal at home", status=ComplaintStatus.ASSIGNED,
                      first_ask_owner=agent, department=department, received_at=now, due_at=now + timedelta(hours=48))
            for customer_id, _number in senders[::3]
        ], batch_size=1000)
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE servicedesk_subscription, servicedesk_contact, servicedesk_inboundsms, orders_order, delivery_shipment, "
                           "complaints_complaint")
    return {"token": result.api_token, "senders": [(number, order.pk) for (_c, number), order in zip(senders, orders, strict=True)]}


def message_jobs(count: int, senders: list, run_id: str, rng: random.Random, repeats: float) -> list[dict]:
    kinds, weights = zip(*MIX, strict=True)
    originals = []
    for n in range(count - round(count * repeats)):
        number, order_id = rng.choice(senders)
        kind = rng.choices(kinds, weights)[0]
        text = rng.choice(FREE_TEXTS) if kind == "free" else kind.format(order=order_id)
        originals.append({"message_id": f"{run_id}-{n}", "from": number, "text": text})
    jobs = list(originals)
    for index in sorted(rng.sample(range(len(originals)), round(count * repeats)), reverse=True):
        jobs.insert(min(len(jobs), index + 1 + rng.randint(0, 200)), originals[index])
    return jobs


# --- Measuring ---------------------------------------------------------------------------------

class Level:
    def __init__(self, clients: int):
        self.clients = clients
        self.ms: list[float] = []
        self.statuses: dict[int, int] = {}
        self.outcomes: dict[str, int] = {}
        self.answers: dict[str, list[tuple[str, bool]]] = {}  # message id -> (reply, replayed) of each request
        self.seconds = 0.0
        self.note = ""

    @property
    def throughput(self) -> float:
        return len(self.ms) / self.seconds if self.seconds else 0.0

    def p(self, share: float) -> float:
        return percentile(sorted(self.ms), share)

    def row(self) -> str:
        statuses = " ".join(f"{code}x{count}" for code, count in sorted(self.statuses.items()))
        outcomes = " ".join(f"{name}={count}" for name, count in sorted(self.outcomes.items()))
        return (f"{self.clients:>7} {len(self.ms):>6} {self.throughput:>10.1f} {self.p(0.50):>8.1f} {self.p(0.99):>8.1f} "
                f"{max(self.ms, default=float('nan')):>8.1f}  {statuses}  {outcomes}")


def run_level(clients: int, jobs: list[dict], port: int, token: str) -> Level:
    level = Level(clients)
    lock = threading.Lock()
    queue = iter(jobs)
    pool = [Client(port, token) for _ in range(clients)]

    def work(client: Client):
        while True:
            with lock:
                job = next(queue, None)
            if job is None:
                return
            started = time.perf_counter()
            status, content = client.send("POST", INBOUND_PATH, job)
            replayed = client.last.getheader("Idempotent-Replayed") == "true"
            elapsed = (time.perf_counter() - started) * 1000
            answer = json.loads(content) if status == 200 else {}
            with lock:
                level.ms.append(elapsed)
                level.statuses[status] = level.statuses.get(status, 0) + 1
                outcome = "repeat" if replayed else answer.get("outcome", "?")
                level.outcomes[outcome] = level.outcomes.get(outcome, 0) + 1
                level.answers.setdefault(job["message_id"], []).append((answer.get("reply", ""), replayed))
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


def verify(level: Level) -> dict:
    """Every message id stored once and answered by one reply SMS; every repeat answered as the first time."""
    from django.db.models import Count

    from servicedesk.models import InboundSms, SmsMessage

    ids = list(level.answers)
    stored = dict(InboundSms.objects.filter(gateway_id__in=ids).values("gateway_id").annotate(n=Count("id")).values_list("gateway_id", "n"))
    replies = SmsMessage.objects.filter(key__in=[f"sms_hall:{i}" for i in ids]).count()
    repeated = {i: answers for i, answers in level.answers.items() if len(answers) > 1}
    same = sum(1 for answers in repeated.values() if len({reply for reply, _ in answers}) == 1 and sum(r for _, r in answers) == len(answers) - 1)
    return {"ids": len(ids), "stored_once": sum(1 for i in ids if stored.get(i) == 1), "replies": replies, "repeated": len(repeated), "same": same}


def main():
    args = parse_args()
    levels = [int(c) for c in args.concurrency.split(",") if c.strip()]
    if not 0 <= args.repeats < 1:
        raise SystemExit("--repeats is a share below 1, e.g. 0.05")
    os.environ["CELERY_TASK_ALWAYS_EAGER"] = "0"  # read by the server's settings: queue the reply SMS, do not send it in the request

    import django

    django.setup()
    from django.conf import settings
    from django.db import connection

    if connection.vendor != "postgresql":
        raise SystemExit("Run it against PostgreSQL (DATABASE_URL=postgres://...): SQLite serialises every write and says nothing about production.")
    print(f"Database: {connection.vendor} {settings.DATABASES['default']['NAME']}; {os.cpu_count()} CPUs here.")

    rng = random.Random(args.seed)
    run_id = uuid.uuid4().hex[:8]
    started = time.perf_counter()
    data = seed(args, run_id)
    print(f"Seeded in {time.perf_counter() - started:.1f} s: {len(data['senders'])} senders, each with an order under delivery.")
    connection.close()  # the server has the database to itself while measuring

    plans = [(clients, message_jobs(args.messages, data["senders"], f"{run_id}-{clients}", rng, args.repeats)) for clients in levels]
    port = args.port or free_port()
    mode = f"{args.workers} gthread workers x {args.threads} threads" if args.threads > 1 else f"{args.workers} sync workers"
    print(f"Starting gunicorn on 127.0.0.1:{port} ({mode}); reply SMS queued in the outbox, not sent in the request.")
    server = start_server(args, port)
    results = []
    try:
        warmup = run_level(min(4, max(levels)), message_jobs(args.warmup, data["senders"], f"{run_id}-w", rng, 0), port, data["token"])
        if warmup.statuses.get(200, 0) == 0:
            raise SystemExit(f"No message was answered while warming up: {warmup.note}")
        for clients, jobs in plans:
            results.append(run_level(clients, jobs, port, data["token"]))
    finally:
        stop_server(server)

    print()
    print(f"Inbound SMS answered per second, latency in ms client to server and back ({mode}, {os.cpu_count()} CPUs shared with the clients).")
    print(f"{'clients':>7} {'n':>6} {'messages/s':>10} {'p50':>8} {'p99':>8} {'max':>8}  statuses  outcomes")
    for level in results:
        print(level.row())
    for level in results:
        if level.note:
            print("Unexpected response: " + level.note)
    print()
    for level in results:
        check = verify(level)
        print(f"At {level.clients} clients: {check['ids']} message ids, {check['stored_once']} stored exactly once, {check['replies']} reply SMS "
              f"queued; {check['repeated']} sent twice, {check['same']} of them answered the first answer again (marked replayed).")


if __name__ == "__main__":
    main()
