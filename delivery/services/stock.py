"""Stock: goods in from the supplier, transfers down the chain, and what orders hold, ship and give back.

Every change to a count or a unit's place writes a ``StockMovement`` whose ``quantity`` is what the
warehouse's on-hand count changed by, so the ledger of a (warehouse, SKU) always sums to its on-hand
count. For a serialised SKU the ``StockLevel`` counts mirror its units and move in the same transaction.

Locks are always taken in the same order, so two services never wait on each other in a circle:
transfer or reservation rows first, then the ``StockLevel`` row (one per warehouse and SKU), then units,
which are claimed with ``select_for_update(skip_locked=True)`` in pk order.
"""
import re
from collections.abc import Iterable

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils.translation import gettext as _

from orders import hooks
from orders.models import ItemKind, Order
from servicedesk.fsm import run_transition
from servicedesk.roles import require_permission

from ..models import SerialUnit, Sku, StockLevel, StockMovement, StockReservation, Transfer, TransferLine, TransferTransition, Warehouse

MAX_SERIALS_PER_RECEIPT = 5000
MAX_QUANTITY = 100_000
MAX_TRANSFER_LINES = 50
_SHOWN = 5  # how many offending serials an error message names

_ICCID = re.compile(r"^\d{19,20}$")
_IMEI = re.compile(r"^\d{15}$")


# --- serial numbers -------------------------------------------------------------------------

def luhn_valid(digits: str) -> bool:
    """The Luhn check an IMEI's last digit carries."""
    total = 0
    for i, char in enumerate(reversed(digits)):
        d = int(char)
        if i % 2 == 1:
            d *= 2
            if d > 9:
                d -= 9
        total += d
    return total % 10 == 0


def serial_problem(*, sku: Sku, serial: str) -> str:
    """Why ``serial`` cannot be a unit of ``sku`` (empty if it can): handsets carry an IMEI, SIMs an ICCID."""
    if sku.item_kind == ItemKind.HANDSET:
        if not _IMEI.match(serial):
            return _("an IMEI has 15 digits")
        if not luhn_valid(serial):
            return _("the IMEI's check digit is wrong")
        return ""
    if not _ICCID.match(serial):
        return _("an ICCID has 19 or 20 digits")
    return ""


def _named(serials: Iterable[str]) -> str:
    serials = list(serials)
    shown = ", ".join(serials[:_SHOWN])
    return shown + (_(" and %(n)s more") % {"n": len(serials) - _SHOWN} if len(serials) > _SHOWN else "")


def _clean_serials(*, sku: Sku, serials: Iterable[str]) -> list[str]:
    cleaned = [s.strip() for s in serials if s and s.strip()]
    if not cleaned:
        raise ValidationError({"serials": [_("List the serial numbers (ICCID or IMEI) of the units, one per line.")]})
    if len(cleaned) > MAX_SERIALS_PER_RECEIPT:
        raise ValidationError({"serials": [_("At most %(max)s serials at a time.") % {"max": MAX_SERIALS_PER_RECEIPT}]})
    errors = []
    bad: dict[str, list[str]] = {}
    for serial in cleaned:
        problem = serial_problem(sku=sku, serial=serial)
        if problem:
            bad.setdefault(problem, []).append(serial)
    for problem, serials_with_it in bad.items():
        errors.append(_("Not valid (%(problem)s): %(serials)s.") % {"problem": problem, "serials": _named(serials_with_it)})
    seen, repeated = set(), []
    for serial in cleaned:
        if serial in seen and serial not in repeated:
            repeated.append(serial)
        seen.add(serial)
    if repeated:
        errors.append(_("Listed twice: %(serials)s.") % {"serials": _named(repeated)})
    if errors:
        raise ValidationError({"serials": errors})
    return cleaned


# --- locking and counting --------------------------------------------------------------------

