"""The production path: outbox work goes through the real Redis broker to a worker, after commit."""
import threading
import time

import pytest
from django.db import transaction

from servicedesk.celery import app
from servicedesk.models import OutboxMessage
from servicedesk.outbox import outbox_enqueue, outbox_handler

pytestmark = [pytest.mark.redis, pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

delivered: list[str] = []
committed = threading.Event()


@outbox_handler("test.broker")
def _record(payload, *, key):
    # The worker must only ever see work whose transaction has committed.
    assert committed.is_set(), "delivered before commit"
    delivered.append(key)
    return {"ok": True}


def _wait_for(predicate, seconds=15.0):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.1)
    return False


def test_outbox_message_is_delivered_by_a_worker_through_redis_after_commit():
    from celery.contrib.testing.worker import start_worker

    delivered.clear()
    committed.clear()
    app.conf.task_always_eager = False  # the autouse fixture restores it
    assert app.conf.broker_url.startswith("redis://")

    with start_worker(app, pool="solo", perform_ping_check=False, shutdown_timeout=10):
        with transaction.atomic():
            message = outbox_enqueue(kind="test.broker", key="broker-1", payload={"n": 1})
            time.sleep(0.5)  # a worker racing the transaction would deliver now
            assert delivered == []
            committed.set()

        assert _wait_for(lambda: OutboxMessage.objects.get(pk=message.pk).status == OutboxMessage.Status.SENT)

    assert delivered == ["broker-1"]
