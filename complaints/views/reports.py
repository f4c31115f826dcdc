"""The monthly service-quality report: a printable page and a CSV of the same figures."""
import csv
import re
from datetime import date, timedelta

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpResponse
from django.shortcuts import render
from django.urls import path
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET

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


def _percent(value) -> str:
    return "" if value is None else f"{value}"


@login_required
@require_GET
def report(request):
    require(request, *REPORT_PERMISSIONS, any_of=True)
    month = _month(request)
    figures = monthly_report(month=month)
    if request.GET.get("format") == "csv":
        return _csv(figures)
    return render(request, "complaints/report_monthly.html", {"report": figures, "month_value": month.strftime("%Y-%m")})


def _csv(figures) -> HttpResponse:
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="service-quality-{figures.month:%Y-%m}.csv"'
    response.write("\ufeff")  # Excel opens UTF-8 Chinese correctly with a BOM
    out = csv.writer(response)
    out.writerow([_("Month"), f"{figures.month:%Y-%m}"])
    out.writerow([_("Active subscriptions"), figures.subscribers])
    out.writerow([_("Complaints"), figures.complaints, _("per 10,000 subscriptions"), _percent(figures.per_10k)])
    out.writerow([_("Escalated"), figures.escalated])
    out.writerow([_("Appeals"), figures.appealed])
    out.writerow([_("Work orders breached"), figures.breaches])
    out.writerow([_("Callback coverage (%)"), _percent(figures.callback_coverage), f"{figures.called_back}/{figures.resolved}"])
    out.writerow([_("Mean satisfaction (1–5)"), _percent(figures.satisfaction_mean)])
    out.writerow([_("Satisfied (4–5, %)"), _percent(figures.satisfied_share)])
    out.writerow([])
    out.writerow([_("Category"), _("Complaints"), _("per 10,000 subscriptions")])
    for row in figures.by_category:
        out.writerow([row.name, row.complaints, _percent(row.per_10k)])
    out.writerow([])
    out.writerow([_("Department"), _("Complaints"), _("per 10,000 subscriptions"), _("Work orders breached")])
    for row in figures.by_department:
        out.writerow([row.name, row.complaints, _percent(row.per_10k), row.breaches])
    return response


urlpatterns = [
    path("complaints/report/", report, name="report"),
]