def _level(warehouse: Warehouse, sku: Sku) -> StockLevel:
    """The (warehouse, SKU) count, locked; created at zero the first time (the unique constraint settles a race)."""
    level = StockLevel.objects.select_for_update().filter(warehouse=warehouse, sku=sku).first()
    if level is None:
        StockLevel.objects.bulk_create([StockLevel(warehouse=warehouse, sku=sku)], ignore_conflicts=True)
        level = StockLevel.objects.select_for_update().get(warehouse=warehouse, sku=sku)
    return level


def _change_level(level: StockLevel, *, on_hand: int = 0, reserved: int = 0) -> None:
    """Move the counts of a locked level; the database's checks refuse anything below zero."""
    StockLevel.objects.filter(pk=level.pk).update(on_hand=F("on_hand") + on_hand, reserved=F("reserved") + reserved)
    level.on_hand += on_hand
    level.reserved += reserved


def _active(warehouse: Warehouse, field: str) -> None:
    if not warehouse.active:
        raise ValidationError({field: [_("%(store)s is closed.") % {"store": warehouse.name}]})


# --- goods in from the supplier --------------------------------------------------------------

@transaction.atomic
def stock_receive(*, warehouse: Warehouse, sku: Sku, by, quantity: int | None = None, serials: Iterable[str] = (), note: str = "") -> StockLevel:
    """Book goods from the supplier into a store: a quantity of a counted SKU, or the serials of a serialised one."""
    require_permission(by, "delivery.add_stockmovement")
    _active(warehouse, "warehouse")
    note = (note or "")[:300]
    if not sku.serialised:
        if serials and any(s.strip() for s in serials):
            raise ValidationError({"serials": [_("%(item)s is counted, not serialised: give a quantity.") % {"item": sku.name}]})
        if quantity is None or not 1 <= quantity <= MAX_QUANTITY:
            raise ValidationError({"quantity": [_("Give a quantity from 1 to %(max)s.") % {"max": MAX_QUANTITY}]})
        level = _level(warehouse, sku)
        _change_level(level, on_hand=quantity)
        StockMovement.objects.create(kind=StockMovement.Kind.RECEIPT, warehouse=warehouse, sku=sku, quantity=quantity, by=by, note=note)
        return level

    cleaned = _clean_serials(sku=sku, serials=serials)
    if quantity is not None and quantity != len(cleaned):
        raise ValidationError({"quantity": [_("%(given)s serials listed for a quantity of %(quantity)s.") % {"given": len(cleaned), "quantity": quantity}]})
    known = list(SerialUnit.objects.filter(serial__in=cleaned).values_list("serial", flat=True)[:MAX_SERIALS_PER_RECEIPT])
    if known:
        raise ValidationError({"serials": [_("Already in stock somewhere: %(serials)s.") % {"serials": _named(sorted(known))}]})
    level = _level(warehouse, sku)
    try:
        with transaction.atomic():
            units = SerialUnit.objects.bulk_create([SerialUnit(sku=sku, serial=s, warehouse=warehouse) for s in cleaned])
    except IntegrityError as exc:
        # Booked by someone else between the check and now.
        raise ValidationError({"serials": [_("Some of these serials were booked in at the same time by someone else; check and try again.")]}) from exc
    if any(u.pk is None for u in units):  # backends that do not return ids from a bulk insert
        units = list(SerialUnit.objects.filter(serial__in=cleaned))
    _change_level(level, on_hand=len(units))
    StockMovement.objects.bulk_create([
        StockMovement(kind=StockMovement.Kind.RECEIPT, warehouse=warehouse, sku=sku, unit=u, quantity=1, by=by, note=note) for u in units
    ])
    return level


# --- transfers down the chain ----------------------------------------------------------------

def _transition(transfer: Transfer, name: str, *, by, reason: str = "") -> Transfer:
    return run_transition(transfer, name, by=by, log_model=TransferTransition, log_fk="transfer", reason=reason)


def _locked_transfer(transfer_id: int) -> Transfer:
    try:
        return Transfer.objects.select_for_update(of=("self",)).select_related("from_warehouse", "to_warehouse").get(pk=transfer_id)
    except Transfer.DoesNotExist as exc:
        raise Transfer.DoesNotExist(_("No such transfer.")) from exc


