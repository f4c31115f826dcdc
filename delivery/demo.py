"""Demo data of the delivery app, found by ``servicedesk.demo`` after the orders demo.

``seed(log=...)``: the warehouse chain with stock (``demo_stock``), carriers with their
items and API keys, the SMS notice texts, and, on a database without shipments, some
work under way: two queue orders accepted, one shipment out for delivery (its
before-delivery SMS sent) and one delivered and paid, so the support desk, the
dispatch list and today's daily report have something to show.
``reset(log=...)`` removes shipments, reports and stock before the orders go.
"""
from decimal import Decimal

from django.db import transaction
from django.utils import timezone

from orders import services as order_services
from orders.models import ItemKind, Order, OrderStatus
from servicedesk.models import User

from . import demo_stock
from .models import (
    Carrier, CarrierCredential, CarrierService, DailyReport, DailyReportTransition, Shipment, ShipmentTransition, TrackingEvent,
    Warehouse,
)
from .notice_templates import notice_templates_load
from .services import shipments

# code, name, kind, promised hours, preference, item kinds served, API key id
CARRIERS = (
    ("SF", "顺丰速运", Carrier.Kind.EXPRESS, 48, 10, (ItemKind.SIM, ItemKind.HANDSET, ItemKind.CARD), "sf-demo"),
    ("EMS", "中国邮政EMS", Carrier.Kind.EXPRESS, 72, 20, (ItemKind.SIM, ItemKind.CARD), "ems-demo"),
    ("TJWL", "津城物流（合作配送）", Carrier.Kind.PARTNER, 24, 5, (ItemKind.SIM, ItemKind.HANDSET), "tjwl-demo"),
)
DEMO_SECRET_SUFFIX = "-secret-change-me"  # demo keys only: "<key id>-secret-change-me"


@transaction.atomic
def seed(*, log=print) -> None:
    demo_stock.seed(log=log)
    for code, name, kind, hours, preference, kinds, key_id in CARRIERS:
        carrier, _ = Carrier.objects.update_or_create(
            code=code, defaults={"name": name, "kind": kind, "promised_hours": hours, "priority": preference, "active": True}
        )
        for item_kind in kinds:
            CarrierService.objects.get_or_create(carrier=carrier, item_kind=item_kind)
        CarrierCredential.objects.get_or_create(key_id=key_id, defaults={"carrier": carrier, "secret": key_id + DEMO_SECRET_SUFFIX})
    loaded = notice_templates_load()
    log(f"Delivery: {len(CARRIERS)} carriers (API keys <code>-demo, secret <key>{DEMO_SECRET_SUFFIX}), {loaded} SMS templates loaded.")
    if not Shipment.objects.exists():
        _seed_work(log)


def _seed_work(log) -> None:
    clerk = User.objects.filter(username="delivery1").first()
    back_office = User.objects.filter(username="backoffice2").first()
    waiting = list(
        Order.objects.filter(status=OrderStatus.SUBMITTED, flow="back_office", accept_by__gt=timezone.now())
        .select_related("product").order_by("id")[:2]
    )
    if clerk is None or back_office is None or len(waiting) < 2:
        return
    made = []
    for order in waiting:
        order_services.order_accept(order_id=order.pk, clerk=back_office)
        shipment = shipments.shipment_create(order=Order.objects.get(pk=order.pk), by=clerk)
        shipments.shipment_pick(shipment_id=shipment.pk, by=clerk)
        shipments.shipment_hand_to_carrier(shipment_id=shipment.pk, by=clerk)
        shipments.shipment_go_out_for_delivery(shipment_id=shipment.pk, by=clerk)
        made.append(shipment)
    delivered = max(made, key=lambda shipment: shipment.amount_due)  # the handset: money for the daily report
    shipments.shipment_deliver(
        shipment_id=delivered.pk, by=clerk, signed_by="本人", id_checked=True,
        amount_collected=Shipment.objects.get(pk=delivered.pk).amount_due or Decimal("0"), payment_method="cash",
    )
    # Today's report of each hall, so the reconciliation has a day to work on before beat's first run.
    from .services import money

    for hall in Warehouse.objects.filter(level=Warehouse.Level.HALL, active=True):
        money.daily_report_compile(hall_id=hall.pk, day=timezone.localdate())
    log("Delivery: 2 queue orders accepted; 1 shipment out for delivery, 1 delivered (cash); today's daily reports compiled.")


@transaction.atomic
def reset(*, log=print) -> None:
    DailyReportTransition.objects.all().delete()
    DailyReport.objects.all().delete()
    TrackingEvent.objects.all().delete()
    ShipmentTransition.objects.all().delete()
    Shipment.objects.all().delete()
    demo_stock.reset(log=log)
    log("Delivery: shipments, daily reports and stock cleared.")
