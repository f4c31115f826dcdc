"""In-app notices to staff. Each (recipient, key) is noticed once."""
from django.db import transaction
from django.utils import timezone

from .models import StaffNotice, Team, User


def staff_notice(*, recipients, key: str, text: str, url: str = "") -> int:
    notices = [StaffNotice(recipient=user, key=key, text=text[:500], url=url) for user in recipients]
    return len(StaffNotice.objects.bulk_create(notices, ignore_conflicts=True))


def staff_notice_for_role(*, role: str, key: str, text: str, url: str = "", lead_only: bool = False) -> int:
    """Notice everyone with ``role`` or, with ``lead_only``, the leads of the teams such staff belong to."""
    members = User.objects.filter(groups__name=role, is_active=True)
    if lead_only:
        leads = User.objects.filter(pk__in=Team.objects.filter(members__in=members, lead__isnull=False).values("lead"), is_active=True)
        recipients = list(leads) or list(members)
    else:
        recipients = list(members)
    return staff_notice(recipients=recipients, key=key, text=text, url=url)


def staff_notices_unread(*, user, limit: int = 5) -> tuple[list[StaffNotice], int]:
    """The newest unread notices and how many there are (index staff_notice_inbox_idx)."""
    unread = StaffNotice.objects.filter(recipient=user, read_at__isnull=True).order_by("-created_at", "-id")
    return list(unread[:limit]), unread.count()


@transaction.atomic
def staff_notice_mark_read(*, user, notice_id: int | None = None) -> int:
    """Mark one of the user's unread notices read, or all of them; someone else's notice is left alone."""
    notices = StaffNotice.objects.filter(recipient=user, read_at__isnull=True)
    if notice_id is not None:
        notices = notices.filter(pk=notice_id)
    return notices.update(read_at=timezone.now())
