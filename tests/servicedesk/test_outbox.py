"""The outbox: written with the business change, sent after commit exactly once, retried, re-driven after an outage."""
import threading
from datetime import timedelta
from unittest import mock

import pytest
from django.db import transaction
from django.utils import timezone
from kombu.exceptions import OperationalError

from servicedesk import tasks
from servicedesk.models import Contact, OutboxMessage
from servicedesk.outbox import (
    TransientDeliveryError,
    UnknownOutboxKind,
    backoff_seconds,
    outbox_deliver,
    outbox_due_ids,
    outbox_enqueue,
    outbox_handler,
    outbox_retry,
)
from servicedesk.roles import Role
from servicedesk.services import contact_record
from tests.factories import CustomerFactory, UserFactory

pytestmark = pytest.mark.django_db

KIND = "test.kind"
Status = OutboxMessage.Status


class FakeGateway:
    """Records every send; fails transiently ``transient`` times, or always with ``permanent``."""

    def __init__(self):
        self.calls: list[tuple[str, dict]] = []
        self.transient = 0
        self.permanent: Exception | None = None
        self._lock = threading.Lock()

    def __call__(self, payload, *, key):
        with self._lock:
            self.calls.append((key, payload))
            if self.transient:
                self.transient -= 1
                raise TransientDeliveryError("gateway timeout (HTTP 504)")
        if self.permanent is not None:
            raise self.permanent
        return {"gateway_id": f"gw-{key}"}

    def sent_keys(self):
        return [key for key, _payload in self.calls]


_gateway = FakeGateway()


@outbox_handler(KIND)
def _send_test_kind(payload, *, key):
    return _gateway(payload, key=key)


@pytest.fixture
def gateway():
    global _gateway
    _gateway = FakeGateway()
    return _gateway


class Clock:
    """``timezone.now`` under the test's control (the outbox reads it through the module)."""

    def __init__(self, start):
        self.now = start

    def __call__(self):
        return self.now

    def advance(self, seconds):
        self.now += timedelta(seconds=seconds)


@pytest.fixture
def clock(monkeypatch):
    # A minute ahead of the real clock: rows get ``next_attempt_at``/``created_at`` from the real
    # ``timezone.now`` (the field default is bound at import), so they are due on this clock.
    clock = Clock(timezone.now() + timedelta(minutes=1))
    monkeypatch.setattr(timezone, "now", clock)
    return clock


@pytest.fixture
def broker_down():
    """What Celery raises from ``delay`` when Redis cannot be reached."""
    error = OperationalError("Error 111 connecting to redis:6379. Connection refused.")
    with mock.patch.object(tasks.outbox_deliver, "delay", side_effect=error) as delay:
        yield delay


@pytest.fixture
def pending(broker_down, gateway):
    """``pending("key")``: a committed, undelivered message, as the broker outage leaves it."""

    def make(key="sms-1", payload=None):
        return outbox_enqueue(kind=KIND, key=key, payload=payload or {"to": "13812345678", "text": "hi"})

    return make


def redrive():
    return tasks.outbox_redrive.apply().get()


def row(key="sms-1"):
    return OutboxMessage.objects.get(key=key)


# --- written with the transaction ----------------------------------------------------------


def test_a_message_of_a_rolled_back_transaction_is_neither_stored_nor_sent(gateway, django_capture_on_commit_callbacks):
    # given a business transaction that enqueues a message and then fails
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        with pytest.raises(RuntimeError), transaction.atomic():
            outbox_enqueue(kind=KIND, key="sms-1", payload={"text": "hi"})
            raise RuntimeError("the order could not be saved")

    # then nothing was kept and nothing was sent
    assert not OutboxMessage.objects.exists()
    assert callbacks == []
    assert gateway.calls == []


@pytest.mark.django_db(transaction=True)
def test_real_rollback_neither_stores_nor_sends(gateway):
    with pytest.raises(RuntimeError), transaction.atomic():
        outbox_enqueue(kind=KIND, key="sms-1", payload={"text": "hi"})
        raise RuntimeError("boom")

    assert not OutboxMessage.objects.exists()
    assert gateway.calls == []


