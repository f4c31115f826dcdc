"""Scheduled work of the delivery app."""
from datetime import timedelta

from celery import shared_task
from django.db import OperationalError
from django.utils import timezone

from .services import money


@shared_task(
    name="delivery.tasks.daily_reports_compile", ignore_result=True,
    # A lost database connection is transient; a rerun writes the same figures.
    autoretry_for=(OperationalError,), retry_backoff=10, retry_backoff_max=300, retry_jitter=True, max_retries=5,
)
def daily_reports_compile() -> dict[str, int]:
    """Compile yesterday's and today's report of every active hall. Yesterday's too, so deliveries
    recorded late in the evening and shipments created the next morning reach its draft.

    Idempotent: reports past the draft are left alone, drafts get the same figures again."""
    today = timezone.localdate()
    done = {"compiled": 0, "skipped": 0}
    for day in (today - timedelta(days=1), today):
        for key, n in money.daily_reports_compile_day(day=day).items():
            done[key] += n
    return done
