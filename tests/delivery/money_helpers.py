"""Helpers and fixtures of the money tests: halls with stock to accept orders, shipments put straight into a state.

Plain functions: each test module wraps the ones it needs in its own fixtures."""
from datetime import datetime, time, timedelta
from decimal import Decimal

from django.utils import timezone

from delivery.models import Shipment, ShipmentTransition, Sku, Warehouse
from orders.models import Order
from tests.factories import (
    CustomerFactory,
    ServiceAreaFactory,
    SkuFactory,
    StockLevelFactory,
    WarehouseFactory,
)

DAY = timezone.localdate() - timedelta(days=2)
SIM_MODEL = "USIM 128K"  # ProductFactory(sim=True)'s item model


def at(day, hour=10, minute=0, second=0):
    return timezone.make_aware(datetime.combine(day, time(hour, minute, second)))


def stocked_hall(**fields) -> Warehouse:
    """A hall store serving an area of its own, with SIMs to hold for the orders accepted there."""
    hall = WarehouseFactory(**fields)
    hall.areas.add(ServiceAreaFactory())
    sku = Sku.objects.filter(item_model=SIM_MODEL).first() or SkuFactory(counted=True, item_model=SIM_MODEL)
    StockLevelFactory(warehouse=hall, sku=sku, on_hand=100)
    return hall


def make_shipper(accepted_order):
    """``ship(hall, status=..., delivered_at=..., due=..., collected=..., method=...)``: a shipment of a fresh
    accepted order, put straight into the state the test needs (the status field is protected)."""

    def make(hall, *, status="delivered", delivered_at=None, due="0.00", collected=None, method="", pos_reference="", submitted_at=None):
        order = accepted_order(customer=CustomerFactory(area=hall.areas.first()))
        if submitted_at is not None:
            Order.objects.filter(pk=order.pk).update(submitted_at=submitted_at)
        shipment = Shipment.objects.create(order=order, warehouse=hall, amount_due=Decimal(due))
        Shipment.objects.filter(pk=shipment.pk).update(
            status=status, delivered_at=delivered_at, payment_method=method, pos_reference=pos_reference,
            amount_collected=None if collected is None else Decimal(collected),
        )
        shipment.refresh_from_db()
        return shipment

    return make


def failed_attempt(shipment, when):
    ShipmentTransition.objects.create(shipment=shipment, from_state="out_for_delivery", to_state="failed", transition="fail", at=when)
