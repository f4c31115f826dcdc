"""The one way work leaves the platform (SMS, provisioning, webhooks).

``outbox_enqueue`` writes a row inside the caller's transaction and asks
Celery to deliver it once that transaction commits. If the broker is down the
row simply waits: ``outbox_redrive`` (beat) finds due rows and delivers them
later, so an outage delays work but never loses it. The unique ``key`` means
the same piece of work cannot be enqueued twice, and delivery claims a row
with a conditional UPDATE, so two workers never send the same message.

A handler is registered per ``kind`` and receives ``(payload, key=...)``;
it passes the key on to the outside system as its idempotency key. It raises
``TransientDeliveryError`` for failures worth retrying (timeouts, 5xx), and
anything else for permanent failures.

Messages that name a ``stream`` (a webhook subscriber's events about one object)
leave in id order: one is claimed only when no earlier message of its stream is
still pending or sending; a message enqueued behind an open one is not dispatched at
commit, and when one finishes (sent or failed) the next of its stream is dispatched. The order is the order the rows were written in, which is
the order of the changes because the services lock the changed row. Messages
without a stream are not affected.
"""
import logging
from collections.abc import Callable
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import Exists, F, OuterRef, Q
from django.utils import timezone

from .models import OutboxMessage

logger = logging.getLogger(__name__)

Handler = Callable[..., dict | None]
_handlers: dict[str, Handler] = {}


class TransientDeliveryError(Exception):
    """The outside system may accept the same message later."""


class UnknownOutboxKind(Exception):
    pass


def outbox_handler(kind: str) -> Callable[[Handler], Handler]:
    def register(fn: Handler) -> Handler:
        _handlers[kind] = fn
        return fn

    return register


def backoff_seconds(attempts: int) -> int:
    base = settings.OUTBOX_BACKOFF_BASE_SECONDS
    return min(settings.OUTBOX_BACKOFF_CAP_SECONDS, base * 2 ** max(attempts - 1, 0))


def outbox_enqueue(*, kind: str, key: str, payload: dict, stream: str = "") -> OutboxMessage:
    """Record work to send; call inside the transaction of the change that causes it.

    Messages of one ``stream`` are sent one after the other, in the order they were enqueued."""
    if kind not in _handlers:
        raise UnknownOutboxKind(kind)
    message, created = OutboxMessage.objects.get_or_create(key=key, defaults={"kind": kind, "payload": payload, "stream": stream})
    if created:
        transaction.on_commit(lambda: _dispatch_if_its_turn(message.pk, stream))
    return message


def _dispatch_if_its_turn(message_id: int, stream: str) -> None:
    """A stream message behind an open one is not handed to the broker now, only to be refused:
    the one before it dispatches it when it finishes (``_finish``), or beat's redrive does.

    Safe against the one before finishing meanwhile: this runs after our commit, so either it
    sees that one closed and dispatches, or that one's ``_dispatch_next_in_stream`` finds ours."""
    if stream and OutboxMessage.objects.filter(status__in=_OPEN, stream=stream, id__lt=message_id).exists():
        return
    _dispatch(message_id)


def _dispatch(message_id: int) -> None:
    from .tasks import outbox_deliver

    try:
        outbox_deliver.delay(message_id)
    except Exception as exc:  # broker down: the row stays pending and beat re-drives it
        logger.warning("outbox: could not enqueue message %s (%s); it will be re-driven", message_id, exc.__class__.__name__)


_OPEN = [OutboxMessage.Status.PENDING, OutboxMessage.Status.SENDING]


def _earlier_in_stream(*extra: Q) -> Exists:
    """An earlier message of the outer row's stream that is still open. Spelled with the
    partial index's own predicate (open, non-empty stream) so that it is an index probe
    on ``outbox_stream_open_idx``; a row without a stream never has one."""
    return Exists(
        OutboxMessage.objects.filter(*extra, status__in=_OPEN, stream=OuterRef("stream"), id__lt=OuterRef("id")).exclude(stream="")
    )


