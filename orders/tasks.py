from celery import shared_task
from django.db import OperationalError

from . import pool_imports, services


@shared_task(name="orders.tasks.opportunities_mark_overdue", ignore_result=True)
def opportunities_mark_overdue() -> int:
    return services.opportunities_mark_overdue()


@shared_task(
    name="orders.tasks.pool_import_run", ignore_result=True, acks_late=True,
    # A lost database connection is transient; the run resumes after its last committed batch.
    autoretry_for=(OperationalError,), retry_backoff=5, retry_backoff_max=120, retry_jitter=True, max_retries=5,
)
def pool_import_run(import_id: int, language: str = "") -> None:
    pool_imports.number_import_run(import_id=import_id, language=language)
