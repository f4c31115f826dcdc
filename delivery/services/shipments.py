"""Shipments, carriers and carrier tracking: every write, each owning its transaction.

A shipment takes an accepted back-office order from the hall that holds its stock to the
customer. Its machine (``Shipment`` in delivery/models.py) runs through
``servicedesk.fsm.run_transition``, so each step is checked, recorded in
``ShipmentTransition`` (and so in the customer timeline) and refused with 409 naming the
allowed states. Each step moves what hangs on it in the same transaction:

=====================  ================================================================
step                   also
=====================  ================================================================
hand_to_carrier        the order is handed to delivery; the stock leaves the hall
go_out_for_delivery    the "before delivery" SMS (again on each re-attempt)
deliver                the order is delivered (billing then activates it); the stock is
                       delivered; the "activated" SMS once billing has confirmed
fail                   the "failed" SMS
return_to_stock        the stock returns to the hall; the order is cancelled (its number
                       is released by orders)
cancel (support desk)  the order is cancelled (its stock reservation and number released)
=====================  ================================================================

Carriers report the same steps through the tracking API (``tracking_event_record``): each
event is stored once per (carrier, event id) and applied only when it is newer than the
last applied one and moves the shipment forward, walking the steps in between.

Stock and SMS are other parts of this app, called through their modules so that each can
be replaced on its own: ``stock.stock_ship_for_order`` / ``stock_return_for_order`` /
``stock_delivered_for_order`` and ``notices.shipment_notice``.
"""
import re
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal, InvalidOperation

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from orders import services as order_services
from orders.models import Flow, ItemKind, Order, OrderStatus
from servicedesk.api.errors import Conflict
from servicedesk.fsm import TransitionRefused, allowed_targets, allowed_transitions, run_transition
from servicedesk.outbox import TransientDeliveryError, outbox_enqueue, outbox_handler
from servicedesk.roles import require_permission

from .. import selectors
from ..models import (
    SHIPMENT_PROGRESS, Carrier, PaymentMethod, Shipment, ShipmentStatus, ShipmentTransition, StockReservation, TrackingEvent,
)
from . import notices, stock

# Outbox work: send the "activated" SMS once billing has activated the delivered order.
ACTIVATION_NOTICE = "delivery.activation_notice"
_TRACKING_NUMBER_RE = re.compile(r"^[A-Za-z0-9-]{4,40}$")
# A carrier's clock may run a little ahead of ours; an event further in the future would block every later one.
FUTURE_TOLERANCE = timedelta(minutes=5)


# --- Carriers ----------------------------------------------------------------------------

def carrier_for(*, item_kind: str) -> Carrier | None:
    """The carrier the rules give an item: active, serving its kind, preferred first, then the fastest promise."""
    return selectors.carriers_for_item(item_kind=item_kind).first()


# --- Creating and assigning -----------------------------------------------------------------


@transaction.atomic
def shipment_create(*, order: Order, by) -> Shipment:
    """Make the shipment of an accepted back-office order from the pick list.

    It ships from the hall holding the order's stock reservation, copies the appointment
    and the amount to collect, and gets a carrier by the rules (none when no active carrier
    serves the item: the clerk assigns one before hand-over)."""
    require_permission(by, "delivery.move_shipment")
    try:
        order = Order.objects.select_for_update(of=("self",)).select_related("product").get(pk=order.pk)
    except Order.DoesNotExist as exc:
        raise Order.DoesNotExist(_("No such order.")) from exc
    if order.flow != Flow.BACK_OFFICE or not order.product.needs_delivery:
        raise ValidationError({"order": [_("Order #%(id)s has nothing to deliver.") % {"id": order.pk}]})
    if order.status != OrderStatus.ACCEPTED:
        raise TransitionRefused(
            _("Only an accepted order can be shipped; order #%(id)s is “%(state)s”.") % {"id": order.pk, "state": order.get_status_display()},
            code="order_not_accepted", allowed=[], current=order.status,
        )
    live = Shipment.objects.filter(order=order, status__in=selectors.SHIPMENT_LIVE_STATES).values_list("pk", flat=True).first()
    if live is not None:
        raise Conflict(_("Order #%(id)s already has shipment #%(shipment)s.") % {"id": order.pk, "shipment": live}, code="shipment_exists")
    reservation = (
        StockReservation.objects.filter(order=order, status=StockReservation.Status.HELD).select_related("warehouse").order_by("id").first()
    )
    if reservation is None:
        raise ValidationError({"order": [_("No stock is held for order #%(id)s; it cannot be shipped.") % {"id": order.pk}]})
    shipment = Shipment(
        order=order,
        warehouse=reservation.warehouse,
        carrier=carrier_for(item_kind=order.product.item_kind),
        appointment_date=order.appointment_date,
        appointment_slot=order.appointment_slot,
        amount_due=order.price,
    )
    try:
        with transaction.atomic():
            shipment.save()
    except IntegrityError as exc:  # another clerk created it at the same moment
        raise Conflict(_("Order #%(id)s already has a shipment.") % {"id": order.pk}, code="shipment_exists") from exc
    ShipmentTransition.objects.create(shipment=shipment, from_state="", to_state=shipment.status, transition="create", by=by)
    return shipment


