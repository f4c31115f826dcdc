"""How many webhook deliveries a second does the outbox make to a local subscriber, in order and exactly once?

    createdb -h 127.0.0.1 -U postgres sd_webhookbench
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/sd_webhookbench \\
        .venv/bin/python bench/webhook_delivery.py --events 5000 --objects 500 --workers 8

Migrates, creates --subscribers subscriptions to ``order.status_changed`` pointing at a local HTTP
subscriber (a separate process: a threaded ``http.server`` that checks each signature and records
each event), then publishes --events events round-robin over --objects orders, each in its own
transaction (from --publishers threads, each owning some orders), exactly as ``run_transition``
does (``servicedesk.webhooks.publish``): one outbox row per subscription, streamed per
(subscription, order). Then it delivers them:

  --mode threads (default)  the after-commit dispatches went into an in-process queue standing in
                            for the broker; --workers threads take ids from it and call
                            ``outbox_deliver`` (claim, signed POST, record, dispatch the next of the
                            stream), as Celery workers would.
  --mode redrive            nothing was dispatched (the broker was down); --workers threads each run
                            beat's redrive loop (``outbox_due_ids`` + ``outbox_deliver``) until
                            nothing is due: the recovery after an outage (beat runs one).
  --mode celery             the dispatches went to Redis at --redis (default 127.0.0.1:6379 db 3,
                            purged first) with no worker running; then real Celery workers
                            (``celery worker --pool prefork -c --workers``) are started and drain it.

Deliveries per second are counted from the first to the last ``sent_at`` the outbox recorded.
It prints the publish rate, deliveries per second, claims refused (a message whose turn had not
come), and checks at the subscriber that every event arrived exactly once per subscriber with a
valid signature and, per order, in publication order; and in the database that every row is sent
after one attempt. It prints; it does not assert. Meaningful only on PostgreSQL.
"""
import argparse
import json
import os
import queue
import socket
import subprocess
import sys
import threading
import time
import urllib.request
import uuid
from collections import defaultdict
from pathlib import Path
from unittest import mock

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "servicedesk.settings")

SUBSCRIPTION_PREFIX = "bench-webhooks-"
CELERY_LOG = "/tmp/webhook_delivery_celery.log"


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--events", type=int, default=5000, help="Events published (default 5000).")
    parser.add_argument("--objects", type=int, default=500, help="Orders they are about, round-robin (default 500).")
    parser.add_argument("--subscribers", type=int, default=1, help="Subscriptions, each receiving every event (default 1).")
    parser.add_argument("--publishers", type=int, default=4, help="Publishing threads (default 4).")
    parser.add_argument("--workers", type=int, default=8, help="Delivering threads or Celery processes (default 8).")
    parser.add_argument("--mode", choices=["threads", "redrive", "celery"], default="threads")
    parser.add_argument("--latency-ms", type=float, default=0.0, help="Time the subscriber takes per request (default 0).")
    parser.add_argument("--redis", default="redis://127.0.0.1:6379/3", help="Broker for --mode celery.")
    parser.add_argument("--serve-subscriber", type=int, metavar="PORT", help=argparse.SUPPRESS)
    parser.add_argument("--secret", default="", help=argparse.SUPPRESS)
    return parser.parse_args()


# --- The subscriber (its own process, so it does not share the GIL with the workers) -----------------

def serve_subscriber(port: int, secret: str, latency_ms: float) -> None:
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    sys.path.insert(0, str(ROOT))
    import hashlib
    import hmac

    received: list = []
    lock = threading.Lock()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):  # noqa: N802
            body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
            stamp = self.headers.get("X-Servicedesk-Timestamp", "")
            expected = "sha256=" + hmac.new(secret.encode(), stamp.encode() + b"." + body, hashlib.sha256).hexdigest()
            valid = hmac.compare_digest(expected, self.headers.get("X-Servicedesk-Signature", ""))
            event = json.loads(body)
            if latency_ms:
                time.sleep(latency_ms / 1000)
            with lock:
                received.append([self.path, event["id"], event["object"]["id"], event["seq"], valid])
            self.send_response(200)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def do_GET(self):  # noqa: N802
            with lock:
                body = json.dumps(received).encode()
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
    server.daemon_threads = True
    server.request_queue_size = 1024
    server.serve_forever()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start_subscriber(port: int, secret: str, latency_ms: float) -> subprocess.Popen:
    process = subprocess.Popen([sys.executable, __file__, "--serve-subscriber", str(port), "--secret", secret, "--latency-ms", str(latency_ms)])
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=0.5).read()
            return process
        except OSError:
            time.sleep(0.05)
    raise SystemExit("the subscriber did not start")


def subscriber_records(port: int) -> list:
    return json.loads(urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=30).read())


