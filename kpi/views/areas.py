"""The area view: an area's customers, its open work, its revenue and its own performance.

Managers see every area; an area manager only the areas they manage (another area is a 404,
as if it did not exist). Every count starts from the area's customers (customer_area_name_idx)
and reaches their orders, complaints, opportunities and subscriptions by their customer indexes.
"""
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.db.models import Count, Prefetch
from django.shortcuts import get_object_or_404, render
from django.urls import path
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET

from servicedesk.exports import export_format, table_response
from servicedesk.models import Customer, Subscription
from servicedesk.pages import page_number, require

from ..definitions import KPIS, Dimension
from ..forms import DEFAULT_TREND_KPI, TrendForm, period_query
from ..selectors import area_open_work, area_revenue, areas_visible_to, kpi_summary
from .common import cards, may_drill, target_shown, trend_chart

AREAS_PER_PAGE = 25
CUSTOMERS_PER_PAGE = 25


@login_required
@require_GET
def areas(request):
    require(request, "kpi.view_area_kpis")
    page = Paginator(areas_visible_to(request.user), AREAS_PER_PAGE).get_page(page_number(request.GET))
    counts = dict(
        Customer.objects.filter(area__in=[a.pk for a in page.object_list]).values("area").annotate(n=Count("pk")).values_list("area", "n")
        .order_by()
    )
    return render(request, "kpi/areas.html", {"page": page, "rows": [(area, counts.get(area.pk, 0)) for area in page.object_list]})


def _performance_export(area, first, last, values, fmt):
    header = [_("KPI"), _("Value"), _("Unit"), _("Target"), _("Numerator"), _("Denominator"), _("Met")]
    lines = (
        [str(v.kpi.name), v.value, str(v.kpi.unit), target_shown(v.kpi), v.numerator, v.denominator,
         None if v.met is None else (_("yes") if v.met else _("no"))]
        for v in values
    )
    return table_response(name=f"area-{area.code}-kpis-{first}-{last}", header=header, rows=lines, fmt=fmt, sheet=area.code)


@login_required
@require_GET
def area(request, area_id: int):
    require(request, "kpi.view_area_kpis")
    area = get_object_or_404(areas_visible_to(request.user), pk=area_id)
    form = TrendForm(request.GET)
    first, last = form.period()
    trend_code = form.choice("kpi", DEFAULT_TREND_KPI)
    key = str(area.pk)
    values = kpi_summary(first, last, dimension=Dimension.AREA, key=key)
    fmt = export_format(request.GET)
    if fmt and not form.errors:
        return _performance_export(area, first, last, values, fmt)
    trend_code = trend_code if any(v.kpi.code == trend_code for v in values) else values[0].kpi.code
    numbers = Subscription.objects.only("id", "customer_id", "service_number").order_by("service_number")
    customers = (
        Customer.objects.filter(area=area).order_by("name", "pk").only("id", "name", "vip_tier", "area_id")
        .prefetch_related(Prefetch("subscriptions", queryset=numbers))
    )
    page = Paginator(customers, CUSTOMERS_PER_PAGE).get_page(page_number(request.GET))
    query = period_query(first, last, kpi=trend_code)
    return render(request, "kpi/area.html", {
        "area": area, "form": form, "first": first, "last": last, "query": query, "extra": query + "&",
        "cards": cards(values, first, last, dimension=Dimension.AREA, key=key, drill=may_drill(request.user, Dimension.AREA, key)),
        "trend_kpi": KPIS[trend_code], "trend": trend_chart(KPIS[trend_code], first, last, dimension=Dimension.AREA, key=key),
        "customers": page, "page": page, "customer_count": page.paginator.count,
        "work": area_open_work(area), "revenue": area_revenue(area),
    }, status=400 if form.errors else 200)


urlpatterns = [
    path("kpi/areas/", areas, name="areas"),
    path("kpi/areas/<int:area_id>/", area, name="area"),
]