def shipment_locked(shipment_id: int) -> Shipment:
    """The shipment, row-locked for a step (its order, product, carrier and hall read with it)."""
    try:
        return (
            Shipment.objects.select_for_update(of=("self",))
            .select_related("order__product", "carrier", "warehouse")
            .get(pk=shipment_id)
        )
    except Shipment.DoesNotExist as exc:
        raise Shipment.DoesNotExist(_("No such shipment.")) from exc


def _refuse(shipment: Shipment, message: str):
    return TransitionRefused(message, allowed=allowed_targets(shipment), current=shipment.status)


@transaction.atomic
def shipment_assign_carrier(*, shipment_id: int, carrier_id: int, by) -> Shipment:
    """The clerk overrides the rules: any active carrier serving the item, until hand-over."""
    require_permission(by, "delivery.move_shipment")
    shipment = shipment_locked(shipment_id)
    if shipment.status not in (ShipmentStatus.CREATED, ShipmentStatus.PICKED):
        raise _refuse(shipment, _("The carrier can only change before the shipment is handed over."))
    carrier = Carrier.objects.filter(pk=carrier_id, active=True).first()
    if carrier is None:
        raise ValidationError({"carrier": [_("Choose an active carrier.")]})
    kind = shipment.order.product.item_kind
    if not carrier.services.filter(item_kind=kind).exists():
        raise ValidationError({"carrier": [_("%(carrier)s does not deliver %(kind)s.") % {"carrier": carrier.name, "kind": ItemKind(kind).label}]})
    shipment.carrier = carrier
    shipment.carrier_chosen_by_clerk = True
    shipment.save(update_fields=["carrier", "carrier_chosen_by_clerk"])
    ShipmentTransition.objects.create(
        shipment=shipment, from_state=shipment.status, to_state=shipment.status, transition="assign_carrier", by=by, reason=carrier.name[:500],
    )
    return shipment


@transaction.atomic
def shipment_change_appointment(*, shipment_id: int, by, appointment_date: date, appointment_slot: str = "") -> Shipment:
    """A new delivery date for the shipment: possible until the courier is on the way, and after a failed attempt.

    Records the change only; the support desk (``support.shipment_change_appointment``) moves the
    order's appointment with it and tells the customer."""
    require_permission(by, "delivery.support_shipment")
    shipment = shipment_locked(shipment_id)
    if shipment.status not in (ShipmentStatus.CREATED, ShipmentStatus.PICKED, ShipmentStatus.HANDED_TO_CARRIER, ShipmentStatus.FAILED):
        raise _refuse(shipment, _("The appointment can no longer change: the shipment is “%(state)s”.") % {"state": shipment.get_status_display()})
    if appointment_date is None or appointment_date < timezone.localdate():
        raise ValidationError({"appointment_date": [_("Agree a delivery date from today on.")]})
    if appointment_slot and appointment_slot not in Order.Slot.values:
        raise ValidationError({"appointment_slot": [_("Choose one of the delivery slots.")]})
    before = f"{shipment.appointment_date or ''} {shipment.appointment_slot}".strip()
    shipment.appointment_date, shipment.appointment_slot = appointment_date, appointment_slot
    shipment.save(update_fields=["appointment_date", "appointment_slot"])
    ShipmentTransition.objects.create(
        shipment=shipment, from_state=shipment.status, to_state=shipment.status, transition="change_appointment", by=by,
        reason=f"{before} → {appointment_date} {appointment_slot}".strip(),
    )
    return shipment


