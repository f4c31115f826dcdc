"""Reads of the delivery app, by area."""


# --- Money: the hall's daily business report -------------------------------------------------
from django.db.models import Prefetch

from .models import (
    DailyReport,
    DailyReportTransition,
    Shipment,
    ShipmentStatus,
    Warehouse,
)


def daily_reports(*, hall_id: int | None = None, status: str = "", day_from=None, day_to=None):
    """Reports by hall, status and day range (indexes dailyreport_one_per_hall_day and dailyreport_status_idx)."""
    reports = DailyReport.objects.select_related("hall")
    if hall_id:
        reports = reports.filter(hall_id=hall_id)
    if status:
        reports = reports.filter(status=status)
    if day_from:
        reports = reports.filter(day__gte=day_from)
    if day_to:
        reports = reports.filter(day__lte=day_to)
    return reports.order_by("-day", "hall__code", "id")


def daily_report_halls():
    """The hall stores a report can be for, active ones first."""
    return Warehouse.objects.filter(level=Warehouse.Level.HALL).order_by("-active", "code")


def daily_report_detail(*, report_id: int) -> DailyReport:
    return (
        DailyReport.objects.select_related("hall", "prepared_by", "checked_by", "approved_by")
        .prefetch_related(Prefetch("transitions", queryset=DailyReportTransition.objects.select_related("by").order_by("at", "id")))
        .get(pk=report_id)
    )


def daily_report_deliveries(*, report: DailyReport):
    """The shipments the report's money figures are made of: delivered from the hall that day
    (index shipment_hall_day_idx), oldest first."""
    from .services.money import day_bounds

    start, end = day_bounds(report.day)
    return (
        Shipment.objects.filter(warehouse_id=report.hall_id, status=ShipmentStatus.DELIVERED, delivered_at__gte=start, delivered_at__lt=end)
        .select_related("carrier")
        .order_by("delivered_at", "id")
    )


def daily_report_actions(*, report: DailyReport, user) -> list[str]:
    """What this user may do to the report now: three levels, three different people."""
    status = DailyReport.Status
    checker, approver = user.has_perm("delivery.check_dailyreport"), user.has_perm("delivery.approve_dailyreport")
    actions = []
    if report.status == status.DRAFT and user.has_perm("delivery.prepare_dailyreport"):
        actions += ["refresh", "prepare"]
    if report.status == status.PREPARED and checker and report.prepared_by_id != user.pk:
        actions.append("verify")
    if report.status == status.CHECKED and approver and user.pk not in (report.prepared_by_id, report.checked_by_id):
        actions.append("approve")
    if report.status in (status.PREPARED, status.CHECKED) and (checker or approver):
        actions.append("send_back")
    return actions


# --- Stock ----------------------------------------------------------------------------------
# (imports kept with the section: each area of the app keeps its own part of this module)
from datetime import date, datetime, timedelta  # noqa: E402

from django.db.models import Count, F, Q, QuerySet, Sum  # noqa: E402
from django.db.models import Prefetch as _Prefetch  # noqa: E402

from servicedesk.dates import local_midnight  # noqa: E402

from orders.models import ItemKind as _ItemKind  # noqa: E402
from orders.models import Opportunity as _Opportunity  # noqa: E402
from orders.models import Order as _Order  # noqa: E402

from .models import SerialUnit, Sku, StockLevel, StockMovement, StockReservation, Transfer, TransferLine, TransferTransition, Warehouse  # noqa: E402, F811


def day_range(date_from: date | None, date_to: date | None) -> tuple[datetime | None, datetime | None]:
    """Local days, both included, as [start, end) instants for filtering indexed timestamp columns."""
    start = local_midnight(date_from) if date_from else None
    end = local_midnight(date_to + timedelta(days=1)) if date_to else None
    return start, end


def stock_warehouses(*, active_only: bool = False) -> QuerySet[Warehouse]:
    stores = Warehouse.objects.select_related("parent").order_by("level", "code")
    return stores.filter(active=True) if active_only else stores


def stock_skus() -> QuerySet[Sku]:
    return Sku.objects.order_by("item_kind", "name")


def stock_levels(*, warehouse_id: int | None = None, sku_id: int | None = None, item_kind: str = "", only_available: bool = False) -> QuerySet[StockLevel]:
    """Counts by warehouse and SKU, with what is free to promise (``available_count``)."""
    levels = StockLevel.objects.select_related("warehouse", "sku").annotate(available_count=F("on_hand") - F("reserved"))
    if warehouse_id:
        levels = levels.filter(warehouse_id=warehouse_id)
    if sku_id:
        levels = levels.filter(sku_id=sku_id)
    if item_kind:
        levels = levels.filter(sku__item_kind=item_kind)
    if only_available:
        levels = levels.filter(on_hand__gt=F("reserved"))
    return levels.order_by("warehouse__level", "warehouse__code", "sku__item_kind", "sku__name", "pk")


