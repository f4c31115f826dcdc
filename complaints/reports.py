"""The monthly service-quality report: one grouped query per fact, for any month.

Figures, for the complaints received in the month (local time):
- by category and by department: complaints, and the rate per 10,000 active subscriptions;
- escalated and appealed complaints;
- work orders that breached their deadline in the month, by department;
- callback coverage: of the complaints resolved in the month, the share whose satisfaction
  callback is completed or exhausted (the 100% rule);
- satisfaction: the mean score and the share of 4–5 among callbacks completed in the month;
- top issues: the categories with the most complaints.
A denominator of zero gives ``None`` ("no data"), never 0% or 100%.
"""
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal

from django.db.models import Avg, Count, Q

from servicedesk.dates import local_midnight
from servicedesk.models import Subscription

from .models import Callback, Complaint, WorkOrder

TOP_ISSUES = 5


@dataclass
class Row:
    key: str
    name: str
    complaints: int = 0
    per_10k: Decimal | None = None
    breaches: int = 0


@dataclass
class MonthlyReport:
    month: date
    subscribers: int
    complaints: int
    per_10k: Decimal | None
    by_category: list[Row] = field(default_factory=list)
    by_department: list[Row] = field(default_factory=list)
    escalated: int = 0
    appealed: int = 0
    breaches: int = 0
    resolved: int = 0
    called_back: int = 0
    callback_coverage: Decimal | None = None
    satisfaction_mean: Decimal | None = None
    satisfied_share: Decimal | None = None
    top_issues: list[Row] = field(default_factory=list)


def month_bounds(month: date) -> tuple[datetime, datetime]:
    first = month.replace(day=1)
    following = (first + timedelta(days=32)).replace(day=1)
    return local_midnight(first), local_midnight(following)


def _share(part: int, whole: int) -> Decimal | None:
    return None if not whole else (Decimal(part) * 100 / whole).quantize(Decimal("0.1"), ROUND_HALF_UP)


def _per_10k(count: int, subscribers: int) -> Decimal | None:
    return None if not subscribers else (Decimal(count) * 10000 / subscribers).quantize(Decimal("0.01"), ROUND_HALF_UP)


def monthly_report(*, month: date) -> MonthlyReport:
    start, end = month_bounds(month)
    subscribers = Subscription.objects.filter(status=Subscription.Status.ACTIVE).count()
    received = Complaint.objects.filter(received_at__gte=start, received_at__lt=end)

    by_category = [
        Row(key=r["category__code"], name=r["category__name"], complaints=r["n"], per_10k=_per_10k(r["n"], subscribers))
        for r in received.values("category__code", "category__name").annotate(n=Count("id")).order_by("-n", "category__code")
    ]
    breaches_by_department = dict(
        WorkOrder.objects.filter(breached_at__gte=start, breached_at__lt=end).values_list("department__code").annotate(n=Count("id"))
    )
    by_department = [
        Row(key=r["department__code"] or "", name=r["department__name"] or "—", complaints=r["n"], per_10k=_per_10k(r["n"], subscribers),
            breaches=breaches_by_department.get(r["department__code"], 0))
        for r in received.values("department__code", "department__name").annotate(n=Count("id")).order_by("-n", "department__code")
    ]
    flags = received.aggregate(total=Count("id"), escalated=Count("id", filter=Q(escalated=True)), appealed=Count("id", filter=Q(appeal=True)))

    resolved = Complaint.objects.filter(resolved_at__gte=start, resolved_at__lt=end)
    coverage = resolved.aggregate(
        resolved=Count("id", distinct=True),
        called_back=Count("id", distinct=True, filter=Q(
            callbacks__kind=Callback.Kind.SATISFACTION, callbacks__status__in=[Callback.Status.COMPLETED, Callback.Status.EXHAUSTED],
        )),
    )
    scores = Callback.objects.filter(
        kind=Callback.Kind.SATISFACTION, status=Callback.Status.COMPLETED, completed_at__gte=start, completed_at__lt=end, satisfaction__isnull=False,
    ).aggregate(mean=Avg("satisfaction"), n=Count("id"), satisfied=Count("id", filter=Q(satisfaction__gte=4)))

    return MonthlyReport(
        month=month.replace(day=1),
        subscribers=subscribers,
        complaints=flags["total"],
        per_10k=_per_10k(flags["total"], subscribers),
        by_category=by_category,
        by_department=by_department,
        escalated=flags["escalated"],
        appealed=flags["appealed"],
        breaches=sum(breaches_by_department.values()),
        resolved=coverage["resolved"],
        called_back=coverage["called_back"],
        callback_coverage=_share(coverage["called_back"], coverage["resolved"]),
        satisfaction_mean=None if scores["mean"] is None else Decimal(str(scores["mean"])).quantize(Decimal("0.01"), ROUND_HALF_UP),
        satisfied_share=_share(scores["satisfied"], scores["n"]),
        top_issues=by_category[:TOP_ISSUES],
    )
