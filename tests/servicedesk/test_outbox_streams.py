"""Outbox streams: messages of one stream leave one after the other in id order; others are unaffected."""
import random
import threading
from collections import defaultdict
from datetime import timedelta
from unittest import mock

import pytest
from django.db import connection
from django.utils import timezone

from servicedesk import outbox, tasks
from servicedesk.models import OutboxMessage
from servicedesk.outbox import TransientDeliveryError, outbox_deliver, outbox_due_ids, outbox_enqueue, outbox_handler
from tests.concurrency import run_concurrently

Status = OutboxMessage.Status
KIND = "test.stream"


class Recorder:
    def __init__(self):
        self.sent: list[str] = []
        self.fail: dict[str, Exception] = {}
        self.lock = threading.Lock()

    def __call__(self, payload, *, key):
        with self.lock:
            self.sent.append(key)
        if key in self.fail:
            raise self.fail.pop(key)
        return {"ok": True}


_recorder = Recorder()


@outbox_handler(KIND)
def _send(payload, *, key):
    return _recorder(payload, key=key)


@pytest.fixture
def recorder():
    global _recorder
    _recorder = Recorder()
    return _recorder


@pytest.fixture
def no_broker():
    """Enqueued rows stay pending (nothing is dispatched), as when the broker is down."""
    with mock.patch.object(tasks.outbox_deliver, "delay") as delay:
        yield delay


def enqueue(key, stream=""):
    return outbox_enqueue(kind=KIND, key=key, payload={}, stream=stream)


def status(message):
    message.refresh_from_db()
    return message.status


@pytest.mark.django_db
def test_a_message_waits_while_an_earlier_one_of_its_stream_is_pending(recorder, no_broker):
    first, second = enqueue("a1", "s:a"), enqueue("a2", "s:a")

    assert outbox_deliver(message_id=second.pk) is None
    assert status(second) == Status.PENDING and recorder.sent == []

    assert outbox_deliver(message_id=first.pk) == Status.SENT
    assert outbox_deliver(message_id=second.pk) == Status.SENT
    assert recorder.sent == ["a1", "a2"]


@pytest.mark.django_db
def test_a_message_waits_while_an_earlier_one_is_being_sent(recorder, no_broker):
    first, second = enqueue("a1", "s:a"), enqueue("a2", "s:a")
    OutboxMessage.objects.filter(pk=first.pk).update(status=Status.SENDING, claimed_at=timezone.now())

    assert outbox_deliver(message_id=second.pk) is None


@pytest.mark.django_db
@pytest.mark.parametrize("first_outcome", ["sent", "failed"])
def test_when_one_finishes_the_next_of_its_stream_is_dispatched(recorder, no_broker, first_outcome):
    # given two messages of one stream and one of another
    first, second, other = enqueue("a1", "s:a"), enqueue("a2", "s:a"), enqueue("b1", "s:b")
    if first_outcome == "failed":
        recorder.fail["a1"] = ValueError("rejected")
    no_broker.reset_mock()

    # when the first is delivered
    assert outbox_deliver(message_id=first.pk) == first_outcome

    # then the second of its stream (only) was handed to the broker
    no_broker.assert_called_once_with(second.pk)
    assert status(other) == Status.PENDING


@pytest.mark.django_db
def test_a_transient_failure_keeps_the_rest_of_the_stream_waiting(recorder, no_broker):
    first, second = enqueue("a1", "s:a"), enqueue("a2", "s:a")
    recorder.fail["a1"] = TransientDeliveryError("HTTP 503")
    no_broker.reset_mock()

    assert outbox_deliver(message_id=first.pk) == Status.PENDING

    no_broker.assert_not_called()
    assert outbox_deliver(message_id=second.pk) is None


@pytest.mark.django_db
def test_streams_do_not_block_each_other_nor_messages_without_a_stream(recorder, no_broker):
    enqueue("a1", "s:a")  # pending, never sent
    later_other_stream, no_stream = enqueue("b1", "s:b"), enqueue("plain")

    assert outbox_deliver(message_id=later_other_stream.pk) == Status.SENT
    assert outbox_deliver(message_id=no_stream.pk) == Status.SENT


@pytest.mark.django_db
def test_messages_without_a_stream_go_in_any_order(recorder, no_broker):
    first, second = enqueue("p1"), enqueue("p2")

    assert outbox_deliver(message_id=second.pk) == Status.SENT
    assert outbox_deliver(message_id=first.pk) == Status.SENT


