"""Reads of the delivery clerk's dispatch pages: the pick list with the hall holding each order's
stock and the carrier the rules would give it, the shipments under way by stage, and the steps a
shipment can take now."""
from django.db.models import (
    Case,
    Count,
    Exists,
    IntegerField,
    OuterRef,
    QuerySet,
    Value,
    When,
)
from django.utils.translation import gettext as _

from orders.models import Order
from servicedesk.fsm import allowed_transitions

from . import selectors
from .models import Carrier, Shipment, ShipmentStatus, StockReservation, Warehouse

MOVE = "delivery.move_shipment"
# The stages a shipment is "under way" in, in the order they come: the page groups by them.
UNDER_WAY = list(selectors.SHIPMENT_OPEN_STATES)
_STAGE = Case(*[When(status=state, then=Value(n)) for n, state in enumerate(UNDER_WAY)], output_field=IntegerField())

# The clerk's steps, in the order a shipment takes them ("cancel" is the support desk's).
ASSIGN_CARRIER = "assign_carrier"
STEPS = (ASSIGN_CARRIER, "pick", "hand_to_carrier", "go_out_for_delivery", "deliver", "fail", "return_to_stock")
CARRIER_CHANGEABLE = (ShipmentStatus.CREATED, ShipmentStatus.PICKED)


def dispatch_pick_list(*, hall_id: int | None = None) -> QuerySet[Order]:
    """``selectors.pick_list`` (oldest acceptance first), optionally only the orders whose stock a
    hall holds (the reservation is found by order: index reservation_order_idx)."""
    orders = selectors.pick_list()
    if hall_id:
        held = StockReservation.objects.filter(order_id=OuterRef("pk"), status=StockReservation.Status.HELD, warehouse_id=hall_id)
        orders = orders.filter(Exists(held))
    return orders


def pick_list_halls(*, order_ids: list[int]) -> dict[int, Warehouse]:
    """The hall store holding each order's item, for one page of the pick list in one query."""
    reservations = (
        StockReservation.objects.filter(order_id__in=order_ids, status=StockReservation.Status.HELD)
        .select_related("warehouse").order_by("order_id", "id")
    )
    halls: dict[int, Warehouse] = {}
    for reservation in reservations:
        halls.setdefault(reservation.order_id, reservation.warehouse)
    return halls


def rule_carriers(*, item_kinds) -> dict[str, Carrier | None]:
    """The carrier the rules give each item kind (``services.shipments.carrier_for``): one query per kind."""
    return {kind: selectors.carriers_for_item(item_kind=kind).first() for kind in set(item_kinds)}


def shipments_under_way(*, user, status: str = "", carrier_id: int | None = None, hall_id: int | None = None) -> QuerySet[Shipment]:
    """Shipments not yet delivered, returned or cancelled, by stage and then oldest first.

    Each filter is an indexed column: status (shipment_status_idx), carrier (shipment_carrier_idx),
    hall (shipment_hall_day_idx leads with the warehouse)."""
    shipments = selectors.shipments_visible_to(user).filter(status__in=[status] if status in UNDER_WAY else UNDER_WAY)
    if carrier_id:
        shipments = shipments.filter(carrier_id=carrier_id)
    if hall_id:
        shipments = shipments.filter(warehouse_id=hall_id)
    return (
        shipments.select_related("order__customer", "order__product", "order__pool_number", "carrier", "warehouse")
        .annotate(stage=_STAGE)
        .order_by("stage", "created_at", "id")
    )


def under_way_counts(*, user, carrier_id: int | None = None, hall_id: int | None = None) -> list[dict]:
    """How many shipments each stage holds (under the carrier and hall filters), every stage listed."""
    counted = dict(
        shipments_under_way(user=user, carrier_id=carrier_id, hall_id=hall_id)
        .order_by().values("status").annotate(n=Count("id")).values_list("status", "n")
    )
    labels = dict(ShipmentStatus.choices)
    return [{"status": state, "label": labels[state], "count": counted.get(state, 0)} for state in UNDER_WAY]


def carrier_choices(*, shipment: Shipment) -> QuerySet[Carrier]:
    """The carriers the clerk may give the shipment: active ones delivering its item, preferred first."""
    return selectors.carriers_for_item(item_kind=shipment.order.product.item_kind)


def dispatch_steps(*, shipment: Shipment, user) -> tuple[list[str], dict[str, str]]:
    """The steps the user may take on the shipment now, and why a step the state allows is held back."""
    if not user.has_perm(MOVE):
        return [], {}
    possible = set(allowed_transitions(shipment))
    steps, held_back = [], {}
    for step in STEPS:
        if step == ASSIGN_CARRIER:
            if shipment.status in CARRIER_CHANGEABLE:
                steps.append(step)
        elif step in possible:
            steps.append(step)
    if "hand_to_carrier" in steps and shipment.carrier_id is None:
        steps.remove("hand_to_carrier")
        held_back["hand_to_carrier"] = _("Assign a carrier before handing the shipment over.")
    return steps, held_back