# --- Setup and publishing ------------------------------------------------------------------------

def setup(args, url: str, secret: str) -> list[int]:
    from django.core.management import call_command

    from servicedesk.models import OutboxMessage, User, WebhookSubscription

    call_command("migrate", verbosity=0)
    for old in WebhookSubscription.objects.filter(name__startswith=SUBSCRIPTION_PREFIX):
        OutboxMessage.objects.filter(kind="webhook", key__startswith=f"webhook:{old.pk}:").delete()
        old.delete()
    others = WebhookSubscription.objects.filter(active=True).exclude(name__startswith=SUBSCRIPTION_PREFIX).values_list("name", flat=True)
    if others:
        raise SystemExit(f"Other active subscriptions would receive the bench's events too: {', '.join(others)}. Use a database of its own.")
    client, _ = User.objects.get_or_create(username="bench_webhook_client")
    return [
        WebhookSubscription.objects.create(
            client=client, name=f"{SUBSCRIPTION_PREFIX}{n}", url=f"{url}/s{n}", secret=secret, events=["order.status_changed"],
        ).pk
        for n in range(args.subscribers)
    ]


def publish_all(args, run: str) -> float:
    """One transaction per event, as a state change writes it, from --publishers threads (each owning
    some orders, so an order's events are written in order, as its row lock ensures in the services).
    Returns the seconds taken."""
    from django.db import connection, transaction
    from django.utils import timezone

    from servicedesk import webhooks

    def publish(part: int):
        seq = defaultdict(int)
        try:
            for n in range(part, args.events, args.publishers):
                order_id = 1_000_000 + n % args.objects
                seq[order_id] += 1
                event = {
                    "id": f"bench:{run}:{n}", "kind": webhooks.ORDER_STATUS_CHANGED, "occurred_at": timezone.now().isoformat(),
                    "object": {"type": "order", "id": order_id}, "from": "a", "to": "b", "transition": "step", "seq": seq[order_id],
                }
                with transaction.atomic():
                    webhooks.publish(event)
        finally:
            connection.close()

    if args.objects % args.publishers:
        raise SystemExit("--objects must be a multiple of --publishers (each order belongs to one publisher)")
    started = time.perf_counter()
    threads = [threading.Thread(target=publish, args=(part,)) for part in range(args.publishers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return time.perf_counter() - started


# --- Delivery --------------------------------------------------------------------------------------

def outstanding(subscription_ids) -> int:
    from servicedesk.models import OutboxMessage

    return sum(
        OutboxMessage.objects.filter(kind="webhook", key__startswith=f"webhook:{s}:").exclude(status=OutboxMessage.Status.SENT).count()
        for s in subscription_ids
    )


def deliver_threads(args, broker: queue.Queue, counts: dict, subscription_ids) -> None:
    from django.db import connection

    from servicedesk import outbox

    stop = object()
    lock = threading.Lock()

    def work():
        try:
            while (message_id := broker.get()) is not stop:
                result = outbox.outbox_deliver(message_id=message_id)
                with lock:
                    counts["refused" if result is None else result] += 1
        finally:
            connection.close()

    threads = [threading.Thread(target=work) for _ in range(args.workers)]
    for thread in threads:
        thread.start()
    while outstanding(subscription_ids):
        time.sleep(0.05)
    for _ in threads:
        broker.put(stop)
    for thread in threads:
        thread.join()


def deliver_redrive(args, counts: dict) -> None:
    from django.db import connection

    from servicedesk import outbox

    lock = threading.Lock()

    def work():
        try:
            while ids := outbox.outbox_due_ids():
                for message_id in ids:
                    result = outbox.outbox_deliver(message_id=message_id)
                    with lock:
                        counts["refused" if result is None else result] += 1
        finally:
            connection.close()

    threads = [threading.Thread(target=work) for _ in range(args.workers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()


def sent_span(run: str) -> float:
    """Seconds from the first delivery to the last, as the outbox recorded them."""
    from django.db.models import Max, Min

    from servicedesk.models import OutboxMessage

    span = OutboxMessage.objects.filter(kind="webhook", key__contains=f":bench:{run}:").aggregate(first=Min("sent_at"), last=Max("sent_at"))
    return (span["last"] - span["first"]).total_seconds()


def start_celery(args) -> subprocess.Popen:
    env = {**os.environ, "REDIS_URL": args.redis, "CELERY_TASK_ALWAYS_EAGER": "0", "DEBUG": "0", "PYTHONWARNINGS": "ignore"}
    return subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "servicedesk", "worker", "--pool", "prefork", "-c", str(args.workers),
         "--loglevel", "WARNING", "--without-gossip", "--without-mingle", "--without-heartbeat"],
        env=env, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=open(CELERY_LOG, "w"),  # noqa: SIM115 (the worker's, for its life)
    )


# --- Checks ------------------------------------------------------------------------------------

def check(records: list, args, subscription_ids, run: str) -> None:
    from django.db.models import Count

    from servicedesk.models import OutboxMessage

    mine = [r for r in records if r[1].startswith(f"bench:{run}:")]
    per_subscriber = defaultdict(list)
    for path, event_id, order_id, seq, valid in mine:
        per_subscriber[path].append((event_id, order_id, seq, valid))
    expected = args.events * args.subscribers
    duplicates = sum(len(v) - len({e for e, *_ in v}) for v in per_subscriber.values())
    missing = sum(args.events - len({e for e, *_ in v}) for v in per_subscriber.values()) + args.events * (args.subscribers - len(per_subscriber))
    out_of_order = 0
    for events in per_subscriber.values():
        last = defaultdict(int)
        for _event_id, order_id, seq, _valid in events:
            if seq != last[order_id] + 1:
                out_of_order += 1
            last[order_id] = seq
    bad_signatures = sum(1 for r in mine if not r[4])
    print(f"At the subscriber: {len(mine)} received of {expected}; missing {missing}, duplicates {duplicates}, "
          f"out of order {out_of_order}, bad signatures {bad_signatures}.")
    rows = OutboxMessage.objects.filter(kind="webhook", key__contains=f":bench:{run}:")
    by_status = dict(rows.values_list("status").annotate(n=Count("id")))
    attempts = dict(rows.values_list("attempts").annotate(n=Count("id")))
    print(f"In the outbox: by status {by_status}; by attempts {attempts}.")
    print("OK: exactly once per subscriber, in order per order." if not (missing or duplicates or out_of_order or bad_signatures)
          else "NOT OK: see above.")


def main():
    args = parse_args()
    if args.serve_subscriber:
        serve_subscriber(args.serve_subscriber, args.secret, args.latency_ms)
        return
    if args.mode == "celery":
        os.environ["REDIS_URL"] = args.redis  # the publishing side uses the same broker as the workers
        os.environ["CELERY_TASK_ALWAYS_EAGER"] = "0"

    import django

    django.setup()
    from django.conf import settings
    from django.db import connection

    from servicedesk import tasks

    if connection.vendor != "postgresql":
        raise SystemExit("Run it against PostgreSQL (DATABASE_URL=postgres://...): SQLite serialises every write.")
    print(f"Database: {settings.DATABASES['default']['NAME']}; {os.cpu_count()} CPUs; mode {args.mode}, {args.workers} workers; "
          f"{args.events} events over {args.objects} orders to {args.subscribers} subscriber(s); subscriber latency {args.latency_ms:g} ms.")

    secret = uuid.uuid4().hex
    port = free_port()
    subscriber = start_subscriber(port, secret, args.latency_ms)
    worker = None
    try:
        subscription_ids = setup(args, f"http://127.0.0.1:{port}", secret)
        run = uuid.uuid4().hex[:8]
        counts: dict = defaultdict(int)
        broker: queue.Queue = queue.Queue()
        if args.mode == "celery":
            from servicedesk.celery import app

            app.control.purge()
            publish_seconds = publish_all(args, run)  # the tasks wait in Redis: no worker runs yet
            started = time.perf_counter()
            worker = start_celery(args)
            while outstanding(subscription_ids):
                time.sleep(0.05)
            print(f"Worker start to last delivery (boot included): {time.perf_counter() - started:.1f} s. Worker log: {CELERY_LOG}.")
        else:
            fan_out = broker.put if args.mode == "threads" else (lambda message_id: None)
            with mock.patch.object(tasks.outbox_deliver, "delay", side_effect=fan_out):
                publish_seconds = publish_all(args, run)
                connection.close()
                if args.mode == "threads":
                    deliver_threads(args, broker, counts, subscription_ids)
                else:
                    deliver_redrive(args, counts)
        delivery_seconds = sent_span(run)
        total = args.events * args.subscribers
        print(f"Published {args.events} events ({total} outbox rows) in {publish_seconds:.1f} s: {args.events / publish_seconds:.0f} events/s "
              f"(one transaction each).")
        print(f"Delivered {total} in {delivery_seconds:.1f} s (first to last sent_at): {total / delivery_seconds:.0f} deliveries/s.")
        if counts:
            print(f"Claims: {dict(counts)} (refused: dispatched before its turn in the stream, or already taken).")
        check(subscriber_records(port), args, subscription_ids, run)
    finally:
        for process in (subscriber, worker):
            if process is None:
                continue
            process.terminate()
            try:
                process.wait(timeout=60)
            except subprocess.TimeoutExpired:
                process.kill()


if __name__ == "__main__":
    main()