def stock_totals(levels: QuerySet[StockLevel]) -> dict:
    totals = levels.order_by().aggregate(on_hand=Sum("on_hand"), reserved=Sum("reserved"))
    on_hand, reserved = totals["on_hand"] or 0, totals["reserved"] or 0
    return {"on_hand": on_hand, "reserved": reserved, "available": on_hand - reserved}


def stock_movements(*, warehouse_id: int | None = None, sku_id: int | None = None, kind: str = "",
                    date_from: date | None = None, date_to: date | None = None) -> QuerySet[StockMovement]:
    """The ledger, newest first; each filter is one of the ledger's indexed columns."""
    movements = StockMovement.objects.select_related("warehouse", "sku", "unit", "by")
    if warehouse_id:
        movements = movements.filter(warehouse_id=warehouse_id)
    if sku_id:
        movements = movements.filter(sku_id=sku_id)
    if kind:
        movements = movements.filter(kind=kind)
    start, end = day_range(date_from, date_to)
    if start:
        movements = movements.filter(at__gte=start)
    if end:
        movements = movements.filter(at__lt=end)
    return movements.order_by("-at", "-id")


def stock_transfers(*, status: str = "", warehouse_id: int | None = None) -> QuerySet[Transfer]:
    transfers = Transfer.objects.select_related("from_warehouse", "to_warehouse", "requested_by").annotate(line_count=Count("lines"))
    if status:
        transfers = transfers.filter(status=status)
    if warehouse_id:
        transfers = transfers.filter(Q(from_warehouse_id=warehouse_id) | Q(to_warehouse_id=warehouse_id))
    return transfers.order_by("-requested_at", "-id")


def stock_transfer_detail(*, transfer_id: int) -> Transfer:
    return (
        Transfer.objects.select_related("from_warehouse", "to_warehouse", "requested_by")
        .prefetch_related(
            _Prefetch("lines", queryset=TransferLine.objects.select_related("sku").order_by("sku__name")),
            _Prefetch("transitions", queryset=TransferTransition.objects.select_related("by").order_by("at", "id")),
        )
        .get(pk=transfer_id)
    )


def stock_transfer_units(*, transfer_id: int) -> QuerySet[SerialUnit]:
    return SerialUnit.objects.filter(transfer_id=transfer_id).select_related("sku", "warehouse").order_by("sku__name", "serial")


def stock_unit(*, serial: str) -> SerialUnit | None:
    return SerialUnit.objects.select_related("sku", "warehouse", "transfer", "order").filter(serial=serial).first()


def stock_unit_movements(*, unit_id: int) -> QuerySet[StockMovement]:
    return StockMovement.objects.filter(unit_id=unit_id).select_related("warehouse", "by").order_by("-at", "-id")


def stock_reservations_for_order(*, order_id: int) -> QuerySet[StockReservation]:
    """What an order holds, held it, or shipped, newest first (the shipment picks its hall from the live one)."""
    return StockReservation.objects.filter(order_id=order_id).select_related("warehouse", "sku", "unit").order_by("-created_at", "-id")


def stock_hall_for_order(*, order_id: int) -> Warehouse | None:
    """The hall store an order's item is held in or shipped from; None if it holds nothing."""
    live = stock_reservations_for_order(order_id=order_id).filter(status__in=[StockReservation.Status.HELD, StockReservation.Status.SHIPPED]).first()
    return live.warehouse if live else None


