"""The delivery support desk's actions on a shipment, for a customer on the phone.

Each action is allowed only in the states where it makes sense; otherwise it is
refused (409) with a sentence the clerk can repeat to the customer
(``support_refusal``, which the page also uses to show only what is possible).
The steps themselves are the shipment services' (``shipments``) and the orders
app's; this module adds what the desk needs around them: the order's
appointment, the SMS telling the customer, and the refusal at the door.
"""
from datetime import date, timedelta

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from orders import services as order_services
from orders.models import Order, OrderStatus
from servicedesk.fsm import TransitionRefused, allowed_targets, run_transition

from ..models import Shipment, ShipmentStatus, ShipmentTransition
from . import notices, shipments

APPOINTMENT = "appointment"
URGENT_ACTIVATION = "urgent_activation"
CANCEL = "cancel"
REFUSAL = "refusal"
ACTIONS = (APPOINTMENT, URGENT_ACTIVATION, CANCEL, REFUSAL)

# What each action needs of the user's role (the shipment's and the order's transitions).
ACTION_PERMISSIONS = {
    APPOINTMENT: ("delivery.support_shipment",),
    URGENT_ACTIVATION: ("delivery.support_shipment", "orders.urgent_activate_order"),
    CANCEL: ("delivery.support_shipment", "orders.cancel_order"),
    REFUSAL: ("delivery.support_shipment", "delivery.move_shipment", "orders.cancel_order"),
}

S = ShipmentStatus
APPOINTMENT_STATES = (S.CREATED, S.PICKED, S.HANDED_TO_CARRIER, S.FAILED)
CANCEL_STATES = (S.CREATED, S.PICKED)
REFUSAL_STATES = (S.HANDED_TO_CARRIER, S.OUT_FOR_DELIVERY, S.FAILED)
CLOSED_STATES = (S.DELIVERED, S.RETURNED, S.CANCELLED)
ORDER_CANCELLABLE = (OrderStatus.SUBMITTED, OrderStatus.ACCEPTED, OrderStatus.HANDED_TO_DELIVERY)
# How far ahead a delivery can be booked.
APPOINTMENT_HORIZON_DAYS = 30
REASON_MAX = 300


def may(user, action: str) -> bool:
    return all(user.has_perm(p) for p in ACTION_PERMISSIONS[action])


def _closed(shipment: Shipment) -> str:
    if shipment.status == S.DELIVERED:
        return _("The shipment was delivered and signed for; nothing about its delivery can change any more.")
    return _("The shipment is closed (“%(state)s”); nothing about it can change any more.") % {"state": shipment.get_status_display()}


def _urgent_already(order: Order) -> str:
    # Billing has activated the line, or is doing so: cancelling here would leave a live line without its order.
    return _("The line of order #%(id)s was activated urgently (or is being activated): the back office must close it in billing "
             "before the order can be cancelled.") % {"id": order.pk}


def support_refusal(shipment: Shipment, action: str) -> str:
    """Why ``action`` is not possible for the shipment (and its order) now; empty when it is."""
    status, order = shipment.status, shipment.order
    if action == APPOINTMENT:
        if status == S.OUT_FOR_DELIVERY:
            return _("The courier is already on the way with it today; the appointment can change only if this attempt fails.")
        if status not in APPOINTMENT_STATES:
            return _closed(shipment)
    elif action == URGENT_ACTIVATION:
        if status in CLOSED_STATES:
            return _closed(shipment)
        if order.urgent_activation:
            return _("Urgent activation of order #%(id)s was already requested; billing is activating the line.") % {"id": order.pk}
        if order.status not in (OrderStatus.ACCEPTED, OrderStatus.HANDED_TO_DELIVERY):
            return _("Order #%(id)s is “%(state)s”: urgent activation is only possible after acceptance and before delivery.") % {
                "id": order.pk, "state": order.get_status_display()}
    elif action == CANCEL:
        if status in (S.HANDED_TO_CARRIER, S.OUT_FOR_DELIVERY):
            return _("The carrier already has the shipment, so it can no longer be cancelled: record the customer's refusal instead.")
        if status == S.FAILED:
            return _("After a failed attempt, record the customer's refusal instead: the shipment goes back to stock and the order is cancelled.")
        if status not in CANCEL_STATES:
            return _closed(shipment)
        if order.urgent_activation:
            return _urgent_already(order)
        if order.status not in ORDER_CANCELLABLE:
            return _("Order #%(id)s is “%(state)s” and can no longer be cancelled.") % {"id": order.pk, "state": order.get_status_display()}
    elif action == REFUSAL:
        if status in (S.CREATED, S.PICKED):
            return _("The shipment has not left the hall yet: cancel it instead.")
        if status not in REFUSAL_STATES:
            return _closed(shipment)
        if order.urgent_activation:
            return _urgent_already(order)
        if order.status not in ORDER_CANCELLABLE:
            return _("Order #%(id)s is “%(state)s” and can no longer be cancelled.") % {"id": order.pk, "state": order.get_status_display()}
    else:
        raise ValueError(action)
    return ""


