"""Reading KPIs: from the rollups for any period and grouping, and from the raw rows behind a number."""
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from functools import wraps

from django.contrib.auth import get_user_model
from django.db import connection, transaction
from django.db.models import Count, F, Max, Q, Sum

from complaints.models import OPEN_COMPLAINT_STATES, Complaint, WorkOrder
from orders.models import OPEN_ORDER_STATES, Opportunity, Order
from servicedesk.models import (
    Channel,
    Department,
    ServiceArea,
    Subscription,
    Team,
    VipTier,
)

from .definitions import KPIS, Dimension, Kind, Kpi
from .facts import dimensions_of, source_of
from .models import Rollup, RollupSource


def _without_jit(read):
    """Rollup reads sum a few hundred thousand small rows: PostgreSQL's JIT compiler, which its cost
    estimate switches on, took 40 ms of a 200 ms dashboard query to compile. Off for these reads only
    (SET LOCAL, in a transaction of their own or the caller's)."""

    @wraps(read)
    def reading(*args, **kwargs):
        if connection.vendor != "postgresql":
            return read(*args, **kwargs)
        with transaction.atomic():
            with connection.cursor() as cursor:
                cursor.execute("SET LOCAL jit = off")
            return read(*args, **kwargs)

    return reading


@dataclass
class KpiValue:
    kpi: Kpi
    key: str
    numerator: int
    denominator: int
    label: str = ""

    @property
    def value(self) -> Decimal | None:
        return self.kpi.value(self.numerator, self.denominator)

    @property
    def target(self) -> Decimal | None:
        return self.kpi.target_value

    @property
    def met(self) -> bool | None:
        return self.kpi.met(self.value)


def _check(kpi_codes, dimension: str):
    unknown = [code for code in kpi_codes if code not in KPIS]
    if unknown:
        raise ValueError(f"unknown KPI {unknown[0]!r}")
    if dimension not in Dimension.values:
        raise ValueError(f"unknown grouping {dimension!r}")


@_without_jit
def kpi_values(
    kpi_codes: list[str], first_day: date, last_day: date, *, dimension: str = Dimension.ALL, keys: list[str] | None = None,
) -> dict[str, dict[str, KpiValue]]:
    """{kpi: {key: value}} for the period, summed over its days from the rollups (one query, plus one per stock denominator).

    A KPI that cannot be grouped by ``dimension`` has no entry under it."""
    _check(kpi_codes, dimension)
    codes = [c for c in kpi_codes if dimension in dimensions_of(c)]
    rows = Rollup.objects.filter(kpi__in=codes, dimension=dimension, day__gte=first_day, day__lte=last_day)
    if keys is not None:
        rows = rows.filter(key__in=keys)
    result: dict[str, dict[str, KpiValue]] = {code: {} for code in codes}
    for row in rows.values("kpi", "key").annotate(n=Sum("numerator"), d=Sum("denominator")).order_by():
        result[row["kpi"]][row["key"]] = KpiValue(KPIS[row["kpi"]], row["key"], row["n"], row["d"])
    for code in codes:
        definition = KPIS[code]
        if definition.denominator_kpi:
            stock = _stock(definition.denominator_kpi, first_day, last_day, dimension, keys)
            for key, value in result[code].items():
                value.denominator = stock.get(key, 0)
            # Subscribers and no complaint is a rate of 0, not "no data".
            for key, subscribers in stock.items():
                result[code].setdefault(key, KpiValue(definition, key, 0, subscribers))
        elif definition.kind == Kind.SHARE and dimension != Dimension.ALL:
            total = kpi_values([code], first_day, last_day)[code].get("")
            for value in result[code].values():
                value.denominator = total.numerator if total else 0
    return result


def _stock(kpi_code: str, first_day: date, last_day: date, dimension: str, keys) -> dict[str, int]:
    """A stock's value on the period's last day that has one (e.g. active subscriptions)."""
    rows = Rollup.objects.filter(kpi=kpi_code, dimension=dimension, day__gte=first_day, day__lte=last_day)
    if keys is not None:
        rows = rows.filter(key__in=keys)
    last = rows.aggregate(last=Max("day"))["last"]
    if last is None:
        return {}
    return dict(rows.filter(day=last).values_list("key", "numerator"))


def kpi_summary(first_day: date, last_day: date, *, dimension: str = Dimension.ALL, key: str = "") -> list[KpiValue]:
    """Every KPI for the centre (or for one group) over the period, in definition order; "no data" where empty."""
    values = kpi_values(list(KPIS), first_day, last_day, dimension=dimension, keys=[key])
    return [
        values[code].get(key) or KpiValue(KPIS[code], key, 0, 0)
        for code in KPIS if code in values
    ]


