"""How many orders a second does the API take, and how fast does it answer?

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/sd_order_bench \\
        .venv/bin/python bench/order_submit.py --requests 300 --concurrency 1,8,32

Seeds the database (reference data and api1 as ``manage.py seed_demo``, --customers
customers, a back-office SIM product and one fresh pool number per submission), starts
a real gunicorn on a free local port against it, then from a pool of client threads,
each with its own keep-alive HTTP connection:

  submit   POST /api/v1/orders/          a back-office SIM sale, its own pool number and
                                         its own Idempotency-Key, token-authenticated
  trivial  GET  /api/v1/orders/{id}/     the same authentication and permission checks
                                         and one small read: the server's ceiling

at each concurrency level, and prints throughput (requests/s) and p50/p99/max latency
in ms, then whether the goals are met: submissions reach at least half the trivial
endpoint's best throughput, and p99 of a submission stays under 100 ms at 32 clients.
It prints; it does not assert. Meaningful only on PostgreSQL (see bench/README.md).
"""
import argparse
import http.client
import itertools
import json
import os
import socket
import subprocess
import sys
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "servicedesk.settings")

GOAL_SHARE_OF_CEILING = 0.5
GOAL_P99_MS = 100.0
GOAL_CONCURRENCY = 32
PRODUCT_CODE = "BENCH-SIM-5G"
NUMBER_PREFIX = "199"  # China Telecom's 199 block: valid mobiles, apart from the demo data's prefixes


def parse_args():
    cpus = os.cpu_count() or 1
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--requests", type=int, default=300, help="Timed submissions per concurrency level (default 300).")
    parser.add_argument("--trivial", type=int, default=600, help="Timed trivial reads per concurrency level (default 600).")
    parser.add_argument("--concurrency", default="1,8,32", help="Client threads per level, comma-separated (default 1,8,32).")
    parser.add_argument("--warmup", type=int, default=20, help="Untimed requests of each kind before measuring.")
    parser.add_argument("--customers", type=int, default=500, help="Customers to have in the database (seeded if fewer).")
    parser.add_argument("--workers", type=int, default=2 * cpus, help=f"gunicorn worker processes (default 2 x CPUs = {2 * cpus}).")
    parser.add_argument("--threads", type=int, default=2, help="Threads per worker (gthread worker class; 1 = sync workers). Default 2.")
    parser.add_argument("--port", type=int, default=0, help="Port for gunicorn (default: a free one).")
    return parser.parse_args()


def percentile(sorted_values: list[float], share: float) -> float:
    """Nearest-rank percentile of an ascending list."""
    if not sorted_values:
        return float("nan")
    rank = max(1, min(len(sorted_values), round(share * len(sorted_values) + 0.5)))
    return sorted_values[rank - 1]


# --- Data -------------------------------------------------------------------------------------

def seed(args, numbers_needed: int) -> dict:
    """Reference data, customers, the SIM product and fresh pool numbers; returns what the clients need."""
    from django.core.management import call_command
    from django.db import connection, transaction

    from orders.models import Flow, ItemKind, NumberStatus, PoolNumber, Product, ProductCategory
    from servicedesk import demo
    from servicedesk.models import Customer, TariffPlan
    from servicedesk.phones import normalize_service_number

    call_command("migrate", verbosity=0)
    result = demo.seed_reference(log=lambda line: None)
    demo.seed_customers(args.customers, log=lambda line: None, result=result)
    with transaction.atomic():
        category, _ = ProductCategory.objects.update_or_create(
            code="BENCH-SIM", defaults={"name": "Bench SIM cards", "flow": Flow.BACK_OFFICE, "acceptance_limit_hours": 24}
        )
        product, _ = Product.objects.update_or_create(
            code=PRODUCT_CODE,
            defaults={
                "name": "Bench 5G SIM", "category": category, "needs_number": True, "item_kind": ItemKind.SIM,
                "item_model": "USIM 128K", "tariff_plan": TariffPlan.objects.order_by("code").first(), "active": True,
            },
        )
        # Fresh numbers after the highest one this script ever made: each submission reserves its own.
        last = PoolNumber.objects.filter(number__startswith=NUMBER_PREFIX).order_by("-number").values_list("number", flat=True).first()
        start = int(last) + 1 if last else int(NUMBER_PREFIX + "00000000")
        numbers = [str(n) for n in range(start, start + numbers_needed)]
        normalize_service_number(numbers[0])  # raises if the block is not a valid mobile range
        PoolNumber.objects.bulk_create(
            [PoolNumber(number=n, status=NumberStatus.AVAILABLE) for n in numbers], batch_size=2000
        )
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE orders_poolnumber, orders_order, servicedesk_customer")
    customer_ids = list(Customer.objects.order_by("id").values_list("id", flat=True)[: args.customers])
    return {"token": result.api_token, "customers": customer_ids, "numbers": numbers, "product": product.code}


