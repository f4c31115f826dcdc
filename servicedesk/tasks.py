from celery import shared_task

from . import otp, outbox


@shared_task(name="servicedesk.tasks.outbox_deliver", ignore_result=True)
def outbox_deliver(message_id: int) -> str | None:
    return outbox.outbox_deliver(message_id=message_id)


@shared_task(name="servicedesk.tasks.outbox_redrive", ignore_result=True)
def outbox_redrive() -> int:
    """Deliver everything due: retries whose backoff has passed and work written while the broker was down.

    Delivered inline, not fanned out, so that it works even when the broker
    that the fan-out would need is the thing that failed.
    """
    ids = outbox.outbox_due_ids()
    for message_id in ids:
        outbox.outbox_deliver(message_id=message_id)
    return len(ids)


@shared_task(name="servicedesk.tasks.otp_purge", ignore_result=True)
def otp_purge() -> int:
    return otp.otp_purge()