def _require(by, action: str) -> None:
    """``None`` is the platform acting for the customer (the SMS hall), which may."""
    if by is not None and not may(by, action):
        raise PermissionDenied(_("Your role may not do this."))



def _check(shipment: Shipment, action: str) -> None:
    why = support_refusal(shipment, action)
    if why:
        raise TransitionRefused(why, allowed=allowed_targets(shipment), current=shipment.status)


def _reason(reason: str, message: str) -> str:
    reason = (reason or "").strip()
    if not reason:
        raise ValidationError({"reason": [message]})
    if len(reason) > REASON_MAX:
        raise ValidationError({"reason": [_("At most %(max)s characters.") % {"max": REASON_MAX}]})
    return reason


@transaction.atomic
def shipment_change_appointment(*, shipment_id: int, date: date | None, slot: str, by) -> Shipment:
    """A new delivery date and time window agreed with the customer: the order's appointment moves
    with it and the customer gets an SMS confirming it."""
    _require(by, APPOINTMENT)
    shipment = shipments.shipment_locked(shipment_id)
    _check(shipment, APPOINTMENT)
    errors: dict[str, list[str]] = {}
    today = timezone.localdate()
    if date is None:
        errors["date"] = [_("Agree a delivery date with the customer.")]
    elif date < today:
        errors["date"] = [_("The delivery date cannot be in the past.")]
    elif date > today + timedelta(days=APPOINTMENT_HORIZON_DAYS):
        errors["date"] = [_("A delivery can be booked at most %(days)s days ahead.") % {"days": APPOINTMENT_HORIZON_DAYS}]
    if slot not in Order.Slot.values:
        errors["slot"] = [_("Choose one of the delivery time windows.")]
    if not errors and (date, slot) == (shipment.appointment_date, shipment.appointment_slot):
        errors["date"] = [_("This is already the appointment.")]
    if errors:
        raise ValidationError(errors)
    shipment = shipments.shipment_change_appointment(shipment_id=shipment.pk, by=by, appointment_date=date, appointment_slot=slot)
    # The order keeps the appointment the customer agreed (its page and the sale history show it).
    Order.objects.filter(pk=shipment.order_id).update(appointment_date=date, appointment_slot=slot)
    change = ShipmentTransition.objects.filter(shipment=shipment, transition="change_appointment").order_by("-id").first()
    notices.shipment_notice(shipment=shipment, kind=notices.APPOINTMENT_CHANGED, key_suffix=str(change.pk))
    return shipment


@transaction.atomic
def shipment_request_urgent_activation(*, shipment_id: int, by, reason: str = "") -> Shipment:
    """The customer needs the line before the SIM arrives: billing activates it now."""
    _require(by, URGENT_ACTIVATION)
    shipment = shipments.shipment_locked(shipment_id)
    _check(shipment, URGENT_ACTIVATION)
    reason = (reason or "").strip()[:REASON_MAX]
    order_services.order_request_urgent_activation(order_id=shipment.order_id, by=by, reason=reason)
    ShipmentTransition.objects.create(
        shipment=shipment, from_state=shipment.status, to_state=shipment.status, transition="request_urgent_activation", by=by, reason=reason,
    )
    return shipment


@transaction.atomic
def shipment_cancel(*, shipment_id: int, reason: str, by) -> Shipment:
    """Cancelled before hand-over: the order is cancelled too, giving back its stock and number."""
    _require(by, CANCEL)
    reason = _reason(reason, _("Say why the customer cancels."))
    shipment = shipments.shipment_locked(shipment_id)
    _check(shipment, CANCEL)
    return shipments.shipment_cancel(shipment_id=shipment.pk, by=by, reason=reason)


@transaction.atomic
def shipment_record_refusal(*, shipment_id: int, reason: str, by) -> Shipment:
    """The customer refuses the shipment (at the door, or on the phone once the carrier has it):
    a failed delivery with that reason if the courier is there, then back to stock, which
    cancels the order and releases its number.

    No "delivery failed" SMS: it would offer a new attempt the customer has just refused."""
    _require(by, REFUSAL)
    reason = _reason(reason, _("Say why the customer refuses the delivery."))
    shipment = shipments.shipment_locked(shipment_id)
    _check(shipment, REFUSAL)
    why = (_("Refused by the customer: %(reason)s") % {"reason": reason})[:REASON_MAX]
    if shipment.status == S.OUT_FOR_DELIVERY:
        run_transition(shipment, "fail", by=by, log_model=ShipmentTransition, log_fk="shipment", reason=why, args={"reason": why})
    return shipments.shipment_return_to_stock(shipment_id=shipment.pk, by=by, reason=why)
