"""Celery tasks of the KPI rollups and ratings: each idempotent (a rerun rewrites the same rows)."""
from celery import shared_task

from . import ratings, rollups
from .models import RebuildJob


@shared_task(name="kpi.tasks.rollups_update")
def rollups_update():
    """Every few minutes: today, yesterday and the days late changes touched."""
    done = rollups.rollups_update()
    return {code: [f"{a}..{b}" for a, b in runs] for code, runs in done.items()}


@shared_task(name="kpi.tasks.rollups_rebuild")
def rollups_rebuild(job_id: int):
    # Claimed in one statement: a message delivered twice at once runs the job once.
    if not RebuildJob.objects.filter(pk=job_id, status=RebuildJob.Status.QUEUED).update(status=RebuildJob.Status.RUNNING):
        return None  # already run or running, or unknown
    job = RebuildJob.objects.get(pk=job_id)
    rollups.rebuild(job)
    return job.rows_written


@shared_task(name="kpi.tasks.ratings_monthly")
def ratings_monthly():
    """On the first of the month: the month before."""
    return ratings.ratings_compute(month=ratings.previous_month())