def test_after_commit_the_message_is_sent_once_with_payload_and_key(gateway, django_capture_on_commit_callbacks):
    # given a message enqueued inside a transaction
    with django_capture_on_commit_callbacks(execute=True):
        with transaction.atomic():
            message = outbox_enqueue(kind=KIND, key="sms-1", payload={"to": "13812345678", "text": "工单已受理"})
            # nothing leaves before the commit
            assert gateway.calls == []
            assert message.status == Status.PENDING

    # then, after commit, it was sent exactly once with its payload and its key
    assert gateway.calls == [("sms-1", {"to": "13812345678", "text": "工单已受理"})]
    sent = row()
    assert sent.status == Status.SENT
    assert sent.attempts == 1
    assert sent.sent_at is not None
    assert sent.result == {"gateway_id": "gw-sms-1"}
    assert sent.last_error == ""

    # and nothing sends it again
    assert redrive() == 0
    assert outbox_deliver(message_id=sent.pk) is None
    assert len(gateway.calls) == 1


@pytest.mark.django_db(transaction=True)
def test_after_a_real_commit_the_message_is_sent_once(gateway):
    with transaction.atomic():
        outbox_enqueue(kind=KIND, key="sms-1", payload={"text": "hi"})
        assert gateway.calls == []

    assert gateway.sent_keys() == ["sms-1"]
    assert row().status == Status.SENT


@pytest.mark.parametrize("same_transaction", [True, False])
def test_enqueueing_the_same_key_twice_stores_and_sends_once(gateway, django_capture_on_commit_callbacks, same_transaction):
    # when the same piece of work is enqueued twice (a retried request, a double click)
    with django_capture_on_commit_callbacks(execute=True):
        with transaction.atomic():
            first = outbox_enqueue(kind=KIND, key="order-7-accepted", payload={"v": 1})
            if same_transaction:
                second = outbox_enqueue(kind=KIND, key="order-7-accepted", payload={"v": 2})
    if not same_transaction:
        with django_capture_on_commit_callbacks(execute=True):
            second = outbox_enqueue(kind=KIND, key="order-7-accepted", payload={"v": 2})

    # then there is one row and one send, of the first payload
    assert second.pk == first.pk
    assert OutboxMessage.objects.count() == 1
    assert gateway.calls == [("order-7-accepted", {"v": 1})]


def test_an_unknown_kind_is_refused_at_enqueue(gateway):
    with pytest.raises(UnknownOutboxKind):
        outbox_enqueue(kind="test.nobody-handles-this", key="x", payload={})

    assert not OutboxMessage.objects.exists()


def test_a_row_whose_handler_is_gone_fails_instead_of_looping(gateway):
    # given a stored message whose kind no longer has a handler (a removed integration)
    message = OutboxMessage.objects.create(kind="test.removed", key="old-1", payload={})

    # when it is delivered, then it fails for good and is not retried
    assert outbox_deliver(message_id=message.pk) == Status.FAILED
    message.refresh_from_db()
    assert "UnknownOutboxKind" in message.last_error
    assert redrive() == 0


# --- retries ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("attempts", "seconds"),
    [(0, 15), (1, 15), (2, 30), (3, 60), (4, 120), (5, 240), (6, 480), (7, 960), (8, 1920), (9, 3600), (10, 3600), (40, 3600)],
)
def test_backoff_doubles_from_the_base_up_to_the_cap(settings, attempts, seconds):
    settings.OUTBOX_BACKOFF_BASE_SECONDS = 15
    settings.OUTBOX_BACKOFF_CAP_SECONDS = 3600

    assert backoff_seconds(attempts) == seconds


def test_backoff_follows_the_settings(settings):
    settings.OUTBOX_BACKOFF_BASE_SECONDS = 2
    settings.OUTBOX_BACKOFF_CAP_SECONDS = 10

    assert [backoff_seconds(n) for n in range(1, 6)] == [2, 4, 8, 10, 10]


def test_a_transient_failure_goes_back_to_pending_and_waits_for_the_backoff(
    gateway, clock, settings, django_capture_on_commit_callbacks
):
    # given a gateway that times out once
    settings.OUTBOX_BACKOFF_BASE_SECONDS = 15
    gateway.transient = 1

    # when the message is sent after commit
    with django_capture_on_commit_callbacks(execute=True):
        outbox_enqueue(kind=KIND, key="sms-1", payload={"text": "hi"})

    # then it is pending again, due after the first backoff, with the error kept
    failed_once = row()
    assert failed_once.status == Status.PENDING
    assert failed_once.attempts == 1
    assert failed_once.next_attempt_at == clock.now + timedelta(seconds=15)
    assert failed_once.claimed_at is None
    assert "HTTP 504" in failed_once.last_error

    # and the beat does not resend it before the backoff has passed
    clock.advance(14)
    assert redrive() == 0
    assert len(gateway.calls) == 1

    # but does once it has
    clock.advance(1)
    assert redrive() == 1
    sent = row()
    assert sent.status == Status.SENT
    assert sent.attempts == 2
    assert sent.last_error == ""
    assert gateway.sent_keys() == ["sms-1", "sms-1"]