def handset_demand(*, date_from: date, date_to: date) -> list[dict]:
    """The handset models customers asked for, most first: orders submitted and opportunities opened in the
    range, counted in the database per product model. A converted opportunity is counted once (as its order)."""
    start, end = day_range(date_from, date_to)
    handsets = {"product__item_kind": _ItemKind.HANDSET}
    ordered = (
        _Order.objects.filter(**handsets, submitted_at__gte=start, submitted_at__lt=end).exclude(product__item_model="")
        .values("product__item_model").annotate(n=Count("id")).order_by()
    )
    interested = (
        _Opportunity.objects.filter(**handsets, created_at__gte=start, created_at__lt=end).exclude(product__item_model="")
        .values("product__item_model").annotate(n=Count("id"), converted=Count("id", filter=Q(order__isnull=False))).order_by()
    )
    rows: dict[str, dict] = {}
    for row in ordered:
        rows.setdefault(row["product__item_model"], {"orders": 0, "opportunities": 0, "converted": 0})["orders"] = row["n"]
    for row in interested:
        entry = rows.setdefault(row["product__item_model"], {"orders": 0, "opportunities": 0, "converted": 0})
        entry["opportunities"], entry["converted"] = row["n"], row["converted"]
    available = dict(
        StockLevel.objects.filter(sku__item_model__in=list(rows), warehouse__level=Warehouse.Level.HALL, warehouse__active=True)
        .values("sku__item_model").annotate(free=Sum(F("on_hand") - F("reserved"))).order_by().values_list("sku__item_model", "free")
    )
    result = [
        {"item_model": model, **counts, "asked": counts["orders"] + counts["opportunities"] - counts["converted"], "available": available.get(model)}
        for model, counts in rows.items()
    ]
    return sorted(result, key=lambda r: (-r["asked"], -r["orders"], r["item_model"]))


# --- Shipments ------------------------------------------------------------------------------
# (imports kept with the section: each area of the app keeps its own part of this module)
from django.db import models as _db  # noqa: E402
from django.urls import NoReverseMatch as _NoReverseMatch  # noqa: E402
from django.urls import reverse as _reverse  # noqa: E402
from django.utils.translation import gettext as _gettext  # noqa: E402
from django.utils.translation import pgettext as _pgettext  # noqa: E402

from orders import models as _orders  # noqa: E402
from servicedesk.selectors import restrict_to_visible_customers as _restrict_to_visible_customers  # noqa: E402
from orders.selectors import orders_with_service_number as _orders_with_service_number  # noqa: E402
from servicedesk.registry import Panel as _Panel  # noqa: E402
from servicedesk.registry import TimelineEntry as _TimelineEntry  # noqa: E402

from . import models as _dm  # noqa: E402

SHIPMENT_LIVE_STATES = [s for s in _dm.ShipmentStatus if s not in (_dm.ShipmentStatus.RETURNED, _dm.ShipmentStatus.CANCELLED)]
SHIPMENT_OPEN_STATES = [s for s in SHIPMENT_LIVE_STATES if s != _dm.ShipmentStatus.DELIVERED]


def pick_list() -> _db.QuerySet[_orders.Order]:
    """Accepted back-office orders with something to deliver and no shipment under way, oldest acceptance first.

    The status and flow filters use ``order_status_flow_idx``; the live-shipment test
    ``shipment_order_idx``."""
    live = _dm.Shipment.objects.filter(order_id=_db.OuterRef("pk"), status__in=SHIPMENT_LIVE_STATES)
    return (
        _orders.Order.objects.filter(status=_orders.OrderStatus.ACCEPTED, flow=_orders.Flow.BACK_OFFICE)
        .exclude(product__item_kind=_orders.ItemKind.NONE)
        .exclude(_db.Exists(live))
        .select_related("customer", "product", "pool_number")
        .order_by("accepted_at", "id")
    )


def carriers_for_item(*, item_kind: str) -> _db.QuerySet[_dm.Carrier]:
    """The active carriers that deliver an item kind, in the order the rules prefer them."""
    return _dm.Carrier.objects.filter(active=True, services__item_kind=item_kind).order_by("priority", "promised_hours", "code")


def shipments_visible_to(user) -> _db.QuerySet[_dm.Shipment]:
    """Every shipment for the roles that see every order; an area manager's areas' for them."""
    if not user.is_authenticated or not user.has_perm("delivery.view_shipment"):
        return _dm.Shipment.objects.none()
    return _restrict_to_visible_customers(_dm.Shipment.objects.all(), user, customer_field="order__customer")


def shipment_search(
    *, user, order_id: int | None = None, tracking_number: str = "", service_number: str = "", status: str = "", carrier: str = "",
) -> _db.QuerySet[_dm.Shipment]:
    """Shipments by order, tracking number, service number (normalised by the caller), status or carrier code, newest first.

    The tracking number is unique per carrier (a partial index led by the carrier): naming every
    carrier lets PostgreSQL use that index rather than scan shipments."""
    shipments = shipments_visible_to(user)
    if order_id:
        shipments = shipments.filter(order_id=order_id)
    if tracking_number:
        carriers = list(_dm.Carrier.objects.values_list("pk", flat=True))
        shipments = shipments.filter(carrier_id__in=carriers, tracking_number=tracking_number).exclude(tracking_number="")
    if service_number:
        shipments = shipments.filter(order__in=_orders_with_service_number(_orders.Order.objects.all(), service_number))
    if status:
        shipments = shipments.filter(status=status)
    if carrier:
        shipments = shipments.filter(carrier__code=carrier)
    return shipments.select_related("order__customer", "order__product", "order__pool_number", "carrier", "warehouse").order_by("-id")


