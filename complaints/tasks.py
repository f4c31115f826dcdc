"""Periodic work of the complaints app (the early-warning scan lives in tasks_warning.py)."""
from celery import shared_task
from django.db import OperationalError

from .services import work


@shared_task(
    name="complaints.tasks.work_orders_flag_breaches", ignore_result=True,
    autoretry_for=(OperationalError,), retry_backoff=5, retry_backoff_max=60, max_retries=3,
)
def work_orders_flag_breaches() -> int:
    """Idempotent: a breach is flagged (and noticed) once; a repeated run finds nothing new."""
    return work.work_orders_flag_breaches()


from . import tasks_warning  # noqa: E402,F401  (Celery autodiscovers tasks.py only: this registers the early-warning scan)
