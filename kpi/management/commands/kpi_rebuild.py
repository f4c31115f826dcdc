from datetime import date

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from kpi import rollups
from kpi.models import RebuildJob


class Command(BaseCommand):
    help = "Recompute the KPI rollups for a range of days (default: the last 400), showing progress."

    def add_arguments(self, parser):
        parser.add_argument("--from", dest="first_day", type=date.fromisoformat)
        parser.add_argument("--to", dest="last_day", type=date.fromisoformat)
        parser.add_argument("--queue", action="store_true", help="Hand it to a Celery worker instead of running it here.")

    def handle(self, *args, first_day=None, last_day=None, queue=False, **options):
        last_day = last_day or timezone.localdate()
        first_day = first_day or last_day - timezone.timedelta(days=rollups.LATE_CHANGE_DAYS)
        if last_day < first_day:
            raise CommandError("--to is before --from")
        if queue:
            from kpi.services import rebuild_request

            try:
                job = rebuild_request(first_day=first_day, last_day=last_day)
            except ValidationError as exc:
                raise CommandError("; ".join(exc.messages)) from exc
            self.stdout.write(f"rebuild {job.pk} queued for {first_day}..{last_day}; progress on /kpi/rebuild/")
            return
        job = RebuildJob.objects.create(first_day=first_day, last_day=last_day)
        started = timezone.now()

        def progress(job):
            self.stdout.write(f"  {job.done_steps}/{job.total_steps} steps, {job.rows_written} rows ({job.percent} %)")

        self.stdout.write(f"rebuilding {first_day}..{last_day}")
        rollups.rebuild(job, progress)
        self.stdout.write(self.style.SUCCESS(f"done: {job.rows_written} rows in {(timezone.now() - started).total_seconds():.1f} s"))