def shipment_detail(*, user, shipment_id: int) -> _dm.Shipment:
    return (
        shipments_visible_to(user)
        .select_related("order__customer", "order__product", "order__pool_number", "carrier", "warehouse")
        .prefetch_related(_db.Prefetch("transitions", queryset=_dm.ShipmentTransition.objects.select_related("by").order_by("at", "id")))
        .get(pk=shipment_id)
    )


def shipment_history(*, shipment: _dm.Shipment) -> _db.QuerySet[_dm.ShipmentTransition]:
    return _dm.ShipmentTransition.objects.filter(shipment=shipment).select_related("by").order_by("at", "id")


def shipment_events(*, shipment: _dm.Shipment) -> _db.QuerySet[_dm.TrackingEvent]:
    """What the carrier reported, in order of occurrence (index trackingevent_shipment_idx)."""
    return _dm.TrackingEvent.objects.filter(shipment=shipment).select_related("carrier").order_by("occurred_at", "id")


def shipment_url(shipment_id: int) -> str:
    """The support desk's page of a shipment, where there is one."""
    try:
        return _reverse("delivery:shipment", args=[shipment_id])
    except _NoReverseMatch:
        return ""


def live_shipments_panel(customer, user) -> _Panel | None:
    """The customer screen's panel: shipments on their way (not yet delivered, returned or cancelled)."""
    if not user.has_perm("delivery.view_shipment"):
        return None
    shipments = (
        _dm.Shipment.objects.filter(order__customer=customer, status__in=SHIPMENT_OPEN_STATES)
        .select_related("order__product", "carrier")
        .order_by("-created_at", "-id")[:10]
    )
    items = []
    for shipment in shipments:
        appointment = f"{shipment.appointment_date:%m-%d} {shipment.get_appointment_slot_display()}".strip() if shipment.appointment_date else ""
        label = _gettext("Shipment %(number)s: %(product)s") % {"number": shipment.tracking_number or f"#{shipment.pk}", "product": shipment.order.product.name}
        if shipment.carrier_id:
            label += f" · {shipment.carrier.name}"
        if appointment:
            label += f" · {appointment}"
        items.append({"label": label, "state": shipment.get_status_display(), "url": shipment_url(shipment.pk)})
    return _Panel(key="shipments", title=_gettext("Shipments"), items=items, empty_text=_gettext("No shipment on its way."), order=20)


def shipment_timeline_entries(customer, user, limit: int) -> list[_TimelineEntry]:
    """Every recorded step of the customer's shipments, newest first; a step without a person is the carrier's or the system's."""
    if not user.has_perm("delivery.view_shipment"):
        return []
    transitions = (
        _dm.ShipmentTransition.objects.filter(shipment__order__customer=customer)
        .select_related("shipment__carrier", "by")
        .order_by("-at", "-id")[:limit]
    )
    labels = dict(_dm.ShipmentStatus.choices)
    entries = []
    for t in transitions:
        shipment = t.shipment
        number = shipment.tracking_number or f"#{shipment.pk}"
        if t.transition == "assign_carrier":
            title = _gettext("Shipment %(number)s: carrier %(carrier)s") % {"number": number, "carrier": t.reason}
        elif t.transition == "change_appointment":
            title = _gettext("Shipment %(number)s: appointment changed") % {"number": number}
        elif t.transition == "request_urgent_activation":
            title = _gettext("Shipment %(number)s: urgent activation requested") % {"number": number}
        elif t.from_state == t.to_state and t.from_state:
            title = _gettext("Shipment %(number)s: %(what)s") % {"number": number, "what": t.transition.replace("_", " ")}
        else:
            title = _gettext("Shipment %(number)s: %(state)s") % {"number": number, "state": labels.get(t.to_state, t.to_state)}
        if t.by is not None:
            actor = t.by.get_full_name() or t.by.username
        else:
            actor = shipment.carrier.name if shipment.carrier_id else _gettext("system")
        entries.append(_TimelineEntry(
            at=t.at, kind="shipment", title=title, detail="" if t.transition == "assign_carrier" else t.reason, actor=actor,
            url=shipment_url(shipment.pk), badge=_pgettext("timeline badge", "Shipment"),
        ))
    return entries
