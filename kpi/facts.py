"""The fact sources: which rows each KPI counts, on which day, in which groups.

A source is one fact table read by one query: its rows (a queryset of the
owning app's model), the moment that places a row on a day (the anchor, in
Asia/Shanghai), the group each row belongs to in every dimension, and its
measures (0/1 flags or seconds) that become numerators and denominators.
The rollup, the drill-down and the direct computation all start from the
same ``rows()`` so that a number and the rows behind it cannot disagree.

kpi reads other apps' tables here and only here, and never writes them.
Anchors never move once set (a first resolution, a decision, a closing), so
a late change (a complaint reopened days later) touches exactly the days its
object is anchored on: ``touched_days`` finds them through the app's
append-only transition log.
"""
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from django.db import models
from django.db.models import Case, Exists, F, IntegerField, OuterRef, Q, Value, When
from django.db.models.functions import Cast, TruncDate
from django.utils import timezone

from complaints.models import Callback, Complaint, ComplaintTransition, WorkOrder
from delivery.models import Shipment, ShipmentStatus, ShipmentTransition, TrackingEvent
from orders.models import Opportunity, Order, OrderStatus, OrderTransition
from servicedesk.dates import local_days as day_bounds  # kpi's name for it, used by the bench too
from servicedesk.models import Contact

from .definitions import DELIVERY_DAYS, KPIS, SATISFIED_SCORE, Dimension


class Seconds(models.Func):
    """Whole seconds between two moments, as an integer, on PostgreSQL and SQLite."""

    output_field = models.BigIntegerField()

    def __init__(self, end, start):
        super().__init__(end, start)

    def as_postgresql(self, compiler, connection):
        return self.as_sql(compiler, connection, template="CAST(ROUND(EXTRACT(EPOCH FROM (%(expressions)s))) AS BIGINT)", arg_joiner=" - ")

    def as_sqlite(self, compiler, connection):
        return self.as_sql(
            compiler, connection, template="CAST(ROUND((julianday(%(expressions)s)) * 86400) AS INTEGER)", arg_joiner=") - julianday(",
        )


def flag(condition: Q) -> Case:
    return Case(When(condition, then=Value(1)), default=Value(0), output_field=IntegerField())


ONE = Value(1, output_field=IntegerField())


@dataclass(frozen=True)
class Source:
    code: str
    model: type[models.Model]
    anchor: str
    # dimension -> the field path of the row's group in it
    dims: dict[str, str]
    # measure -> expression per row
    measures: Callable[[], dict[str, models.Expression]]
    # kpi -> (numerator measure, denominator measure)
    kpis: dict[str, tuple[str, str]]
    base: Callable[[], models.QuerySet] = None
    # (log model, its foreign key to the fact row, when it was written): what tells that a row changed late
    logs: tuple[tuple[type[models.Model], str, str], ...] = ()
    # what the drill-down shows of each row, besides the measures
    columns: tuple[str, ...] = field(default_factory=tuple)
    detail_url: str = ""             # URL name of a row's own page, with its pk

    def queryset(self) -> models.QuerySet:
        return (self.base() if self.base else self.model.objects.all()).order_by()

    def rows(self, first_day: date, last_day: date) -> models.QuerySet:
        """One row per fact anchored on those days, with its day, groups and measures."""
        return self.rows_on([(first_day, last_day)])

    def rows_on(self, runs: list[tuple[date, date]]) -> models.QuerySet:
        """The same, on several ranges of days at once (the late changes of one update)."""
        anchored = Q()
        for first_day, last_day in runs:
            start, end = day_bounds(first_day, last_day)
            anchored |= Q(**{f"{self.anchor}__gte": start, f"{self.anchor}__lt": end})
        return (
            self.queryset()
            .filter(anchored)
            .annotate(
                kpi_day=TruncDate(self.anchor, tzinfo=timezone.get_default_timezone()),
                **{f"d_{name}": Cast(F(path), models.CharField()) for name, path in self.dims.items()},
                **{f"m_{name}": expression for name, expression in self.measures().items()},
            )
        )

    def touched_days(self, since: datetime) -> set[date]:
        """The days this source's rows anchor on, for rows whose log moved since ``since``."""
        if not self.logs:
            return set()
        changed = Q()
        for log_model, fk, written_at in self.logs:
            changed |= Q(pk__in=log_model.objects.filter(**{f"{written_at}__gte": since}).values(fk))
        return set(
            self.queryset().filter(changed, **{f"{self.anchor}__isnull": False})
            .annotate(kpi_day=TruncDate(self.anchor, tzinfo=timezone.get_default_timezone()))
            .values_list("kpi_day", flat=True).distinct()
        )

    @property
    def dimensions(self) -> list[str]:
        return [Dimension.ALL, *self.dims]