def test_each_transient_failure_waits_longer(gateway, clock, settings, pending):
    # given a gateway that keeps timing out
    settings.OUTBOX_MAX_ATTEMPTS = 10
    settings.OUTBOX_BACKOFF_BASE_SECONDS = 15
    settings.OUTBOX_BACKOFF_CAP_SECONDS = 100
    gateway.transient = 99
    pending()

    # when the beat retries each time the message is due
    waits = []
    for _ in range(5):
        assert redrive() == 1
        waits.append((row().next_attempt_at - clock.now).total_seconds())
        clock.now = row().next_attempt_at

    # then the waits grow and stop at the cap
    assert waits == [15, 30, 60, 100, 100]


@pytest.mark.parametrize("max_attempts", [1, 3])
def test_after_max_attempts_the_message_fails(gateway, clock, settings, pending, max_attempts):
    # given a gateway that never recovers
    settings.OUTBOX_MAX_ATTEMPTS = max_attempts
    gateway.transient = 99
    pending()

    # when the beat retries whenever the message is due
    for attempt in range(1, max_attempts + 1):
        assert redrive() == 1
        clock.advance(settings.OUTBOX_BACKOFF_CAP_SECONDS)
        assert row().attempts == attempt
        assert row().status == (Status.FAILED if attempt == max_attempts else Status.PENDING)

    # then it stopped at the limit, says why, and is not tried again
    failed = row()
    assert failed.last_error == f"gave up after {max_attempts} attempts: gateway timeout (HTTP 504)"
    assert redrive() == 0
    assert len(gateway.calls) == max_attempts


@pytest.mark.parametrize("error", [ValueError("invalid recipient"), KeyError("to"), RuntimeError("HTTP 400")])
def test_a_permanent_failure_fails_at_once(gateway, pending, error):
    # given a gateway that rejects the message outright
    gateway.permanent = error
    pending()

    # when it is delivered
    redrive()

    # then it is failed after one attempt with the reason, and never retried
    failed = row()
    assert failed.status == Status.FAILED
    assert failed.attempts == 1
    assert failed.last_error.startswith(type(error).__name__ + ":")
    assert redrive() == 0
    assert len(gateway.calls) == 1


# --- broker outage and stuck workers --------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_broker_down_the_business_change_commits_and_redrive_sends_once(gateway, broker_down, caplog):
    # given the broker (Redis) is unreachable while an agent's work is written
    agent = UserFactory(roles=[Role.AGENT])
    customer = CustomerFactory()
    with transaction.atomic():
        contact = contact_record(agent=agent, customer=customer, reason="Wants an SMS copy of the bill")
        outbox_enqueue(kind=KIND, key=f"contact-{contact.pk}-sms", payload={"contact": contact.pk})

    # then the business change committed, the message waits, nothing was sent, and the outage was logged
    assert Contact.objects.filter(pk=contact.pk).exists()
    message = OutboxMessage.objects.get()
    assert message.status == Status.PENDING
    assert message.attempts == 0
    assert broker_down.call_count == 1
    assert gateway.calls == []
    assert "will be re-driven" in caplog.text

    # when the beat re-drives (inline, without the broker)
    assert redrive() == 1

    # then it is sent exactly once, and a second re-drive sends nothing more
    assert gateway.sent_keys() == [f"contact-{contact.pk}-sms"]
    assert OutboxMessage.objects.get().status == Status.SENT
    assert redrive() == 0
    assert len(gateway.calls) == 1


