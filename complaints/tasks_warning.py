"""Scheduled early-warning scan (every minute, from CELERY_BEAT_SCHEDULE["complaints-early-warning-scan"])."""
from celery import shared_task
from django.db import OperationalError

from .services.early_warning import early_warning_scan


@shared_task(
    name="complaints.tasks_warning.early_warning_scan", ignore_result=True,
    # A lost connection is transient; a rerun finds raised alerts and told levels and repeats nothing.
    autoretry_for=(OperationalError,), retry_backoff=5, retry_backoff_max=30, max_retries=3,
)
def early_warning_scan_task() -> dict:
    return early_warning_scan()
