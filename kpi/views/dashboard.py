"""The manager's dashboard (every KPI against its target, a trend, a breakdown) and the drill-down to the rows behind a number."""
from dataclasses import dataclass
from dataclasses import field as dataclass_field
from datetime import datetime

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.db.models import Count, Sum
from django.http import Http404
from django.shortcuts import render
from django.urls import NoReverseMatch, path, reverse
from django.utils import timezone
from django.utils.text import capfirst
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET

from servicedesk.exports import export_format, table_response
from servicedesk.masking import scrub
from servicedesk.pages import page_number, require

from ..definitions import KPIS, Dimension, Kind
from ..facts import dimensions_of, source_of
from ..forms import DEFAULT_TREND_KPI, DashboardForm, DrillForm, period_query
from ..selectors import (
    KpiValue,
    computed_at,
    drill_rows,
    group_keys,
    group_labels,
    kpi_summary,
    kpi_values,
)
from .common import cards, drill_url, may_drill, shown, trend_chart

GROUPS_PER_PAGE = 25
ROWS_PER_PAGE = 25


@dataclass
class GroupRow:
    key: str
    label: str
    values: list[KpiValue]  # one per KPI column
    cells: list = dataclass_field(default_factory=list)  # (KpiValue, drill url or "", value as shown): filled for the rows shown


def _label(labels: dict[str, str], key: str) -> str:
    if not key:
        return _("(none)")
    return labels.get(key) or f"#{key}"


def _by_name(pairs):
    """(key, label) pairs sorted by label, the group without a key ("(none)") last."""
    return sorted(pairs, key=lambda pair: (pair[0] == "", pair[1].casefold(), pair[0]))


def _named(dimension: str, keys) -> list[tuple[str, str]]:
    """The groups as (key, label), sorted by label."""
    labels = group_labels(dimension, keys)
    return _by_name((key, _label(labels, key)) for key in keys)


def breakdown(first, last, dimension: str, named: list[tuple[str, str]] | None = None) -> tuple[list[str], list[GroupRow]]:
    """Every KPI that can be grouped by ``dimension``, per group, over the period: (KPI codes, rows sorted by name).
    Only the groups ``named`` (a page of them, as (key, label) in the order shown) when given."""
    keys = None if named is None else [key for key, _label_ in named]
    values = kpi_values(list(KPIS), first, last, dimension=dimension, keys=keys)
    codes = [code for code in KPIS if code in values]
    if named is None:
        named = _named(dimension, {key for code in codes for key in values[code]})
    return codes, [
        GroupRow(key, label, [values[code].get(key) or KpiValue(KPIS[code], key, 0, 0) for code in codes])
        for key, label in named
    ]


def breakdown_page(request, first, last, dimension: str):
    """One page of the breakdown: the period's groups found and sorted by name first, then the KPIs of the
    page's groups only (the rows of a thousand agents over a month were most of the page's time)."""
    page = Paginator(_named(dimension, group_keys(dimension, first, last)), GROUPS_PER_PAGE).get_page(page_number(request.GET))
    codes, rows = breakdown(first, last, dimension, named=list(page.object_list))
    page.object_list = rows
    with_cells(rows, first, last, dimension)
    return codes, page


def with_cells(rows, first, last, dimension: str) -> None:
    """Links and shown values for the rows on the page only: with a thousand agents, building them for every
    row was most of the page's time."""
    for row in rows:
        row.cells = [
            (value, drill_url(value.kpi.code, first, last, dimension, row.key) if value.value is not None else "", shown(value.kpi, value.value))
            for value in row.values
        ]


def _breakdown_export(first, last, dimension, codes, rows, fmt):
    header = [str(Dimension(dimension).label)]
    for code in codes:
        name = str(KPIS[code].name)
        header += [f"{name} ({KPIS[code].unit})" if KPIS[code].unit else name, f"{name}: {_('numerator')}", f"{name}: {_('denominator')}"]

    def lines():
        for row in rows:
            line = [row.label]
            for value in row.values:
                line += [value.value, value.numerator, value.denominator]
            yield line

    return table_response(name=f"kpi-{dimension}-{first}-{last}", header=header, rows=lines(), fmt=fmt, sheet=_("KPIs by group"))


