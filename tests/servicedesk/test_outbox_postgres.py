"""Real concurrency on PostgreSQL: many workers, each on its own connection, never send a message twice."""
import random
import threading
from collections import Counter
from unittest import mock

import pytest
from django.db import connection

from servicedesk import outbox, tasks
from servicedesk.models import OutboxMessage
from servicedesk.outbox import outbox_enqueue, outbox_handler
from tests.concurrency import run_concurrently

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

KIND = "test.concurrent"
MESSAGES = 200
WORKERS = 8

_lock = threading.Lock()
_sends: Counter = Counter()


@outbox_handler(KIND)
def _send(payload, *, key):
    with _lock:
        _sends[key] += 1
    return {"n": payload["n"]}


@pytest.fixture
def sends():
    _sends.clear()
    return _sends


@pytest.fixture
def pending_messages(sends):
    """MESSAGES committed, pending messages (as after a broker outage: nothing was dispatched)."""
    with mock.patch.object(tasks.outbox_deliver, "delay"):
        ids = [outbox_enqueue(kind=KIND, key=f"sms-{n}", payload={"n": n}).pk for n in range(MESSAGES)]
    assert OutboxMessage.objects.filter(status=OutboxMessage.Status.PENDING).count() == MESSAGES
    assert sends == Counter()
    return ids


def test_on_postgres():
    assert connection.vendor == "postgresql"


@pytest.mark.parametrize("order", ["same", "shuffled"])
def test_concurrent_redrives_deliver_every_message_exactly_once(pending_messages, sends, order):
    # given 200 pending messages and 8 workers that each re-drive everything due at the same moment
    def redrive(n):
        ids = outbox.outbox_due_ids()
        if order == "shuffled":
            random.Random(n).shuffle(ids)
        return [outbox.outbox_deliver(message_id=i) for i in ids]

    # when they run concurrently
    results = run_concurrently(redrive)

    # then each message was claimed by exactly one worker and sent exactly once
    claimed = [status for per_worker in results for status in per_worker if status is not None]
    assert len(claimed) == MESSAGES
    assert set(claimed) == {OutboxMessage.Status.SENT}
    assert len(sends) == MESSAGES
    assert set(sends.values()) == {1}
    assert set(OutboxMessage.objects.values_list("status", flat=True)) == {OutboxMessage.Status.SENT}
    assert set(OutboxMessage.objects.values_list("attempts", flat=True)) == {1}


def test_concurrent_redrive_tasks_deliver_every_message_exactly_once(pending_messages, sends):
    # the beat task itself, run by several workers at once (e.g. two beats after a failover)
    counts = run_concurrently(lambda n: tasks.outbox_redrive.apply().get())

    assert sum(counts) >= MESSAGES  # each worker lists what was due when it looked
    assert len(sends) == MESSAGES
    assert set(sends.values()) == {1}
    assert not OutboxMessage.objects.exclude(status=OutboxMessage.Status.SENT).exists()


def test_concurrent_enqueues_of_the_same_keys_store_and_dispatch_each_once(sends):
    # given 8 workers enqueueing the same 50 pieces of work at the same moment (retries racing each other)
    dispatched = Counter()

    def record(message_id):
        with _lock:
            dispatched[message_id] += 1

    def enqueue(n):
        return [outbox_enqueue(kind=KIND, key=f"order-{k}", payload={"n": k}).pk for k in range(50)]

    with mock.patch.object(tasks.outbox_deliver, "delay", side_effect=record):
        results = run_concurrently(enqueue)

    # then there is one row per key, every worker got that row, and only its creator dispatched it
    assert OutboxMessage.objects.count() == 50
    assert all(ids == results[0] for ids in results)
    assert len(dispatched) == 50
    assert set(dispatched.values()) == {1}

    # and re-driving sends each exactly once
    assert tasks.outbox_redrive.apply().get() == 50
    assert set(sends.values()) == {1} and len(sends) == 50
