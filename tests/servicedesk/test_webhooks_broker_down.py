"""No webhook event is lost when the broker goes away: a real Redis is killed mid-run, then brought back.

A throwaway ``redis-server`` on a free port is the Celery broker; a real Celery worker (in a thread)
delivers to a real local HTTP subscriber. While the broker is down the changes still commit and
their events wait in the outbox; tasks that were sitting in the broker when it died are gone with
it. After the restart beat's redrive sends whatever is pending, and every event reaches each
subscriber exactly once, in order per object.
"""
import json
import logging
import shutil
import socket
import subprocess
import threading
import time
from collections import defaultdict
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from complaints.models import Complaint
from complaints.services.work import complaint_resolve, complaint_start
from orders.models import Order, OrderStatus
from orders.services import order_cancel, order_hand_to_delivery
from servicedesk import tasks, webhooks
from servicedesk.celery import app
from servicedesk.models import OutboxMessage, WebhookSubscription
from servicedesk.services import contact_record
from tests.factories import ComplaintFactory, OrderFactory, SubscriptionFactory, UserFactory

pytestmark = [pytest.mark.redis, pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

REDIS_SERVER = shutil.which("redis-server") or "/usr/bin/redis-server"
ORDERS = 4


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Redis:
    """A redis-server of our own, with no persistence: killing it loses whatever it held."""

    def __init__(self):
        self.port = _free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.process = None

    def start(self):
        self.process = subprocess.Popen(
            [REDIS_SERVER, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline:
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.2) as conn:
                    conn.sendall(b"PING\r\n")
                    if conn.recv(16).startswith(b"+PONG"):
                        return
            except OSError:
                time.sleep(0.05)
        raise RuntimeError("redis-server did not start")

    def kill(self):
        self.process.kill()
        self.process.wait(timeout=5)


class Subscriber:
    """An HTTP server that records (path, event id, object, transition) for each POST and answers 200."""

    def __init__(self):
        self.received: list[tuple[str, dict]] = []
        lock = threading.Lock()
        received = self.received

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                with lock:
                    received.append((self.path, json.loads(body)))
                self.send_response(200)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.base = f"http://127.0.0.1:{self.server.server_port}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture(autouse=True)
def _eager_tasks():
    """Overrides the suite's: here tasks really go through the broker."""
    conf = app.conf
    saved = conf.task_always_eager, conf.broker_url, conf.task_publish_retry_policy
    conf.task_always_eager = False
    yield
    conf.task_always_eager, conf.broker_url, conf.task_publish_retry_policy = saved
    _reset_broker_connections()


def _reset_broker_connections():
    """Drop pooled connections, so that the next publish connects to ``broker_url`` as it is now."""
    from kombu import pools

    pools.reset()
    app._pool = None
    app.amqp._producer_pool = None


@pytest.fixture
def redis():
    if not shutil.which(REDIS_SERVER):
        pytest.skip(f"needs {REDIS_SERVER}")
    server = Redis()
    server.start()
    app.conf.broker_url = server.url
    # One quick retry per publish: a dead broker is noticed in well under a second.
    app.conf.task_publish_retry_policy = {"max_retries": 1, "interval_start": 0, "interval_step": 0.1, "interval_max": 0.1}
    _reset_broker_connections()
    yield server
    if server.process.poll() is None:
        server.kill()


@pytest.fixture
def subscriber():
    server = Subscriber()
    yield server
    server.close()


class _Recorded(logging.Handler):
    """The project's logging config does not propagate to pytest's caplog; this listens on the logger itself."""

    def __init__(self):
        super().__init__(logging.WARNING)
        self.messages: list[str] = []

    def emit(self, record):
        self.messages.append(record.getMessage())


def _wait_for(predicate, seconds=60.0) -> bool:  # generous: a loaded CI machine is slow, a met condition returns at once
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.05)
    return predicate()


def _webhooks(status=None):
    rows = OutboxMessage.objects.filter(kind=webhooks.WEBHOOK)
    return rows.filter(status=status) if status else rows


def _worker():
    from celery.contrib.testing.worker import start_worker

    return start_worker(app, pool="solo", perform_ping_check=False, shutdown_timeout=10)


def test_events_written_while_the_broker_is_down_or_lost_with_it_are_delivered_once_in_order(redis, subscriber):
    started = time.monotonic()
    # given two integrating systems: a CRM listening to orders, complaints and contacts, a BSS to orders
    client = UserFactory(roles=["api_client"])
    listening = {
        "crm": [webhooks.ORDER_STATUS_CHANGED, webhooks.COMPLAINT_STATUS_CHANGED, webhooks.CONTACT_CREATED],
        "bss": [webhooks.ORDER_STATUS_CHANGED],
    }
    for name, events in listening.items():
        WebhookSubscription.objects.create(client=client, name=name, url=f"{subscriber.base}/{name}", secret="x" * 32, events=events)
    orders = [OrderFactory(status=OrderStatus.ACCEPTED) for _ in range(ORDERS)]
    complaints = [ComplaintFactory() for _ in range(2)]
    line = SubscriptionFactory()

    # when, with the broker and a worker up, the orders are handed to delivery and the complaints worked on
    with _worker():
        for order in orders:
            order_hand_to_delivery(order_id=order.pk, by=None)
        for complaint in complaints:
            complaint_start(complaint_id=complaint.pk, by=None)
        assert _wait_for(lambda: _webhooks(OutboxMessage.Status.SENT).count() == 2 * ORDERS + 2)

    # and, with no worker running, half the orders are cancelled and a complaint resolved (two steps):
    # their tasks wait in the broker...
    for order in orders[: ORDERS // 2]:
        order_cancel(order_id=order.pk, by=None, reason="changed mind")
    complaint_resolve(complaint_id=complaints[0].pk, by=None, resolution="fixed")

    # ...which then dies, taking them with it
    redis.kill()

    # and while it is down the other orders are cancelled, the other complaint resolved and a contact recorded
    warnings = _Recorded()
    logging.getLogger("servicedesk.outbox").addHandler(warnings)
    for order in orders[ORDERS // 2:]:
        order_cancel(order_id=order.pk, by=None, reason="changed mind")
    complaint_resolve(complaint_id=complaints[1].pk, by=None, resolution="fixed")
    contact = contact_record(agent=UserFactory(roles=["agent"]), reason="balance", service_number=line.service_number)

    # then every change committed, and its events wait in the outbox
    assert set(Order.objects.filter(pk__in=[o.pk for o in orders]).values_list("status", flat=True)) == {OrderStatus.CANCELLED}
    assert set(Complaint.objects.filter(pk__in=[c.pk for c in complaints]).values_list("status", flat=True)) == {"callback"}
    assert _webhooks(OutboxMessage.Status.PENDING).count() == 2 * ORDERS + 2 * 2 + 1
    logging.getLogger("servicedesk.outbox").removeHandler(warnings)

    # when the broker comes back (empty) with a worker, and beat sends the redrive through it
    redis.start()
    _reset_broker_connections()
    with _worker():
        tasks.outbox_redrive.delay()
        assert _wait_for(lambda: not _webhooks().exclude(status=OutboxMessage.Status.SENT).exists()), list(
            _webhooks().values_list("key", "status", "last_error")
        )

    # then each subscriber got every event it listens to exactly once...
    received = defaultdict(list)
    for path, event in subscriber.received:
        received[path.strip("/")].append(event)
    expected = {"crm": 2 * ORDERS + 3 * len(complaints) + 1, "bss": 2 * ORDERS}
    for name, count in expected.items():
        ids = [e["id"] for e in received[name]]
        assert len(ids) == count == len(set(ids)), (name, ids)
    assert f"servicedesk.contact:{contact.pk}" in {e["id"] for e in received["crm"]}
    assert set(_webhooks().values_list("attempts", flat=True)) == {1}

    # ...and, per object, in the order it happened
    for name in expected:
        steps = defaultdict(list)
        for event in received[name]:
            steps[(event["object"]["type"], event["object"]["id"])].append(event["transition"] if "transition" in event else "created")
        want = {("order", o.pk): ["hand_to_delivery", "cancel"] for o in orders}
        if name == "crm":
            want |= {("complaint", c.pk): ["start", "resolve", "await_callback"] for c in complaints}
            want[("contact", contact.pk)] = ["created"]
        assert steps == want, name

    assert time.monotonic() - started < 30