def _lines(transfer: Transfer) -> list[TransferLine]:
    # By SKU: every service locks levels in the same order.
    return list(transfer.lines.select_related("sku").order_by("sku_id"))


@transaction.atomic
def transfer_request(*, to_warehouse: Warehouse, lines: Iterable[tuple[Sku, int]], by, from_warehouse: Warehouse | None = None, note: str = "") -> Transfer:
    """A store asks the store that supplies it (its parent in the chain, and only that one) for stock."""
    require_permission(by, "delivery.add_transfer")
    if to_warehouse.parent_id is None:
        raise ValidationError({"to_warehouse": [_("%(store)s heads the chain: it receives from the supplier, not by transfer.") % {"store": to_warehouse.name}]})
    if from_warehouse is not None and from_warehouse.pk != to_warehouse.parent_id:
        raise ValidationError({"from_warehouse": [_("%(store)s may only ask %(parent)s, the store that supplies it.") % {
            "store": to_warehouse.name, "parent": to_warehouse.parent.name}]})
    supplier = to_warehouse.parent
    _active(to_warehouse, "to_warehouse")
    _active(supplier, "from_warehouse")
    wanted: dict[int, tuple[Sku, int]] = {}
    for sku, quantity in lines:
        if not isinstance(quantity, int) or not 1 <= quantity <= MAX_QUANTITY:
            raise ValidationError({"lines": [_("Ask for 1 to %(max)s of %(item)s.") % {"max": MAX_QUANTITY, "item": sku.name}]})
        if sku.pk in wanted:
            raise ValidationError({"lines": [_("%(item)s is listed twice; put it on one line.") % {"item": sku.name}]})
        wanted[sku.pk] = (sku, quantity)
    if not wanted:
        raise ValidationError({"lines": [_("Ask for at least one item.")]})
    if len(wanted) > MAX_TRANSFER_LINES:
        raise ValidationError({"lines": [_("At most %(max)s items per transfer.") % {"max": MAX_TRANSFER_LINES}]})
    transfer = Transfer.objects.create(from_warehouse=supplier, to_warehouse=to_warehouse, requested_by=by, note=(note or "")[:300])
    TransferLine.objects.bulk_create([TransferLine(transfer=transfer, sku=sku, quantity=q) for sku, q in wanted.values()])
    TransferTransition.objects.create(transfer=transfer, from_state="", to_state=transfer.status, transition="request", by=by, reason=transfer.note)
    return transfer