@login_required
@require_GET
def dashboard(request):
    require(request, "kpi.view_rollup")
    form = DashboardForm(request.GET)
    first, last = form.period()
    trend_code = form.choice("kpi", DEFAULT_TREND_KPI)
    dimension = form.choice("dimension", "")
    query = period_query(first, last, kpi=trend_code, dimension=dimension)
    codes, page = [], None
    if dimension:
        fmt = export_format(request.GET)
        if fmt and not form.errors:
            codes, groups = breakdown(first, last, dimension)
            return _breakdown_export(first, last, dimension, codes, groups, fmt)
        codes, page = breakdown_page(request, first, last, dimension)
    trend_kpi = KPIS[trend_code]
    return render(request, "kpi/dashboard.html", {
        "form": form, "first": first, "last": last, "query": query, "extra": query + "&",
        "cards": cards(kpi_summary(first, last), first, last),
        "trend_kpi": trend_kpi, "trend": trend_chart(trend_kpi, first, last),
        "dimension": dimension, "dimension_label": Dimension(dimension).label if dimension else "",
        "columns": [KPIS[code] for code in codes], "page": page,
        "computed_at": computed_at(), "may_rebuild": request.user.has_perm("kpi.add_rebuildjob"),
    }, status=400 if form.errors else 200)


# --- drill-down -----------------------------------------------------------------------------

# Columns that name another object with a page of its own.
_LINKED_COLUMNS = {"complaint_id": "complaints:detail", "order_id": "orders:detail"}


def _columns(model, names):
    """(name, label, field) of each column the source shows."""
    out = []
    for name in names:
        field = model._meta.get_field(name)
        out.append((name, capfirst(str(field.verbose_name)), field))
    return out


def _cell(field, value):
    """A column's value as shown and exported: a choice's label, local time, personal data scrubbed from free text."""
    if value is None or value == "":
        return None
    if field.choices:
        return str(dict(field.flatchoices).get(value, value))
    if isinstance(value, bool):
        return _("yes") if value else _("no")
    if isinstance(value, str):
        return scrub(value)
    return value


def _row_link(url_name: str, pk) -> str:
    try:
        return reverse(url_name, args=[pk])
    except NoReverseMatch:
        return ""


def _shown_rows(page_rows, columns, detail_url: str) -> list[dict]:
    """A page of drill-down rows as the table shows them: local times, names for ids, links to the rows' pages."""
    names = {}
    for n, (name, _label, field) in enumerate(columns, start=1):
        if field.is_relation and name not in _LINKED_COLUMNS:  # e.g. a category: its name, in one query per page
            ids = {values[n] for values in page_rows if values[n] is not None}
            names[name] = {pk: str(obj) for pk, obj in field.related_model._default_manager.in_bulk(ids).items()}
    shown_rows = []
    for values in page_rows:
        cells = []
        for (name, _label, field), value in zip(columns, values[1:-2], strict=True):
            shown_value = names[name].get(value, value) if name in names else _cell(field, value)
            if isinstance(shown_value, datetime):
                shown_value = timezone.localtime(shown_value).strftime("%Y-%m-%d %H:%M")
            link = _row_link(_LINKED_COLUMNS[name], value) if name in _LINKED_COLUMNS and value else ""
            cells.append((shown_value, link))
        shown_rows.append({
            "pk": values[0], "cells": cells, "numerator": values[-2], "denominator": values[-1],
            "url": _row_link(detail_url, values[0]) if detail_url else "",
        })
    return shown_rows


@dataclass
class DrillTotals:
    rows: int
    value: KpiValue       # recomputed from the rows now
    rollup: KpiValue      # what the dashboard showed

    @property
    def agrees(self) -> bool:
        return (self.value.numerator, self.value.denominator) == (self.rollup.numerator, self.rollup.denominator)