def test_broker_down_many_messages_all_wait_and_all_are_redriven(gateway, pending, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        for i in range(5):
            pending(f"sms-{i}")

    assert set(OutboxMessage.objects.values_list("status", flat=True)) == {Status.PENDING}
    assert redrive() == 5
    assert sorted(gateway.sent_keys()) == [f"sms-{i}" for i in range(5)]
    assert redrive() == 0


@pytest.mark.parametrize(
    ("claimed_seconds_ago", "released"),
    [(301, True), (3600, True), (299, False), (5, False)],
)
def test_a_message_stuck_in_sending_is_released_only_after_the_claim_timeout(
    gateway, clock, settings, pending, claimed_seconds_ago, released
):
    # given a message a worker claimed and then died on
    settings.OUTBOX_CLAIM_TIMEOUT_SECONDS = 300
    message = pending()
    OutboxMessage.objects.filter(pk=message.pk).update(
        status=Status.SENDING, attempts=1, claimed_at=clock.now - timedelta(seconds=claimed_seconds_ago)
    )

    # when the beat re-drives
    redriven = redrive()

    # then an old claim is released and sent; a recent one (a worker still busy) is left alone
    if released:
        assert redriven == 1
        assert gateway.sent_keys() == ["sms-1"]
        assert row().status == Status.SENT
        assert row().attempts == 2
    else:
        assert redriven == 0
        assert gateway.calls == []
        assert row().status == Status.SENDING


def test_a_message_not_yet_due_is_not_delivered(gateway, clock, pending):
    message = pending()
    OutboxMessage.objects.filter(pk=message.pk).update(next_attempt_at=clock.now + timedelta(seconds=1))

    assert outbox_deliver(message_id=message.pk) is None
    assert outbox_due_ids() == []
    assert gateway.calls == []


def test_due_messages_are_listed_oldest_first_and_limited(pending, clock):
    messages = [pending(f"sms-{i}") for i in range(4)]
    for offset, message in zip([30, 10, 20, 40], messages):
        OutboxMessage.objects.filter(pk=message.pk).update(next_attempt_at=clock.now - timedelta(seconds=offset))

    assert outbox_due_ids(limit=3) == [messages[3].pk, messages[0].pk, messages[2].pk]


def test_deliver_task_runs_the_delivery(gateway, pending):
    message = pending()

    tasks.outbox_deliver.apply(args=[message.pk])

    assert gateway.sent_keys() == ["sms-1"]
    assert row().status == Status.SENT


# --- manual retry -------------------------------------------------------------------------


def test_outbox_retry_resends_a_failed_message(gateway, django_capture_on_commit_callbacks):
    # given a message that failed for good
    gateway.permanent = ValueError("invalid recipient")
    with django_capture_on_commit_callbacks(execute=True):
        message = outbox_enqueue(kind=KIND, key="sms-1", payload={"text": "hi"})
    assert row().status == Status.FAILED

    # when the cause is fixed and an admin retries it
    gateway.permanent = None
    with django_capture_on_commit_callbacks(execute=True):
        outbox_retry(message_id=message.pk)

    # then it is sent, with a fresh attempt count and no error left
    sent = row()
    assert sent.status == Status.SENT
    assert sent.attempts == 1
    assert sent.last_error == ""
    assert gateway.sent_keys() == ["sms-1", "sms-1"]


def test_outbox_retry_with_the_broker_down_leaves_it_for_the_redrive(gateway, broker_down, django_capture_on_commit_callbacks):
    message = OutboxMessage.objects.create(kind=KIND, key="sms-1", payload={}, status=Status.FAILED, attempts=8)

    with django_capture_on_commit_callbacks(execute=True):
        outbox_retry(message_id=message.pk)

    assert row().status == Status.PENDING
    assert gateway.calls == []
    assert redrive() == 1
    assert row().status == Status.SENT


@pytest.mark.parametrize("status", [Status.PENDING, Status.SENDING, Status.SENT])
def test_outbox_retry_leaves_messages_that_did_not_fail_alone(gateway, django_capture_on_commit_callbacks, status):
    message = OutboxMessage.objects.create(kind=KIND, key="sms-1", payload={}, status=status, attempts=1)

    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        outbox_retry(message_id=message.pk)

    assert callbacks == []
    assert gateway.calls == []
    assert row().status == status
    assert row().attempts == 1




def test_a_worker_whose_claim_was_taken_over_does_not_overwrite_the_new_owners_result(clock, settings, django_capture_on_commit_callbacks):
    calls = []

    @outbox_handler("test.slow")
    def _slow(payload, *, key):
        calls.append(key)
        if len(calls) == 1:
            # worker A hangs here; its claim expires and worker B re-claims and sends
            clock.advance(settings.OUTBOX_CLAIM_TIMEOUT_SECONDS + 1)
            assert outbox_due_ids() == [message.pk]
            assert outbox_deliver(message_id=message.pk) == Status.SENT
            raise TransientDeliveryError("worker A's call finally timed out")
        return {"sent_by": "B"}

    with django_capture_on_commit_callbacks(execute=False):
        message = outbox_enqueue(kind="test.slow", key="slow-1", payload={})

    outbox_deliver(message_id=message.pk)  # worker A

    message.refresh_from_db()
    assert (message.status, message.result, len(calls)) == (Status.SENT, {"sent_by": "B"}, 2)
