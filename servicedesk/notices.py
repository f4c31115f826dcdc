"""In-app notices to staff. Each (recipient, key) is noticed once."""
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