def outbox_deliver(*, message_id: int) -> str | None:
    """Claim one due message and send it. Returns the new status, or None if it was not ours to send
    (already claimed, not due, or waiting behind an earlier message of its stream)."""
    now = timezone.now()
    claimed = (
        OutboxMessage.objects.filter(pk=message_id, status=OutboxMessage.Status.PENDING, next_attempt_at__lte=now)
        .filter(~_earlier_in_stream())
        .update(status=OutboxMessage.Status.SENDING, claimed_at=now, attempts=F("attempts") + 1)
    )
    if not claimed:
        return None
    message = OutboxMessage.objects.get(pk=message_id)
    claim = {"pk": message.pk, "status": OutboxMessage.Status.SENDING, "claimed_at": now, "stream": message.stream}
    handler = _handlers.get(message.kind)
    try:
        if handler is None:
            raise UnknownOutboxKind(message.kind)
        result = handler(message.payload, key=message.key)
    except TransientDeliveryError as exc:
        if message.attempts >= settings.OUTBOX_MAX_ATTEMPTS:
            return _finish(claim, OutboxMessage.Status.FAILED, error=f"gave up after {message.attempts} attempts: {exc}")
        retry_at = timezone.now() + timedelta(seconds=backoff_seconds(message.attempts))
        OutboxMessage.objects.filter(**claim).update(
            status=OutboxMessage.Status.PENDING, next_attempt_at=retry_at, claimed_at=None, last_error=str(exc)[:2000]
        )
        logger.info("outbox: %s %s failed transiently (attempt %s), retry at %s", message.kind, message.pk, message.attempts, retry_at)
        return OutboxMessage.Status.PENDING
    except Exception as exc:
        logger.exception("outbox: %s %s failed permanently", message.kind, message.pk)
        return _finish(claim, OutboxMessage.Status.FAILED, error=f"{exc.__class__.__name__}: {exc}")
    return _finish(claim, OutboxMessage.Status.SENT, result=result)


def _finish(claim: dict, status: str, *, error: str = "", result: dict | None = None) -> str:
    """Record the outcome only while the claim is still ours: a worker whose claim timed out
    and was taken over must not overwrite what the new owner records."""
    recorded = OutboxMessage.objects.filter(**claim).update(
        status=status,
        last_error=error[:2000],
        result=result,
        sent_at=timezone.now() if status == OutboxMessage.Status.SENT else None,
    )
    if recorded and claim["stream"]:
        _dispatch_next_in_stream(claim["stream"])
    return status


def _dispatch_next_in_stream(stream: str) -> None:
    """The message that waited behind the one just finished may go now."""
    next_id = (
        OutboxMessage.objects.filter(stream=stream, status=OutboxMessage.Status.PENDING, next_attempt_at__lte=timezone.now())
        .exclude(stream="")
        .order_by("id")
        .values_list("id", flat=True)
        .first()
    )
    if next_id is not None:
        _dispatch(next_id)


def outbox_due_ids(*, limit: int = 500) -> list[int]:
    """Release claims of workers that died, then list what is due, oldest first.

    Left out: stream messages waiting behind one that is being sent or backing off, which
    cannot go before it finishes (and would otherwise fill the list while a subscriber is
    down). Kept: those behind a message that is itself due, in id order, so one pass of
    ``outbox_redrive`` drains a stream after an outage."""
    now = timezone.now()
    stale = now - timedelta(seconds=settings.OUTBOX_CLAIM_TIMEOUT_SECONDS)
    OutboxMessage.objects.filter(status=OutboxMessage.Status.SENDING, claimed_at__lt=stale).update(
        status=OutboxMessage.Status.PENDING, claimed_at=None
    )
    blocked = _earlier_in_stream(Q(status=OutboxMessage.Status.SENDING) | Q(next_attempt_at__gt=now))
    return list(
        OutboxMessage.objects.filter(status=OutboxMessage.Status.PENDING, next_attempt_at__lte=now)
        .filter(~blocked)
        .order_by("next_attempt_at", "id")
        .values_list("id", flat=True)[:limit]
    )


def outbox_retry(*, message_id: int) -> None:
    """An admin sends a failed message again."""
    updated = OutboxMessage.objects.filter(pk=message_id, status=OutboxMessage.Status.FAILED).update(
        status=OutboxMessage.Status.PENDING, next_attempt_at=timezone.now(), attempts=0, last_error=""
    )
    if updated:
        transaction.on_commit(lambda: _dispatch(message_id))
