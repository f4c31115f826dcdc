"""Shipments in any state, reached through the real services (orders, stock, shipments), for the
support desk and notice tests."""
from datetime import timedelta
from decimal import Decimal
from itertools import count

from django.utils import timezone

from delivery.models import Shipment, ShipmentStatus
from delivery.services import shipments
from orders import services as order_services
from tests.delivery.stock_helpers import stock_for
from tests.factories import (
    CarrierFactory, CustomerFactory, PoolNumberFactory, ProductFactory, SubscriptionFactory, TariffPlanFactory, UserFactory,
)

_tracking = count(1)

# The steps from "created" to each state.
PATHS = {
    ShipmentStatus.CREATED: [],
    ShipmentStatus.PICKED: ["pick"],
    ShipmentStatus.HANDED_TO_CARRIER: ["pick", "hand"],
    ShipmentStatus.OUT_FOR_DELIVERY: ["pick", "hand", "out"],
    ShipmentStatus.FAILED: ["pick", "hand", "out", "fail"],
    ShipmentStatus.DELIVERED: ["pick", "hand", "out", "deliver"],
    ShipmentStatus.RETURNED: ["pick", "hand", "out", "fail", "return"],
    ShipmentStatus.CANCELLED: ["cancel"],
}


def make_shipment(status: str = ShipmentStatus.CREATED, *, customer=None, product=None, carrier=None, clerk=None,
                  line: str | None = None, new_number: str | None = None, appointment_date=None, appointment_slot="afternoon") -> Shipment:
    """A back-office SIM sale with a new number, accepted (stock reserved), shipped and moved to ``status``.

    The customer has an existing line ``line`` (a subscription) unless ``line=""``."""
    if customer is None:
        if line == "":
            customer = CustomerFactory()
        else:
            customer = (SubscriptionFactory(service_number=line) if line else SubscriptionFactory()).customer
    product = product or ProductFactory(
        sim=True, name="5G SIM 129", price=Decimal("50.00"),
        tariff_plan=TariffPlanFactory(code="5G-129", name="5G Bundle 129", monthly_fee=Decimal("129.00")),
    )
    stock_for(product, area=customer.area)
    carrier = carrier or CarrierFactory(name="SF Express", serves=["sim"], priority=1)
    clerk = clerk or UserFactory(roles=["delivery_clerk"])
    number = PoolNumberFactory(number=new_number) if new_number else PoolNumberFactory()
    order = order_services.order_submit(
        agent=UserFactory(roles=["agent"]), customer=customer, product=product, pool_number=number.number,
        delivery_address="天津市和平区南京路100号3门501",
        appointment_date=appointment_date or timezone.localdate() + timedelta(days=1), appointment_slot=appointment_slot,
    )
    order = order_services.order_accept(order_id=order.pk, clerk=UserFactory(roles=["back_office"]))
    shipment = shipments.shipment_create(order=order, by=clerk)
    if shipment.carrier_id != carrier.pk:
        shipment = shipments.shipment_assign_carrier(shipment_id=shipment.pk, carrier_id=carrier.pk, by=clerk)
    for step in PATHS[status]:
        move(shipment, step, by=clerk)
    return Shipment.objects.select_related("order__customer", "order__pool_number", "carrier").get(pk=shipment.pk)


def move(shipment: Shipment, step: str, *, by) -> Shipment:
    sid = shipment.pk
    if step == "pick":
        return shipments.shipment_pick(shipment_id=sid, by=by)
    if step == "hand":
        return shipments.shipment_hand_to_carrier(shipment_id=sid, by=by, tracking_number=f"SF{next(_tracking):010d}")
    if step == "out":
        return shipments.shipment_go_out_for_delivery(shipment_id=sid, by=by)
    if step == "fail":
        return shipments.shipment_fail(shipment_id=sid, by=by, reason="nobody home")
    if step == "deliver":
        return shipments.shipment_deliver(
            shipment_id=sid, by=by, signed_by="Wang", id_checked=True, amount_collected=Decimal("50.00"), payment_method="cash",
        )
    if step == "return":
        return shipments.shipment_return_to_stock(shipment_id=sid, by=by)
    if step == "cancel":
        return shipments.shipment_cancel(shipment_id=sid, by=by, reason="changed mind")
    raise ValueError(step)
