from celery import shared_task

from . import services


@shared_task(name="orders.tasks.opportunities_mark_overdue", ignore_result=True)
def opportunities_mark_overdue() -> int:
    return services.opportunities_mark_overdue()