@transaction.atomic
def transfer_ship(*, transfer_id: int, by, serials: Iterable[str] = ()) -> Transfer:
    """The supplying store sends what was asked: counted stock leaves its count, units go in transfer (no warehouse).

    ``serials`` names the units to send (as scanned); for a serialised line without any, the oldest
    units in stock are sent. Refused, with nothing moved, if any line is short."""
    require_permission(by, "delivery.change_transfer")
    transfer = _locked_transfer(transfer_id)
    _transition(transfer, "ship", by=by)
    source = transfer.from_warehouse
    chosen = {s.strip() for s in serials if s and s.strip()}
    chosen_units = {u.serial: u for u in SerialUnit.objects.filter(serial__in=chosen).select_related("sku")} if chosen else {}
    unknown = sorted(chosen - set(chosen_units))
    if unknown:
        raise ValidationError({"serials": [_("Unknown serials: %(serials)s.") % {"serials": _named(unknown)}]})
    short, wrong = [], []
    lines = _lines(transfer)
    for line in lines:
        level = _level(source, line.sku)
        if level.available < line.quantity:
            short.append(_("%(item)s: %(asked)s asked, %(available)s available") % {
                "item": line.sku.name, "asked": line.quantity, "available": max(level.available, 0)})
            continue
        if not line.sku.serialised:
            _change_level(level, on_hand=-line.quantity)
            StockMovement.objects.create(kind=StockMovement.Kind.TRANSFER_OUT, warehouse=source, sku=line.sku, quantity=-line.quantity, transfer=transfer, by=by)
            continue
        picked = [u.pk for u in chosen_units.values() if u.sku_id == line.sku_id]
        units = SerialUnit.objects.select_for_update(skip_locked=True).filter(warehouse=source, sku=line.sku, status=SerialUnit.Status.IN_STOCK)
        if picked:
            units = list(units.filter(pk__in=picked).order_by("pk"))
            if len(picked) != line.quantity or len(units) != len(picked):
                wrong.append(_("%(item)s: %(asked)s asked, %(given)s of the listed serials are in stock here and free") % {
                    "item": line.sku.name, "asked": line.quantity, "given": len(units)})
                continue
        else:
            units = list(units.order_by("pk")[: line.quantity])
            if len(units) < line.quantity:
                short.append(_("%(item)s: %(asked)s asked, %(available)s available") % {"item": line.sku.name, "asked": line.quantity, "available": len(units)})
                continue
        SerialUnit.objects.filter(pk__in=[u.pk for u in units]).update(status=SerialUnit.Status.IN_TRANSFER, warehouse=None, transfer=transfer)
        _change_level(level, on_hand=-len(units))
        StockMovement.objects.bulk_create([
            StockMovement(kind=StockMovement.Kind.TRANSFER_OUT, warehouse=source, sku=line.sku, unit=u, quantity=-1, transfer=transfer, by=by) for u in units
        ])
    asked_for = {line.sku_id for line in lines}
    stray = sorted(s for s, u in chosen_units.items() if u.sku_id not in asked_for)
    if stray:
        wrong.append(_("Not asked for in this transfer: %(serials)s") % {"serials": _named(stray)})
    if short:
        raise ValidationError({"stock": [_("Not enough stock at %(store)s: %(lines)s.") % {"store": source.name, "lines": "; ".join(short)}]})
    if wrong:
        raise ValidationError({"serials": [w + "." for w in wrong]})
    return transfer


@transaction.atomic
def transfer_receive(*, transfer_id: int, by) -> Transfer:
    """The requesting store books in what was shipped to it."""
    require_permission(by, "delivery.change_transfer")
    transfer = _locked_transfer(transfer_id)
    _transition(transfer, "receive", by=by)
    target = transfer.to_warehouse
    for line in _lines(transfer):
        level = _level(target, line.sku)
        if not line.sku.serialised:
            _change_level(level, on_hand=line.quantity)
            StockMovement.objects.create(kind=StockMovement.Kind.TRANSFER_IN, warehouse=target, sku=line.sku, quantity=line.quantity, transfer=transfer, by=by)
            continue
        units = list(SerialUnit.objects.select_for_update().filter(transfer=transfer, sku=line.sku, status=SerialUnit.Status.IN_TRANSFER).order_by("pk"))
        SerialUnit.objects.filter(pk__in=[u.pk for u in units]).update(status=SerialUnit.Status.IN_STOCK, warehouse=target)
        _change_level(level, on_hand=len(units))
        StockMovement.objects.bulk_create([
            StockMovement(kind=StockMovement.Kind.TRANSFER_IN, warehouse=target, sku=line.sku, unit=u, quantity=1, transfer=transfer, by=by) for u in units
        ])
    return transfer


@transaction.atomic
def transfer_reject(*, transfer_id: int, by, reason: str) -> Transfer:
    """The supplying store refuses a request it will not ship; nothing has moved, so nothing moves back."""
    require_permission(by, "delivery.change_transfer")
    if not (reason or "").strip():
        raise ValidationError({"reason": [_("Say why the request is rejected.")]})
    transfer = _locked_transfer(transfer_id)
    return _transition(transfer, "reject", by=by, reason=reason.strip())


# --- what orders hold --------------------------------------------------------------------------

