"""The KPI reporting API, for external reporting (read-only, ``kpi.view_rollup``).

- ``GET /api/v1/kpi/definitions/``: every KPI with what it counts, its target and its groupings;
- ``GET /api/v1/kpi/values/``: KPI values over a period, for the centre or by a grouping, paginated;
- ``GET /api/v1/kpi/trend/``: one KPI day by day.

Every number is read from the daily rollups through ``kpi.selectors``, exactly what the
dashboards show. A value is null when its denominator is empty ("no data"), never 0 or 100.
"""
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import (
    OpenApiExample,
    OpenApiParameter,
    OpenApiResponse,
    extend_schema,
)
from rest_framework.generics import GenericAPIView
from rest_framework.response import Response

from . import selectors
from .definitions import KPIS, Dimension
from .facts import dimensions_of
from .models import Rollup
from .serializers import (
    GROUPINGS,
    KPI_CODES,
    MAX_PERIOD_DAYS,
    KpiDefinitionSerializer,
    KpiErrorSerializer,
    KpiTrendSerializer,
    KpiValueSerializer,
    TrendQuerySerializer,
    ValuesQuerySerializer,
)

# --- Schema --------------------------------------------------------------------------------------

PERIOD_PARAMETERS = [
    OpenApiParameter("first", OpenApiTypes.DATE, description="First day (Asia/Shanghai); default the first of this month."),
    OpenApiParameter("last", OpenApiTypes.DATE, description=f"Last day, inclusive; default today. At most {MAX_PERIOD_DAYS} days from first."),
    OpenApiParameter("group_by", OpenApiTypes.STR, enum=Dimension.values, description=f"Grouping: {GROUPINGS}. Default all (the whole centre)."),
]
ERRORS = {
    400: OpenApiResponse(KpiErrorSerializer, description="Bad input; detail names the field (kpi, first, last, group_by or key).", examples=[
        OpenApiExample("Unknown grouping for a KPI", value={
            "code": "invalid", "message": "The request has invalid fields.",
            "detail": {"group_by": ["satisfaction cannot be grouped by carrier."]},
        }),
    ]),
    401: OpenApiResponse(KpiErrorSerializer, description="No or bad token."),
    403: OpenApiResponse(KpiErrorSerializer, description="The role may not read KPI values (managers, administrators and API clients may)."),
}


def _label(dimension: str, key: str, labels: dict[str, str]) -> str:
    if dimension == Dimension.ALL:
        return str(Dimension.ALL.label)
    return labels.get(key, key)


class KpiReadView(GenericAPIView):
    """Read-only, JSON, for the roles holding ``kpi.view_rollup`` (the default role permissions apply to it)."""

    queryset = Rollup.objects.none()
    filter_backends = []


# --- Views ---------------------------------------------------------------------------------------

class KpiDefinitionsView(KpiReadView):
    pagination_class = None

    @extend_schema(
        summary="Every KPI: what it counts, its target and its groupings",
        responses={200: KpiDefinitionSerializer(many=True), **ERRORS},
        examples=[OpenApiExample("Satisfaction", response_only=True, value={
            "code": "satisfaction", "name": "Satisfaction", "numerator": "satisfaction callbacks scored 4 or 5 of 5",
            "denominator": "all scored satisfaction callbacks", "kind": "percent", "unit": "%", "target": "80.00", "op": ">=",
            "target_source": "[AH]", "dimensions": ["all", "agent", "team", "area", "channel", "department", "vip_tier"],
        })],
    )
    def get(self, request):
        rows = [
            {
                "code": kpi.code, "name": kpi.name, "numerator": kpi.numerator, "denominator": kpi.denominator, "kind": kpi.kind,
                "unit": kpi.unit, "target": kpi.target_value, "op": kpi.op, "target_source": kpi.target_source,
                "dimensions": [str(d) for d in dimensions_of(kpi.code)],
            }
            for kpi in KPIS.values()
        ]
        return Response(KpiDefinitionSerializer(rows, many=True).data)