# --- Server ------------------------------------------------------------------------------------

def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start_server(args, port: int) -> subprocess.Popen:
    env = {
        **os.environ, "DEBUG": "0", "ALLOWED_HOSTS": "127.0.0.1,localhost", "PYTHONUNBUFFERED": "1",
        # WhiteNoise warns once per worker that collectstatic has not run; the API serves no static files.
        "PYTHONWARNINGS": "ignore:No directory at",
    }
    command = [
        sys.executable, "-m", "gunicorn", "servicedesk.wsgi:application",
        "--bind", f"127.0.0.1:{port}", "--workers", str(args.workers), "--log-level", "warning",
        "--backlog", "256", "--keep-alive", "10",
    ]
    if args.threads > 1:
        command += ["--worker-class", "gthread", "--threads", str(args.threads)]
    server = subprocess.Popen(command, cwd=ROOT, env=env)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise SystemExit(f"gunicorn exited with {server.returncode} before answering")
        try:
            connection = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
            connection.request("GET", "/healthz")
            if connection.getresponse().status == 200:
                connection.close()
                return server
        except OSError:
            pass
        time.sleep(0.3)
    server.terminate()
    raise SystemExit("gunicorn did not answer /healthz within 60 s")


def stop_server(server: subprocess.Popen) -> None:
    server.terminate()
    try:
        server.wait(timeout=20)
    except subprocess.TimeoutExpired:
        server.kill()
        server.wait()


# --- Clients -----------------------------------------------------------------------------------

class Client:
    """One keep-alive connection; a request that finds it closed by the server is sent again once.

    Sending a submission again is safe: it carries its Idempotency-Key (the SMS and carrier benches
    reuse this client: a message or event sent twice is answered once). ``last`` is the last
    response, for its headers.
    """

    def __init__(self, port: int, token: str | None = None):
        self.port = port
        self.headers = {"Accept": "application/json", **({"Authorization": f"Token {token}"} if token else {})}
        self.connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        self.last: http.client.HTTPResponse | None = None

    def send(self, method: str, path: str, body: dict | None = None, headers: dict | None = None, *,
             raw: bytes | None = None) -> tuple[int, bytes]:
        """``body`` is sent as JSON; ``raw`` as it is (bytes a signature was computed over)."""
        payload = raw if raw is not None else json.dumps(body, ensure_ascii=False).encode() if body is not None else None
        all_headers = {**self.headers, **(headers or {})}
        if payload is not None:
            all_headers.setdefault("Content-Type", "application/json")
        for attempt in (1, 2):
            try:
                self.connection.request(method, path, body=payload, headers=all_headers)
                self.last = self.connection.getresponse()
                return self.last.status, self.last.read()
            except (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError, http.client.CannotSendRequest):
                self.connection.close()
                self.connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=60)
                if attempt == 2:
                    raise
        raise AssertionError("unreachable")

    def close(self):
        self.connection.close()


class Level:
    def __init__(self, endpoint: str, clients: int):
        self.endpoint, self.clients = endpoint, clients
        self.ms: list[float] = []
        self.statuses: dict[int, int] = {}
        self.seconds = 0.0
        self.note = ""
        self.created: list[int] = []

    @property
    def throughput(self) -> float:
        return len(self.ms) / self.seconds if self.seconds else 0.0

    def p(self, share: float) -> float:
        return percentile(sorted(self.ms), share)

    def row(self) -> str:
        statuses = " ".join(f"{code}x{count}" for code, count in sorted(self.statuses.items()))
        return (
            f"{self.endpoint:<8} {self.clients:>7} {len(self.ms):>6} {self.throughput:>9.1f} "
            f"{self.p(0.50):>8.1f} {self.p(0.99):>8.1f} {max(self.ms, default=float('nan')):>8.1f}  {statuses}"
        )


def run_level(endpoint: str, clients: int, jobs: list, port: int, token: str, expected: int) -> Level:
    """Send ``jobs`` (method, path, body, headers) from ``clients`` threads; time each and the whole."""
    level = Level(endpoint, clients)
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
            status, content = client.send(*job)
            elapsed = (time.perf_counter() - started) * 1000
            with lock:
                level.ms.append(elapsed)
                level.statuses[status] = level.statuses.get(status, 0) + 1
                if status != expected and not level.note:
                    level.note = f"{endpoint} at {clients}: status {status}: {content[:300]!r}"
                if status == 201:
                    level.created.append(json.loads(content)["id"])

    started = time.perf_counter()
    with ThreadPoolExecutor(max_workers=clients) as executor:
        for future in [executor.submit(work, client) for client in pool]:
            future.result()
    level.seconds = time.perf_counter() - started
    for client in pool:
        client.close()
    return level


