"""What every KPI page shows the same way: a value with its unit, a target, a card, a trend, a drill-down link."""
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from urllib.parse import urlencode

from django.urls import reverse
from django.utils.translation import gettext as _

from servicedesk.models import ServiceArea

from ..definitions import Dimension, Kind, Kpi
from ..selectors import KpiValue, kpi_trend

OPS = {">=": "≥", "<=": "≤", "<": "<"}


def unit_of(kpi: Kpi) -> str:
    return str(kpi.unit) if kpi.unit else ""


def shown(kpi: Kpi, value: Decimal | None) -> str:
    """The value as the pages print it: "75.00%", "35.71 per 10,000", "280.50 s", "12"; "no data" when empty."""
    if value is None:
        return _("no data")
    if kpi.kind == Kind.COUNT:
        return str(int(value))
    unit = unit_of(kpi)
    return f"{value}%" if unit == "%" else f"{value} {unit}".strip()


def target_shown(kpi: Kpi) -> str:
    """"≥ 80%", "≤ 70 per 10,000"; empty when the KPI has no target."""
    target = kpi.target_value
    if target is None:
        return ""
    unit = unit_of(kpi)
    number = f"{target.normalize():f}"
    return f"{OPS[kpi.op]} {number}%" if unit == "%" else f"{OPS[kpi.op]} {number} {unit}".strip()


def source_tag(kpi: Kpi) -> str:
    """Where the target comes from: a case study ([AH], [TJ] ...) or the centre's own choice."""
    if kpi.target_value is None:
        return ""
    if kpi.target_source == "ours" or not kpi.target_source:
        return _("our own target")
    return kpi.target_source


def state_of(value: KpiValue) -> str:
    """"met", "not_met", "no_data" (empty denominator) or "no_target"."""
    if value.value is None:
        return "no_data"
    met = value.met
    if met is None:
        return "no_target"
    return "met" if met else "not_met"


STATE_LABELS = {
    "met": lambda: _("Met"), "not_met": lambda: _("Not met"), "no_data": lambda: _("No data"), "no_target": lambda: _("No target"),
}


def drill_url(kpi_code: str, first: date, last: date, dimension: str = Dimension.ALL, key: str = "") -> str:
    return reverse("kpi:drill") + "?" + urlencode({
        "kpi": kpi_code, "first": first.isoformat(), "last": last.isoformat(), "dimension": dimension, "key": key,
    })


def may_drill(user, dimension: str, key: str) -> bool:
    """Managers see the rows behind any number; an agent those behind their own, an area manager their areas'."""
    if user.has_perm("kpi.view_rollup"):
        return True
    if dimension == Dimension.AGENT and key == str(user.pk):
        return True
    if dimension == Dimension.AREA and key.isdigit() and user.has_perm("kpi.view_area_kpis"):
        return ServiceArea.objects.filter(pk=int(key), manager=user).exists()
    return False


@dataclass
class Card:
    value: KpiValue
    drill_url: str = ""

    @property
    def kpi(self) -> Kpi:
        return self.value.kpi

    @property
    def shown(self) -> str:
        return shown(self.kpi, self.value.value)

    @property
    def target_shown(self) -> str:
        return target_shown(self.kpi)

    @property
    def source_tag(self) -> str:
        return source_tag(self.kpi)

    @property
    def state(self) -> str:
        return state_of(self.value)

    @property
    def state_label(self) -> str:
        return STATE_LABELS[self.state]()


def cards(values: list[KpiValue], first: date, last: date, *, dimension: str = Dimension.ALL, key: str = "", drill: bool = True) -> list[Card]:
    return [
        Card(value, drill_url(value.kpi.code, first, last, dimension, key) if drill and value.value is not None else "")
        for value in values
    ]


def trend_chart(kpi: Kpi, first: date, last: date, *, dimension: str = Dimension.ALL, key: str = "") -> dict:
    """The KPI day by day over the whole period (null on days without data) and its target, for the chart;
    ``days`` lists the days that have data, for the table under it."""
    by_day = dict(kpi_trend(kpi.code, first, last, dimension=dimension, key=key))
    labels, values = [], []
    day = first
    while day <= last:
        labels.append(day.isoformat())
        value = by_day[day].value if day in by_day else None
        values.append(None if value is None else float(value))
        day += timedelta(days=1)
    target = kpi.target_value
    return {
        "data": {
            "label": str(kpi.name), "unit": unit_of(kpi), "labels": labels, "values": values,
            "target": None if target is None else float(target), "targetLabel": _("Target"),
        },
        "days": [(day, value, shown(kpi, value.value)) for day, value in sorted(by_day.items())],
    }


def stars_text(stars: int) -> str:
    return "★" * stars + "☆" * (5 - stars)