# --- The steps --------------------------------------------------------------------------------

def _step(shipment: Shipment, name: str, *, by, reason: str = "", args: dict | None = None) -> Shipment:
    """One transition of a locked shipment and everything that moves with it (see the module's table)."""
    run_transition(shipment, name, by=by, log_model=ShipmentTransition, log_fk="shipment", reason=reason, args=args)
    order_id = shipment.order_id
    if name == "hand_to_carrier":
        order = order_services.order_hand_to_delivery(order_id=order_id, by=by)
        stock.stock_ship_for_order(order=order, by=by)
    elif name == "go_out_for_delivery":
        notices.shipment_notice(shipment=shipment, kind="before_delivery")
    elif name == "deliver":
        order = order_services.order_mark_delivered(order_id=order_id, by=by)
        stock.stock_delivered_for_order(order=order)
        # Billing activates the order after commit; the SMS waits for that (see _activation_notice).
        outbox_enqueue(kind=ACTIVATION_NOTICE, key=f"shipment:{shipment.pk}:activation-notice", payload={"shipment_id": shipment.pk})
    elif name == "fail":
        notices.shipment_notice(shipment=shipment, kind="failed")
    elif name == "return_to_stock":
        order = _order(order_id)
        stock.stock_return_for_order(order=order, by=by)
        # An order activated ahead of delivery (urgent activation) has a live line: it stays for the desk to settle.
        if "cancel" in allowed_transitions(order):
            order_services.order_cancel(order_id=order_id, by=by, reason=reason or _("Delivery failed; returned to stock."))
    elif name == "cancel":
        order_services.order_cancel(order_id=order_id, by=by, reason=reason)
    return shipment


def _order(order_id: int) -> Order:
    return Order.objects.select_related("product", "customer", "pool_number").get(pk=order_id)


@transaction.atomic
def shipment_pick(*, shipment_id: int, by) -> Shipment:
    return _step(shipment_locked(shipment_id), "pick", by=by)


def _clean_tracking_number(value: str) -> str:
    value = (value or "").strip()
    if value and not _TRACKING_NUMBER_RE.match(value):
        raise ValidationError({"tracking_number": [_("A tracking number is 4 to 40 letters, digits or dashes.")]})
    return value


@transaction.atomic
def shipment_hand_to_carrier(*, shipment_id: int, by, tracking_number: str = "") -> Shipment:
    """Handed to the carrier: with the carrier's waybill number, or one we generate."""
    tracking_number = _clean_tracking_number(tracking_number)
    shipment = shipment_locked(shipment_id)
    if shipment.status == ShipmentStatus.PICKED and shipment.carrier_id is None:
        raise ValidationError({"carrier": [_("Assign a carrier before handing the shipment over.")]})
    if shipment.status == ShipmentStatus.PICKED:
        shipment.tracking_number = tracking_number or f"SD{shipment.pk:010d}"
        taken = ValidationError({"tracking_number": [
            _("%(carrier)s already has a shipment with this tracking number.") % {"carrier": shipment.carrier.name}]})
        if Shipment.objects.filter(carrier_id=shipment.carrier_id, tracking_number=shipment.tracking_number).exclude(pk=shipment.pk).exists():
            raise taken
        try:
            with transaction.atomic():
                shipment.save(update_fields=["tracking_number"])
        except IntegrityError as exc:  # the same waybill number entered for two shipments at once
            raise taken from exc
    return _step(shipment, "hand_to_carrier", by=by)


@transaction.atomic
def shipment_go_out_for_delivery(*, shipment_id: int, by) -> Shipment:
    """The courier sets off (again, after a failed attempt)."""
    return _step(shipment_locked(shipment_id), "go_out_for_delivery", by=by)


@dataclass(frozen=True)
class DeliveryDetails:
    signed_by: str
    id_checked: bool
    amount_collected: Decimal
    payment_method: str
    pos_reference: str = ""


