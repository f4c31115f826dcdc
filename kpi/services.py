"""What a manager can cause in the KPI app: a rebuild of the rollups for a range of days."""
from datetime import date

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.translation import gettext as _

from servicedesk.roles import require_permission

from .models import RebuildJob

MAX_REBUILD_DAYS = 3700


def rebuild_request(*, first_day: date, last_day: date, by=None) -> RebuildJob:
    """Queue one rebuild task for the range; the job shows its progress."""
    require_permission(by, "kpi.add_rebuildjob")
    if last_day < first_day:
        raise ValidationError({"last_day": _("The last day is before the first.")})
    if (last_day - first_day).days >= MAX_REBUILD_DAYS:
        raise ValidationError({"first_day": _("Rebuild at most ten years at a time.")})
    from .tasks import rollups_rebuild

    with transaction.atomic():
        job = RebuildJob.objects.create(first_day=first_day, last_day=last_day, requested_by=by)
        transaction.on_commit(lambda: rollups_rebuild.delay(job.pk))
    return job
