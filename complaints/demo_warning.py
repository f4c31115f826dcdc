"""Demo data of the early warning: the default ladder and the alert SMS texts.

``seed(log=...)`` is idempotent: levels are matched by number; the recipients named here are added,
never removed (an admin may have added more).
"""
from django.db import transaction

from servicedesk.models import User

from .models import WarningLevel
from .services.early_warning import alert_templates_load

# level, name, complaints in the window, window (minutes), escalate after (minutes), SMS the department head, also SMS
LADDER = (
    (1, "部门负责人预警", 30, 10, 30, True, ()),
    (2, "中心经理预警", 100, 10, 30, False, ("manager1",)),
    (3, "公司管理层预警", 300, 10, 60, False, ("admin",)),
)


@transaction.atomic
def seed(*, log=print) -> None:
    for level, name, threshold, window, wait, head, usernames in LADDER:
        rung, _created = WarningLevel.objects.update_or_create(level=level, defaults={
            "name": name, "threshold": threshold, "window_minutes": window, "wait_minutes": wait, "notify_department_head": head,
        })
        people = list(User.objects.filter(username__in=usernames))
        if people:
            rung.recipients.add(*people)
        missing = set(usernames) - {u.username for u in people}
        if missing:
            log(f"Early warning level {level}: no staff member {', '.join(sorted(missing))} yet; add the recipients in the admin.")
    loaded = alert_templates_load()
    log(f"Early warning: {len(LADDER)} levels (30 / 100 / 300 complaints in 10 minutes), {loaded} SMS templates loaded.")