@pytest.mark.django_db
def test_due_ids_leave_out_what_waits_behind_a_backing_off_or_sending_message(recorder, no_broker):
    # given: stream a's head is backing off, stream b's head is being sent, stream c is all due
    a1, a2 = enqueue("a1", "s:a"), enqueue("a2", "s:a")
    b1, b2 = enqueue("b1", "s:b"), enqueue("b2", "s:b")
    c1, c2 = enqueue("c1", "s:c"), enqueue("c2", "s:c")
    plain = enqueue("plain")
    OutboxMessage.objects.filter(pk=a1.pk).update(next_attempt_at=timezone.now() + timedelta(minutes=5), attempts=1)
    OutboxMessage.objects.filter(pk=b1.pk).update(status=Status.SENDING, claimed_at=timezone.now())

    # then the redrive lists neither a's nor b's, and c's in order
    assert outbox_due_ids() == [c1.pk, c2.pk, plain.pk]


@pytest.mark.django_db
def test_a_blocked_stream_does_not_starve_other_work(recorder, no_broker):
    # given a stream whose head backs off with more waiting behind it than one redrive lists
    head = enqueue("a0", "s:a")
    for n in range(1, 30):
        enqueue(f"a{n}", "s:a")
    OutboxMessage.objects.filter(pk=head.pk).update(next_attempt_at=timezone.now() + timedelta(minutes=5), attempts=1)
    fresh = enqueue("plain")

    assert outbox_due_ids(limit=10) == [fresh.pk]


@pytest.mark.django_db
def test_one_redrive_drains_a_stream_in_order_after_an_outage(recorder, no_broker):
    # given a backlog written while the broker was down, streams interleaved
    keys = []
    for n in range(5):
        for stream in ("a", "b", "c"):
            keys.append(enqueue(f"{stream}{n}", f"s:{stream}").key)

    # when beat's redrive runs once (the broker still down: its dispatches go nowhere)
    tasks.outbox_redrive.apply().get()

    # then everything went, each stream in order
    assert set(OutboxMessage.objects.values_list("status", flat=True)) == {Status.SENT}
    per_stream = defaultdict(list)
    for key in recorder.sent:
        per_stream[key[0]].append(key)
    assert per_stream == {s: [f"{s}{n}" for n in range(5)] for s in "abc"}


@pytest.mark.django_db
def test_in_process_delivery_chains_through_the_stream(recorder, django_capture_on_commit_callbacks):
    # embedded defaults (eager tasks): the after-commit dispatch of each sends it, the finish of each sends the next
    with django_capture_on_commit_callbacks(execute=True):
        for n in range(4):
            enqueue(f"a{n}", "s:a")

    assert recorder.sent == ["a0", "a1", "a2", "a3"]


# --- real concurrency ----------------------------------------------------------------------------

STREAMS = 20
PER_STREAM = 5


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_concurrent_workers_keep_each_stream_in_order_and_send_each_message_once(recorder, no_broker):
    # given a backlog of interleaved streams (the broker down while they were written)
    assert connection.vendor == "postgresql"
    for n in range(PER_STREAM):
        for s in range(STREAMS):
            enqueue(f"s{s}-{n}", f"s:{s}")

    # when 8 workers each try to deliver every message, in their own random order, until nothing is due
    def work(n):
        rng = random.Random(n)
        while ids := outbox.outbox_due_ids():
            rng.shuffle(ids)
            for message_id in ids:
                outbox.outbox_deliver(message_id=message_id)

    run_concurrently(work)

    # then every message was sent once, and each stream in order
    assert set(OutboxMessage.objects.values_list("status", flat=True)) == {Status.SENT}
    assert len(recorder.sent) == STREAMS * PER_STREAM == len(set(recorder.sent))
    per_stream = defaultdict(list)
    for key in recorder.sent:
        stream, n = key.split("-")
        per_stream[stream].append(int(n))
    assert all(sent == list(range(PER_STREAM)) for sent in per_stream.values())


@pytest.mark.django_db
def test_a_message_behind_an_open_one_is_dispatched_when_its_turn_comes_not_at_commit(recorder, no_broker, django_capture_on_commit_callbacks):
    # when three events about one object and one about another are written in one burst
    with django_capture_on_commit_callbacks(execute=True):
        first, second, third = enqueue("a1", "s:a"), enqueue("a2", "s:a"), enqueue("a3", "s:a")
        other = enqueue("b1", "s:b")

    # then only the head of each stream went to the broker (no task would only be refused)
    assert sorted(call.args[0] for call in no_broker.call_args_list) == sorted([first.pk, other.pk])

    # and each one that finishes hands on the next, in order
    no_broker.reset_mock()
    assert outbox_deliver(message_id=first.pk) == Status.SENT
    no_broker.assert_called_once_with(second.pk)
    no_broker.reset_mock()
    assert outbox_deliver(message_id=second.pk) == Status.SENT
    no_broker.assert_called_once_with(third.pk)
    assert outbox_deliver(message_id=third.pk) == Status.SENT
    assert recorder.sent == ["a1", "a2", "a3"]