def main():
    args = parse_args()
    levels = [int(c) for c in args.concurrency.split(",") if c.strip()]

    import django

    django.setup()
    from django.conf import settings
    from django.db import connection
    from django.utils import timezone

    from orders.models import NumberStatus, Order, PoolNumber

    if connection.vendor != "postgresql":
        raise SystemExit("Run it against PostgreSQL (DATABASE_URL=postgres://...): SQLite serialises every write and says nothing about production.")
    print(f"Database: {connection.vendor} {settings.DATABASES['default']['NAME']}; {os.cpu_count()} CPUs here.")

    submissions = args.requests * len(levels) + args.warmup
    started = time.perf_counter()
    data = seed(args, submissions)
    print(f"Seeded in {time.perf_counter() - started:.1f} s: {len(data['customers'])} customers, {len(data['numbers'])} fresh pool numbers, product {data['product']}.")
    connection.close()  # the server has the database to itself while measuring

    numbers = iter(data["numbers"])
    customers = itertools.cycle(data["customers"])
    run_id = uuid.uuid4().hex[:8]
    serial = itertools.count(1)  # one Idempotency-Key per submission across the whole run
    delivery_date = (timezone.localdate() + timedelta(days=2)).isoformat()

    def submission_jobs(count: int) -> list:
        return [
            ("POST", "/api/v1/orders/", {
                "customer": next(customers), "product": data["product"], "pool_number": next(numbers),
                "delivery_address": "天津市和平区南京路100号", "appointment_date": delivery_date, "appointment_slot": "morning",
            }, {"Idempotency-Key": f"bench-{run_id}-{next(serial)}"})
            for _ in range(count)
        ]

    port = args.port or free_port()
    mode = f"{args.workers} gthread workers x {args.threads} threads" if args.threads > 1 else f"{args.workers} sync workers"
    print(f"Starting gunicorn on 127.0.0.1:{port} ({mode}).")
    server = start_server(args, port)
    results: list[Level] = []
    try:
        warm = run_level("warmup", min(4, max(levels)), submission_jobs(args.warmup), port, data["token"], 201)
        if not warm.created:
            raise SystemExit(f"No submission succeeded while warming up: {warm.note}")
        read_path = f"/api/v1/orders/{warm.created[0]}/"
        run_level("warmup", min(4, max(levels)), [("GET", read_path, None, None)] * args.warmup, port, data["token"], 200)
        for clients in levels:
            results.append(run_level("submit", clients, submission_jobs(args.requests), port, data["token"], 201))
            results.append(run_level("trivial", clients, [("GET", read_path, None, None)] * args.trivial, port, data["token"], 200))
    finally:
        stop_server(server)

    # Correctness of what was measured: one order per success, each number held by exactly its order.
    created = [order_id for level in [warm, *results] for order_id in level.created]
    held = PoolNumber.objects.filter(order_id__in=created, status=NumberStatus.RESERVED).count()
    print(f"Orders created: {len(created)} ({Order.objects.filter(pk__in=created).count()} in the database); numbers held by them: {held}.")

    print()
    print(f"Throughput in requests/s and latency in ms, client to server and back ({mode}, {os.cpu_count()} CPUs shared with the clients).")
    print(f"{'endpoint':<8} {'clients':>7} {'n':>6} {'req/s':>9} {'p50':>8} {'p99':>8} {'max':>8}  statuses")
    for level in results:
        print(level.row())
    for level in results:
        if level.note:
            print("Unexpected response: " + level.note)

    ceiling = max((lv.throughput for lv in results if lv.endpoint == "trivial"), default=0.0)
    best_submit = max((lv.throughput for lv in results if lv.endpoint == "submit"), default=0.0)
    at_goal = next((lv for lv in results if lv.endpoint == "submit" and lv.clients == GOAL_CONCURRENCY), None)
    print()
    share = best_submit / ceiling if ceiling else 0.0
    print(
        f"Goal 1: submissions at >= {GOAL_SHARE_OF_CEILING:.0%} of the trivial ceiling: "
        f"{best_submit:.1f} / {ceiling:.1f} req/s = {share:.0%}: {'met' if share >= GOAL_SHARE_OF_CEILING else 'MISSED'}"
    )
    if at_goal is None:
        print(f"Goal 2: p99 < {GOAL_P99_MS:.0f} ms at {GOAL_CONCURRENCY} clients: not measured (add {GOAL_CONCURRENCY} to --concurrency).")
    else:
        p99 = at_goal.p(0.99)
        print(f"Goal 2: p99 < {GOAL_P99_MS:.0f} ms at {GOAL_CONCURRENCY} clients: {p99:.1f} ms: {'met' if p99 < GOAL_P99_MS else 'MISSED'}")


if __name__ == "__main__":
    main()