class KpiValuesView(KpiReadView):
    @extend_schema(
        summary="KPI values over a period, for the centre or by a grouping",
        description=(
            "One row per KPI and group, summed over the period's days from the daily rollups: value = numerator / denominator "
            "(× 100 for a percentage, × 10,000 per 10,000; the complaint rate's denominator is the active subscriptions on the "
            "period's last day). A value of null is no data. Without key, only groups with data are listed; with key, every "
            "key asked for is. Rows come in KPI order, then by label."
        ),
        parameters=[
            OpenApiParameter("kpi", OpenApiTypes.STR, many=True, explode=True, description=f"KPI codes (repeat, or comma-separated); default all: {KPI_CODES}."),
            *PERIOD_PARAMETERS,
            OpenApiParameter("key", OpenApiTypes.STR, many=True, explode=True,
                             description="Only these groups (repeat): an id (agent, team, area, product, carrier, department) or a code (channel, VIP tier)."),
        ],
        responses={200: KpiValueSerializer(many=True), **ERRORS},
        examples=[
            OpenApiExample("An agent's satisfaction", response_only=True, value={
                "kpi": "satisfaction", "group_by": "agent", "key": "7", "label": "李建华", "numerator": 41, "denominator": 48,
                "value": "85.42", "target": "80.00", "met": True,
            }),
            OpenApiExample("No data", response_only=True, value={
                "kpi": "satisfaction", "group_by": "agent", "key": "8", "label": "王晓燕", "numerator": 0, "denominator": 0,
                "value": None, "target": "80.00", "met": None,
            }),
        ],
    )
    def get(self, request):
        query = ValuesQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        codes, dimension, first, last = (query.validated_data[k] for k in ("kpi", "group_by", "first", "last"))
        keys = query.validated_data.get("key") or None
        values = selectors.kpi_values(codes, first, last, dimension=dimension, keys=keys)
        labels = selectors.group_labels(dimension, {key for by_key in values.values() for key in by_key} | set(keys or []))
        rows = []
        for code in codes:
            by_key = values[code]
            wanted = keys or list(by_key) or ([""] if dimension == Dimension.ALL else [])
            group = [by_key.get(key) or selectors.KpiValue(KPIS[code], key, 0, 0) for key in dict.fromkeys(wanted)]
            group.sort(key=lambda v: (_label(dimension, v.key, labels), v.key))
            rows += [
                {
                    "kpi": code, "group_by": dimension, "key": v.key, "label": _label(dimension, v.key, labels),
                    "numerator": v.numerator, "denominator": v.denominator, "value": v.value, "target": v.target, "met": v.met,
                }
                for v in group
            ]
        page = self.paginate_queryset(rows)
        return self.get_paginated_response(KpiValueSerializer(page, many=True).data)


class KpiTrendView(KpiReadView):
    pagination_class = None

    @extend_schema(
        summary="One KPI day by day, for the centre or one group",
        parameters=[
            OpenApiParameter("kpi", OpenApiTypes.STR, required=True, enum=list(KPIS), description="The KPI's code."),
            *PERIOD_PARAMETERS,
            OpenApiParameter("key", OpenApiTypes.STR, description="The group (an id or a code); needed with a grouping other than all."),
        ],
        responses={200: KpiTrendSerializer, **ERRORS},
        examples=[OpenApiExample("First-contact resolution", response_only=True, value={
            "kpi": "fcr", "group_by": "all", "key": "", "label": "Whole centre", "first": "2026-11-01", "last": "2026-11-03",
            "target": "40.00", "points": [
                {"day": "2026-11-01", "numerator": 2, "denominator": 5, "value": "40.00", "met": True},
                {"day": "2026-11-03", "numerator": 1, "denominator": 4, "value": "25.00", "met": False},
            ],
        })],
    )
    def get(self, request):
        query = TrendQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        code, dimension, key, first, last = (query.validated_data[k] for k in ("kpi", "group_by", "key", "first", "last"))
        trend = selectors.kpi_trend(code, first, last, dimension=dimension, key=key)
        labels = selectors.group_labels(dimension, [key])
        return Response(KpiTrendSerializer({
            "kpi": code, "group_by": dimension, "key": key, "label": _label(dimension, key, labels), "first": first, "last": last,
            "target": KPIS[code].target_value,
            "points": [
                {"day": day, "numerator": v.numerator, "denominator": v.denominator, "value": v.value, "met": v.met}
                for day, v in trend
            ],
        }).data)