def delivery_details(*, signed_by: str, id_checked, amount_collected, payment_method: str, pos_reference: str = "") -> DeliveryDetails:
    """What a delivery must record, checked: who signed, the ID seen, the money and how it was paid."""
    errors: dict[str, list[str]] = {}
    signed_by = (signed_by or "").strip()
    if not signed_by:
        errors["signed_by"] = [_("Record who signed for the delivery.")]
    elif len(signed_by) > 60:
        errors["signed_by"] = [_("At most 60 characters.")]
    if id_checked is not True:
        errors["id_checked"] = [_("The customer's identity document must be checked at the door.")]
    amount = None
    try:
        amount = amount_collected if isinstance(amount_collected, Decimal) else Decimal(str(amount_collected).strip())
    except (InvalidOperation, ValueError, TypeError):
        pass
    if amount is None or not amount.is_finite() or amount < 0 or amount.as_tuple().exponent < -2 or amount >= Decimal("1e10"):
        errors["amount_collected"] = [_("Enter the amount collected in yuan, zero or more, with at most two decimals.")]
    if payment_method not in PaymentMethod.values:
        errors["payment_method"] = [_("Say how the customer paid: cash or mobile POS.")]
    pos_reference = (pos_reference or "").strip()
    if payment_method == PaymentMethod.POS and not pos_reference:
        errors["pos_reference"] = [_("A POS payment needs the POS reference.")]
    elif len(pos_reference) > 60:
        errors["pos_reference"] = [_("At most 60 characters.")]
    if errors:
        raise ValidationError(errors)
    return DeliveryDetails(signed_by, True, amount.quantize(Decimal("0.01")), payment_method, pos_reference if payment_method == PaymentMethod.POS else "")


@transaction.atomic
def shipment_deliver(
    *, shipment_id: int, by, signed_by: str, id_checked: bool, amount_collected, payment_method: str, pos_reference: str = "",
    at: datetime | None = None,
) -> Shipment:
    """Delivered: signed for, ID checked, money collected. The order moves on and billing activates it."""
    details = delivery_details(
        signed_by=signed_by, id_checked=id_checked, amount_collected=amount_collected, payment_method=payment_method, pos_reference=pos_reference,
    )
    return _step(shipment_locked(shipment_id), "deliver", by=by, args=_deliver_args(details, at))


def _deliver_args(details: DeliveryDetails, at) -> dict:
    return {
        "signed_by": details.signed_by, "id_checked": details.id_checked, "amount_collected": details.amount_collected,
        "payment_method": details.payment_method, "pos_reference": details.pos_reference, "at": at,
    }


def _clean_reason(reason: str, message: str) -> str:
    reason = (reason or "").strip()
    if not reason:
        raise ValidationError({"reason": [message]})
    return reason[:300]


@transaction.atomic
def shipment_fail(*, shipment_id: int, by, reason: str) -> Shipment:
    """The attempt failed (nobody home, refused at the door...): re-attempt or return to stock next."""
    reason = _clean_reason(reason, _("Say why the delivery failed."))
    return _step(shipment_locked(shipment_id), "fail", by=by, reason=reason, args={"reason": reason})


@transaction.atomic
def shipment_return_to_stock(*, shipment_id: int, by, reason: str = "") -> Shipment:
    """Back to the hall: the stock returns and the order is cancelled, releasing its number."""
    shipment = shipment_locked(shipment_id)
    reason = (reason or "").strip()[:300] or shipment.failure_reason or _("Returned to stock.")
    return _step(shipment, "return_to_stock", by=by, reason=reason, args={"reason": reason})


@transaction.atomic
def shipment_cancel(*, shipment_id: int, by, reason: str) -> Shipment:
    """The support desk cancels before hand-over: the order is cancelled too and gives back its stock and number."""
    reason = _clean_reason(reason, _("Say why the shipment is cancelled."))
    return _step(shipment_locked(shipment_id), "cancel", by=by, reason=reason, args={"reason": reason})


# --- Carrier tracking events --------------------------------------------------------------------

EVENT_TARGET = {
    TrackingEvent.Code.PICKED_UP: ShipmentStatus.HANDED_TO_CARRIER,
    TrackingEvent.Code.IN_TRANSIT: ShipmentStatus.HANDED_TO_CARRIER,
    TrackingEvent.Code.OUT_FOR_DELIVERY: ShipmentStatus.OUT_FOR_DELIVERY,
    TrackingEvent.Code.DELIVERED: ShipmentStatus.DELIVERED,
    TrackingEvent.Code.FAILED: ShipmentStatus.FAILED,
    TrackingEvent.Code.RETURNED: ShipmentStatus.RETURNED,
}