@_without_jit
def kpi_trend(kpi_code: str, first_day: date, last_day: date, *, dimension: str = Dimension.ALL, key: str = "") -> list[tuple[date, KpiValue]]:
    """The KPI day by day (for one group, or the centre); days without data are left out."""
    _check([kpi_code], dimension)
    definition = KPIS[kpi_code]
    rows = Rollup.objects.filter(kpi=kpi_code, dimension=dimension, key=key, day__gte=first_day, day__lte=last_day).order_by("day")
    stock = {}
    if definition.denominator_kpi:
        stock = dict(Rollup.objects.filter(
            kpi=definition.denominator_kpi, dimension=dimension, key=key, day__gte=first_day, day__lte=last_day,
        ).values_list("day", "numerator"))
    totals = {}
    if definition.kind == Kind.SHARE and dimension != Dimension.ALL:
        totals = dict(Rollup.objects.filter(kpi=kpi_code, dimension=Dimension.ALL, day__gte=first_day, day__lte=last_day).values_list("day", "numerator"))
    counted = {day: (numerator, denominator) for day, numerator, denominator in rows.values_list("day", "numerator", "denominator")}
    if definition.denominator_kpi:
        # Subscribers and no complaint that day is a rate of 0, as in kpi_values.
        return [(day, KpiValue(definition, key, counted.get(day, (0, 0))[0], subscribers)) for day, subscribers in sorted(stock.items())]
    return [
        (day, KpiValue(definition, key, numerator, totals.get(day, 0) if totals else denominator))
        for day, (numerator, denominator) in counted.items()
    ]


LABELS_BY_ID = 100


def group_keys(dimension: str, first_day: date, last_day: date) -> list[str]:
    """The groups of ``dimension`` that have rollups in the period, without reading their rows: the distinct
    keys are walked one index probe each (a loose index scan on rollup_group_idx), then each is probed for
    a day in the period. A thousand agents cost two thousand probes instead of a month's 300,000 rows."""
    _check([], dimension)
    table = connection.ops.quote_name(Rollup._meta.db_table)
    key = connection.ops.quote_name("key")
    sql = (
        f"WITH RECURSIVE k(v) AS ("
        f"  SELECT MIN(r.{key}) FROM {table} r WHERE r.dimension = %s"
        f"  UNION ALL"
        f"  SELECT (SELECT MIN(r.{key}) FROM {table} r WHERE r.dimension = %s AND r.{key} > k.v) FROM k WHERE k.v IS NOT NULL"
        f") SELECT k.v FROM k WHERE k.v IS NOT NULL AND EXISTS ("
        f"  SELECT 1 FROM {table} r WHERE r.dimension = %s AND r.{key} = k.v AND r.day >= %s AND r.day <= %s)"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [dimension, dimension, dimension, first_day, last_day])
        return [row[0] for row in cursor.fetchall()]


def group_labels(dimension: str, keys) -> dict[str, str]:
    """A readable name for each group key: an agent's name, an area's name, a channel's label."""
    keys = [k for k in keys if k]
    ids = [int(k) for k in keys if k.isdigit()]

    def of(queryset):
        # A breakdown by agent has a thousand keys: reading the whole (staff-sized) table is quicker than
        # building an IN list of a thousand ids, which took Django ~90 ms.
        return queryset.filter(pk__in=ids) if len(ids) <= LABELS_BY_ID else queryset

    if dimension == Dimension.AGENT:
        users = of(get_user_model().objects.only("pk", "first_name", "last_name", "username"))
        return {str(u.pk): u.get_full_name() or u.username for u in users}
    models = {Dimension.TEAM: Team, Dimension.AREA: ServiceArea, Dimension.DEPARTMENT: Department}
    if dimension in models:
        return {str(pk): str(name) for pk, name in of(models[dimension].objects.all()).values_list("pk", "name")}
    if dimension == Dimension.PRODUCT:
        from orders.models import Product

        return {str(pk): name for pk, name in of(Product.objects.all()).values_list("pk", "name")}
    if dimension == Dimension.CARRIER:
        from delivery.models import Carrier

        return {str(pk): name for pk, name in of(Carrier.objects.all()).values_list("pk", "name")}
    if dimension == Dimension.CHANNEL:
        return {k: str(Channel(k).label) for k in keys if k in Channel.values}
    if dimension == Dimension.VIP_TIER:
        return {k: str(VipTier(k).label) for k in keys if k in VipTier.values}
    return {}