def _sku_for(order: Order) -> Sku:
    product = order.product
    sku = Sku.objects.filter(item_model=product.item_model).first() if product.item_model else None
    if sku is None:
        raise ValidationError({"stock": [_("No stock item is set up for “%(product)s” (model “%(model)s”); ask the stores to add it.") % {
            "product": product.name, "model": product.item_model or "—"}]})
    return sku


def _halls_for(order: Order, sku: Sku) -> tuple[list[Warehouse], list[Warehouse]]:
    """The hall stores serving the customer's area, then every other active hall that has some available."""
    halls = Warehouse.objects.filter(level=Warehouse.Level.HALL, active=True)
    area_id = order.customer.area_id
    local = list(halls.filter(areas=area_id).order_by("code")) if area_id else []
    others = list(
        halls.exclude(pk__in=[h.pk for h in local])
        .filter(levels__sku=sku, levels__on_hand__gt=F("levels__reserved"))
        .order_by("code")
    )
    return local, others


def _hold(order: Order, sku: Sku, hall: Warehouse, by) -> StockReservation | None:
    """Hold one of ``sku`` at ``hall`` for the order, or None if the hall has none free."""
    # The condition is re-checked once a competing holder commits, and a row that no longer has any
    # free is not locked: a clerk never sits on the lock of a hall that could not serve while trying
    # the next one (two clerks trying two halls in opposite orders would deadlock).
    level = StockLevel.objects.select_for_update().filter(warehouse=hall, sku=sku, on_hand__gt=F("reserved")).first()
    if level is None:
        return None
    unit = None
    if sku.serialised:
        unit = (
            SerialUnit.objects.select_for_update(skip_locked=True)
            .filter(warehouse=hall, sku=sku, status=SerialUnit.Status.IN_STOCK)
            .order_by("pk")
            .first()
        )
        if unit is None:
            return None
        SerialUnit.objects.filter(pk=unit.pk).update(status=SerialUnit.Status.RESERVED, order=order)
    _change_level(level, reserved=1)
    reservation = StockReservation.objects.create(order=order, warehouse=hall, sku=sku, unit=unit, quantity=1)
    StockMovement.objects.create(kind=StockMovement.Kind.RESERVE, warehouse=hall, sku=sku, unit=unit, quantity=0, order=order, by=by)
    return reservation


@transaction.atomic
def stock_reserve_for_order(order: Order) -> StockReservation | None:
    """Acceptance check: hold the item an accepted order will deliver, in the hall serving the customer's area,
    else in any hall that has one. Refuses (the order stays submitted) when no hall has one free."""
    if not order.product.needs_delivery:
        return None
    held = StockReservation.objects.filter(order=order, status=StockReservation.Status.HELD).first()
    if held is not None:
        return held
    sku = _sku_for(order)
    by = order.claimed_by if order.claimed_by_id else None
    local, others = _halls_for(order, sku)
    for hall in [*local, *others]:
        reservation = _hold(order, sku, hall, by)
        if reservation is not None:
            return reservation
    if local:
        message = _("“%(item)s” is out of stock at %(store)s and at every other hall store; the order stays submitted until stock arrives.") % {
            "item": sku.name, "store": ", ".join(h.name for h in local)}
    else:
        message = _("“%(item)s” is out of stock at every hall store (none serves the customer's area); the order stays submitted until stock arrives.") % {
            "item": sku.name}
    raise ValidationError({"stock": [message]})


def _reservations(order: Order, status: str) -> list[StockReservation]:
    return list(
        StockReservation.objects.select_for_update(of=("self",)).filter(order=order, status=status)
        .select_related("warehouse", "sku").order_by("pk")
    )


def _release(reservation: StockReservation, *, by, kind=StockMovement.Kind.RELEASE) -> None:
    level = _level(reservation.warehouse, reservation.sku)
    _change_level(level, reserved=-reservation.quantity)
    if reservation.unit_id:
        SerialUnit.objects.filter(pk=reservation.unit_id, status=SerialUnit.Status.RESERVED).update(status=SerialUnit.Status.IN_STOCK, order=None)
    StockReservation.objects.filter(pk=reservation.pk).update(status=StockReservation.Status.RELEASED)
    StockMovement.objects.create(kind=kind, warehouse=reservation.warehouse, sku=reservation.sku, unit_id=reservation.unit_id, quantity=0,
                                 order_id=reservation.order_id, by=by)