# The steps from where a shipment is to where an event says it got. A carrier never hands a
# shipment over (the clerk does, with the tracking number), so walks start once it has it.
_WALKS = {
    (ShipmentStatus.HANDED_TO_CARRIER, ShipmentStatus.OUT_FOR_DELIVERY): ["go_out_for_delivery"],
    (ShipmentStatus.HANDED_TO_CARRIER, ShipmentStatus.DELIVERED): ["go_out_for_delivery", "deliver"],
    (ShipmentStatus.HANDED_TO_CARRIER, ShipmentStatus.FAILED): ["go_out_for_delivery", "fail"],
    (ShipmentStatus.HANDED_TO_CARRIER, ShipmentStatus.RETURNED): ["return_to_stock"],
    (ShipmentStatus.OUT_FOR_DELIVERY, ShipmentStatus.DELIVERED): ["deliver"],
    (ShipmentStatus.OUT_FOR_DELIVERY, ShipmentStatus.FAILED): ["fail"],
    (ShipmentStatus.OUT_FOR_DELIVERY, ShipmentStatus.RETURNED): ["return_to_stock"],
    # Out again after a failure is the next attempt: forward, though its stage number is lower.
    (ShipmentStatus.FAILED, ShipmentStatus.OUT_FOR_DELIVERY): ["go_out_for_delivery"],
    (ShipmentStatus.FAILED, ShipmentStatus.DELIVERED): ["go_out_for_delivery", "deliver"],
    (ShipmentStatus.FAILED, ShipmentStatus.RETURNED): ["return_to_stock"],
}


EVENT_DETAILS = ("signed_by", "id_checked", "amount_collected", "payment_method", "pos_reference", "reason")


def tracking_walk(current: str, target: str) -> list[str]:
    """The transitions that take a shipment from ``current`` forward to ``target``; empty if that is not forward."""
    walk = _WALKS.get((current, target), [])
    is_reattempt = current == ShipmentStatus.FAILED and target == ShipmentStatus.OUT_FOR_DELIVERY
    if walk and not is_reattempt and SHIPMENT_PROGRESS[target] <= SHIPMENT_PROGRESS[current]:
        return []  # never backwards, whatever the table says
    return walk


@dataclass(frozen=True)
class TrackingResult:
    """What became of one reported event.

    ``result``: "applied" (it moved the shipment), "stored" (kept in the history, but older
    than the last applied event or not a step forward), "duplicate" (this carrier sent this
    event id before: nothing changed) or "not_found" (no shipment of this carrier has the
    tracking number: nothing stored)."""

    event_id: str
    result: str
    shipment_id: int | None = None
    status: str = ""
    note: str = ""
    steps: list[str] = field(default_factory=list)