def drill_rows(kpi_code: str, first_day: date, last_day: date, *, dimension: str = Dimension.ALL, key: str = ""):
    """The fact rows behind a number: those the rollup counted for this KPI, period and group,
    each with its numerator and denominator measure (``in_numerator`` / ``in_denominator``)."""
    _check([kpi_code], dimension)
    source = source_of(kpi_code)
    num, den = source.kpis[kpi_code]
    rows = source.rows(first_day, last_day)
    if dimension != Dimension.ALL:
        if dimension not in source.dims:
            return rows.none()
        rows = rows.filter(**{f"d_{dimension}": key}) if key else rows.filter(**{f"{source.dims[dimension]}__isnull": True})
    if KPIS[kpi_code].kind not in (Kind.COUNT, Kind.SHARE, Kind.PER_10K):
        rows = rows.filter(Q(**{f"m_{den}__gt": 0}) | Q(**{f"m_{num}__gt": 0}))
    return rows.annotate().order_by(f"-{source.anchor}", "-pk")


def direct_values(kpi_code: str, first_day: date, last_day: date, *, dimension: str = Dimension.ALL) -> dict[str, tuple[int, int]]:
    """{key: (numerator, denominator)} straight from the raw rows, without the rollups: the check the rollups must pass.
    (The complaint rate's denominator is a stock and is not in it: its numerator is.)"""
    _check([kpi_code], dimension)
    source = source_of(kpi_code)
    num, den = source.kpis[kpi_code]
    rows = source.rows(first_day, last_day)
    sums = {"n": Sum(f"m_{num}"), "d": Sum(f"m_{den}")}
    if dimension == Dimension.ALL:
        grouped = [{"key": "", **rows.aggregate(**sums)}]
    else:
        grouped = rows.values(key=F(f"d_{dimension}")).annotate(**sums).order_by()
    return {row["key"] or "": (row["n"] or 0, row["d"] or 0) for row in grouped if row["n"] or row["d"]}


def computed_at():
    """When the rollups were last written (the oldest source's time: every number is at least this fresh)."""
    from .rollups import ALL_SOURCES

    times = list(RollupSource.objects.filter(code__in=ALL_SOURCES).values_list("computed_at", flat=True))
    if len(times) < len(ALL_SOURCES):
        return None
    return None if not times or None in times else min(times)


# --- the area view ------------------------------------------------------------------------
# Every count starts from the area's customers (customer_area_name_idx) and reaches their
# orders, complaints, opportunities and subscriptions through their customer indexes.

OPEN_ITEMS_SHOWN = 10


def areas_visible_to(user):
    """Every area for those who see the whole centre's KPIs; else the areas the user manages."""
    areas = ServiceArea.objects.select_related("manager").order_by("code")
    if user.is_superuser or user.has_perm("kpi.view_rollup"):
        return areas
    return areas.filter(manager=user)


@dataclass
class OpenWork:
    orders: int
    complaints: int
    opportunities: int
    work_orders: dict  # kind -> count of open work orders
    latest_orders: list
    latest_complaints: list
    latest_opportunities: list


def area_open_work(area: ServiceArea) -> OpenWork:
    orders = Order.objects.filter(customer__area=area, status__in=OPEN_ORDER_STATES)
    complaints = Complaint.objects.filter(customer__area=area, status__in=OPEN_COMPLAINT_STATES)
    opportunities = Opportunity.objects.filter(customer__area=area, status=Opportunity.Status.OPEN)
    work_orders = dict(
        WorkOrder.objects.filter(complaint__customer__area=area, status=WorkOrder.Status.OPEN)
        .values("kind").annotate(n=Count("pk")).values_list("kind", "n").order_by()
    )
    return OpenWork(
        orders=orders.count(), complaints=complaints.count(), opportunities=opportunities.count(),
        work_orders={label: work_orders.get(kind, 0) for kind, label in WorkOrder.Kind.choices},
        latest_orders=list(orders.select_related("product", "customer").order_by("-submitted_at", "-pk")[:OPEN_ITEMS_SHOWN]),
        latest_complaints=list(complaints.select_related("category", "customer").order_by("due_at", "pk")[:OPEN_ITEMS_SHOWN]),
        latest_opportunities=list(opportunities.select_related("product", "customer").order_by("callback_at", "pk")[:OPEN_ITEMS_SHOWN]),
    )


def area_revenue(area: ServiceArea) -> dict:
    """The monthly spend of the area's active subscriptions, in CNY."""
    totals = Subscription.objects.filter(customer__area=area, status=Subscription.Status.ACTIVE).aggregate(
        total=Sum("monthly_spend"), lines=Count("pk"),
    )
    return {"total": totals["total"] or Decimal("0.00"), "lines": totals["lines"]}