def _totals(kpi, rows, first, last, dimension, key) -> DrillTotals:
    num, den = source_of(kpi.code).kpis[kpi.code]
    sums = rows.order_by().aggregate(rows=Count("pk"), n=Sum(f"m_{num}"), d=Sum(f"m_{den}"))
    rollup = kpi_values([kpi.code], first, last, dimension=dimension, keys=[key])[kpi.code].get(key) or KpiValue(kpi, key, 0, 0)
    denominator = sums["d"] or 0
    if kpi.denominator_kpi or (kpi.kind == Kind.SHARE and dimension != Dimension.ALL):
        # A stock (active subscriptions) or the whole centre's total: not a sum over these rows.
        denominator = rollup.denominator
    return DrillTotals(sums["rows"], KpiValue(kpi, key, sums["n"] or 0, denominator), rollup)


@login_required
@require_GET
def drill(request):
    """The rows a number counts: for one KPI, period and group, each with whether it is in the numerator and denominator."""
    form = DrillForm(request.GET)
    form.is_valid()
    code, dimension, key = request.GET.get("kpi", ""), request.GET.get("dimension") or Dimension.ALL, request.GET.get("key", "")
    if code not in KPIS:
        raise Http404(_("There is no such KPI."))
    if dimension not in Dimension.values or dimension not in dimensions_of(code) or len(key) > 40 or (dimension == Dimension.ALL and key):
        raise Http404(_("This KPI cannot be broken down that way."))
    if not may_drill(request.user, dimension, key):
        raise PermissionDenied
    kpi = KPIS[code]
    first, last = form.period()
    source = source_of(code)
    num, den = source.kpis[code]
    columns = _columns(source.model, source.columns)
    rows = drill_rows(code, first, last, dimension=dimension, key=key)
    fields = ["pk", *source.columns, f"m_{num}", f"m_{den}"]
    fmt = export_format(request.GET)
    if fmt and not form.errors:
        header = [_("ID"), *(label for _n, label, _f in columns), _("Numerator"), _("Denominator")]
        lines = (
            [values[0], *(_cell(field, v) for (_n, _l, field), v in zip(columns, values[1:-2], strict=True)), values[-2], values[-1]]
            for values in rows.values_list(*fields).iterator(chunk_size=2000)
        )
        return table_response(name=f"kpi-{code}-rows-{first}-{last}", header=header, rows=lines, fmt=fmt, sheet=str(kpi.name))
    page = Paginator(rows.values_list(*fields), ROWS_PER_PAGE).get_page(page_number(request.GET))
    totals = _totals(kpi, rows, first, last, dimension, key)
    group = ""
    if dimension != Dimension.ALL:
        group = group_labels(dimension, [key]).get(key) or (f"#{key}" if key else _("(none)"))
    query = period_query(first, last, kpi=code, dimension=dimension, key=key)
    return render(request, "kpi/drill.html", {
        "form": form, "kpi": kpi, "first": first, "last": last, "dimension": dimension,
        "dimension_label": Dimension(dimension).label, "group": group, "key": key,
        "columns": columns, "rows": _shown_rows(page.object_list, columns, source.detail_url), "page": page, "totals": totals,
        "value_shown": shown(kpi, totals.value.value), "rollup_shown": shown(kpi, totals.rollup.value),
        "numerator_is_flag": kpi.kind != Kind.AVERAGE, "denominator_per_row": not kpi.denominator_kpi,
        "computed_at": computed_at(), "query": query, "extra": query + "&",
        "back": reverse("kpi:dashboard") + "?" + period_query(first, last, dimension=dimension if dimension != Dimension.ALL else None),
    }, status=400 if form.errors else 200)


urlpatterns = [
    path("kpi/", dashboard, name="dashboard"),
    path("kpi/drill/", drill, name="drill"),
]