def tracking_event_record(
    *, carrier: Carrier, event_id: str, tracking_number: str, code: str, occurred_at: datetime, details: dict | None = None,
) -> TrackingResult:
    """Store one event a carrier reported and apply it if it moves the shipment forward.

    Replays are harmless: the (carrier, event id) pair is unique in the database, so a
    repeat (even one racing the first) stores nothing and changes nothing. The shipment row
    is locked while an event is applied, so two events of one shipment apply one after the
    other; an event older than the last applied one is stored but never applied."""
    details = dict(details or {})
    if occurred_at > timezone.now() + FUTURE_TOLERANCE:
        raise ValidationError({"occurred_at": [_("The event cannot have happened in the future.")]})
    if code not in EVENT_TARGET:
        raise ValidationError({"code": [_("Unknown event code.")]})
    if TrackingEvent.objects.filter(carrier=carrier, event_id=event_id).exists():
        return TrackingResult(event_id, "duplicate")  # the common replay, without taking any lock
    with transaction.atomic():
        shipment = (
            Shipment.objects.select_for_update(of=("self",))
            .select_related("order__product", "carrier", "warehouse")
            .filter(carrier=carrier, tracking_number=tracking_number)
            .exclude(tracking_number="")
            .first()
        )
        if shipment is None:
            return TrackingResult(event_id, "not_found")
        older = shipment.last_event_at is not None and occurred_at <= shipment.last_event_at
        walk = [] if older else tracking_walk(shipment.status, EVENT_TARGET[code])
        payload = {"code": code, "occurred_at": occurred_at.isoformat(), **{
            k: (str(v) if isinstance(v, Decimal) else v) for k, v in details.items() if v not in (None, "")}}
        try:
            with transaction.atomic():
                event = TrackingEvent.objects.create(
                    carrier=carrier, event_id=event_id, shipment=shipment, code=code, occurred_at=occurred_at, payload=payload, applied=bool(walk),
                )
        except IntegrityError:  # the same event, sent again while the first was being stored
            return TrackingResult(event_id, "duplicate", shipment.pk, shipment.status)
        if not walk:
            note = _("older than the last applied event") if older else _("not a step forward")
            return TrackingResult(event_id, "stored", shipment.pk, shipment.status, note=note)
        reason_base = f"{carrier.code} {event_id}"[:200]
        try:
            with transaction.atomic():
                shipment.last_event_at = occurred_at  # saved with the first step
                for name in walk:
                    args: dict = {}
                    reason = reason_base
                    if name == "deliver":
                        args = _deliver_args(delivery_details(
                            signed_by=details.get("signed_by", ""), id_checked=details.get("id_checked"),
                            amount_collected=details.get("amount_collected"), payment_method=details.get("payment_method", ""),
                            pos_reference=details.get("pos_reference", ""),
                        ), occurred_at)
                    elif name in ("fail", "return_to_stock"):
                        why = (details.get("reason") or "").strip()[:280] or (_("Delivery failed.") if name == "fail" else _("Returned by the carrier."))
                        args = {"reason": why}
                        reason = f"{why} ({reason_base})"
                    _step(shipment, name, by=None, reason=reason, args=args)
        except (TransitionRefused, ValidationError) as exc:
            # Kept for the record, not applied: e.g. the order can no longer be cancelled.
            TrackingEvent.objects.filter(pk=event.pk).update(applied=False)
            message = "; ".join(exc.messages) if isinstance(exc, ValidationError) else str(exc.detail)
            shipment = Shipment.objects.get(pk=shipment.pk)
            return TrackingResult(event_id, "stored", shipment.pk, shipment.status, note=message[:300])
        return TrackingResult(event_id, "applied", shipment.pk, shipment.status, steps=walk)


def tracking_events_record(*, carrier: Carrier, events: list[dict]) -> list[TrackingResult]:
    """A batch: each event on its own, in the order of occurrence, so that one replay or one
    unknown tracking number does not hold back the others."""
    results: list[TrackingResult | None] = [None] * len(events)
    for n in sorted(range(len(events)), key=lambda i: events[i]["occurred_at"]):
        event = events[n]
        results[n] = tracking_event_record(
            carrier=carrier, event_id=event["event_id"], tracking_number=event["tracking_number"], code=event["code"],
            occurred_at=event["occurred_at"], details={k: event[k] for k in EVENT_DETAILS if k in event},
        )
    return results


# --- The "activated" SMS, once billing has activated the order ------------------------------------------

@outbox_handler(ACTIVATION_NOTICE)
def _activation_notice(payload: dict, *, key: str) -> dict:
    """Delivery asks billing to activate the order (outbox work too); this waits until it has.

    Retried with the outbox's backoff while the order is still "delivered"; the notice itself
    is enqueued once (notices key it by shipment and kind)."""
    shipment = Shipment.objects.select_related("order").filter(pk=payload["shipment_id"]).first()
    if shipment is None:
        return {"skipped": "no such shipment"}
    status = shipment.order.status
    if status in (OrderStatus.ACTIVATED, OrderStatus.COMPLETED):
        with transaction.atomic():
            notices.shipment_notice(shipment=shipment, kind="activated")
        return {"notice": "activated"}
    if status == OrderStatus.DELIVERED:
        raise TransientDeliveryError("the order is not activated yet")
    return {"skipped": f"order is {status}"}


# --- Customer screen -----------------------------------------------------------------------------------

def register() -> None:
    """The customer screen's shipments panel and the shipment steps in the customer timeline."""
    from servicedesk import registry

    registry.register_panel(selectors.live_shipments_panel)
    registry.register_timeline_source(selectors.shipment_timeline_entries)
