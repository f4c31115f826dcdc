"""Local days as instants: the centre works in Asia/Shanghai (TIME_ZONE), the database in UTC.

Filtering an indexed timestamp column by a half-open [start, end) range of aware datetimes keeps
its index usable (``__date`` lookups would not)."""
from datetime import date, datetime, time, timedelta

from django.utils import timezone


def local_midnight(day: date) -> datetime:
    """The instant a local day starts."""
    return timezone.make_aware(datetime.combine(day, time.min), timezone.get_default_timezone())


def local_days(first_day: date, last_day: date) -> tuple[datetime, datetime]:
    """The local days ``first_day`` to ``last_day``, both included, as [start, end)."""
    return local_midnight(first_day), local_midnight(last_day + timedelta(days=1))