_COMPLAINT_DIMS = {
    Dimension.AGENT: "first_ask_owner_id", Dimension.TEAM: "first_ask_owner__team_id", Dimension.AREA: "area_id",
    Dimension.CHANNEL: "channel", Dimension.DEPARTMENT: "department_id", Dimension.VIP_TIER: "customer__vip_tier",
}


def _via(prefix: str, dims: dict[str, str]) -> dict[str, str]:
    return {name: f"{prefix}__{path}" for name, path in dims.items()}


def _completed_satisfaction_callback() -> Exists:
    return Exists(Callback.objects.filter(
        complaint=OuterRef("pk"), kind=Callback.Kind.SATISFACTION, status=Callback.Status.COMPLETED,
    ))


SOURCES: dict[str, Source] = {s.code: s for s in [
    Source(
        "callbacks_scored", Callback, "completed_at",
        base=lambda: Callback.objects.filter(
            kind=Callback.Kind.SATISFACTION, status=Callback.Status.COMPLETED, satisfaction__isnull=False,
        ),
        dims=_via("complaint", _COMPLAINT_DIMS),
        measures=lambda: {"scored": ONE, "satisfied": flag(Q(satisfaction__gte=SATISFIED_SCORE))},
        kpis={"satisfaction": ("satisfied", "scored")},
        # Its groups are its complaint's: a transfer after the score moves it to the new department.
        logs=((ComplaintTransition, "complaint__callbacks", "at"),),
        columns=("complaint_id", "satisfaction", "completed_at"),
    ),
    Source(
        "complaints_resolved", Complaint, "first_resolved_at",
        dims=_COMPLAINT_DIMS,
        measures=lambda: {
            "resolved": ONE,
            "first_contact": flag(Q(reopen_count=0, transfer_count=0)),
            "in_time": flag(Q(first_resolved_at__lte=F("due_at"))),
        },
        kpis={"fcr": ("first_contact", "resolved"), "complaint_timeliness": ("in_time", "resolved")},
        logs=((ComplaintTransition, "complaint_id", "at"),),
        columns=("received_at", "due_at", "first_resolved_at", "reopen_count", "transfer_count", "status"),
        detail_url="complaints:detail",
    ),
    Source(
        "complaints_received", Complaint, "received_at",
        dims=_COMPLAINT_DIMS,
        measures=lambda: {"received": ONE, "appealed": flag(Q(appeal=True)), "none": Value(0, output_field=IntegerField())},
        kpis={"complaint_rate": ("received", "none"), "appeal_share": ("appealed", "received")},
        logs=((ComplaintTransition, "complaint_id", "at"),),
        columns=("received_at", "category_id", "severity", "appeal", "status"),
        detail_url="complaints:detail",
    ),
    Source(
        "complaints_closed", Complaint, "closed_at",
        dims=_COMPLAINT_DIMS,
        measures=lambda: {"closed": ONE, "called_back": flag(Q(_completed_satisfaction_callback()))},
        kpis={"callback_coverage": ("called_back", "closed")},
        columns=("received_at", "closed_at", "status"),
        detail_url="complaints:detail",
    ),
    Source(
        "repairs_done", WorkOrder, "done_at",
        base=lambda: WorkOrder.objects.filter(kind=WorkOrder.Kind.REPAIR, status=WorkOrder.Status.DONE),
        dims={
            Dimension.AGENT: "handler_id", Dimension.TEAM: "handler__team_id", Dimension.AREA: "complaint__area_id",
            Dimension.CHANNEL: "complaint__channel", Dimension.DEPARTMENT: "department_id",
            Dimension.VIP_TIER: "complaint__customer__vip_tier",
        },
        measures=lambda: {"done": ONE, "in_time": flag(Q(done_at__lte=F("due_at")))},
        kpis={"repair_timeliness": ("in_time", "done")},
        columns=("complaint_id", "opened_at", "due_at", "done_at", "technician"),
    ),
    Source(
        "orders_decided", Order, "decided_at",
        dims={
            Dimension.AGENT: "created_by_id", Dimension.TEAM: "created_by__team_id", Dimension.AREA: "customer__area_id",
            Dimension.PRODUCT: "product_id", Dimension.CHANNEL: "channel", Dimension.VIP_TIER: "customer__vip_tier",
        },
        measures=lambda: {
            "decided": ONE,
            "succeeded": flag(~Q(status__in=[OrderStatus.REJECTED, OrderStatus.FAILED])),
            "accepted": flag(Q(accepted_at__isnull=False)),
            "accurate": flag(Q(accepted_at__isnull=False) & ~Q(status=OrderStatus.CANCELLED)),
            "in_time": flag(Q(accepted_at__isnull=False) & (Q(accept_by__isnull=True) | Q(accepted_at__lte=F("accept_by")))),
        },
        kpis={
            "acceptance_success": ("succeeded", "decided"),
            "acceptance_accuracy": ("accurate", "accepted"),
            "acceptance_timeliness": ("in_time", "accepted"),
        },
        logs=((OrderTransition, "order_id", "at"),),
        columns=("flow", "submitted_at", "accept_by", "decided_at", "status"),
        detail_url="orders:detail",
    ),
    Source(
        "orders_submitted", Order, "submitted_at",
        dims={
            Dimension.AGENT: "created_by_id", Dimension.TEAM: "created_by__team_id", Dimension.AREA: "customer__area_id",
            Dimension.PRODUCT: "product_id", Dimension.CHANNEL: "channel", Dimension.VIP_TIER: "customer__vip_tier",
        },
        measures=lambda: {"sold": ONE},
        kpis={"channel_share": ("sold", "sold")},
        columns=("flow", "submitted_at", "status"),
        detail_url="orders:detail",
    ),
    Source(
        "shipments_closed", Shipment, "closed_at",
        base=lambda: Shipment.objects.filter(status__in=[ShipmentStatus.DELIVERED, ShipmentStatus.RETURNED]),
        dims={
            Dimension.AGENT: "order__created_by_id", Dimension.TEAM: "order__created_by__team_id",
            Dimension.AREA: "order__customer__area_id", Dimension.PRODUCT: "order__product_id",
            Dimension.CHANNEL: "order__channel", Dimension.CARRIER: "carrier_id",
            Dimension.VIP_TIER: "order__customer__vip_tier",
        },
        measures=lambda: {
            "closed": ONE,
            "delivered": flag(Q(status=ShipmentStatus.DELIVERED)),
            "delivered_in_time": flag(
                Q(status=ShipmentStatus.DELIVERED, delivered_at__lte=F("order__submitted_at") + timedelta(days=DELIVERY_DAYS))
            ),
        },
        kpis={"delivery_success": ("delivered", "closed"), "delivery_timeliness": ("delivered_in_time", "delivered")},
        # A carrier may report a delivery days after it happened: the step is dated then, the event received now.
        logs=((ShipmentTransition, "shipment_id", "at"), (TrackingEvent, "shipment_id", "received_at")),
        columns=("order_id", "tracking_number", "status", "delivered_at", "closed_at"),
        detail_url="delivery:dispatch_shipment",
    ),
    Source(
        "opportunities_closed", Opportunity, "closed_at",
        base=lambda: Opportunity.objects.filter(status__in=[Opportunity.Status.CONVERTED, Opportunity.Status.LOST]),
        dims={
            Dimension.AGENT: "assigned_to_id", Dimension.TEAM: "assigned_to__team_id", Dimension.AREA: "customer__area_id",
            Dimension.PRODUCT: "product_id", Dimension.VIP_TIER: "customer__vip_tier",
        },
        measures=lambda: {"closed": ONE, "converted": flag(Q(status=Opportunity.Status.CONVERTED))},
        kpis={"conversion": ("converted", "closed")},
        columns=("created_at", "closed_at", "status", "lost_reason"),
        detail_url="orders:opportunity",
    ),
    Source(
        "contacts", Contact, "started_at",
        dims={
            Dimension.AGENT: "agent_id", Dimension.TEAM: "agent__team_id", Dimension.AREA: "customer__area_id",
            Dimension.CHANNEL: "channel", Dimension.VIP_TIER: "customer__vip_tier",
        },
        measures=lambda: {
            "contacts": ONE,
            "finished": flag(Q(ended_at__isnull=False)),
            "handling_seconds": Case(
                When(ended_at__isnull=False, then=Seconds(F("ended_at"), F("started_at"))),
                default=Value(0), output_field=models.BigIntegerField(),
            ),
        },
        kpis={"contact_volume": ("contacts", "contacts"), "aht": ("handling_seconds", "finished")},
        columns=("started_at", "ended_at", "channel", "outcome", "reason"),
    ),
]}

for _kpi in KPIS.values():
    assert _kpi.code in SOURCES[_kpi.source].kpis, _kpi.code


def source_of(kpi_code: str) -> Source:
    return SOURCES[KPIS[kpi_code].source]


def dimensions_of(kpi_code: str) -> list[str]:
    """The groupings a KPI can be broken down by (its source's, narrowed by its denominator's)."""
    dims = source_of(kpi_code).dimensions
    if KPIS[kpi_code].denominator_kpi:
        dims = [d for d in dims if d in SUBSCRIPTION_DIMS or d == Dimension.ALL]
    return dims


# The complaint rate's denominator: active subscriptions by the customer's area and tier.
SUBSCRIPTION_DIMS = {Dimension.AREA: "customer__area_id", Dimension.VIP_TIER: "customer__vip_tier"}