@transaction.atomic
def stock_release_for_order(order: Order, *, by=None) -> int:
    """Release hook (order rejected or cancelled): what the order holds goes back to free stock. Returns how many."""
    held = _reservations(order, StockReservation.Status.HELD)
    for reservation in held:
        _release(reservation, by=by)
    return len(held)


@transaction.atomic
def stock_ship_for_order(*, order: Order, by) -> list[StockReservation]:
    """The shipment left the hall: the held item leaves the count; a unit is with the carrier (no warehouse).

    A repeat (nothing held, already shipped) changes nothing. Refused if the order never held anything."""
    held = _reservations(order, StockReservation.Status.HELD)
    if not held:
        shipped = list(StockReservation.objects.filter(order=order, status=StockReservation.Status.SHIPPED))
        if shipped or not order.product.needs_delivery:
            return shipped
        raise ValidationError({"stock": [_("Nothing is reserved for order #%(id)s: accept it again or reserve stock first.") % {"id": order.pk}]})
    for reservation in held:
        level = _level(reservation.warehouse, reservation.sku)
        _change_level(level, on_hand=-reservation.quantity, reserved=-reservation.quantity)
        if reservation.unit_id:
            SerialUnit.objects.filter(pk=reservation.unit_id).update(status=SerialUnit.Status.SHIPPED, warehouse=None)
        StockReservation.objects.filter(pk=reservation.pk).update(status=StockReservation.Status.SHIPPED)
        reservation.status = StockReservation.Status.SHIPPED
        StockMovement.objects.create(kind=StockMovement.Kind.SHIP, warehouse=reservation.warehouse, sku=reservation.sku, unit_id=reservation.unit_id,
                                     quantity=-reservation.quantity, order=order, by=by)
    return held


@transaction.atomic
def stock_return_for_order(*, order: Order, by) -> int:
    """The shipment came back: what left goes back into the hall it left from, free for other orders;
    anything still only held is released too. Returns how many came back; a repeat changes nothing."""
    shipped = _reservations(order, StockReservation.Status.SHIPPED)
    for reservation in shipped:
        level = _level(reservation.warehouse, reservation.sku)
        _change_level(level, on_hand=reservation.quantity)
        if reservation.unit_id:
            SerialUnit.objects.filter(pk=reservation.unit_id).update(status=SerialUnit.Status.IN_STOCK, warehouse=reservation.warehouse, order=None)
        StockReservation.objects.filter(pk=reservation.pk).update(status=StockReservation.Status.RELEASED)
        StockMovement.objects.create(kind=StockMovement.Kind.RETURN, warehouse=reservation.warehouse, sku=reservation.sku, unit_id=reservation.unit_id,
                                     quantity=reservation.quantity, order=order, by=by)
    for reservation in _reservations(order, StockReservation.Status.HELD):
        _release(reservation, by=by)
    return len(shipped)


@transaction.atomic
def stock_delivered_for_order(*, order: Order) -> int:
    """The customer has it: its units are delivered. Shipped first if the shipment never reported leaving.
    Returns how many units changed; a repeat changes nothing."""
    if StockReservation.objects.filter(order=order, status=StockReservation.Status.HELD).exists():
        stock_ship_for_order(order=order, by=None)
    unit_ids = StockReservation.objects.filter(order=order, status=StockReservation.Status.SHIPPED, unit__isnull=False).values("unit_id")
    return SerialUnit.objects.filter(pk__in=unit_ids, status=SerialUnit.Status.SHIPPED).update(status=SerialUnit.Status.DELIVERED)


def register() -> None:
    """Accepting an order reserves its item; rejecting or cancelling it gives the item back."""
    hooks.register_acceptance_check(stock_reserve_for_order)
    hooks.register_release_hook(stock_release_for_order)
