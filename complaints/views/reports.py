"""The monthly service-quality report: a printable page and a CSV (or XLSX) of the same figures."""
import re
from datetime import date, timedelta

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.shortcuts import render
from django.urls import path
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET

from servicedesk.exports import export_format, table_response
from servicedesk.pages import require

from ..reports import monthly_report

REPORT_PERMISSIONS = ("complaints.view_alert", "complaints.escalate_complaint")  # managers, handlers, area managers, admins


def _month(request) -> date:
    """?month=YYYY-MM; by default last month (the one a monthly report is about). A bad value says so."""
    today = timezone.localdate()
    last_month = (today.replace(day=1) - timedelta(days=1)).replace(day=1)
    raw = request.GET.get("month", "")
    if not raw:
        return last_month
    match = re.fullmatch(r"(\d{4})-(\d{2})", raw)
    if match and 2000 <= int(match[1]) <= 2100 and 1 <= int(match[2]) <= 12:
        return date(int(match[1]), int(match[2]), 1)
    messages.error(request, _("Give the month as YYYY-MM; showing %(month)s.") % {"month": last_month.strftime("%Y-%m")})
    return last_month


@login_required
@require_GET
def report(request):
    require(request, *REPORT_PERMISSIONS, any_of=True)
    month = _month(request)
    figures = monthly_report(month=month)
    fmt = export_format(request.GET)
    if fmt:
        return _table(figures, fmt)
    return render(request, "complaints/report_monthly.html", {"report": figures, "month_value": month.strftime("%Y-%m")})


def _table(figures, fmt: str):
    """The same figures as CSV or XLSX: a summary, then by category, then by department; an empty cell where there is no data."""
    rows = [
        [_("Active subscriptions"), figures.subscribers],
        [_("Complaints"), figures.complaints, _("per 10,000 subscriptions"), figures.per_10k],
        [_("Escalated"), figures.escalated],
        [_("Appeals"), figures.appealed],
        [_("Work orders breached"), figures.breaches],
        [_("Callback coverage (%)"), figures.callback_coverage, f"{figures.called_back}/{figures.resolved}"],
        [_("Mean satisfaction (1–5)"), figures.satisfaction_mean],
        [_("Satisfied (4–5, %)"), figures.satisfied_share],
        [],
        [_("Category"), _("Complaints"), _("per 10,000 subscriptions")],
        *([row.name, row.complaints, row.per_10k] for row in figures.by_category),
        [],
        [_("Department"), _("Complaints"), _("per 10,000 subscriptions"), _("Work orders breached")],
        *([row.name, row.complaints, row.per_10k, row.breaches] for row in figures.by_department),
    ]
    return table_response(name=f"service-quality-{figures.month:%Y-%m}", header=[_("Month"), f"{figures.month:%Y-%m}"], rows=rows, fmt=fmt)


urlpatterns = [
    path("complaints/report/", report, name="report"),
]
